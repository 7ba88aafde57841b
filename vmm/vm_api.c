/* The VM's control-socket commands. */
#include "vmm/vm_api.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kvmlab_config.h"
#include "vmm/api.h"
#include "vmm/clock.h"
#include "vmm/vm.h"
#include "vmm/vm_metrics.h"

static void put_state(struct vm *vm, struct json_writer *reply)
{
	jw_kv_string(reply, "state", vm_paused(vm) ? "paused" : "running");
}

static int cmd_status(void *opaque, const struct json_value *req, struct json_writer *reply,
		      char *err, size_t errlen)
{
	struct vm *vm = opaque;
	uint64_t ram = 0;

	(void)req;
	(void)err;
	(void)errlen;
	for (unsigned int i = 0; i < vm->nr_ram; i++)
		ram += vm->ram[i].size;
	put_state(vm, reply);
	jw_kv_string(reply, "version", KVMLAB_VERSION);
	jw_kv_double(reply, "uptime_seconds", (double)(clock_ns() - vm->t0_ns) / 1e9);
	jw_kv_uint(reply, "vcpus", vm->ncpus);
	jw_kv_uint(reply, "memory_mib", ram >> 20);
	jw_kv_uint(reply, "exits", vm_exits_total(vm));
	jw_key(reply, "devices");
	jw_begin_array(reply);
	if (vm->rng.present)
		jw_string(reply, "virtio-rng");
	for (unsigned int i = 0; i < vm->ndisks; i++)
		jw_string(reply, vm->disks[i].name);
	for (unsigned int i = 0; i < vm->nnets; i++)
		jw_string(reply, vm->nets[i].name);
	if (vm->balloon.present)
		jw_string(reply, "virtio-balloon");
	jw_end_array(reply);
	return 0;
}

static int cmd_pause(void *opaque, const struct json_value *req, struct json_writer *reply,
		     char *err, size_t errlen)
{
	struct vm *vm = opaque;
	int r;

	(void)req;
	r = vm_pause(vm);
	if (r) {
		snprintf(err, errlen, "pause: %s", strerror(-r));
		return r;
	}
	put_state(vm, reply);
	return 0;
}

static int cmd_resume(void *opaque, const struct json_value *req, struct json_writer *reply,
		      char *err, size_t errlen)
{
	struct vm *vm = opaque;

	(void)req;
	(void)err;
	(void)errlen;
	vm_resume(vm);
	put_state(vm, reply);
	return 0;
}

static int cmd_stats(void *opaque, const struct json_value *req, struct json_writer *reply,
		     char *err, size_t errlen)
{
	struct vm *vm = opaque;

	(void)req;
	/* fresh guest statistics for the next call, if the balloon has them */
	if (vm->balloon.present)
		vm_balloon_request_stats(&vm->balloon);
	if (vm_metrics_json(vm, reply)) {
		snprintf(err, errlen, "stats: out of memory");
		return -ENOMEM;
	}
	return 0;
}

static int cmd_metrics(void *opaque, const struct json_value *req, struct json_writer *reply,
		       char *err, size_t errlen)
{
	struct vm *vm = opaque;
	char *text;
	size_t len;
	int r;

	(void)req;
	r = vm_metrics_prom(vm, &text, &len);
	if (r) {
		snprintf(err, errlen, "metrics: %s", strerror(-r));
		return r;
	}
	jw_kv_string(reply, "format", "prometheus-0.0.4");
	jw_key(reply, "text");
	jw_string_len(reply, text, len);
	free(text);
	return 0;
}

static int cmd_balloon(void *opaque, const struct json_value *req, struct json_writer *reply,
		       char *err, size_t errlen)
{
	struct vm *vm = opaque;
	struct vm_balloon_info i;
	uint64_t mib;
	int r;

	if (!vm->balloon.present) {
		snprintf(err, errlen, "balloon: no balloon device (start kvmlab with --balloon)");
		return -ENODEV;
	}
	if (json_get(req, "mib")) {
		r = json_get_uint(req, "mib", 0, vm->balloon.ram_bytes >> 20, &mib, err, errlen);
		if (r)
			return r;
		r = vm_balloon_set_target(&vm->balloon, mib << 20);
		if (r) {
			snprintf(err, errlen, "balloon: mib=%llu: %s", (unsigned long long)mib,
				 r == -ERANGE ? "not less than guest RAM" : strerror(-r));
			return r;
		}
	}
	vm_balloon_get_info(&vm->balloon, &i);
	jw_kv_uint(reply, "target_mib", i.target_bytes >> 20);
	jw_kv_uint(reply, "actual_mib", i.actual_bytes >> 20);
	jw_kv_uint(reply, "held_mib", i.held_bytes >> 20);
	jw_kv_uint(reply, "reported_mib", i.reported_bytes >> 20);
	return 0;
}

static int cmd_shutdown(void *opaque, const struct json_value *req, struct json_writer *reply,
			char *err, size_t errlen)
{
	(void)opaque;
	(void)req;
	(void)err;
	(void)errlen;
	jw_kv_string(reply, "state", "stopping");
	return API_STOP;
}

static void on_stop(void *opaque)
{
	struct vm *vm = opaque;

	vm_request_stop(vm, 0, "stopped through the API");
}

static const struct api_command commands[] = {
    {"status", cmd_status},	{"pause", cmd_pause},	  {"resume", cmd_resume},
    {"stats", cmd_stats},	{"metrics", cmd_metrics}, {"balloon", cmd_balloon},
    {"shutdown", cmd_shutdown},
};

int vm_api_create(struct vm *vm, const char *path, char *err, size_t errlen)
{
	struct api_config cfg = {
	    .path = path,
	    .commands = commands,
	    .ncommands = sizeof(commands) / sizeof(commands[0]),
	    .opaque = vm,
	    .on_stop = on_stop,
	    .seccomp = vm->cfg->seccomp,
	};
	char why[256];
	int r;

	vm->api = calloc(1, sizeof(*vm->api));
	if (!vm->api)
		return -ENOMEM;
	r = api_init(vm->api, &cfg, why, sizeof(why));
	if (r) {
		snprintf(err, errlen, "--api-socket: %s", why);
		free(vm->api);
		vm->api = NULL;
	}
	return r;
}

int vm_api_start(struct vm *vm)
{
	return vm->api ? api_start(vm->api) : 0;
}

void vm_api_destroy(struct vm *vm)
{
	if (!vm->api)
		return;
	api_stop(vm->api);
	api_destroy(vm->api);
	free(vm->api);
	vm->api = NULL;
}
