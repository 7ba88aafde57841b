/* Control socket server: a real server in a temporary directory with a
 * fake command table, driven by plain socket clients.  No timing is
 * asserted beyond "eventually" (10 s bounds). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include <cmocka.h>

#include "vmm/api.h"

#define BOUND_MS  10000 /* "eventually" */
#define BIG_REPLY 16384

struct ctx {
	_Atomic int stops;    /* on_stop calls */
	_Atomic int calls;    /* handler calls */
	_Atomic int blocked;  /* "block" handlers entered */
	_Atomic bool release; /* lets "block" handlers return */
};

static int cmd_echo(void *opaque, const struct json_value *req, struct json_writer *reply,
		    char *err, size_t errlen)
{
	const struct json_value *v = json_get(req, "value");
	struct ctx *c = opaque;

	(void)err;
	(void)errlen;
	atomic_fetch_add(&c->calls, 1);
	jw_key(reply, "value");
	if (v)
		jw_value(reply, v);
	else
		jw_null(reply);
	return 0;
}

static int cmd_add(void *opaque, const struct json_value *req, struct json_writer *reply, char *err,
		   size_t errlen)
{
	uint64_t a, b;
	int r;

	(void)opaque;
	r = json_get_uint(req, "a", 0, 1000, &a, err, errlen);
	if (!r)
		r = json_get_uint(req, "b", 0, 1000, &b, err, errlen);
	if (r)
		return r;
	jw_kv_uint(reply, "sum", a + b);
	return 0;
}

static int cmd_fail(void *opaque, const struct json_value *req, struct json_writer *reply,
		    char *err, size_t errlen)
{
	(void)opaque;
	(void)req;
	jw_kv_string(reply, "partial", "discarded");
	snprintf(err, errlen, "failed on purpose");
	return -EIO;
}

static int cmd_fail_silent(void *opaque, const struct json_value *req, struct json_writer *reply,
			   char *err, size_t errlen)
{
	(void)opaque;
	(void)req;
	(void)reply;
	(void)err;
	(void)errlen;
	return -EBUSY;
}

static int cmd_unbalanced(void *opaque, const struct json_value *req, struct json_writer *reply,
			  char *err, size_t errlen)
{
	(void)opaque;
	(void)req;
	(void)err;
	(void)errlen;
	jw_key(reply, "list");
	jw_begin_array(reply);
	return 0;
}

static int cmd_big(void *opaque, const struct json_value *req, struct json_writer *reply, char *err,
		   size_t errlen)
{
	static char data[BIG_REPLY + 1];

	(void)opaque;
	(void)req;
	(void)err;
	(void)errlen;
	memset(data, 'x', BIG_REPLY);
	jw_kv_string(reply, "data", data);
	return 0;
}

static int cmd_thread(void *opaque, const struct json_value *req, struct json_writer *reply,
		      char *err, size_t errlen)
{
	char name[16] = "";

	(void)opaque;
	(void)req;
	(void)err;
	(void)errlen;
	pthread_getname_np(pthread_self(), name, sizeof(name));
	jw_kv_string(reply, "thread", name);
	return 0;
}

/* Holds the api thread until the test releases it (bounded). */
static int cmd_block(void *opaque, const struct json_value *req, struct json_writer *reply,
		     char *err, size_t errlen)
{
	struct ctx *c = opaque;
	struct timespec ms = {.tv_nsec = 1000000};

	(void)req;
	(void)reply;
	(void)err;
	(void)errlen;
	atomic_fetch_add(&c->blocked, 1);
	for (int i = 0; i < 10000 && !atomic_load(&c->release); i++)
		nanosleep(&ms, NULL);
	return 0;
}

static int cmd_shutdown(void *opaque, const struct json_value *req, struct json_writer *reply,
			char *err, size_t errlen)
{
	(void)opaque;
	(void)req;
	(void)err;
	(void)errlen;
	jw_kv_bool(reply, "bye", true);
	return API_STOP;
}

static const struct api_command commands[] = {
    {"echo", cmd_echo},
    {"add", cmd_add},
    {"fail", cmd_fail},
    {"fail_silent", cmd_fail_silent},
    {"unbalanced", cmd_unbalanced},
    {"big", cmd_big},
    {"thread", cmd_thread},
    {"shutdown", cmd_shutdown},
    {"block", cmd_block},
};

static void on_stop(void *opaque)
{
	struct ctx *c = opaque;

	atomic_fetch_add(&c->stops, 1);
}

/* Per test: a temporary directory, a context, a server. */
struct fixture {
	char dir[64];
	char path[256];
	struct ctx ctx;
	struct api_server s;
	bool running;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/kvmlab-api-test.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/api.sock", f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[160];
	int r;

	if (f->running)
		api_destroy(&f->s);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	r = system(cmd);
	free(f);
	return r;
}

static struct api_config config(struct fixture *f)
{
	return (struct api_config){
	    .path = f->path,
	    .commands = commands,
	    .ncommands = sizeof(commands) / sizeof(commands[0]),
	    .opaque = &f->ctx,
	    .on_stop = on_stop,
	};
}

static void start(struct fixture *f, const struct api_config *cfg)
{
	char err[256] = "";
	int r = api_init(&f->s, cfg, err, sizeof(err));

	if (r)
		print_error("api_init: %d %s\n", r, err);
	assert_int_equal(r, 0);
	assert_int_equal(api_start(&f->s), 0);
	f->running = true;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

static int dial(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

/* Send all of s; false if the peer went away. */
static bool send_str(int fd, const char *s, size_t len)
{
	while (len) {
		ssize_t n = send(fd, s, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return false;
		s += n;
		len -= (size_t)n;
	}
	return true;
}

static bool send_text(int fd, const char *s)
{
	return send_str(fd, s, strlen(s));
}

static void send_line(int fd, const char *s)
{
	assert_true(send_str(fd, s, strlen(s)));
	assert_true(send_text(fd, "\n"));
}

/* One line (without '\n') into buf; false at end of stream or after the
 * bound.  Byte by byte: slow but simple. */
static bool read_line(int fd, char *buf, size_t len)
{
	size_t got = 0;

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char c;
		ssize_t n;

		if (poll(&p, 1, BOUND_MS) != 1)
			return false;
		n = recv(fd, &c, 1, 0);
		if (n <= 0)
			return false;
		if (c == '\n') {
			buf[got] = '\0';
			return true;
		}
		if (got + 1 < len)
			buf[got++] = c;
	}
}

static void expect_reply(int fd, const char *request, const char *reply)
{
	static char buf[1 << 17];

	send_line(fd, request);
	assert_true(read_line(fd, buf, sizeof(buf)));
	assert_string_equal(buf, reply);
}

/* Whether the server closed fd eventually (data before the end skipped). */
static bool closed_eventually(int fd)
{
	char buf[4096];

	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, BOUND_MS) != 1)
			return false;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0)
			return false;
	}
}

static bool wait_counter(_Atomic uint64_t *v, uint64_t want)
{
	for (int i = 0; i < BOUND_MS && atomic_load(v) < want; i++)
		sleep_ms(1);
	return atomic_load(v) >= want;
}

static void test_requests(void **state)
{
	struct fixture *f = *state;
	struct api_config cfg = config(f);
	char buf[256];
	int fd;

	start(f, &cfg);
	fd = dial(f->path);
	expect_reply(fd, "{\"cmd\":\"echo\",\"value\":\"hi\"}", "{\"ok\":true,\"value\":\"hi\"}");
	expect_reply(fd, " { \"value\" : [1, -2.5, {\"x\": null}], \"cmd\" : \"echo\" } ",
		     "{\"ok\":true,\"value\":[1,-2.5,{\"x\":null}]}");
	expect_reply(fd, "{\"cmd\":\"echo\"}", "{\"ok\":true,\"value\":null}");
	expect_reply(fd, "{\"cmd\":\"add\",\"a\":2,\"b\":40}", "{\"ok\":true,\"sum\":42}");
	/* CRLF, blank lines, several requests in one write: replies in order */
	assert_true(send_text(
	    fd, "\r\n\n   \n{\"cmd\":\"add\",\"a\":1,\"b\":1}\r\n"
		"{\"cmd\":\"echo\",\"value\":true}\n{\"cmd\":\"add\",\"a\":0,\"b\":0}\n"));
	assert_true(read_line(fd, buf, sizeof(buf)));
	assert_string_equal(buf, "{\"ok\":true,\"sum\":2}");
	assert_true(read_line(fd, buf, sizeof(buf)));
	assert_string_equal(buf, "{\"ok\":true,\"value\":true}");
	assert_true(read_line(fd, buf, sizeof(buf)));
	assert_string_equal(buf, "{\"ok\":true,\"sum\":0}");
	/* a request split across writes */
	assert_true(send_text(fd, "{\"cmd\":\"ad"));
	sleep_ms(20);
	expect_reply(fd, "d\",\"a\":3,\"b\":4}", "{\"ok\":true,\"sum\":7}");
	/* handlers run on the thread named "api" */
	expect_reply(fd, "{\"cmd\":\"thread\"}", "{\"ok\":true,\"thread\":\"api\"}");
	assert_int_equal(atomic_load(&f->ctx.calls), 4);
	assert_int_equal(atomic_load(&f->s.stats.requests), 9);
	assert_int_equal(atomic_load(&f->s.stats.errors), 0);
	close(fd);
	assert_false(api_stop_requested(&f->s));
}

/* Bad requests get an error reply; the connection stays usable. */
static void test_bad_requests(void **state)
{
	struct fixture *f = *state;
	struct api_config cfg = config(f);
	int fd;

	start(f, &cfg);
	fd = dial(f->path);
	expect_reply(fd, "{\"cmd\":\"echo\",}",
		     "{\"ok\":false,\"error\":\"invalid request: at byte 14: expected a string key "
		     "in object, found '}'\"}");
	expect_reply(
	    fd, "not json",
	    "{\"ok\":false,\"error\":\"invalid request: at byte 0: expected a value, found "
	    "'n'\"}");
	expect_reply(fd, "\"\xff\"",
		     "{\"ok\":false,\"error\":\"invalid request: at byte 1: invalid UTF-8 in "
		     "string\"}");
	expect_reply(fd, "[\"cmd\",\"echo\"]",
		     "{\"ok\":false,\"error\":\"invalid request: not a JSON object\"}");
	expect_reply(fd, "{\"command\":\"echo\"}",
		     "{\"ok\":false,\"error\":\"invalid request: missing 'cmd'\"}");
	expect_reply(fd, "{\"cmd\":7}",
		     "{\"ok\":false,\"error\":\"invalid request: 'cmd' must be a string, not "
		     "number\"}");
	expect_reply(fd, "{\"cmd\":\"nope\"}",
		     "{\"ok\":false,\"error\":\"unknown command 'nope'\"}");
	expect_reply(fd, "{\"cmd\":\"say \\\"hi\\\"\\n\"}",
		     "{\"ok\":false,\"error\":\"unknown command 'say \\\"hi\\\"\\n'\"}");
	expect_reply(fd, "{\"cmd\":\"add\",\"a\":1}", "{\"ok\":false,\"error\":\"missing 'b'\"}");
	expect_reply(fd, "{\"cmd\":\"add\",\"a\":1,\"b\":1001}",
		     "{\"ok\":false,\"error\":\"'b' must be an integer from 0 to 1000\"}");
	expect_reply(fd, "{\"cmd\":\"fail\"}", "{\"ok\":false,\"error\":\"failed on purpose\"}");
	expect_reply(fd, "{\"cmd\":\"fail_silent\"}",
		     "{\"ok\":false,\"error\":\"Device or resource busy\"}");
	expect_reply(fd, "{\"cmd\":\"unbalanced\"}",
		     "{\"ok\":false,\"error\":\"unbalanced: internal error: malformed reply\"}");
	expect_reply(fd, "{\"cmd\":\"add\",\"a\":1,\"b\":2}", "{\"ok\":true,\"sum\":3}");
	assert_int_equal(atomic_load(&f->s.stats.errors), 13);
	assert_int_equal(atomic_load(&f->s.stats.closed), 0);
	close(fd);
}

static void test_oversize(void **state)
{
	struct fixture *f = *state;
	struct api_config cfg = config(f);
	size_t max = API_DEFAULT_MAX_REQUEST;
	char *req = malloc(max + 4096), *reply = malloc(max + 64), buf[256];
	const char *head = "{\"cmd\":\"echo\",\"value\":\"";
	size_t hl = strlen(head);
	int fd;

	if (!req || !reply) {
		free(req);
		free(reply);
		fail_msg("out of memory");
		return;
	}
	start(f, &cfg);
	/* exactly max bytes: served */
	memcpy(req, head, hl);
	memset(req + hl, 'v', max - hl - 2);
	memcpy(req + max - 2, "\"}", 3);
	assert_int_equal(strlen(req), max);
	fd = dial(f->path);
	send_line(fd, req);
	assert_true(read_line(fd, reply, max + 64));
	assert_true(strncmp(reply, "{\"ok\":true,\"value\":\"vvv", 23) == 0);
	assert_int_equal(strlen(reply), max - hl + strlen("{\"ok\":true,\"value\":\""));

	/* one byte more: an error reply, then the connection is closed */
	memset(req + hl, 'v', max - hl);
	memcpy(req + max - 1, "\"}", 3);
	assert_int_equal(strlen(req), max + 1);
	send_str(fd, req, max + 1); /* may fail once the server closed: fine */
	send_text(fd, "\n");
	assert_true(read_line(fd, buf, sizeof(buf)));
	assert_string_equal(buf, "{\"ok\":false,\"error\":\"request too large (at most 65536 "
				 "bytes)\"}");
	assert_true(closed_eventually(fd));
	close(fd);
	assert_int_equal(atomic_load(&f->s.stats.oversize), 1);

	/* a long stream without any newline: the same */
	fd = dial(f->path);
	memset(req, ' ', max + 4096);
	send_str(fd, req, max + 4096);
	assert_true(read_line(fd, buf, sizeof(buf)));
	assert_string_equal(buf, "{\"ok\":false,\"error\":\"request too large (at most 65536 "
				 "bytes)\"}");
	assert_true(closed_eventually(fd));
	close(fd);

	/* others are unaffected */
	fd = dial(f->path);
	expect_reply(fd, "{\"cmd\":\"add\",\"a\":5,\"b\":5}", "{\"ok\":true,\"sum\":10}");
	close(fd);
	free(req);
	free(reply);
}

/* 16 clients at once are served; the 17th is refused with an error line. */
static void test_many_clients(void **state)
{
	struct fixture *f = *state;
	struct api_config cfg = config(f);
	int fds[API_DEFAULT_MAX_CLIENTS], extra;
	char buf[256], req[64], want[64];
	bool served = false;

	start(f, &cfg);
	for (int i = 0; i < API_DEFAULT_MAX_CLIENTS; i++) {
		fds[i] = dial(f->path);
		snprintf(req, sizeof(req), "{\"cmd\":\"add\",\"a\":%d,\"b\":1}", i);
		snprintf(want, sizeof(want), "{\"ok\":true,\"sum\":%d}", i + 1);
		expect_reply(fds[i], req, want);
	}
	/* all of them still answer, in any order of asking */
	for (int i = API_DEFAULT_MAX_CLIENTS - 1; i >= 0; i--)
		expect_reply(fds[i], "{\"cmd\":\"echo\",\"value\":0}", "{\"ok\":true,\"value\":0}");

	extra = dial(f->path);
	assert_true(read_line(extra, buf, sizeof(buf)));
	assert_string_equal(buf, "{\"ok\":false,\"error\":\"too many clients (at most 16)\"}");
	assert_true(closed_eventually(extra));
	close(extra);
	assert_int_equal(atomic_load(&f->s.stats.refused), 1);

	/* a slot freed is a slot to take (once the server noticed) */
	close(fds[3]);
	for (int i = 0; i < BOUND_MS / 10 && !served; i++) {
		extra = dial(f->path);
		send_line(extra, "{\"cmd\":\"add\",\"a\":7,\"b\":7}");
		assert_true(read_line(extra, buf, sizeof(buf)));
		served = !strcmp(buf, "{\"ok\":true,\"sum\":14}");
		if (!served)
			sleep_ms(10);
		close(extra);
	}
	assert_true(served);
	for (int i = 0; i < API_DEFAULT_MAX_CLIENTS; i++) {
		if (i == 3)
			continue;
		expect_reply(fds[i], "{\"cmd\":\"echo\"}", "{\"ok\":true,\"value\":null}");
		close(fds[i]);
	}
}

/* Silent clients and incomplete lines are closed after the timeout. */
static void test_idle_timeout(void **state)
{
	struct fixture *f = *state;
	struct api_config cfg = config(f);
	char buf[256];
	int silent, partial, busy;

	cfg.idle_timeout_ms = 200;
	start(f, &cfg);
	busy = dial(f->path);
	silent = dial(f->path);
	partial = dial(f->path);
	assert_true(send_text(partial, "{\"cmd\":\"ec"));
	assert_true(read_line(silent, buf, sizeof(buf)));
	assert_string_equal(buf, "{\"ok\":false,\"error\":\"timed out waiting for a request\"}");
	assert_true(closed_eventually(silent));
	assert_true(closed_eventually(partial));
	close(silent);
	close(partial);
	assert_true(atomic_load(&f->s.stats.timeouts) >= 2);
	/* busy timed out as well; a new client is served */
	assert_true(closed_eventually(busy));
	close(busy);
	busy = dial(f->path);
	expect_reply(busy, "{\"cmd\":\"echo\",\"value\":1}", "{\"ok\":true,\"value\":1}");
	close(busy);
}

/* A client that never reads its replies is dropped when its output passes
 * the cap; the server keeps serving others meanwhile. */
static void test_never_reads(void **state)
{
	struct fixture *f = *state;
	struct api_config cfg = config(f);
	int hog, other;

	cfg.max_output = 65536;
	start(f, &cfg);
	hog = dial(f->path);
	other = dial(f->path);
	/* ~1000 replies of 16 KiB: far more than the socket buffer and the cap */
	for (int i = 0; i < 1000; i++)
		if (!send_text(hog, "{\"cmd\":\"big\"}\n"))
			break; /* dropped already */
	assert_true(wait_counter(&f->s.stats.overflows, 1));
	expect_reply(other, "{\"cmd\":\"add\",\"a\":1,\"b\":2}", "{\"ok\":true,\"sum\":3}");
	assert_true(closed_eventually(hog));
	close(hog);
	/* a big reply to a client that reads is fine */
	send_line(other, "{\"cmd\":\"big\"}");
	{
		static char buf[BIG_REPLY + 64];

		assert_true(read_line(other, buf, sizeof(buf)));
		assert_int_equal(strlen(buf), BIG_REPLY + strlen("{\"ok\":true,\"data\":\"\"}"));
	}
	close(other);
	assert_int_equal(atomic_load(&f->s.stats.overflows), 1);
}

/* Clients that leave before their replies are written (the writes fail
 * with EPIPE: no SIGPIPE may reach the process, which would kill this
 * test) or before they are even accepted. */
static void test_client_gone(void **state)
{
	struct fixture *f = *state;
	struct api_config cfg = config(f);
	char buf[256];
	int holder, gone[3];

	start(f, &cfg);
	holder = dial(f->path);
	send_line(holder, "{\"cmd\":\"block\"}");
	for (int i = 0; i < BOUND_MS && !atomic_load(&f->ctx.blocked); i++)
		sleep_ms(1);
	assert_int_equal(atomic_load(&f->ctx.blocked), 1);
	/* while the api thread is held: connect, ask, leave */
	for (int i = 0; i < 3; i++) {
		gone[i] = dial(f->path);
		send_line(gone[i], i == 0 ? "{\"cmd\":\"big\"}" : "{\"cmd\":\"echo\"}");
	}
	for (int i = 0; i < 3; i++)
		close(gone[i]);
	atomic_store(&f->ctx.release, true);
	assert_true(read_line(holder, buf, sizeof(buf)));
	assert_string_equal(buf, "{\"ok\":true}");
	assert_true(wait_counter(&f->s.stats.closed, 3));
	expect_reply(holder, "{\"cmd\":\"add\",\"a\":1,\"b\":1}", "{\"ok\":true,\"sum\":2}");
	close(holder);
}

/* Without its '\n', the last request before end of input still counts. */
static void test_last_line_at_eof(void **state)
{
	struct fixture *f = *state;
	struct api_config cfg = config(f);
	char buf[256];
	int fd;

	start(f, &cfg);
	fd = dial(f->path);
	assert_true(
	    send_text(fd, "{\"cmd\":\"add\",\"a\":1,\"b\":1}\n{\"cmd\":\"add\",\"a\":2,\"b\":2}"));
	assert_int_equal(shutdown(fd, SHUT_WR), 0);
	assert_true(read_line(fd, buf, sizeof(buf)));
	assert_string_equal(buf, "{\"ok\":true,\"sum\":2}");
	assert_true(read_line(fd, buf, sizeof(buf)));
	assert_string_equal(buf, "{\"ok\":true,\"sum\":4}");
	assert_true(closed_eventually(fd));
	close(fd);
}

static mode_t file_mode(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	return st.st_mode & 07777;
}

/* Number of entries in dir besides . and .. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

/* 0600 whatever the umask, and nothing left beside it. */
static void test_mode(void **state)
{
	struct fixture *f = *state;
	struct api_config cfg = config(f);
	mode_t old = umask(0);
	int fd;

	start(f, &cfg);
	umask(old);
	assert_int_equal(file_mode(f->path), 0600);
	assert_int_equal(entries(f->dir), 1);
	fd = dial(f->path);
	expect_reply(fd, "{\"cmd\":\"echo\"}", "{\"ok\":true,\"value\":null}");
	close(fd);
	/* removed at stop */
	api_stop(&f->s);
	assert_int_equal(access(f->path, F_OK), -1);
	assert_int_equal(entries(f->dir), 0);
	api_stop(&f->s); /* twice: harmless */
}

/* A path so long that the temporary name does not fit in sun_path. */
static void test_long_path(void **state)
{
	struct fixture *f = *state;
	struct api_config cfg = config(f);
	char dir[128];
	int fd;

	/* dir is 96 bytes, the socket path 98 */
	snprintf(dir, sizeof(dir), "%s/", f->dir);
	memset(dir + strlen(dir), 'd', 96 - strlen(dir));
	dir[96] = '\0';
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(f->path, sizeof(f->path), "%s/s", dir);
	assert_int_equal(strlen(f->path), 98);
	cfg.path = f->path;
	start(f, &cfg);
	assert_int_equal(file_mode(f->path), 0600);
	assert_int_equal(entries(dir), 1);
	fd = dial(f->path);
	expect_reply(fd, "{\"cmd\":\"echo\"}", "{\"ok\":true,\"value\":null}");
	close(fd);
	api_stop(&f->s);
	assert_int_equal(entries(dir), 0);

	/* one byte too many for sun_path */
	snprintf(f->path, sizeof(f->path), "%s/", dir);
	memset(f->path + 97, 'p', 11);
	f->path[108] = '\0';
	api_destroy(&f->s);
	f->running = false;
	{
		char err[256];

		assert_int_equal(api_init(&f->s, &cfg, err, sizeof(err)), -ENAMETOOLONG);
		assert_non_null(strstr(err, "path too long"));
	}
}

static int bind_at(const char *path, bool listening)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	if (listening)
		assert_int_equal(listen(fd, 4), 0);
	return fd;
}

static void test_stale_socket(void **state)
{
	struct fixture *f = *state;
	struct api_config cfg = config(f);
	int fd;

	/* listened on, then closed: the file stays, nobody answers */
	close(bind_at(f->path, true));
	assert_int_equal(access(f->path, F_OK), 0);
	start(f, &cfg);
	assert_int_equal(file_mode(f->path), 0600);
	fd = dial(f->path);
	expect_reply(fd, "{\"cmd\":\"echo\",\"value\":\"new\"}", "{\"ok\":true,\"value\":\"new\"}");
	close(fd);
}

static void test_path_taken(void **state)
{
	struct fixture *f = *state;
	struct api_config cfg = config(f);
	char err[256], buf[8];
	struct stat st1, st2;
	int live, fd;

	/* a live server */
	live = bind_at(f->path, true);
	assert_int_equal(lstat(f->path, &st1), 0);
	assert_int_equal(api_init(&f->s, &cfg, err, sizeof(err)), -EADDRINUSE);
	assert_non_null(strstr(err, f->path));
	assert_non_null(strstr(err, "in use"));
	assert_int_equal(lstat(f->path, &st2), 0);
	assert_true(st1.st_ino == st2.st_ino); /* untouched */
	assert_int_equal(entries(f->dir), 1);
	api_destroy(&f->s); /* after a failed init: harmless */
	close(live);
	unlink(f->path);

	/* a regular file */
	fd = open(f->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "keep", 4), 4);
	close(fd);
	assert_int_equal(api_init(&f->s, &cfg, err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, f->path));
	assert_non_null(strstr(err, "not a socket"));
	fd = open(f->path, O_RDONLY | O_CLOEXEC);
	assert_int_equal(read(fd, buf, sizeof(buf)), 4);
	close(fd);
	unlink(f->path);

	/* a symlink, even to a stale socket */
	{
		char target[160];

		snprintf(target, sizeof(target), "%s/target", f->dir);
		close(bind_at(target, false));
		assert_int_equal(symlink(target, f->path), 0);
		assert_int_equal(api_init(&f->s, &cfg, err, sizeof(err)), -EEXIST);
		assert_int_equal(access(target, F_OK), 0);
	}
	/* a directory */
	unlink(f->path);
	assert_int_equal(mkdir(f->path, 0700), 0);
	assert_int_equal(api_init(&f->s, &cfg, err, sizeof(err)), -EEXIST);
	rmdir(f->path);

	/* a directory that does not exist */
	snprintf(f->path, sizeof(f->path), "%s/no/such/dir/api.sock", f->dir);
	assert_int_equal(api_init(&f->s, &cfg, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, f->path));
}

/* At stop, a file that replaced ours meanwhile is left alone. */
static void test_remove_only_ours(void **state)
{
	struct fixture *f = *state;
	struct api_config cfg = config(f);
	int fd;

	start(f, &cfg);
	assert_int_equal(unlink(f->path), 0);
	fd = open(f->path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	assert_true(fd >= 0);
	close(fd);
	api_stop(&f->s);
	assert_int_equal(access(f->path, F_OK), 0);
}

static void test_shutdown(void **state)
{
	struct fixture *f = *state;
	struct api_config cfg = config(f);
	char buf[256];
	int fd, idle;

	start(f, &cfg);
	idle = dial(f->path);
	fd = dial(f->path);
	/* a request after "shutdown" in the same write is not served */
	assert_true(send_text(fd, "{\"cmd\":\"shutdown\"}\n{\"cmd\":\"echo\"}\n"));
	assert_true(read_line(fd, buf, sizeof(buf)));
	assert_string_equal(buf, "{\"ok\":true,\"bye\":true}");
	assert_true(closed_eventually(fd));
	assert_true(closed_eventually(idle));
	close(fd);
	close(idle);
	for (int i = 0; i < BOUND_MS && !atomic_load(&f->ctx.stops); i++)
		sleep_ms(1);
	assert_int_equal(atomic_load(&f->ctx.stops), 1);
	assert_true(api_stop_requested(&f->s));
	assert_true(atomic_load(&f->s.finished));
	/* the socket file went before on_stop was called */
	assert_int_equal(access(f->path, F_OK), -1);
	assert_int_equal(atomic_load(&f->ctx.calls), 0);
	api_stop(&f->s);
	assert_int_equal(atomic_load(&f->ctx.stops), 1);
}

/* Stopping with clients connected closes them; nothing is left. */
static void test_stop_with_clients(void **state)
{
	struct fixture *f = *state;
	struct api_config cfg = config(f);
	int a, b;

	start(f, &cfg);
	a = dial(f->path);
	b = dial(f->path);
	assert_true(send_text(b, "{\"cmd\":"));
	expect_reply(a, "{\"cmd\":\"echo\"}", "{\"ok\":true,\"value\":null}");
	api_stop(&f->s);
	assert_true(closed_eventually(a));
	assert_true(closed_eventually(b));
	assert_int_equal(access(f->path, F_OK), -1);
	assert_int_equal(atomic_load(&f->ctx.stops), 0); /* not a stop request */
	close(a);
	close(b);
}

static void test_client_helper(void **state)
{
	struct fixture *f = *state;
	struct api_config cfg = config(f);
	char reply[256], tiny[8], path[160];
	int lfd;

	start(f, &cfg);
	assert_int_equal(api_client_request(f->path, "{\"cmd\":\"add\",\"a\":1,\"b\":2}", reply,
					    sizeof(reply), 0),
			 (ssize_t)strlen("{\"ok\":true,\"sum\":3}"));
	assert_string_equal(reply, "{\"ok\":true,\"sum\":3}");
	assert_true(
	    api_client_request(f->path, "{\"cmd\":\"echo\"}\n", reply, sizeof(reply), 1000) > 0);
	assert_string_equal(reply, "{\"ok\":true,\"value\":null}");
	assert_true(api_client_request(f->path, "{\"cmd\":\"x\"}", reply, sizeof(reply), 0) > 0);
	assert_string_equal(reply, "{\"ok\":false,\"error\":\"unknown command 'x'\"}");
	assert_int_equal(
	    api_client_request(f->path, "{\"cmd\":\n\"echo\"}", reply, sizeof(reply), 0), -EINVAL);
	assert_int_equal(api_client_request(f->path, "{\"cmd\":\"echo\"}", tiny, sizeof(tiny), 0),
			 -EMSGSIZE);

	snprintf(path, sizeof(path), "%s/missing", f->dir);
	assert_int_equal(api_client_request(path, "{}", reply, sizeof(reply), 0), -ENOENT);
	snprintf(path, sizeof(path), "%s/stale", f->dir);
	close(bind_at(path, true));
	assert_int_equal(api_client_request(path, "{}", reply, sizeof(reply), 0), -ECONNREFUSED);
	/* a server that never answers: the timeout */
	snprintf(path, sizeof(path), "%s/mute", f->dir);
	lfd = bind_at(path, true);
	assert_int_equal(api_client_request(path, "{}", reply, sizeof(reply), 100), -ETIMEDOUT);
	close(lfd);
	memset(path, 'p', sizeof(path) - 1);
	path[sizeof(path) - 1] = '\0';
	assert_int_equal(api_client_request(path, "{}", reply, sizeof(reply), 0), -ENAMETOOLONG);
}

static int cmd_dummy(void *opaque, const struct json_value *req, struct json_writer *reply,
		     char *err, size_t errlen)
{
	(void)opaque;
	(void)req;
	(void)reply;
	(void)err;
	(void)errlen;
	return 0;
}

static void test_bad_config(void **state)
{
	struct fixture *f = *state;
	const struct api_command dup[] = {{"a", cmd_dummy}, {"b", cmd_dummy}, {"a", cmd_dummy}};
	const struct api_command incomplete[] = {{"a", NULL}};
	struct api_config cfg = config(f);
	char err[256];

	cfg.commands = dup;
	cfg.ncommands = 3;
	assert_int_equal(api_init(&f->s, &cfg, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "api socket: command 'a' defined twice");
	cfg.commands = incomplete;
	cfg.ncommands = 1;
	assert_int_equal(api_init(&f->s, &cfg, err, sizeof(err)), -EINVAL);
	cfg = config(f);
	cfg.path = NULL;
	assert_int_equal(api_init(&f->s, &cfg, err, sizeof(err)), -EINVAL);
	cfg = config(f);
	cfg.max_request = 4;
	assert_int_equal(api_init(&f->s, &cfg, err, sizeof(err)), -EINVAL);
	/* nothing was created */
	assert_int_equal(entries(f->dir), 0);
	api_destroy(&f->s);

	/* an empty table is allowed: every command is unknown */
	cfg = config(f);
	cfg.commands = NULL;
	cfg.ncommands = 0;
	start(f, &cfg);
	assert_true(api_client_request(f->path, "{\"cmd\":\"echo\"}", err, sizeof(err), 0) > 0);
	assert_string_equal(err, "{\"ok\":false,\"error\":\"unknown command 'echo'\"}");
}

int main(void)
{
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
	const struct CMUnitTest tests[] = {
	    T(test_requests),	      T(test_bad_requests), T(test_oversize),
	    T(test_many_clients),     T(test_idle_timeout), T(test_never_reads),
	    T(test_last_line_at_eof), T(test_client_gone),  T(test_mode),
	    T(test_long_path),	      T(test_stale_socket), T(test_path_taken),
	    T(test_remove_only_ours), T(test_shutdown),	    T(test_stop_with_clients),
	    T(test_client_helper),    T(test_bad_config),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
