/* kvmlab-guest net: TCP benchmark and transfer verifier (net.h,
 * docs/guest.md).
 *
 * The server accepts connections and serves each in its own thread, by the
 * mode the client announces.  The wire protocol: control messages are
 * MSG_LEN bytes of NUL-padded ASCII, so neither side ever reads past one
 * into the data that follows.
 *
 *   client -> server  hello "kvmlab-net/1 MODE SESSION NSTREAMS A B SECONDS"
 *   server -> client  "ok" or "error TEXT"
 *
 * then, by MODE:
 *
 *   stream-recv  the client sends one byte when all its streams are
 *                connected; the server sends until SECONDS have passed
 *                (0: no limit) or A bytes are sent (0: no limit), then shuts
 *                down its side; the client counts to EOF
 *   stream-send  the client sends and shuts down its side; the server
 *                counts to EOF and answers "done BYTES"
 *   rr           the client sends A bytes, the server sends them back, and
 *                so on until the client shuts down its side
 *   sink-hash    the client sends A bytes of the pattern (pattern.h; the
 *                offset is the position in the stream) and shuts down its
 *                side; the server checks every byte against seed B and
 *                answers "verify BYTES OK FIRST_BAD" (OK 1 or 0, FIRST_BAD
 *                the first wrong offset or -1)
 *   source-hash  the server sends A bytes of the pattern of seed B and shuts
 *                down its side; the client checks every byte
 *
 * SESSION (random, hex) and NSTREAMS tie the parallel connections of one
 * client run together: `server --once` serves the first session only and
 * exits when its NSTREAMS connections are done.
 *
 * Every socket has SO_RCVTIMEO and SO_SNDTIMEO (IO_TIMEOUT_S) and clients
 * connect with a timeout (CONNECT_TIMEOUT_S), so a dead peer is an error,
 * never a hang. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "blk.h" /* blk_parse_size, the latency histogram */
#include "net.h"
#include "pattern.h"

#define PROG "kvmlab-guest net"

#define EXIT_USAGE 2

#define PROTO		  "kvmlab-net/1"
#define MSG_LEN		  128 /* hello, answer, result: fixed size */
#define DEFAULT_PORT	  5201
#define DEFAULT_SECONDS	  5.0
#define DEFAULT_SEED	  1
#define DEFAULT_RR_SIZE	  1
#define MAX_STREAMS	  128
#define MAX_RR_SIZE	  (1024 * 1024)
#define MAX_SECONDS	  1e7
#define BUF_SIZE	  (256 * 1024) /* bytes per send/recv in the bulk modes */
#define CONNECT_TIMEOUT_S 10
#define IO_TIMEOUT_S	  30
#define THREAD_STACK	  (256 * 1024)
#define LISTEN_BACKLOG	  128

/* Error codes besides errno values (never negative, never 0). */
#define E_EOF	100001 /* the peer closed the connection early */
#define E_PROTO 100002 /* a malformed control message */

/* What the first word after "net" selects. */
enum net_cmd { C_SERVER, C_STREAM, C_RR, C_SEND_FILE, C_RECV_FILE };
static const char *const cmd_names[] = {"server", "stream", "rr", "send-file", "recv-file"};
#define NCMDS (sizeof(cmd_names) / sizeof(cmd_names[0]))

#define ONLY(c) (1u << (c))
#define CLIENTS (ONLY(C_STREAM) | ONLY(C_RR) | ONLY(C_SEND_FILE) | ONLY(C_RECV_FILE))
#define FILES	(ONLY(C_SEND_FILE) | ONLY(C_RECV_FILE))

/* The server's modes, as announced by the client. */
enum srv_mode { S_STREAM_RECV, S_STREAM_SEND, S_RR, S_SINK, S_SOURCE };
static const char *const srv_mode_names[] = {"stream-recv", "stream-send", "rr", "sink-hash",
					     "source-hash"};
#define NSRV_MODES (sizeof(srv_mode_names) / sizeof(srv_mode_names[0]))

struct net_args {
	enum net_cmd cmd;
	const char *addr_arg; /* --to/--from, or --bind; NULL: none */
	const char *addr_opt; /* the option that gave it */
	unsigned port;
	bool once;
	bool send; /* stream --direction send */
	unsigned streams;
	double seconds; /* 0: none */
	uint64_t bytes; /* 0: none */
	uint64_t size, seed, expect_seed;
	bool seconds_set, bytes_set, expect_seed_set;

	struct sockaddr_storage addr; /* the peer, or the address to bind */
	socklen_t addrlen;
	char addr_str[INET6_ADDRSTRLEN + 32]; /* for messages: ADDR:PORT */
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static const char *err_text(int e)
{
	switch (e) {
	case EAGAIN:
		return "timed out (no progress for 30 s)";
	case E_EOF:
		return "connection closed by the peer";
	case E_PROTO:
		return "malformed message from the peer (not a " PROG " peer?)";
	default:
		return strerror(e);
	}
}

static double gbits(uint64_t bytes, double secs)
{
	return secs > 0 ? (double)bytes * 8 / secs / 1e9 : 0;
}

/* ---- options ---- */

static void help(FILE *f)
{
	fprintf(f,
		"Usage: kvmlab-guest net server [--port P] [--bind ADDR] [--once]\n"
		"       kvmlab-guest net stream --to ADDR [--direction send|recv]\n"
		"                        [--streams N] [--seconds S] [--bytes BYTES] [--port P]\n"
		"       kvmlab-guest net rr --to ADDR [--size BYTES] [--seconds S] [--port P]\n"
		"       kvmlab-guest net send-file --to ADDR --bytes BYTES [--seed N] [--port P]\n"
		"       kvmlab-guest net recv-file --from ADDR --bytes BYTES [--seed N] [...]\n"
		"\n"
		"TCP benchmark and transfer verifier.  The clients talk to a server (the same\n"
		"program, e.g. on the host) and print one JSON line.\n"
		"\n"
		"  server           serve each connection by the mode its client asks for;\n"
		"                   prints a JSON line per checked transfer (send-file)\n"
		"  stream           bulk transfer over --streams parallel connections\n"
		"  rr               request/response round trips of --size bytes on one\n"
		"                   connection; latency percentiles\n"
		"  send-file        send BYTES of the seeded pattern; the server checks them\n"
		"  recv-file        the server sends BYTES of the seeded pattern; check them\n"
		"\n"
		"  --port P         TCP port (default 5201; server: 0 picks a free one)\n"
		"  --bind ADDR      server: listen on ADDR only (default: all addresses)\n"
		"  --once           server: exit after one client (all its streams); the\n"
		"                   status is 1 if that client's run failed\n"
		"  --to ADDR        the server's address, numeric IPv4 or IPv6 (--from is a\n"
		"                   synonym)\n"
		"  --direction D    stream: send (default: to the server) or recv (from it)\n"
		"  --streams N      stream: parallel connections, 1-128 (default 1)\n"
		"  --seconds S      stream, rr: duration (default 5; stream: unless --bytes)\n"
		"  --bytes BYTES    stream: bytes in all streams (with --seconds: whichever\n"
		"                   ends first); send-file, recv-file: the transfer's length\n"
		"  --size BYTES     rr: message size, 1 to 1M (default 1)\n"
		"  --seed N         send-file, recv-file: pattern seed (default 1)\n"
		"  --expect-seed N  send-file, recv-file: the receiver checks against seed N\n"
		"                   instead (to test the verifier: a different seed fails)\n"
		"\n"
		"BYTES: a number, optionally with k, m, g or t (powers of 1024).\n"
		"gbps and mbps are 10^9 and 10^6 bits per second.\n"
		"\n"
		"Exit status: 0 success; 1 a connection failure or, for send-file and\n"
		"recv-file, a mismatch or short transfer; 2 bad usage.\n");
}

static int bad(const char *opt, const char *fmt, const char *arg)
{
	fprintf(stderr, PROG ": %s: ", opt);
	fprintf(stderr, fmt, arg);
	fputc('\n', stderr);
	return EXIT_USAGE;
}

static int parse_uint(const char *opt, const char *s, unsigned min, unsigned max, unsigned *v)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(s, &end, 10);
	if (!*s || *end || errno || *s == '-' || *s == '+' || n < min || n > max) {
		fprintf(stderr, PROG ": %s: expected a number %u-%u, got '%s'\n", opt, min, max, s);
		return EXIT_USAGE;
	}
	*v = (unsigned)n;
	return 0;
}

static int parse_u64(const char *opt, const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	if (!*s || *end || errno || *s == '-' || *s == '+')
		return bad(opt, "expected a number 0 to 2^64-1, got '%s'", s);
	return 0;
}

enum opt_id {
	OPT_PORT,
	OPT_BIND,
	OPT_ONCE,
	OPT_TO,
	OPT_FROM,
	OPT_DIRECTION,
	OPT_STREAMS,
	OPT_SECONDS,
	OPT_BYTES,
	OPT_SIZE,
	OPT_SEED,
	OPT_EXPECT_SEED
};
static const struct {
	const char *name;
	bool has_arg;
	unsigned cmds; /* where it is allowed */
} options[] = {
    [OPT_PORT] = {"--port", true, ONLY(C_SERVER) | CLIENTS},
    [OPT_BIND] = {"--bind", true, ONLY(C_SERVER)},
    [OPT_ONCE] = {"--once", false, ONLY(C_SERVER)},
    [OPT_TO] = {"--to", true, CLIENTS},
    [OPT_FROM] = {"--from", true, CLIENTS},
    [OPT_DIRECTION] = {"--direction", true, ONLY(C_STREAM)},
    [OPT_STREAMS] = {"--streams", true, ONLY(C_STREAM)},
    [OPT_SECONDS] = {"--seconds", true, ONLY(C_STREAM) | ONLY(C_RR)},
    [OPT_BYTES] = {"--bytes", true, ONLY(C_STREAM) | FILES},
    [OPT_SIZE] = {"--size", true, ONLY(C_RR)},
    [OPT_SEED] = {"--seed", true, FILES},
    [OPT_EXPECT_SEED] = {"--expect-seed", true, FILES},
};
#define NOPTIONS (sizeof(options) / sizeof(options[0]))

static int set_option(struct net_args *o, enum opt_id id, const char *val)
{
	const char *opt = options[id].name;
	char *end;

	switch (id) {
	case OPT_PORT:
		return parse_uint(opt, val, o->cmd == C_SERVER ? 0 : 1, 65535, &o->port);
	case OPT_BIND:
	case OPT_TO:
	case OPT_FROM:
		if (o->addr_arg && strcmp(o->addr_opt, opt) && id != OPT_BIND)
			return bad(opt, "%s", "give either --to or --from, not both");
		o->addr_arg = val;
		o->addr_opt = opt;
		return 0;
	case OPT_ONCE:
		o->once = true;
		return 0;
	case OPT_DIRECTION:
		if (!strcmp(val, "send"))
			o->send = true;
		else if (!strcmp(val, "recv"))
			o->send = false;
		else
			return bad(opt, "expected send or recv, got '%s'", val);
		return 0;
	case OPT_STREAMS:
		return parse_uint(opt, val, 1, MAX_STREAMS, &o->streams);
	case OPT_SECONDS:
		errno = 0;
		o->seconds = strtod(val, &end);
		if (!*val || *end || errno || !(o->seconds > 0) || o->seconds > MAX_SECONDS)
			return bad(opt, "expected a number of seconds > 0, got '%s'", val);
		o->seconds_set = true;
		return 0;
	case OPT_BYTES:
		if (blk_parse_size(val, &o->bytes) || !o->bytes)
			return bad(opt, "expected a size > 0, got '%s'", val);
		o->bytes_set = true;
		return 0;
	case OPT_SIZE:
		if (blk_parse_size(val, &o->size) || !o->size || o->size > MAX_RR_SIZE)
			return bad(opt, "expected a size from 1 to 1M, got '%s'", val);
		return 0;
	case OPT_SEED:
		return parse_u64(opt, val, &o->seed);
	case OPT_EXPECT_SEED:
		o->expect_seed_set = true;
		return parse_u64(opt, val, &o->expect_seed);
	}
	return EXIT_USAGE;
}

/* ADDR:PORT, IPv6 in brackets. */
static void format_addr(const struct sockaddr *sa, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN] = "?";

	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)sa;
		inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)sa;
		inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	}
}

/* A numeric IPv4 or IPv6 address (IPv6 optionally with %SCOPE: an interface
 * name or number) and the port into o->addr.  Returns 0 or -1. */
static int resolve_addr(struct net_args *o, const char *s)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)&o->addr;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&o->addr;
	char host[INET6_ADDRSTRLEN + IF_NAMESIZE + 2];
	char *scope;

	memset(&o->addr, 0, sizeof(o->addr));
	if (inet_pton(AF_INET, s, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)o->port);
		o->addrlen = sizeof(*s4);
		return 0;
	}
	if (strlen(s) >= sizeof(host))
		return -1;
	strcpy(host, s);
	if ((scope = strchr(host, '%')))
		*scope++ = '\0';
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) != 1)
		return -1;
	if (scope) {
		char *end;
		unsigned long id = strtoul(scope, &end, 10);

		if (!*scope || *end)
			id = if_nametoindex(scope);
		if (!id || id > UINT32_MAX)
			return -1;
		s6->sin6_scope_id = (uint32_t)id;
	}
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons((uint16_t)o->port);
	o->addrlen = sizeof(*s6);
	return 0;
}

/* Returns 0, EXIT_USAGE, or -1 for --help. */
static int parse_args(int argc, char **argv, struct net_args *o)
{
	size_t c;
	int ret;

	*o = (struct net_args){.port = DEFAULT_PORT,
			       .send = true,
			       .streams = 1,
			       .size = DEFAULT_RR_SIZE,
			       .seed = DEFAULT_SEED};
	if (argc < 2) {
		fprintf(stderr, PROG ": missing MODE: server, stream, rr, send-file or recv-file "
				     "(try " PROG " --help)\n");
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
		return -1;
	for (c = 0; c < NCMDS && strcmp(argv[1], cmd_names[c]); c++)
		;
	if (c == NCMDS) {
		fprintf(stderr,
			PROG ": unknown mode '%s' (server, stream, rr, send-file, recv-file; "
			     "try " PROG " --help)\n",
			argv[1]);
		return EXIT_USAGE;
	}
	o->cmd = (enum net_cmd)c;
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i], *eq, *val = NULL;
		size_t nlen, id;

		if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return -1;
		if (strncmp(a, "--", 2)) {
			fprintf(stderr, PROG " %s: unexpected argument '%s'\n", cmd_names[c], a);
			return EXIT_USAGE;
		}
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		for (id = 0; id < NOPTIONS; id++)
			if (strlen(options[id].name) == nlen && !strncmp(a, options[id].name, nlen))
				break;
		if (id == NOPTIONS) {
			fprintf(stderr, PROG ": unknown option '%.*s' (try " PROG " --help)\n",
				(int)nlen, a);
			return EXIT_USAGE;
		}
		if (!(options[id].cmds & ONLY(c))) {
			fprintf(stderr, PROG ": %s: not an option of " PROG " %s\n",
				options[id].name, cmd_names[c]);
			return EXIT_USAGE;
		}
		if (options[id].has_arg) {
			if (eq)
				val = eq + 1;
			else if (i + 1 < argc)
				val = argv[++i];
			else
				return bad(options[id].name, "%s", "missing value");
		} else if (eq) {
			return bad(options[id].name, "%s", "takes no value");
		}
		if ((ret = set_option(o, (enum opt_id)id, val)))
			return ret;
	}

	if (o->cmd != C_SERVER && !o->addr_arg) {
		fprintf(stderr, PROG " %s: missing %s ADDR (the server's address)\n", cmd_names[c],
			o->cmd == C_RECV_FILE ? "--from" : "--to");
		return EXIT_USAGE;
	}
	if ((ONLY(c) & FILES) && !o->bytes_set)
		return bad("--bytes", "%s", "missing: the length of the transfer");
	if (o->cmd == C_STREAM && o->bytes_set && o->bytes < o->streams)
		return bad("--bytes", "%s", "less than one byte per stream");
	if (!o->seconds_set && (o->cmd == C_RR || (o->cmd == C_STREAM && !o->bytes_set)))
		o->seconds = DEFAULT_SECONDS;
	if (!o->expect_seed_set)
		o->expect_seed = o->seed;
	if (o->addr_arg && resolve_addr(o, o->addr_arg))
		return bad(o->addr_opt, "expected a numeric IPv4 or IPv6 address, got '%s'",
			   o->addr_arg);
	if (o->addr_arg)
		format_addr((const struct sockaddr *)&o->addr, o->addr_str, sizeof(o->addr_str));
	return 0;
}

/* ---- sockets and control messages ---- */

static void set_timeouts(int fd)
{
	struct timeval tv = {.tv_sec = IO_TIMEOUT_S};

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

static void set_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* The error code of a failed send or recv: EAGAIN for the timeouts. */
static int io_errno(void)
{
	return errno == EWOULDBLOCK ? EAGAIN : errno;
}

/* Send all of buf.  Returns 0 or an error code. */
static int send_all(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return io_errno();
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Receive len bytes, or fewer if the peer shuts down its side first.
 * Returns 0 and sets *got, or an error code. */
static int recv_full(int fd, void *buf, size_t len, size_t *got)
{
	char *p = buf;

	*got = 0;
	while (*got < len) {
		ssize_t n = recv(fd, p + *got, len - *got, 0);
		if (n == 0)
			break;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return io_errno();
		}
		*got += (size_t)n;
	}
	return 0;
}

/* Receive up to len bytes.  Returns the count (0: the peer shut down its
 * side) or -(an error code). */
static ssize_t recv_some(int fd, void *buf, size_t len)
{
	for (;;) {
		ssize_t n = recv(fd, buf, len, 0);
		if (n >= 0)
			return n;
		if (errno != EINTR)
			return -io_errno();
	}
}

__attribute__((format(printf, 2, 3))) static int send_msg(int fd, const char *fmt, ...)
{
	char msg[MSG_LEN] = {0};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	return send_all(fd, msg, sizeof(msg));
}

/* Receive one control message into msg, a NUL-terminated string.
 * Returns 0 or an error code. */
static int recv_msg(int fd, char msg[MSG_LEN])
{
	size_t got;
	int e = recv_full(fd, msg, MSG_LEN, &got);

	if (e)
		return e;
	if (got < MSG_LEN)
		return E_EOF;
	if (msg[MSG_LEN - 1])
		return E_PROTO;
	return 0;
}

/* ---- the pattern check, for both sides ---- */

struct verifier {
	uint64_t seed, expected, bytes;
	int64_t first_bad; /* -1: none */
	uint8_t want, got; /* at first_bad */
};

static void verify_feed(struct verifier *v, const uint8_t *buf, size_t n)
{
	if (v->first_bad < 0 && v->bytes < v->expected) {
		size_t m = n, i;

		if (v->expected - v->bytes < m)
			m = (size_t)(v->expected - v->bytes);
		i = pattern_check(buf, m, v->seed, v->bytes);
		if (i < m) {
			v->first_bad = (int64_t)(v->bytes + i);
			v->want = pattern_byte(v->seed, v->bytes + i);
			v->got = buf[i];
		}
	}
	v->bytes += n;
}

static bool verify_ok(const struct verifier *v)
{
	return v->first_bad < 0 && v->bytes == v->expected;
}

/* What went wrong, on stderr (who: the message's prefix). */
static void verify_explain(const char *who, const struct verifier *v)
{
	if (v->first_bad >= 0)
		fprintf(stderr,
			"%s: verify: first mismatch at offset %" PRId64 " (0x%" PRIx64
			"): expected 0x%02x, got 0x%02x (seed %" PRIu64 ")\n",
			who, v->first_bad, (uint64_t)v->first_bad, v->want, v->got, v->seed);
	else if (v->bytes < v->expected)
		fprintf(stderr, "%s: verify: short transfer: %" PRIu64 " of %" PRIu64 " bytes\n",
			who, v->bytes, v->expected);
	else if (v->bytes > v->expected)
		fprintf(stderr,
			"%s: verify: long transfer: %" PRIu64 " bytes, %" PRIu64 " expected\n", who,
			v->bytes, v->expected);
}

static void print_verify(const char *side, const char *dir, const char *peer, uint64_t bytes,
			 uint64_t expected, uint64_t seed, double secs, bool ok, int64_t first_bad)
{
	char bad_str[24] = "null";

	if (first_bad >= 0)
		snprintf(bad_str, sizeof(bad_str), "%" PRId64, first_bad);
	printf("{\"tool\":\"kvmlab-guest net\",\"mode\":\"verify\",\"side\":\"%s\","
	       "\"direction\":\"%s\",\"peer\":\"%s\",\"bytes\":%" PRIu64 ",\"expected\":%" PRIu64
	       ",\"seed\":%" PRIu64 ",\"seconds\":%.3f,\"gbps\":%.3f,\"mbps\":%.1f,\"ok\":%s,"
	       "\"first_bad\":%s}\n",
	       side, dir, peer, bytes, expected, seed, secs, gbits(bytes, secs),
	       gbits(bytes, secs) * 1e3, ok ? "true" : "false", bad_str);
	fflush(stdout);
}

/* ---- server ---- */

struct server {
	bool once;
	int wake[2]; /* a byte to wake[1]: --once state changed */
	pthread_mutex_t lock;
	/* --once: the session served (0: none yet), its connections */
	uint64_t session;
	unsigned nstreams, started, done;
	uint64_t last_done; /* now_ns() of the latest one done */
	bool failed;
};

struct conn {
	struct server *srv;
	int fd;
	char peer[INET6_ADDRSTRLEN + 32];
	const char *mode;
	uint8_t *buf;
};

struct hello {
	enum srv_mode mode;
	uint64_t session;
	unsigned nstreams;
	uint64_t a, b;
	double seconds;
};

static void conn_log(const struct conn *c, const char *what, const char *text)
{
	fprintf(stderr, PROG " server: %s: %s%s%s: %s\n", c->peer, c->mode ? c->mode : "",
		c->mode ? ": " : "", what, text);
}

/* Returns NULL, or why the hello is refused. */
static const char *hello_parse(const char *msg, struct hello *h)
{
	char proto[24], mode[24];
	size_t m;
	int end = -1;

	if (sscanf(msg, "%23s %23s %" SCNx64 " %u %" SCNu64 " %" SCNu64 " %lf %n", proto, mode,
		   &h->session, &h->nstreams, &h->a, &h->b, &h->seconds, &end) != 7 ||
	    end < 0 || msg[end])
		return "malformed hello (not a " PROG " client?)";
	if (strcmp(proto, PROTO))
		return "unsupported protocol (this server speaks " PROTO ")";
	for (m = 0; m < NSRV_MODES && strcmp(mode, srv_mode_names[m]); m++)
		;
	if (m == NSRV_MODES)
		return "unknown mode";
	h->mode = (enum srv_mode)m;
	if (!h->session || !h->nstreams || h->nstreams > MAX_STREAMS)
		return "bad session or stream count";
	if (!(h->seconds >= 0) || h->seconds > MAX_SECONDS)
		return "bad duration";
	switch (h->mode) {
	case S_STREAM_RECV:
		if (!h->a && !(h->seconds > 0))
			return "stream-recv needs a duration or a byte count";
		break;
	case S_RR:
		if (!h->a || h->a > MAX_RR_SIZE)
			return "rr message size out of range (1 to 1M)";
		break;
	case S_SINK:
	case S_SOURCE:
		if (!h->a)
			return "zero-length transfer";
		break;
	default:
		break;
	}
	return NULL;
}

static int serve_stream_recv(struct conn *c, const struct hello *h)
{
	uint64_t sent = 0, deadline = 0;
	char go;
	size_t got;
	int e;

	if ((e = recv_full(c->fd, &go, 1, &got)) || got != 1) {
		conn_log(c, "waiting for the start", err_text(e ? e : E_EOF));
		return -1;
	}
	if (h->seconds > 0)
		deadline = now_ns() + (uint64_t)(h->seconds * 1e9);
	for (;;) {
		size_t len = BUF_SIZE;
		ssize_t n;

		if (h->a) {
			if (sent >= h->a)
				break;
			if (h->a - sent < len)
				len = (size_t)(h->a - sent);
		}
		if (deadline && now_ns() >= deadline)
			break;
		n = send(c->fd, c->buf, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			conn_log(c, "send", err_text(io_errno()));
			return -1;
		}
		sent += (uint64_t)n;
	}
	if (shutdown(c->fd, SHUT_WR)) {
		conn_log(c, "shutdown", strerror(errno));
		return -1;
	}
	return 0;
}

static int serve_stream_send(struct conn *c)
{
	uint64_t bytes = 0;
	ssize_t n;
	int e;

	while ((n = recv_some(c->fd, c->buf, BUF_SIZE)) > 0)
		bytes += (uint64_t)n;
	if (n < 0) {
		conn_log(c, "recv", err_text((int)-n));
		return -1;
	}
	if ((e = send_msg(c->fd, "done %" PRIu64, bytes))) {
		conn_log(c, "sending the count", err_text(e));
		return -1;
	}
	return 0;
}

static int serve_rr(struct conn *c, const struct hello *h)
{
	size_t got;
	int e;

	set_nodelay(c->fd);
	for (;;) {
		if ((e = recv_full(c->fd, c->buf, (size_t)h->a, &got))) {
			conn_log(c, "recv", err_text(e));
			return -1;
		}
		if (!got)
			return 0; /* the client is done */
		if (got < h->a) {
			conn_log(c, "recv", "connection closed inside a message");
			return -1;
		}
		if ((e = send_all(c->fd, c->buf, got))) {
			conn_log(c, "send", err_text(e));
			return -1;
		}
	}
}

static int serve_sink(struct conn *c, const struct hello *h)
{
	struct verifier v = {.seed = h->b, .expected = h->a, .first_bad = -1};
	uint64_t t0 = now_ns();
	char who[sizeof(c->peer) + 32];
	bool ok;
	ssize_t n;
	int e;

	while ((n = recv_some(c->fd, c->buf, BUF_SIZE)) > 0)
		verify_feed(&v, c->buf, (size_t)n);
	if (n < 0)
		conn_log(c, "recv", err_text((int)-n));
	ok = n == 0 && verify_ok(&v);
	print_verify("server", "recv", c->peer, v.bytes, v.expected, v.seed,
		     (double)(now_ns() - t0) / 1e9, ok, v.first_bad);
	snprintf(who, sizeof(who), PROG " server: %s", c->peer);
	verify_explain(who, &v);
	if (n == 0 && (e = send_msg(c->fd, "verify %" PRIu64 " %d %" PRId64, v.bytes, ok ? 1 : 0,
				    v.first_bad))) {
		conn_log(c, "sending the result", err_text(e));
		return -1;
	}
	return ok ? 0 : -1;
}

static int serve_source(struct conn *c, const struct hello *h)
{
	uint64_t off = 0;
	int e;

	while (off < h->a) {
		size_t len = h->a - off < BUF_SIZE ? (size_t)(h->a - off) : BUF_SIZE;

		pattern_fill(c->buf, len, h->b, off);
		if ((e = send_all(c->fd, c->buf, len))) {
			conn_log(c, "send", err_text(e));
			return -1;
		}
		off += len;
	}
	if (shutdown(c->fd, SHUT_WR)) {
		conn_log(c, "shutdown", strerror(errno));
		return -1;
	}
	return 0;
}

static void server_wake(struct server *srv)
{
	char b = 1;

	if (write(srv->wake[1], &b, 1) < 0 && errno != EAGAIN)
		fprintf(stderr, PROG " server: wake: %s\n", strerror(errno));
}

static void *serve_conn(void *arg)
{
	struct conn *c = arg;
	struct server *srv = c->srv;
	const char *refuse;
	char msg[MSG_LEN];
	struct hello h = {0};
	bool counted = false;
	int ret = -1, e;

	if ((e = recv_msg(c->fd, msg))) {
		conn_log(c, "hello", err_text(e));
		goto out;
	}
	refuse = hello_parse(msg, &h);
	if (!refuse) {
		c->mode = srv_mode_names[h.mode];
		pthread_mutex_lock(&srv->lock);
		if (srv->once && !srv->session) {
			srv->session = h.session;
			srv->nstreams = h.nstreams;
		}
		if (srv->once && (srv->session != h.session || srv->started >= srv->nstreams))
			refuse = "busy with another client (--once)";
		else if (srv->once) {
			counted = true;
			srv->started++;
		}
		pthread_mutex_unlock(&srv->lock);
	}
	if (refuse) {
		conn_log(c, "refused", refuse);
		send_msg(c->fd, "error %s", refuse);
		goto out;
	}
	if (h.mode != S_RR && !(c->buf = malloc(BUF_SIZE)))
		refuse = "out of memory";
	else if (h.mode == S_RR && !(c->buf = malloc((size_t)h.a)))
		refuse = "out of memory";
	if ((e = refuse ? send_msg(c->fd, "error %s", refuse) : send_msg(c->fd, "ok"))) {
		conn_log(c, "answering the hello", err_text(e));
		goto out;
	}
	if (refuse) {
		conn_log(c, "refused", refuse);
		goto out;
	}
	switch (h.mode) {
	case S_STREAM_RECV:
		memset(c->buf, 0x5a, BUF_SIZE);
		ret = serve_stream_recv(c, &h);
		break;
	case S_STREAM_SEND:
		ret = serve_stream_send(c);
		break;
	case S_RR:
		ret = serve_rr(c, &h);
		break;
	case S_SINK:
		ret = serve_sink(c, &h);
		break;
	case S_SOURCE:
		ret = serve_source(c, &h);
		break;
	}
out:
	close(c->fd);
	free(c->buf);
	if (counted) {
		pthread_mutex_lock(&srv->lock);
		srv->done++;
		srv->last_done = now_ns();
		if (ret)
			srv->failed = true;
		pthread_mutex_unlock(&srv->lock);
		server_wake(srv);
	}
	free(c);
	return NULL;
}

/* A listening socket for o (--bind, --port), its address in o->addr_str.
 * Returns the socket or -1 (message printed). */
static int server_listen(struct net_args *o)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = -1, one = 1, zero = 0;

	if (!o->addr_arg) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&o->addr;
		struct sockaddr_in *s4 = (struct sockaddr_in *)&o->addr;

		/* All addresses: IPv6 and IPv4 on one socket if the kernel
		 * has IPv6, else IPv4 only. */
		memset(&o->addr, 0, sizeof(o->addr));
		fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
			s6->sin6_family = AF_INET6;
			s6->sin6_addr = in6addr_any;
			s6->sin6_port = htons((uint16_t)o->port);
			o->addrlen = sizeof(*s6);
		} else {
			s4->sin_family = AF_INET;
			s4->sin_addr.s_addr = htonl(INADDR_ANY);
			s4->sin_port = htons((uint16_t)o->port);
			o->addrlen = sizeof(*s4);
		}
	}
	format_addr((const struct sockaddr *)&o->addr, o->addr_str, sizeof(o->addr_str));
	if (fd < 0)
		fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, PROG " server: socket: %s\n", strerror(errno));
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)&o->addr, o->addrlen)) {
		fprintf(stderr, PROG " server: bind %s: %s\n", o->addr_str, strerror(errno));
		close(fd);
		return -1;
	}
	if (listen(fd, LISTEN_BACKLOG)) {
		fprintf(stderr, PROG " server: listen %s: %s\n", o->addr_str, strerror(errno));
		close(fd);
		return -1;
	}
	if (!getsockname(fd, (struct sockaddr *)&ss, &len)) /* the port, if it was 0 */
		format_addr((const struct sockaddr *)&ss, o->addr_str, sizeof(o->addr_str));
	return fd;
}

/* With --once: 1 when the session is over (*status set), else 0 and the
 * poll timeout in ms (-1: none). */
static int once_over(struct server *srv, int *status, int *timeout_ms)
{
	int over = 0;

	*timeout_ms = -1;
	pthread_mutex_lock(&srv->lock);
	if (srv->session && srv->done == srv->nstreams) {
		*status = srv->failed ? 1 : 0;
		over = 1;
	} else if (srv->session && srv->done == srv->started) {
		/* All connections so far are done: wait for the rest of the
		 * client's streams only as long as for any peer. */
		uint64_t end = srv->last_done + (uint64_t)IO_TIMEOUT_S * 1000000000u,
			 now = now_ns();

		if (srv->done && now >= end) {
			fprintf(stderr,
				PROG " server: --once: only %u of the client's %u connections "
				     "came\n",
				srv->started, srv->nstreams);
			*status = 1;
			over = 1;
		} else if (srv->done) {
			*timeout_ms = (int)((end - now) / 1000000u) + 1;
		}
	}
	pthread_mutex_unlock(&srv->lock);
	return over;
}

static int run_server(struct net_args *o)
{
	struct server srv = {.once = o->once, .wake = {-1, -1}};
	pthread_attr_t attr;
	int lfd, status = 1;

	if ((lfd = server_listen(o)) < 0)
		return 1;
	if (pipe2(srv.wake, O_CLOEXEC | O_NONBLOCK)) {
		fprintf(stderr, PROG " server: pipe: %s\n", strerror(errno));
		close(lfd);
		return 1;
	}
	pthread_mutex_init(&srv.lock, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	fprintf(stderr, PROG " server: listening on %s%s\n", o->addr_str,
		o->once ? " (one client)" : "");
	for (;;) {
		struct pollfd p[2] = {{.fd = lfd, .events = POLLIN},
				      {.fd = srv.wake[0], .events = POLLIN}};
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		struct conn *c;
		pthread_t t;
		int timeout = -1, fd, e;
		char drain[64];

		if (o->once && once_over(&srv, &status, &timeout))
			break;
		if (poll(p, 2, timeout) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, PROG " server: poll: %s\n", strerror(errno));
			break;
		}
		while (read(srv.wake[0], drain, sizeof(drain)) > 0)
			;
		if (!(p[0].revents & POLLIN))
			continue;
		fd = accept4(lfd, (struct sockaddr *)&ss, &len, SOCK_CLOEXEC);
		if (fd < 0) {
			/* The connection may be gone already; out of file
			 * descriptors: retry after the others are closed. */
			if (errno != EINTR && errno != ECONNABORTED && errno != EAGAIN)
				fprintf(stderr, PROG " server: accept: %s\n", strerror(errno));
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM)
				usleep(100000);
			continue;
		}
		set_timeouts(fd);
		if (!(c = calloc(1, sizeof(*c)))) {
			fprintf(stderr, PROG " server: out of memory\n");
			close(fd);
			continue;
		}
		*c = (struct conn){.srv = &srv, .fd = fd};
		format_addr((const struct sockaddr *)&ss, c->peer, sizeof(c->peer));
		if ((e = pthread_create(&t, &attr, serve_conn, c))) {
			fprintf(stderr, PROG " server: pthread_create: %s\n", strerror(e));
			close(fd);
			free(c);
		}
	}
	/* Without --once this is reached only on a poll failure.  With it,
	 * connections of other clients may still be running: they end with
	 * the process. */
	fflush(stdout);
	close(lfd);
	return status;
}

/* ---- clients ---- */

static uint64_t new_session(void)
{
	uint64_t s = 0;

	if (getrandom(&s, sizeof(s), GRND_NONBLOCK) != sizeof(s))
		s = now_ns() ^ ((uint64_t)getpid() << 32);
	return s ? s : 1;
}

/* Connect to o->addr within CONNECT_TIMEOUT_S.  Returns the (blocking)
 * socket or -1 (message printed). */
static int connect_timeout(const struct net_args *o)
{
	uint64_t deadline = now_ns() + (uint64_t)CONNECT_TIMEOUT_S * 1000000000u;
	int fd, e = 0, flags;
	socklen_t elen = sizeof(e);

	fd = socket(o->addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		fprintf(stderr, PROG ": socket: %s\n", strerror(errno));
		return -1;
	}
	if (connect(fd, (const struct sockaddr *)&o->addr, o->addrlen)) {
		if (errno != EINPROGRESS) {
			e = errno;
			goto fail;
		}
		for (;;) {
			struct pollfd p = {.fd = fd, .events = POLLOUT};
			uint64_t now = now_ns();
			int n;

			if (now >= deadline) {
				fprintf(stderr, PROG ": connect to %s: timed out after %d s\n",
					o->addr_str, CONNECT_TIMEOUT_S);
				close(fd);
				return -1;
			}
			n = poll(&p, 1, (int)((deadline - now) / 1000000u) + 1);
			if (n > 0)
				break;
			if (n < 0 && errno != EINTR) {
				e = errno;
				goto fail;
			}
		}
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &elen))
			e = errno;
		if (e)
			goto fail;
	}
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK)) {
		e = errno;
		goto fail;
	}
	set_timeouts(fd);
	return fd;
fail:
	fprintf(stderr, PROG ": connect to %s: %s%s\n", o->addr_str, strerror(e),
		e == ECONNREFUSED ? " (is `kvmlab-guest net server` running there?)" : "");
	close(fd);
	return -1;
}

/* Connect and announce the mode.  Returns the socket, once the server has
 * accepted, or -1 (message printed). */
static int client_open(const struct net_args *o, const char *mode, uint64_t session,
		       unsigned nstreams, uint64_t a, uint64_t b, double seconds)
{
	char msg[MSG_LEN];
	int fd, e;

	if ((fd = connect_timeout(o)) < 0)
		return -1;
	if ((e = send_msg(fd, PROTO " %s %016" PRIx64 " %u %" PRIu64 " %" PRIu64 " %.6f", mode,
			  session, nstreams, a, b, seconds)) ||
	    (e = recv_msg(fd, msg))) {
		fprintf(stderr, PROG ": %s: %s: %s\n", o->addr_str, mode, err_text(e));
		close(fd);
		return -1;
	}
	if (strcmp(msg, "ok")) {
		fprintf(stderr, PROG ": %s: the server refused %s: %s\n", o->addr_str, mode,
			strncmp(msg, "error ", 6) ? msg : msg + 6);
		close(fd);
		return -1;
	}
	return fd;
}

struct client_run {
	const struct net_args *o;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool go, abort;
	atomic_bool failed;
	uint8_t *sendbuf; /* shared, read-only */
};

struct stream {
	struct client_run *run;
	unsigned idx;
	int fd;
	pthread_t thread;
	bool started;
	uint8_t *buf;
	uint64_t limit; /* bytes for this stream; 0: none */
	uint64_t sent, bytes, t0, t1;
};

static void stream_fail(struct stream *s, const char *what, const char *text)
{
	fprintf(stderr, PROG ": %s: stream %u: %s: %s\n", s->run->o->addr_str, s->idx, what, text);
	atomic_store(&s->run->failed, true);
}

static void stream_send(struct stream *s)
{
	struct client_run *r = s->run;
	uint64_t deadline = 0, n;
	char msg[MSG_LEN], text[96];
	int e, end = -1;

	if (r->o->seconds > 0)
		deadline = s->t0 + (uint64_t)(r->o->seconds * 1e9);
	for (;;) {
		size_t len = BUF_SIZE;
		ssize_t k;

		if (s->limit) {
			if (s->sent >= s->limit)
				break;
			if (s->limit - s->sent < len)
				len = (size_t)(s->limit - s->sent);
		}
		if ((deadline && now_ns() >= deadline) || atomic_load(&r->failed))
			break;
		k = send(s->fd, r->sendbuf, len, MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			stream_fail(s, "send", err_text(io_errno()));
			return;
		}
		s->sent += (uint64_t)k;
	}
	if (shutdown(s->fd, SHUT_WR)) {
		stream_fail(s, "shutdown", strerror(errno));
		return;
	}
	/* The server's count: everything arrived (is counted in the time). */
	if ((e = recv_msg(s->fd, msg))) {
		stream_fail(s, "waiting for the server's count", err_text(e));
		return;
	}
	if (sscanf(msg, "done %" SCNu64 "%n", &n, &end) != 1 || end < 0 || msg[end]) {
		stream_fail(s, "the server's count", err_text(E_PROTO));
		return;
	}
	s->bytes = n;
	if (n != s->sent) {
		snprintf(text, sizeof(text), "%" PRIu64 " bytes sent, %" PRIu64 " received",
			 s->sent, n);
		stream_fail(s, "the server's count", text);
	}
}

static void stream_recv(struct stream *s)
{
	char go = 'g', text[96];
	ssize_t n;
	int e;

	if ((e = send_all(s->fd, &go, 1))) {
		stream_fail(s, "send", err_text(e));
		return;
	}
	while ((n = recv_some(s->fd, s->buf, BUF_SIZE)) > 0)
		s->bytes += (uint64_t)n;
	if (n < 0) {
		stream_fail(s, "recv", err_text((int)-n));
		return;
	}
	if (s->limit && s->bytes != s->limit) {
		snprintf(text, sizeof(text), "%" PRIu64 " of %" PRIu64 " bytes", s->bytes,
			 s->limit);
		stream_fail(s, "short transfer", text);
	}
}

static void *stream_thread(void *arg)
{
	struct stream *s = arg;
	struct client_run *r = s->run;
	bool abort;

	pthread_mutex_lock(&r->lock);
	while (!r->go)
		pthread_cond_wait(&r->cond, &r->lock);
	abort = r->abort;
	pthread_mutex_unlock(&r->lock);
	if (abort)
		return NULL;
	s->t0 = now_ns();
	if (r->o->send)
		stream_send(s);
	else
		stream_recv(s);
	s->t1 = now_ns();
	return NULL;
}

static int run_stream(const struct net_args *o)
{
	struct client_run r = {.o = o};
	uint64_t session = new_session(), bytes = 0, t0 = UINT64_MAX, t1 = 0;
	const unsigned n = o->streams;
	struct stream *ss;
	pthread_attr_t attr;
	int ret = 1, e;
	double secs;

	pthread_mutex_init(&r.lock, NULL);
	pthread_cond_init(&r.cond, NULL);
	ss = calloc(n, sizeof(*ss));
	if (!ss || (o->send && !(r.sendbuf = malloc(BUF_SIZE)))) {
		fprintf(stderr, PROG ": out of memory\n");
		goto out;
	}
	if (o->send)
		memset(r.sendbuf, 0x5a, BUF_SIZE);
	for (unsigned i = 0; i < n; i++)
		ss[i] = (struct stream){.run = &r, .idx = i, .fd = -1};
	/* Connect all streams first, so they start together. */
	for (unsigned i = 0; i < n; i++) {
		struct stream *s = &ss[i];

		if (o->bytes_set)
			s->limit = o->bytes / n + (i < o->bytes % n ? 1 : 0);
		if (!o->send && !(s->buf = malloc(BUF_SIZE))) {
			fprintf(stderr, PROG ": out of memory\n");
			goto out;
		}
		s->fd = client_open(o, o->send ? "stream-send" : "stream-recv", session, n,
				    o->send ? 0 : s->limit, 0, o->send ? 0 : o->seconds);
		if (s->fd < 0)
			goto out;
	}
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, THREAD_STACK);
	for (unsigned i = 0; i < n; i++) {
		if ((e = pthread_create(&ss[i].thread, &attr, stream_thread, &ss[i]))) {
			fprintf(stderr, PROG ": pthread_create: %s\n", strerror(e));
			r.abort = true;
			break;
		}
		ss[i].started = true;
	}
	pthread_attr_destroy(&attr);
	pthread_mutex_lock(&r.lock);
	r.go = true;
	pthread_cond_broadcast(&r.cond);
	pthread_mutex_unlock(&r.lock);
	for (unsigned i = 0; i < n; i++) {
		if (!ss[i].started)
			continue;
		pthread_join(ss[i].thread, NULL);
		bytes += ss[i].bytes;
		if (ss[i].t0 < t0)
			t0 = ss[i].t0;
		if (ss[i].t1 > t1)
			t1 = ss[i].t1;
	}
	if (r.abort || atomic_load(&r.failed))
		goto out;
	secs = (double)(t1 - t0) / 1e9;
	printf("{\"tool\":\"kvmlab-guest net\",\"mode\":\"stream\",\"direction\":\"%s\","
	       "\"streams\":%u,\"bytes\":%" PRIu64 ",\"seconds\":%.3f,\"gbps\":%.3f,"
	       "\"mbps\":%.1f}\n",
	       o->send ? "send" : "recv", n, bytes, secs, gbits(bytes, secs),
	       gbits(bytes, secs) * 1e3);
	ret = fflush(stdout) ? 1 : 0;
out:
	if (ss) {
		for (unsigned i = 0; i < n; i++) {
			if (ss[i].fd >= 0)
				close(ss[i].fd);
			free(ss[i].buf);
		}
	}
	free(ss);
	free(r.sendbuf);
	pthread_cond_destroy(&r.cond);
	pthread_mutex_destroy(&r.lock);
	return ret;
}

static int run_rr(const struct net_args *o)
{
	struct blk_hist *hist = calloc(1, sizeof(*hist));
	uint8_t *buf = malloc((size_t)o->size);
	uint64_t t0, now, deadline, n = 0;
	int fd = -1, ret = 1, e = 0;
	size_t got;
	double secs;

	if (!hist || !buf) {
		fprintf(stderr, PROG ": out of memory\n");
		goto out;
	}
	memset(buf, 0x5a, (size_t)o->size);
	if ((fd = client_open(o, "rr", new_session(), 1, o->size, 0, o->seconds)) < 0)
		goto out;
	set_nodelay(fd);
	t0 = now = now_ns();
	deadline = t0 + (uint64_t)(o->seconds * 1e9);
	while (now < deadline) {
		uint64_t start = now;

		if ((e = send_all(fd, buf, (size_t)o->size)))
			break;
		if ((e = recv_full(fd, buf, (size_t)o->size, &got)))
			break;
		if (got < o->size) {
			e = E_EOF;
			break;
		}
		now = now_ns();
		blk_hist_add(hist, now - start);
		n++;
	}
	if (e) {
		fprintf(stderr, PROG ": %s: rr: %s\n", o->addr_str, err_text(e));
		goto out;
	}
	secs = (double)(now - t0) / 1e9;
	shutdown(fd, SHUT_WR); /* the server's side ends */
	printf("{\"tool\":\"kvmlab-guest net\",\"mode\":\"rr\",\"size\":%" PRIu64
	       ",\"transactions\":%" PRIu64 ",\"seconds\":%.3f,\"tps\":%.1f,"
	       "\"lat_us\":{\"p50\":%.2f,\"p99\":%.2f,\"p999\":%.2f}}\n",
	       o->size, n, secs, secs > 0 ? (double)n / secs : 0,
	       (double)blk_hist_quantile(hist, 0.50) / 1e3,
	       (double)blk_hist_quantile(hist, 0.99) / 1e3,
	       (double)blk_hist_quantile(hist, 0.999) / 1e3);
	ret = fflush(stdout) ? 1 : 0;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	free(hist);
	return ret;
}

/* send-file: the server receives and checks. */
static int run_send_file(const struct net_args *o)
{
	uint8_t *buf = malloc(BUF_SIZE);
	uint64_t off = 0, t0, bytes;
	char msg[MSG_LEN], who[sizeof(o->addr_str) + 32];
	int64_t first_bad;
	int fd = -1, ret = 1, ok, e, end = -1;
	double secs;

	if (!buf) {
		fprintf(stderr, PROG ": out of memory\n");
		goto out;
	}
	if ((fd = client_open(o, "sink-hash", new_session(), 1, o->bytes, o->expect_seed, 0)) < 0)
		goto out;
	t0 = now_ns();
	while (off < o->bytes) {
		size_t len = o->bytes - off < BUF_SIZE ? (size_t)(o->bytes - off) : BUF_SIZE;

		pattern_fill(buf, len, o->seed, off);
		if ((e = send_all(fd, buf, len))) {
			fprintf(stderr, PROG ": %s: send-file: send at offset %" PRIu64 ": %s\n",
				o->addr_str, off, err_text(e));
			goto out;
		}
		off += len;
	}
	if (shutdown(fd, SHUT_WR)) {
		fprintf(stderr, PROG ": %s: send-file: shutdown: %s\n", o->addr_str,
			strerror(errno));
		goto out;
	}
	if ((e = recv_msg(fd, msg)) ||
	    sscanf(msg, "verify %" SCNu64 " %d %" SCNd64 "%n", &bytes, &ok, &first_bad, &end) !=
		3 ||
	    end < 0 || msg[end]) {
		fprintf(stderr, PROG ": %s: send-file: no result from the server: %s\n",
			o->addr_str, err_text(e ? e : E_PROTO));
		goto out;
	}
	secs = (double)(now_ns() - t0) / 1e9;
	print_verify("client", "send", o->addr_str, bytes, o->bytes, o->expect_seed, secs, ok == 1,
		     first_bad);
	if (ok != 1) {
		struct verifier v = {
		    .seed = o->expect_seed, .expected = o->bytes, .bytes = bytes, .first_bad = -1};

		/* The server printed the bytes; say where. */
		snprintf(who, sizeof(who), PROG ": %s", o->addr_str);
		if (first_bad >= 0)
			fprintf(stderr,
				"%s: verify: the server found a mismatch at offset %" PRId64
				" (seed %" PRIu64 ")\n",
				who, first_bad, o->expect_seed);
		else
			verify_explain(who, &v);
	}
	ret = ok == 1 ? 0 : 1;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

/* recv-file: the server sends, we check. */
static int run_recv_file(const struct net_args *o)
{
	struct verifier v = {.seed = o->expect_seed, .expected = o->bytes, .first_bad = -1};
	uint8_t *buf = malloc(BUF_SIZE);
	char who[sizeof(o->addr_str) + 32];
	int fd = -1, ret = 1;
	uint64_t t0;
	ssize_t n;
	bool ok;

	if (!buf) {
		fprintf(stderr, PROG ": out of memory\n");
		goto out;
	}
	if ((fd = client_open(o, "source-hash", new_session(), 1, o->bytes, o->seed, 0)) < 0)
		goto out;
	t0 = now_ns();
	while ((n = recv_some(fd, buf, BUF_SIZE)) > 0)
		verify_feed(&v, buf, (size_t)n);
	if (n < 0)
		fprintf(stderr, PROG ": %s: recv-file: recv at offset %" PRIu64 ": %s\n",
			o->addr_str, v.bytes, err_text((int)-n));
	ok = n == 0 && verify_ok(&v);
	print_verify("client", "recv", o->addr_str, v.bytes, v.expected, v.seed,
		     (double)(now_ns() - t0) / 1e9, ok, v.first_bad);
	snprintf(who, sizeof(who), PROG ": %s", o->addr_str);
	verify_explain(who, &v);
	ret = ok ? 0 : 1;
out:
	if (fd >= 0)
		close(fd);
	free(buf);
	return ret;
}

int net_main(int argc, char **argv)
{
	struct net_args o;
	int ret;

	ret = parse_args(argc, argv, &o);
	if (ret < 0) {
		help(stdout);
		return fflush(stdout) ? 1 : 0;
	}
	if (ret)
		return ret;
	signal(SIGPIPE, SIG_IGN); /* a closed peer is an error code, not a signal */
	switch (o.cmd) {
	case C_SERVER:
		return run_server(&o);
	case C_STREAM:
		return run_stream(&o);
	case C_RR:
		return run_rr(&o);
	case C_SEND_FILE:
		return run_send_file(&o);
	case C_RECV_FILE:
		return run_recv_file(&o);
	}
	return EXIT_USAGE;
}
