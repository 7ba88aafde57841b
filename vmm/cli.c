/* kvmlab command-line parser. */
#include "vmm/cli.h"

#include <errno.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmm/optparse.h"
#include "vmm/size.h"

const char cli_usage[] =
    "usage: kvmlab run [OPTIONS] [-- CMD...]\n"
    "       kvmlab ctl SOCKET COMMAND [KEY=VALUE...] [--raw]\n"
    "       kvmlab bench SUITE [--set KEY=V1,V2...]... [--repeat N] [--out DIR]\n"
    "       kvmlab --help | --version\n"
    "\n"
    "kvmlab is a small virtual machine monitor on Linux KVM.\n"
    "Run `kvmlab run --help` for the options of `run`.\n";

const char cli_run_usage[] =
    "usage: kvmlab run [OPTIONS] [-- CMD...]\n"
    "\n"
    "  --kernel PATH      guest kernel: an ELF64 image or a Linux bzImage\n"
    "  --initrd PATH      initial ramdisk (bzImage kernels only)\n"
    "  --cmdline STRING   kernel command line\n"
    "  --memory SIZE      guest RAM, with K/M/G suffix (default 512M), or\n"
    "  --memory size=SIZE[,backend=anon|memfd|hugetlbfs][,hugepage-size=2M|1G]\n"
    "           [,path=DIR][,shared=on|off][,prealloc=on|off][,thp=on|off]\n"
    "           [,merge=on|off][,host-nodes=LIST,policy=bind|preferred|interleave]\n"
    "  --cpus N           number of vCPUs (default 1), or\n"
    "  --cpus boot=N[,affinity=VCPU@CPULIST[:VCPU@CPULIST...]]\n"
    "           [,topology=SOCKETS:CORES:THREADS][,halt-poll-ns=N]\n"
    "  --serial MODE      stdio (default), file=PATH or off\n"
    "  --disk path=IMG[,readonly=on][,cache=none|writeback|writethrough|directsync|unsafe]\n"
    "           [,engine=sync|io_uring][,queues=N][,queue-size=N][,iothreads=N]\n"
    "           [,iothread-affinity=CPULIST][,serial=STR][,discard=on|off]\n"
    "           [,ioeventfd=on|off][,irqfd=on|off]\n"
    "                     virtio-blk disk (repeatable: vda, vdb, ...)\n"
    "  --net tap=NAME[,mac=MAC][,queues=N][,queue-size=N][,vhost=on|off][,iothreads=N]\n"
    "           [,iothread-affinity=CPULIST][,offloads=on|off][,mtu=N]\n"
    "           [,ioeventfd=on|off][,irqfd=on|off]\n"
    "                     virtio-net on a tap device (repeatable: eth0, eth1, ...)\n"
    "  --rng [ioeventfd=on|off][,irqfd=on|off]\n"
    "                     virtio-rng device fed from the host's getrandom(2)\n"
    "  --balloon [deflate-on-oom=on][,free-page-reporting=on][,stats=on]\n"
    "           [,ioeventfd=on|off][,irqfd=on|off]\n"
    "                     virtio-balloon; its size is set through the API socket\n"
    "  --api-socket PATH  control socket (JSON lines): status, pause, resume,\n"
    "                     stats, metrics, balloon, shutdown; see `kvmlab ctl`\n"
    "  --seccomp MODE     on (default): a system call outside the thread's\n"
    "                     allow-list stops kvmlab with one line naming it;\n"
    "                     log: allowed and logged by the kernel; off\n"
    "  --stats            print exit statistics per vCPU at exit\n"
    "  --trace WHAT       exits: one line per VM exit; boot: boot timeline\n"
    "                     (may be repeated or comma-separated)\n"
    "\n"
    "Exit status: the guest's (debug-exit port 0xf4), 0 after a guest reset or\n"
    "power-off, 1 if the guest crashed or KVM failed, 2 for bad usage,\n"
    "128+N after signal N.\n";

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_trace(struct config *c, const char *v, char *err, size_t errlen)
{
	char buf[64];
	char *save = NULL;

	if (strlen(v) >= sizeof(buf))
		return fail(err, errlen, "--trace: unknown value '%s'", v);
	strcpy(buf, v);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "exits"))
			c->trace_exits = true;
		else if (!strcmp(t, "boot"))
			c->trace_boot = true;
		else
			return fail(err, errlen, "--trace: unknown value '%s' (use exits or boot)",
				    t);
	}
	return 0;
}

static int parse_serial(struct config *c, const char *v, char *err, size_t errlen)
{
	if (!strcmp(v, "stdio")) {
		c->serial = SERIAL_STDIO;
		c->seccomp = SECCOMP_MODE_ON;
	} else if (!strcmp(v, "off")) {
		c->serial = SERIAL_OFF;
	} else if (!strncmp(v, "file=", 5) && v[5]) {
		c->serial = SERIAL_FILE;
		c->serial_path = v + 5;
	} else {
		return fail(err, errlen,
			    "--serial: unknown value '%s' (use stdio, file=PATH or off)", v);
	}
	return 0;
}

/* KEY=VALUE[,KEY=VALUE...] for --rng. */
static int parse_rng(struct config *c, const char *v, char *err, size_t errlen)
{
	char buf[128];
	char *save = NULL;

	if (strlen(v) >= sizeof(buf))
		return fail(err, errlen, "--rng: value too long");
	strcpy(buf, v);
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(t, '=');
		int r;

		if (!eq)
			return fail(err, errlen, "--rng: '%s' is not KEY=VALUE", t);
		*eq = '\0';
		if (!strcmp(t, "ioeventfd"))
			r = opt_onoff("--rng", t, eq + 1, &c->rng.knobs.ioeventfd, err, errlen);
		else if (!strcmp(t, "irqfd"))
			r = opt_onoff("--rng", t, eq + 1, &c->rng.knobs.irqfd, err, errlen);
		else
			return fail(err, errlen, "--rng: unknown key '%s' (use ioeventfd or irqfd)",
				    t);
		if (r)
			return r;
	}
	return 0;
}

/* One "--name value" or "--name=value" option; *i is advanced past it. */
static int parse_valued(struct config *c, const char *name, const char *v, char *err, size_t errlen)
{
	int r;

	if (!strcmp(name, "--kernel")) {
		c->kernel = v;
	} else if (!strcmp(name, "--initrd")) {
		c->initrd = v;
	} else if (!strcmp(name, "--cmdline")) {
		c->cmdline = v;
	} else if (!strcmp(name, "--memory")) {
		return mem_opts_parse(v, &c->mem, err, errlen);
	} else if (!strcmp(name, "--cpus")) {
		r = cpu_opts_parse(v, &c->cpu, err, errlen);
		c->cpus = c->cpu.boot;
		return r;
	} else if (!strcmp(name, "--serial")) {
		return parse_serial(c, v, err, errlen);
	} else if (!strcmp(name, "--trace")) {
		return parse_trace(c, v, err, errlen);
	} else if (!strcmp(name, "--disk")) {
		if (c->ndisks >= DISK_MAX)
			return fail(err, errlen, "--disk: at most %d disks", DISK_MAX);
		r = disk_opts_parse(v, &c->disks[c->ndisks], err, errlen);
		if (!r)
			c->ndisks++;
		return r;
	} else if (!strcmp(name, "--net")) {
		if (c->nnets >= NET_MAX)
			return fail(err, errlen, "--net: at most %d network devices", NET_MAX);
		r = net_opts_parse(v, &c->nets[c->nnets], err, errlen);
		if (!r)
			c->nnets++;
		return r;
	} else if (!strcmp(name, "--api-socket")) {
		c->api_socket = v;
	} else if (!strcmp(name, "--seccomp")) {
		if (seccomp_mode_parse(v, &c->seccomp))
			return fail(err, errlen,
				    "--seccomp: unknown value '%s' (use on, off or log)", v);
	} else {
		return fail(err, errlen, "%s: unknown option", name);
	}
	if (!*v && strcmp(name, "--cmdline"))
		return fail(err, errlen, "%s: empty value", name);
	return 0;
}

static const char *const valued_opts[] = {"--kernel", "--initrd",     "--cmdline", "--memory",
					  "--cpus",   "--serial",     "--trace",   "--disk",
					  "--net",    "--api-socket", "--seccomp"};

static bool is_valued(const char *name)
{
	for (size_t i = 0; i < sizeof(valued_opts) / sizeof(valued_opts[0]); i++)
		if (!strcmp(name, valued_opts[i]))
			return true;
	return false;
}

static int parse_run(int argc, char **argv, struct config *c, char *err, size_t errlen)
{
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		char name[32];
		const char *eq = strchr(a, '=');
		int r;

		if (!strcmp(a, "--")) {
			if (i + 1 >= argc)
				return fail(err, errlen, "--: no command given after it");
			c->guest_argv = &argv[i + 1];
			c->guest_argc = argc - i - 1;
			break;
		}
		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return CLI_RUN_HELP;
		if (!strcmp(a, "--stats")) {
			c->stats = true;
			continue;
		}
		if (!strcmp(a, "--balloon") || !strncmp(a, "--balloon=", 10)) {
			const char *v = a[9] == '=' ? a + 10 : NULL;

			/* like --rng: an optional value */
			if (!v && i + 1 < argc && strncmp(argv[i + 1], "--", 2))
				v = argv[++i];
			if ((r = balloon_opts_parse(v ? v : "", &c->balloon, err, errlen)))
				return r;
			continue;
		}
		if (!strcmp(a, "--rng") || !strncmp(a, "--rng=", 6)) {
			const char *v = a[5] == '=' ? a + 6 : NULL;

			/* `run` takes no positional words, so a following word
			 * that is not an option is --rng's value */
			if (!v && i + 1 < argc && strncmp(argv[i + 1], "--", 2))
				v = argv[++i];
			c->rng.enabled = true;
			if (v && (r = parse_rng(c, v, err, errlen)))
				return r;
			continue;
		}
		if (strncmp(a, "--", 2))
			return fail(err, errlen, "%s: unexpected argument (options start with --)",
				    a);
		if (eq && (size_t)(eq - a) < sizeof(name)) {
			memcpy(name, a, (size_t)(eq - a));
			name[eq - a] = '\0';
			if (!is_valued(name))
				return fail(err, errlen, "%s: unknown option", name);
			r = parse_valued(c, name, eq + 1, err, errlen);
		} else {
			if (!is_valued(a))
				return fail(err, errlen, "%s: unknown option", a);
			if (i + 1 >= argc)
				return fail(err, errlen, "%s: missing value", a);
			r = parse_valued(c, a, argv[++i], err, errlen);
		}
		if (r)
			return r;
	}
	if (c->initrd && !*c->initrd)
		return fail(err, errlen, "--initrd: empty value");
	if (c->cpu.naffinity) {
		cpu_set_t allowed;
		int r;

		/* if even this fails, starting the vCPU thread will say why */
		if (!sched_getaffinity(0, sizeof(allowed), &allowed) &&
		    (r = cpu_opts_check_affinity(&c->cpu, &allowed, err, errlen)))
			return r;
	}
	return CLI_RUN;
}

int cli_parse(int argc, char **argv, struct config *c, char *err, size_t errlen)
{
	memset(c, 0, sizeof(*c));
	mem_opts_init(&c->mem, CLI_DEFAULT_MEM);
	cpu_opts_init(&c->cpu);
	c->cpus = c->cpu.boot;
	c->serial = SERIAL_STDIO;
	c->rng.knobs = (struct virtio_knobs){.ioeventfd = true, .irqfd = true};
	balloon_opts_default(&c->balloon);
	if (err && errlen)
		err[0] = '\0';
	if (argc < 2)
		return fail(err, errlen, "missing command (try `kvmlab --help`)");
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help"))
		return CLI_HELP;
	if (!strcmp(argv[1], "--version"))
		return CLI_VERSION;
	if (strcmp(argv[1], "run"))
		return fail(err, errlen, "%s: unknown command (try `kvmlab --help`)", argv[1]);
	return parse_run(argc, argv, c, err, errlen);
}
