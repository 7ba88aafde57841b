/* kvmlab ctl: request building, output, exit statuses, against a real
 * server in a temporary directory. */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "vmm/api.h"
#include "vmm/ctl.h"

/* Replies with every member of the request but "cmd", as "args". */
static int cmd_echo(void *opaque, const struct json_value *req, struct json_writer *reply,
		    char *err, size_t errlen)
{
	(void)opaque;
	(void)err;
	(void)errlen;
	jw_key(reply, "args");
	jw_begin_object(reply);
	for (const struct json_value *m = req->child; m; m = m->next) {
		if (!strcmp(m->key, "cmd"))
			continue;
		jw_key_len(reply, m->key, m->key_len);
		jw_value(reply, m);
	}
	jw_end_object(reply);
	return 0;
}

static int cmd_fail(void *opaque, const struct json_value *req, struct json_writer *reply,
		    char *err, size_t errlen)
{
	(void)opaque;
	(void)req;
	(void)reply;
	snprintf(err, errlen, "no such device");
	return -ENODEV;
}

static const struct api_command commands[] = {{"echo", cmd_echo}, {"fail", cmd_fail}};

struct fixture {
	char dir[64];
	char path[128];
	struct api_server s;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct api_config cfg = {.commands = commands, .ncommands = 2};
	char err[256];

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/kvmlab-ctl-test.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/api.sock", f->dir);
	cfg.path = f->path;
	if (api_init(&f->s, &cfg, err, sizeof(err)) || api_start(&f->s))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];
	int r;

	api_destroy(&f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	r = system(cmd);
	free(f);
	return r;
}

/* Run ctl with args (NULL-terminated, "ctl" first); the output and
 * messages are returned in out and err (to be freed). */
static int run(char **out, char **err, ...)
{
	char *argv[32];
	int argc = 0, status;
	size_t olen, elen;
	FILE *fo = open_memstream(out, &olen), *fe = open_memstream(err, &elen);
	va_list ap;

	assert_non_null(fo);
	assert_non_null(fe);
	va_start(ap, err);
	while ((argv[argc] = va_arg(ap, char *)))
		argc++;
	va_end(ap);
	status = ctl_run(argc, argv, fo, fe);
	fclose(fo);
	fclose(fe);
	return status;
}

static const char *build(struct json_writer *w, const char *cmd, int n, char **args)
{
	const char *text;
	size_t len;
	char err[128];

	jw_reset(w);
	assert_int_equal(ctl_build_request(cmd, args, n, w, err, sizeof(err)), 0);
	assert_int_equal(jw_finish(w, &text, &len), 0);
	return text;
}

static void test_build(void **state)
{
	char *args[] = {"n=12",
			"neg=-3",
			"f=1.5",
			"e=1e3",
			"t=true",
			"no=false",
			"s=hello",
			"empty=",
			"lead=007",
			"hex=0x10",
			"sp= 1",
			"nul=null",
			"big=18446744073709551615",
			"eq=a=b",
			"q=say \"hi\"",
			"inf=1e999",
			"dot=1.",
			"minus=-"};
	struct json_writer w;
	char err[128];

	(void)state;
	jw_init(&w, 0);
	assert_string_equal(build(&w, "status", 0, NULL), "{\"cmd\":\"status\"}");
	assert_string_equal(
	    build(&w, "set", sizeof(args) / sizeof(args[0]), args),
	    "{\"cmd\":\"set\",\"n\":12,\"neg\":-3,\"f\":1.5,\"e\":1000.0,\"t\":true,"
	    "\"no\":false,\"s\":\"hello\",\"empty\":\"\",\"lead\":\"007\","
	    "\"hex\":\"0x10\",\"sp\":\" 1\",\"nul\":\"null\","
	    "\"big\":18446744073709551615,\"eq\":\"a=b\",\"q\":\"say \\\"hi\\\"\","
	    "\"inf\":\"1e999\",\"dot\":\"1.\",\"minus\":\"-\"}");

	jw_reset(&w);
	assert_int_equal(ctl_build_request("x", (char *[]){"novalue"}, 1, &w, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "'novalue': expected KEY=VALUE");
	assert_int_equal(ctl_build_request("x", (char *[]){"=v"}, 1, &w, err, sizeof(err)),
			 -EINVAL);
	assert_string_equal(err, "'=v': empty KEY");
	assert_int_equal(ctl_build_request("x", (char *[]){"cmd=y"}, 1, &w, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(
	    ctl_build_request("x", (char *[]){"a=1", "ab=2", "a=3"}, 3, &w, err, sizeof(err)),
	    -EINVAL);
	assert_string_equal(err, "'a' given twice");
	assert_int_equal(ctl_build_request("", NULL, 0, &w, err, sizeof(err)), -EINVAL);
	jw_free(&w);
}

static void test_ok_reply(void **state)
{
	struct fixture *f = *state;
	char *out, *err;

	assert_int_equal(run(&out, &err, "ctl", f->path, "echo", "n=5", "s=x y", NULL), CTL_OK);
	assert_string_equal(out, "{\n"
				 "  \"ok\": true,\n"
				 "  \"args\": {\n"
				 "    \"n\": 5,\n"
				 "    \"s\": \"x y\"\n"
				 "  }\n"
				 "}\n");
	assert_string_equal(err, "");
	free(out);
	free(err);

	/* --raw anywhere */
	assert_int_equal(run(&out, &err, "ctl", "--raw", f->path, "echo", NULL), CTL_OK);
	assert_string_equal(out, "{\"ok\":true,\"args\":{}}\n");
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, "ctl", f->path, "echo", "b=true", "--raw", NULL), CTL_OK);
	assert_string_equal(out, "{\"ok\":true,\"args\":{\"b\":true}}\n");
	free(out);
	free(err);
}

static void test_error_reply(void **state)
{
	struct fixture *f = *state;
	char *out, *err;

	assert_int_equal(run(&out, &err, "ctl", f->path, "fail", NULL), CTL_FAILED);
	assert_string_equal(out, "{\n  \"ok\": false,\n  \"error\": \"no such device\"\n}\n");
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, "ctl", f->path, "nope", "--raw", NULL), CTL_FAILED);
	assert_string_equal(out, "{\"ok\":false,\"error\":\"unknown command 'nope'\"}\n");
	free(out);
	free(err);
}

static void test_usage(void **state)
{
	struct fixture *f = *state;
	char *out, *err;

	assert_int_equal(run(&out, &err, "ctl", NULL), CTL_USAGE);
	assert_string_equal(out, "");
	assert_true(strncmp(err, "kvmlab ctl: expected PATH and COMMAND\nusage:", 44) == 0);
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, "ctl", f->path, NULL), CTL_USAGE);
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, "ctl", f->path, "echo", "--bogus", NULL), CTL_USAGE);
	assert_true(strncmp(err, "kvmlab ctl: unknown option '--bogus'\n", 37) == 0);
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, "ctl", f->path, "echo", "oops", NULL), CTL_USAGE);
	assert_string_equal(err, "kvmlab ctl: 'oops': expected KEY=VALUE\n");
	free(out);
	free(err);
	assert_int_equal(run(&out, &err, "ctl", "--help", NULL), CTL_OK);
	assert_string_equal(out, ctl_usage);
	free(out);
	free(err);
	/* nothing reached the server */
	assert_int_equal(atomic_load(&f->s.stats.requests), 0);
}

static void test_unreachable(void **state)
{
	struct fixture *f = *state;
	char *out, *err, path[160], want[256];

	snprintf(path, sizeof(path), "%s/missing.sock", f->dir);
	assert_int_equal(run(&out, &err, "ctl", path, "echo", NULL), CTL_USAGE);
	assert_string_equal(out, "");
	snprintf(want, sizeof(want), "kvmlab ctl: cannot reach %s: No such file or directory\n",
		 path);
	assert_string_equal(err, want);
	free(out);
	free(err);
}

/* A fake server answering one connection with a fixed line. */
struct fake {
	int lfd;
	const char *line;
};

static void *fake_serve(void *arg)
{
	struct fake *k = arg;
	char buf[256];
	int fd = accept(k->lfd, NULL, NULL);

	if (fd >= 0) {
		if (recv(fd, buf, sizeof(buf), 0) > 0 &&
		    send(fd, k->line, strlen(k->line), MSG_NOSIGNAL) < 0) {
			/* the test will notice */
		}
		close(fd);
	}
	return NULL;
}

static int fake_reply(const char *path, const char *line, char **out, char **err)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct fake k = {.line = line};
	pthread_t t;
	int status;

	k.lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(k.lfd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	unlink(path);
	assert_int_equal(bind(k.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(k.lfd, 1), 0);
	assert_int_equal(pthread_create(&t, NULL, fake_serve, &k), 0);
	status = run(out, err, "ctl", path, "x", NULL);
	pthread_join(t, NULL);
	close(k.lfd);
	return status;
}

static void test_bad_reply(void **state)
{
	struct fixture *f = *state;
	char *out, *err, path[160];

	snprintf(path, sizeof(path), "%s/fake.sock", f->dir);
	assert_int_equal(fake_reply(path, "not json\n", &out, &err), CTL_USAGE);
	assert_string_equal(out, "not json\n");
	assert_non_null(strstr(err, "malformed reply"));
	free(out);
	free(err);
	assert_int_equal(fake_reply(path, "{\"status\":1}\n", &out, &err), CTL_USAGE);
	assert_non_null(strstr(err, "no \"ok\" member"));
	free(out);
	free(err);
	assert_int_equal(fake_reply(path, "{\"ok\":true", &out, &err), CTL_USAGE);
	assert_non_null(strstr(err, "connection closed without a reply"));
	free(out);
	free(err);
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_build), T(test_ok_reply),  T(test_error_reply), T(test_usage),
	    T(test_unreachable),	  T(test_bad_reply),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
