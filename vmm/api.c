/* Control socket server: socket creation, the epoll loop on the "api"
 * thread, per-client buffers, dispatch, and a synchronous client. */
#include "vmm/api.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "vmm/clock.h"

#define TAG_STOP	  0ull
#define TAG_LISTEN	  1ull
#define API_BATCH	  32
#define API_BACKLOG	  32
#define API_READ_CHUNK	  16384
#define API_ACCEPT_BURST  64
#define API_PAUSE_NS	  100000000ull	/* listener pause after accept fails */
#define API_STOP_FLUSH_NS 1000000000ull /* time left to flush after API_STOP */
#define API_CMD_ECHO_MAX  64		/* bytes of an unknown command echoed */

struct api_client {
	int fd; /* -1: free slot */
	uint32_t gen;
	uint32_t events;   /* registered epoll events */
	struct strbuf in;  /* received bytes not yet handled */
	size_t scanned;	   /* in[0, scanned) holds no '\n' */
	struct strbuf out; /* replies; out[out_off, len) not sent yet */
	size_t out_off;
	uint64_t deadline_ns; /* closed if no request completes by then */
	bool closing;	      /* no more requests: close once out is sent */
	bool dead;	      /* close at the end of this event */
};

static int api_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int api_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* ---- the socket file ---- */

/* Whether a server accepts connections on the socket at path: 0 (stale:
 * nobody listens), 1 (live), or a negative errno if it cannot be told. */
static int probe_socket(const char *path)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	int fd, r, e;

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	r = connect(fd, (struct sockaddr *)&a, sizeof(a));
	e = errno;
	close(fd);
	if (r == 0 || e == EAGAIN || e == EINPROGRESS)
		return 1;
	if (e == ECONNREFUSED)
		return 0;
	return -e;
}

/* Make room at s->path: nothing there, or a stale socket removed. */
static int clear_path(const struct api_server *s, char *err, size_t errlen)
{
	const char *path = s->path;
	struct stat st;
	int r;

	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return 0;
		r = -errno;
		return api_fail(err, errlen, r, "api socket %s: %s", path, strerror(-r));
	}
	if (!S_ISSOCK(st.st_mode))
		return api_fail(err, errlen, -EEXIST, "api socket %s: exists and is not a socket",
				path);
	r = probe_socket(path);
	if (r > 0)
		return api_fail(err, errlen, -EADDRINUSE,
				"api socket %s: in use by a running server", path);
	if (r < 0)
		return api_fail(err, errlen, r,
				"api socket %s: cannot check the existing socket: %s", path,
				strerror(-r));
	if (unlink(path) < 0 && errno != ENOENT) {
		r = -errno;
		return api_fail(err, errlen, r, "api socket %s: cannot remove the stale socket: %s",
				path, strerror(-r));
	}
	return 0;
}

/* Move the socket file from tmp to path without replacing anything. */
static int place(const char *tmp, const char *path)
{
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_NOREPLACE) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return -errno;
	/* no RENAME_NOREPLACE on this filesystem: link refuses to replace too */
	if (link(tmp, path) < 0)
		return -errno;
	unlink(tmp);
	return 0;
}

/* Create, bind and listen on the socket at s->path with mode 0600.  It is
 * bound in a new private directory beside the path, so nobody can connect
 * before the chmod, then moved into place. */
static int make_socket(struct api_server *s, char *err, size_t errlen)
{
	const char *path = s->path, *slash = strrchr(path, '/');
	char dir[sizeof(s->path) + 32], tmp[sizeof(dir) + 4]; /* PATH fits in sun_path */
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct stat st;
	int fd = -1, dfd = -1, r;
	size_t dlen = slash ? (size_t)(slash - path) + 1 : 0;

	r = clear_path(s, err, errlen);
	if (r)
		return r;
	snprintf(dir, sizeof(dir), "%.*s.kvmlab-api.XXXXXX", (int)dlen, path);
	if (!mkdtemp(dir)) {
		r = -errno;
		return api_fail(err, errlen, r,
				"api socket %s: cannot create a directory beside it: %s", path,
				strerror(-r));
	}
	snprintf(tmp, sizeof(tmp), "%s/s", dir);
	/* mkdtemp's 0700 is subject to the umask: set it outright */
	if (chmod(dir, 0700) < 0) {
		r = -errno;
		goto out;
	}
	if (strlen(tmp) < sizeof(a.sun_path)) {
		memcpy(a.sun_path, tmp, strlen(tmp) + 1);
	} else {
		/* too long for sun_path: reach the directory through its fd */
		dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dfd < 0) {
			r = -errno;
			goto out;
		}
		snprintf(a.sun_path, sizeof(a.sun_path), "/proc/self/fd/%d/s", dfd);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || chmod(tmp, 0600) < 0 ||
	    listen(fd, API_BACKLOG) < 0 || lstat(tmp, &st) < 0) {
		r = -errno;
		goto out;
	}
	r = place(tmp, path);
	if (r == -EEXIST) {
		api_fail(err, errlen, r, "api socket %s: appeared while the socket was made", path);
		goto out;
	}
	if (r)
		goto out;
	s->listen_fd = fd;
	s->sock_dev = st.st_dev;
	s->sock_ino = st.st_ino;
	s->sock_linked = true;
	fd = -1;
out:
	if (r && err && errlen && !err[0])
		api_fail(err, errlen, r, "api socket %s: %s", path, strerror(-r));
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	unlink(tmp); /* still there after a failure */
	rmdir(dir);
	return r;
}

/* Remove the socket file if it is still the one we created. */
static void remove_socket(struct api_server *s)
{
	struct stat st;

	if (!s->sock_linked)
		return;
	s->sock_linked = false;
	if (lstat(s->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == s->sock_dev &&
	    st.st_ino == s->sock_ino)
		unlink(s->path);
}

/* ---- clients ---- */

static struct api_client *slot(struct api_server *s, uint64_t tag)
{
	uint32_t idx = (uint32_t)tag, gen = (uint32_t)(tag >> 32);
	struct api_client *c;

	if (idx >= s->cfg.max_clients)
		return NULL;
	c = &s->clients[idx];
	return c->fd >= 0 && c->gen == gen ? c : NULL;
}

static void client_close(struct api_server *s, struct api_client *c)
{
	if (c->fd < 0)
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	sb_free(&c->in);
	sb_free(&c->out);
	atomic_fetch_add(&s->stats.closed, 1);
}

static size_t pending(const struct api_client *c)
{
	return c->out.len - c->out_off;
}

/* Send what the socket takes.  Marks the client dead on a write error. */
static void flush(struct api_client *c)
{
	while (pending(c) && !c->dead) {
		ssize_t n =
		    send(c->fd, c->out.buf + c->out_off, pending(c), MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN)
				c->dead = true;
			return;
		}
		c->out_off += (size_t)n;
	}
	if (!pending(c)) {
		sb_reset(&c->out);
		c->out_off = 0;
	}
}

/* Queue one reply line and try to send it.  A client whose unsent replies
 * would pass max_output is marked dead. */
static void queue_line(struct api_server *s, struct api_client *c, const char *text, size_t len)
{
	if (c->dead)
		return;
	if (len + 1 > s->cfg.max_output - pending(c)) {
		atomic_fetch_add(&s->stats.overflows, 1);
		c->dead = true;
		return;
	}
	if (c->out_off && c->out_off >= c->out.len / 2) {
		memmove(c->out.buf, c->out.buf + c->out_off, pending(c));
		sb_truncate(&c->out, pending(c));
		c->out_off = 0;
	}
	sb_add(&c->out, text, len);
	sb_addc(&c->out, '\n');
	if (sb_error(&c->out)) {
		c->dead = true;
		return;
	}
	flush(c);
}

/* {"ok":false,"error":msg} */
static void reply_error(struct api_server *s, struct api_client *c, const char *msg)
{
	struct json_writer *w = &s->reply;
	const char *text;
	size_t len;

	atomic_fetch_add(&s->stats.errors, 1);
	jw_reset(w);
	jw_begin_object(w);
	jw_kv_bool(w, "ok", false);
	jw_kv_string(w, "error", msg);
	jw_end_object(w);
	if (jw_finish(w, &text, &len) == 0)
		queue_line(s, c, text, len);
	else
		c->dead = true; /* only without memory: nothing sensible to say */
}

static void reply_errorf(struct api_server *s, struct api_client *c, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reply_errorf(struct api_server *s, struct api_client *c, const char *fmt, ...)
{
	char msg[API_ERR_LEN + 64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_error(s, c, msg);
}

static const struct api_command *find_command(const struct api_server *s, const char *name)
{
	for (size_t i = 0; i < s->cfg.ncommands; i++)
		if (!strcmp(s->cfg.commands[i].name, name))
			return &s->cfg.commands[i];
	return NULL;
}

static void request_stop(struct api_server *s, uint64_t now)
{
	s->stopping = true;
	s->stop_deadline_ns = now + API_STOP_FLUSH_NS;
	atomic_store(&s->stop_requested, true);
	if (!s->listen_off)
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->listen_fd, NULL);
	s->listen_off = true;
	for (unsigned int i = 0; i < s->cfg.max_clients; i++)
		s->clients[i].closing = true;
}

/* One request line (without its '\n'). */
static void handle_line(struct api_server *s, struct api_client *c, const char *line, size_t len,
			uint64_t now)
{
	struct json_limits lim = {.max_len = s->cfg.max_request};
	struct json_writer *w = &s->reply;
	const struct api_command *cmd;
	const char *name, *text;
	struct json_error jerr;
	struct json_doc doc;
	char err[API_ERR_LEN];
	size_t n;
	int r, ret;

	if (len && line[len - 1] == '\r')
		len--;
	for (n = 0; n < len && (line[n] == ' ' || line[n] == '\t' || line[n] == '\r'); n++)
		;
	if (n == len)
		return; /* a blank line */
	atomic_fetch_add(&s->stats.requests, 1);
	c->deadline_ns = now + (uint64_t)s->cfg.idle_timeout_ms * 1000000ull;

	r = json_parse(&doc, line, len, &lim, s->arena, s->arena_size, &jerr);
	if (r) {
		reply_errorf(s, c, "invalid request: %s", jerr.msg);
		return;
	}
	if (doc.root->type != JSON_OBJECT) {
		reply_error(s, c, "invalid request: not a JSON object");
		goto out;
	}
	if (json_get_string(doc.root, "cmd", &name, err, sizeof(err))) {
		reply_errorf(s, c, "invalid request: %s", err);
		goto out;
	}
	cmd = find_command(s, name);
	if (!cmd) {
		reply_errorf(s, c, "unknown command '%.*s'", API_CMD_ECHO_MAX, name);
		goto out;
	}

	jw_reset(w);
	jw_begin_object(w);
	jw_kv_bool(w, "ok", true);
	err[0] = '\0';
	ret = cmd->fn(s->cfg.opaque, doc.root, w, err, sizeof(err));
	if (ret < 0) {
		err[sizeof(err) - 1] = '\0'; /* whatever the handler did with it */
		reply_error(s, c, err[0] ? err : strerror(-ret));
		goto out;
	}
	jw_end_object(w);
	r = jw_finish(w, &text, &n);
	if (r == -E2BIG || r == -ENOMEM)
		reply_errorf(s, c, "%s: reply too large", cmd->name);
	else if (r)
		reply_errorf(s, c, "%s: internal error: malformed reply", cmd->name);
	else
		queue_line(s, c, text, n);
	if (ret == API_STOP)
		request_stop(s, now);
out:
	json_doc_free(&doc);
}

/* Handle the complete lines in c->in and drop them. */
static void handle_lines(struct api_server *s, struct api_client *c, uint64_t now)
{
	size_t start = 0;

	while (!c->closing && !c->dead && !s->stopping) {
		char *nl = memchr(c->in.buf + c->scanned, '\n', c->in.len - c->scanned);
		size_t end;

		if (!nl) {
			c->scanned = c->in.len;
			break;
		}
		end = (size_t)(nl - c->in.buf);
		handle_line(s, c, c->in.buf + start, end - start, now);
		start = end + 1;
		c->scanned = start;
	}
	if (start) {
		memmove(c->in.buf, c->in.buf + start, c->in.len - start);
		sb_truncate(&c->in, c->in.len - start);
		c->scanned -= start;
	}
}

/* The client may send: read once and handle what is complete. */
static void client_read(struct api_server *s, struct api_client *c, uint64_t now)
{
	size_t room = s->cfg.max_request + 1 - c->in.len; /* one line and its '\n' */
	size_t chunk = room < API_READ_CHUNK ? room : API_READ_CHUNK;
	ssize_t n;

	if (sb_reserve(&c->in, chunk)) {
		c->dead = true;
		return;
	}
	n = recv(c->fd, c->in.buf + c->in.len, chunk, MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			c->dead = true;
		return;
	}
	if (n == 0) {
		/* end of input: a last line without '\n' still counts */
		if (c->in.len)
			handle_line(s, c, c->in.buf, c->in.len, now);
		sb_reset(&c->in);
		c->scanned = 0;
		c->closing = true;
		return;
	}
	c->in.len += (size_t)n;
	c->in.buf[c->in.len] = '\0';
	handle_lines(s, c, now);
	if (c->in.len > s->cfg.max_request && !c->closing && !c->dead && !s->stopping) {
		atomic_fetch_add(&s->stats.oversize, 1);
		reply_errorf(s, c, "request too large (at most %zu bytes)", s->cfg.max_request);
		sb_free(&c->in);
		c->scanned = 0;
		c->closing = true;
	}
}

/* Close the client if it is done, else register the events it needs. */
static void client_update(struct api_server *s, struct api_client *c)
{
	uint32_t events = 0;
	struct epoll_event ev;

	if (c->fd < 0)
		return;
	if (c->dead || (c->closing && !pending(c))) {
		client_close(s, c);
		return;
	}
	if (!c->closing)
		events |= EPOLLIN;
	if (pending(c))
		events |= EPOLLOUT;
	if (events == c->events)
		return;
	ev.events = events;
	ev.data.u64 = (uint64_t)c->gen << 32 | (uint64_t)(c - s->clients);
	if (epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0)
		client_close(s, c);
	else
		c->events = events;
}

static void client_event(struct api_server *s, struct api_client *c, uint32_t events, uint64_t now)
{
	if ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) && !c->closing)
		client_read(s, c, now);
	else if (events & (EPOLLHUP | EPOLLERR))
		c->dead = true; /* the peer is gone: nothing more to send */
	if ((events & EPOLLOUT) && !c->dead)
		flush(c);
	client_update(s, c);
}

/* Turn away a connection beyond max_clients, politely. */
static void refuse(struct api_server *s, int fd)
{
	char line[96];
	int n;

	n = snprintf(line, sizeof(line),
		     "{\"ok\":false,\"error\":\"too many clients (at most %u)\"}\n",
		     s->cfg.max_clients);
	if (send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		/* best effort: the client may be gone already */
	}
	close(fd);
	atomic_fetch_add(&s->stats.refused, 1);
}

static void listener_pause(struct api_server *s, uint64_t now)
{
	if (!s->listen_off)
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->listen_fd, NULL);
	s->listen_off = true;
	s->listen_resume_ns = now + API_PAUSE_NS;
}

static void accept_clients(struct api_server *s, uint64_t now)
{
	for (int k = 0; k < API_ACCEPT_BURST && !s->stopping; k++) {
		struct api_client *c = NULL;
		struct epoll_event ev;
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			/* out of fds or memory: the listener would stay ready
			 * and spin the loop, so look again a little later */
			if (errno != EAGAIN)
				listener_pause(s, now);
			return;
		}
		for (unsigned int i = 0; i < s->cfg.max_clients && !c; i++)
			if (s->clients[i].fd < 0)
				c = &s->clients[i];
		if (!c) {
			refuse(s, fd);
			continue;
		}
		c->gen = c->gen + 1 ? c->gen + 1 : 1;
		c->fd = fd;
		c->events = EPOLLIN;
		c->scanned = 0;
		c->out_off = 0;
		c->closing = false;
		c->dead = false;
		c->deadline_ns = now + (uint64_t)s->cfg.idle_timeout_ms * 1000000ull;
		sb_init(&c->in, 0);
		sb_init(&c->out, 0);
		ev.events = EPOLLIN;
		ev.data.u64 = (uint64_t)c->gen << 32 | (uint64_t)(c - s->clients);
		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			close(fd);
			c->fd = -1;
			continue;
		}
		atomic_fetch_add(&s->stats.accepted, 1);
	}
}

/* Close clients past their deadline; bring the listener back. */
static void expire(struct api_server *s, uint64_t now)
{
	for (unsigned int i = 0; i < s->cfg.max_clients; i++) {
		struct api_client *c = &s->clients[i];

		if (c->fd < 0 || now < c->deadline_ns)
			continue;
		if (!c->closing && !c->dead)
			reply_error(s, c, "timed out waiting for a request");
		atomic_fetch_add(&s->stats.timeouts, 1);
		client_close(s, c);
	}
	if (s->listen_off && !s->stopping && now >= s->listen_resume_ns) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_LISTEN};

		if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd, &ev) == 0)
			s->listen_off = false;
		else
			s->listen_resume_ns = now + API_PAUSE_NS;
	}
}

/* epoll_wait timeout in ms until the nearest deadline, or -1. */
static int next_timeout(const struct api_server *s, uint64_t now)
{
	uint64_t next = UINT64_MAX, ms;

	for (unsigned int i = 0; i < s->cfg.max_clients; i++)
		if (s->clients[i].fd >= 0 && s->clients[i].deadline_ns < next)
			next = s->clients[i].deadline_ns;
	if (s->listen_off && !s->stopping && s->listen_resume_ns < next)
		next = s->listen_resume_ns;
	if (s->stopping && s->stop_deadline_ns < next)
		next = s->stop_deadline_ns;
	if (next == UINT64_MAX)
		return -1;
	if (next <= now)
		return 0;
	ms = (next - now + 999999) / 1000000;
	return ms > 60000 ? 60000 : (int)ms;
}

static bool any_client(const struct api_server *s)
{
	for (unsigned int i = 0; i < s->cfg.max_clients; i++)
		if (s->clients[i].fd >= 0)
			return true;
	return false;
}

static void close_all(struct api_server *s)
{
	for (unsigned int i = 0; i < s->cfg.max_clients; i++)
		client_close(s, &s->clients[i]);
}

/* After API_STOP: everything closed, the socket file gone, the VM told. */
static void finish(struct api_server *s)
{
	close_all(s);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	s->listen_fd = -1;
	remove_socket(s);
	atomic_store(&s->finished, true);
	if (s->cfg.on_stop)
		s->cfg.on_stop(s->cfg.opaque);
}

static void *api_loop(void *arg)
{
	struct api_server *s = arg;
	struct epoll_event ev[API_BATCH];

	pthread_setname_np(pthread_self(), "api");
	atomic_store(&s->tid, (int)gettid());
	s->start_err = seccomp_apply(SECCOMP_KIND_MAIN, s->cfg.seccomp);
	/* sem_post orders start_err before api_start reads it */
	sem_post(&s->up);
	if (s->start_err)
		return NULL;
	for (;;) {
		int n = epoll_wait(s->epfd, ev, API_BATCH, next_timeout(s, clock_ns()));
		uint64_t now = clock_ns();

		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			struct api_client *c;

			if (ev[i].data.u64 == TAG_STOP)
				return NULL;
			if (ev[i].data.u64 == TAG_LISTEN) {
				accept_clients(s, now);
				continue;
			}
			c = slot(s, ev[i].data.u64);
			if (c) /* else closed earlier in this batch */
				client_event(s, c, ev[i].events, now);
		}
		if (s->stopping) {
			/* clients were marked closing: settle them now */
			for (unsigned int i = 0; i < s->cfg.max_clients; i++)
				client_update(s, &s->clients[i]);
			if (!any_client(s) || now >= s->stop_deadline_ns) {
				finish(s);
				return NULL;
			}
		}
		expire(s, now);
	}
	return NULL;
}

/* ---- lifetime ---- */

static int check_config(const struct api_config *cfg, char *err, size_t errlen)
{
	if (!cfg || !cfg->path || !cfg->path[0])
		return api_fail(err, errlen, -EINVAL, "api socket: no path");
	if (strlen(cfg->path) >= sizeof(((struct sockaddr_un *)0)->sun_path))
		return api_fail(err, errlen, -ENAMETOOLONG,
				"api socket %s: path too long (at most %zu bytes)", cfg->path,
				sizeof(((struct sockaddr_un *)0)->sun_path) - 1);
	if (cfg->ncommands && !cfg->commands)
		return api_fail(err, errlen, -EINVAL, "api socket: no command table");
	for (size_t i = 0; i < cfg->ncommands; i++) {
		const struct api_command *c = &cfg->commands[i];

		if (!c->name || !c->name[0] || !c->fn)
			return api_fail(err, errlen, -EINVAL, "api socket: command %zu incomplete",
					i);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(c->name, cfg->commands[j].name))
				return api_fail(err, errlen, -EINVAL,
						"api socket: command '%s' defined twice", c->name);
	}
	if (cfg->max_request && cfg->max_request < 16)
		return api_fail(err, errlen, -EINVAL, "api socket: max_request below 16 bytes");
	if (cfg->max_output && cfg->max_output < 256)
		return api_fail(err, errlen, -EINVAL, "api socket: max_output below 256 bytes");
	if (cfg->max_clients > 4096)
		return api_fail(err, errlen, -EINVAL, "api socket: more than 4096 clients");
	return 0;
}

int api_init(struct api_server *s, const struct api_config *cfg, char *err, size_t errlen)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = TAG_STOP};
	struct json_limits lim = {0};
	int r;

	memset(s, 0, sizeof(*s));
	s->listen_fd = s->epfd = s->stop_efd = -1;
	jw_init(&s->reply, 0);
	if (err && errlen)
		err[0] = '\0';
	r = check_config(cfg, err, errlen);
	if (r)
		return r;
	s->cfg = *cfg;
	snprintf(s->path, sizeof(s->path), "%s", cfg->path);
	s->cfg.path = s->path;
	if (!s->cfg.max_clients)
		s->cfg.max_clients = API_DEFAULT_MAX_CLIENTS;
	if (!s->cfg.idle_timeout_ms)
		s->cfg.idle_timeout_ms = API_DEFAULT_IDLE_MS;
	if (!s->cfg.max_request)
		s->cfg.max_request = API_DEFAULT_MAX_REQUEST;
	if (!s->cfg.max_output)
		s->cfg.max_output = API_DEFAULT_MAX_OUTPUT;
	/* a reply line and its '\n' must fit in the output buffer */
	jw_init(&s->reply, s->cfg.max_output - 1);

	lim.max_len = s->cfg.max_request;
	s->arena_size = json_arena_size(s->cfg.max_request, &lim);
	s->arena = s->arena_size ? malloc(s->arena_size) : NULL;
	s->clients = calloc(s->cfg.max_clients, sizeof(*s->clients));
	if (!s->arena || !s->clients) {
		r = api_fail(err, errlen, -ENOMEM, "api socket: out of memory");
		goto fail;
	}
	for (unsigned int i = 0; i < s->cfg.max_clients; i++) {
		s->clients[i].fd = -1;
		sb_init(&s->clients[i].in, 0);
		sb_init(&s->clients[i].out, 0);
	}
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	s->stop_efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->epfd < 0 || s->stop_efd < 0 ||
	    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->stop_efd, &ev) < 0) {
		r = -errno;
		api_fail(err, errlen, r, "api socket: %s", strerror(-r));
		goto fail;
	}
	r = make_socket(s, err, errlen);
	if (r)
		goto fail;
	ev.data.u64 = TAG_LISTEN;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd, &ev) < 0) {
		r = -errno;
		api_fail(err, errlen, r, "api socket %s: %s", s->path, strerror(-r));
		goto fail;
	}
	return 0;
fail:
	api_destroy(s);
	return r;
}

int api_start(struct api_server *s)
{
	sigset_t all, old;
	int e;

	if (s->started || s->listen_fd < 0)
		return -EINVAL;
	/* signals are the main thread's business */
	sigfillset(&all);
	if (sem_init(&s->up, 0, 0) < 0)
		return -errno;
	pthread_sigmask(SIG_SETMASK, &all, &old);
	e = pthread_create(&s->thread, NULL, api_loop, s);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!e) {
		while (sem_wait(&s->up) < 0 && errno == EINTR)
			;
		if (s->start_err) {
			pthread_join(s->thread, NULL);
			e = -s->start_err;
		}
	}
	sem_destroy(&s->up);
	if (e)
		return -e;
	s->started = true;
	return 0;
}

void api_stop(struct api_server *s)
{
	uint64_t one = 1;

	if (s->started) {
		if (write(s->stop_efd, &one, sizeof(one)) < 0) {
			/* a counter far from overflow cannot fail */
		}
		pthread_join(s->thread, NULL);
		s->started = false;
	}
	if (s->clients)
		close_all(s);
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	s->listen_fd = -1;
	remove_socket(s);
}

void api_destroy(struct api_server *s)
{
	api_stop(s);
	if (s->stop_efd >= 0)
		close(s->stop_efd);
	if (s->epfd >= 0)
		close(s->epfd);
	s->stop_efd = s->epfd = -1;
	free(s->clients);
	s->clients = NULL;
	free(s->arena);
	s->arena = NULL;
	jw_free(&s->reply);
}

bool api_stop_requested(const struct api_server *s)
{
	return atomic_load(&s->stop_requested);
}

/* ---- client ---- */

/* Milliseconds left until deadline (at least 1 while not reached), or -1
 * once it passed. */
static int left_ms(uint64_t deadline)
{
	uint64_t now = clock_ns();

	if (now >= deadline)
		return -1;
	return (int)((deadline - now + 999999) / 1000000);
}

static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	int ms = left_ms(deadline), r;

	if (ms < 0)
		return -ETIMEDOUT;
	r = poll(&p, 1, ms);
	if (r < 0)
		return errno == EINTR ? 0 : -errno;
	return r == 0 ? -ETIMEDOUT : 0;
}

static int client_connect(int fd, const char *path, uint64_t deadline)
{
	struct sockaddr_un a = {.sun_family = AF_UNIX};
	struct timespec pause = {.tv_nsec = 10000000};

	snprintf(a.sun_path, sizeof(a.sun_path), "%s", path);
	for (;;) {
		int e, r;
		socklen_t len = sizeof(e);

		if (connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno == EINPROGRESS) {
			r = wait_fd(fd, POLLOUT, deadline);
			if (r)
				return r;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &len) < 0)
				return -errno;
			return -e;
		}
		if (errno != EAGAIN)
			return -errno;
		/* the server's backlog is full: try again shortly */
		if (left_ms(deadline) < 0)
			return -ETIMEDOUT;
		nanosleep(&pause, NULL);
	}
}

/* Send request and '\n'.  0, or a negative errno; a server that closed
 * the connection early (it may have replied with an error first) is not
 * an error here. */
static int client_send(int fd, const char *req, size_t len, uint64_t deadline)
{
	char nl = '\n';
	size_t done = 0, total = len + 1;

	while (done < total) {
		struct iovec iov[2];
		struct msghdr m = {.msg_iov = iov};
		ssize_t n;

		if (done < len) {
			iov[0] = (struct iovec){(void *)(req + done), len - done};
			iov[1] = (struct iovec){&nl, 1};
			m.msg_iovlen = 2;
		} else {
			iov[0] = (struct iovec){&nl, 1};
			m.msg_iovlen = 1;
		}
		n = sendmsg(fd, &m, MSG_NOSIGNAL);
		if (n >= 0) {
			done += (size_t)n;
			continue;
		}
		if (errno == EPIPE || errno == ECONNRESET)
			return 0;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		/* the server may answer (and close) before taking it all */
		{
			struct pollfd p = {.fd = fd, .events = POLLOUT | POLLIN};
			int ms = left_ms(deadline);

			if (ms < 0)
				return -ETIMEDOUT;
			if (poll(&p, 1, ms) == 0)
				return -ETIMEDOUT;
			if (p.revents & POLLIN)
				return 0;
		}
	}
	return 0;
}

static ssize_t client_recv(int fd, char *reply, size_t replylen, uint64_t deadline)
{
	size_t got = 0;

	for (;;) {
		ssize_t n = recv(fd, reply + got, replylen - 1 - got, 0);
		char *nl;
		int r;

		if (n > 0) {
			nl = memchr(reply + got, '\n', (size_t)n);
			got += (size_t)n;
			if (nl) {
				*nl = '\0';
				return nl - reply;
			}
			reply[got] = '\0';
			if (got == replylen - 1)
				return -EMSGSIZE;
			continue;
		}
		if (n == 0)
			return -ECONNRESET;
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		r = wait_fd(fd, POLLIN, deadline);
		if (r)
			return r;
	}
}

ssize_t api_client_request(const char *path, const char *request, char *reply, size_t replylen,
			   unsigned int timeout_ms)
{
	struct sockaddr_un a;
	uint64_t deadline;
	const char *nl;
	size_t len;
	ssize_t r;
	int fd;

	if (!path || !request || !reply || replylen < 2)
		return -EINVAL;
	reply[0] = '\0';
	if (strlen(path) >= sizeof(a.sun_path))
		return -ENAMETOOLONG;
	len = strlen(request);
	nl = memchr(request, '\n', len);
	if (nl && nl != request + len - 1)
		return -EINVAL;
	if (nl)
		len--;
	deadline =
	    clock_ns() + (uint64_t)(timeout_ms ? timeout_ms : API_DEFAULT_TIMEOUT_MS) * 1000000ull;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	r = client_connect(fd, path, deadline);
	if (!r)
		r = client_send(fd, request, len, deadline);
	if (!r)
		r = client_recv(fd, reply, replylen, deadline);
	close(fd);
	return r;
}
