/* Talking to the VMM under test from bench (see bench_suite.h): kvmlab's
 * control socket or QEMU's QMP, one JSON line per request and reply. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/bench_suite.h"

#define IO_TIMEOUT_MS 5000 /* for one reply */

/* A QMP event line: {"timestamp": ..., "event": ...}. */
static bool is_event(const char *line)
{
	return strstr(line, "\"event\"") && strstr(line, "\"timestamp\"");
}

int bench_conn_read_line(struct bench_conn *c, char *out, size_t n)
{
	for (;;) {
		char *nl = memchr(c->buf, '\n', c->used);

		if (nl) {
			size_t len = (size_t)(nl - c->buf);
			bool skip = false;

			int r = 0;

			*nl = '\0';
			skip = c->qmp && is_event(c->buf);
			if (!skip && len >= n)
				r = -E2BIG; /* dropped */
			else if (!skip)
				memcpy(out, c->buf, len + 1);
			c->used -= len + 1;
			memmove(c->buf, nl + 1, c->used);
			if (!skip)
				return r;
			continue;
		}
		if (c->used == sizeof(c->buf))
			return -E2BIG; /* a line longer than the buffer */
		{
			struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
			int r = poll(&pfd, 1, IO_TIMEOUT_MS);
			ssize_t got;

			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0)
				return r ? -errno : -ETIMEDOUT;
			got = read(c->fd, c->buf + c->used, sizeof(c->buf) - c->used);
			if (got < 0 && errno == EINTR)
				continue;
			if (got <= 0)
				return got ? -errno : -ECONNRESET;
			c->used += (size_t)got;
		}
	}
}

static int send_all(int fd, const char *s)
{
	size_t len = strlen(s);

	while (len) {
		ssize_t w = send(fd, s, len, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		s += w;
		len -= (size_t)w;
	}
	return 0;
}

int bench_conn_request(struct bench_conn *c, const char *request, struct json_doc *reply)
{
	char line[BENCH_CONN_BUF];
	const struct json_value *ok;
	int r = send_all(c->fd, request);

	if (!r)
		r = bench_conn_read_line(c, line, sizeof(line));
	if (r)
		return r;
	if (json_parse(reply, line, strlen(line), NULL, NULL, 0, NULL))
		return -EPROTO;
	if (reply->root->type != JSON_OBJECT) {
		json_doc_free(reply);
		return -EPROTO;
	}
	/* QMP: {"return": ...} or {"error": ...}; kvmlab: {"ok":true|false,...} */
	ok = json_get(reply->root, "ok");
	if (c->qmp ? !json_get(reply->root, "return") : !ok || ok->type != JSON_BOOL || !ok->b) {
		json_doc_free(reply);
		return -EIO;
	}
	return 0;
}

int bench_conn_open(struct bench_conn *c, const char *path, bool qmp)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char line[BENCH_CONN_BUF];
	struct json_doc doc;
	int r;

	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->qmp = qmp;
	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa))) {
		r = -errno;
		bench_conn_close(c);
		return r;
	}
	if (!qmp)
		return 0;
	/* the greeting, {"QMP": ...}, then capabilities negotiation */
	r = bench_conn_read_line(c, line, sizeof(line));
	if (!r && !strstr(line, "\"QMP\""))
		r = -EPROTO;
	if (!r)
		r = bench_conn_request(c, "{\"execute\":\"qmp_capabilities\"}\n", &doc);
	if (r) {
		bench_conn_close(c);
		return r;
	}
	json_doc_free(&doc);
	return 0;
}

void bench_conn_close(struct bench_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}
