/* The control socket (--api-socket PATH): a Unix stream socket served by
 * its own thread ("api") with an epoll loop and a stop eventfd.
 *
 * Protocol: newline-delimited JSON.  Each request is one line holding an
 * object {"cmd": "<name>", ...arguments}; each reply is one line,
 * {"ok":true, ...} or {"ok":false,"error":"<message>"}, in request order.
 * Blank lines are ignored; at end of input a last line without '\n'
 * still counts.  A malformed request, an unknown command or a failing
 * command gets an error reply and the connection stays usable; a request
 * longer than max_request bytes gets an error reply and the connection is
 * closed.  A client is closed when it does not complete a request within
 * idle_timeout_ms of connecting or of its previous request, or when its
 * unread replies pass max_output bytes; clients beyond max_clients get an
 * error line and are closed at once.  One client's trouble never stops
 * the server or touches the others, and no write ever blocks the thread.
 *
 * Commands come from a const table given by the caller.  Handlers run on
 * the api thread, one at a time.  A handler may ask the server to stop
 * after its reply (API_STOP): the server then flushes pending replies
 * (for at most a second), closes every client, removes the socket file
 * and calls on_stop, which is how the VM learns of it. */
#ifndef KVMLAB_VMM_API_H
#define KVMLAB_VMM_API_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "vmm/json.h"
#include "vmm/seccomp.h"

#define API_DEFAULT_MAX_CLIENTS 16
#define API_DEFAULT_IDLE_MS	10000
#define API_DEFAULT_MAX_REQUEST 65536	/* bytes of one request line, without '\n' */
#define API_DEFAULT_MAX_OUTPUT	1048576 /* unread reply bytes per client */
#define API_DEFAULT_TIMEOUT_MS	30000	/* api_client_request */
#define API_ERR_LEN		256	/* size of a handler's err buffer */

/* Return value of a handler: reply ok, then stop the server. */
#define API_STOP 1

struct api_command {
	const char *name; /* the "cmd" value */
	/* req: the whole request object ("cmd" included).  reply: a writer
	 * inside the reply object, just after "ok":true; the handler adds
	 * its members with jw_key/jw_kv_* (never "ok" or "error") and
	 * leaves it balanced.  Returns 0, API_STOP (reply, then stop the
	 * server), or a negative errno with a message in err (errlen is
	 * API_ERR_LEN; an empty message stands for strerror): the server
	 * then discards what was written and replies {"ok":false,"error":
	 * err}. */
	int (*fn)(void *opaque, const struct json_value *req, struct json_writer *reply, char *err,
		  size_t errlen);
};

struct api_config {
	const char *path;		    /* socket path (copied) */
	const struct api_command *commands; /* the table (must outlive the server) */
	size_t ncommands;		    /* entries in commands */
	void *opaque;			    /* passed to every handler and to on_stop */
	/* Called once on the api thread after a handler returned API_STOP
	 * and the replies went out (the socket file is gone by then).  It
	 * must not call api_stop; typically it asks the VM to stop, and the
	 * VM's teardown calls api_stop and api_destroy.  May be NULL. */
	void (*on_stop)(void *opaque);
	unsigned int max_clients;     /* 0: API_DEFAULT_MAX_CLIENTS */
	unsigned int idle_timeout_ms; /* 0: API_DEFAULT_IDLE_MS */
	size_t max_request;	      /* 0: API_DEFAULT_MAX_REQUEST */
	size_t max_output;	      /* 0: API_DEFAULT_MAX_OUTPUT */
	/* seccomp_apply(SECCOMP_KIND_MAIN, seccomp) runs first on the api
	 * thread (0: SECCOMP_MODE_OFF) */
	enum seccomp_mode seccomp;
};

/* Counters, readable from any thread. */
struct api_stats {
	_Atomic uint64_t accepted;  /* connections served */
	_Atomic uint64_t refused;   /* connections turned away: too many clients */
	_Atomic uint64_t requests;  /* request lines handled */
	_Atomic uint64_t errors;    /* error replies sent */
	_Atomic uint64_t oversize;  /* clients closed for a too long request */
	_Atomic uint64_t timeouts;  /* clients closed for idling */
	_Atomic uint64_t overflows; /* clients closed for not reading their replies */
	_Atomic uint64_t closed;    /* clients closed, for any reason */
};

struct api_client;

struct api_server {
	struct api_config cfg; /* with defaults filled in; cfg.path points to path */
	char path[108];	       /* sizeof(sun_path) */
	int listen_fd;
	int epfd;
	int stop_efd;
	dev_t sock_dev; /* identity of the socket file we created, so that */
	ino_t sock_ino; /* we only ever remove our own */
	bool sock_linked;
	struct api_client *clients; /* max_clients slots */
	void *arena;		    /* request parse memory (one request at a time) */
	size_t arena_size;
	struct json_writer reply;
	pthread_t thread;
	bool started;
	bool stopping;	 /* a handler returned API_STOP (api thread only) */
	bool listen_off; /* the listener is out of epoll (api thread only) */
	uint64_t listen_resume_ns;
	uint64_t stop_deadline_ns;
	atomic_bool stop_requested; /* a handler returned API_STOP */
	atomic_bool finished;	    /* the thread has closed everything (after API_STOP) */
	_Atomic int tid;	    /* kernel thread id of the api thread */
	sem_t up;		    /* posted once the thread's filter is in */
	int start_err;		    /* its seccomp_apply result */
	struct api_stats stats;
};

/* Check the config, create the socket at cfg->path (mode 0600, never
 * reachable with another mode, whatever the umask: it is bound in a fresh
 * 0700 directory beside PATH, chmod-ed, listened on and then renamed into
 * place without replacing anything) and the epoll/eventfd.  An existing
 * PATH is replaced only if it is a stale socket (connect gives
 * ECONNREFUSED).  Returns 0, or a negative errno with a message naming the
 * path in err: -EADDRINUSE (a server answers there), -EEXIST (PATH is not
 * a socket), -ENAMETOOLONG, -EINVAL (bad config), or a system error.  On
 * failure nothing is left open or created. */
int api_init(struct api_server *s, const struct api_config *cfg, char *err, size_t errlen);

/* Start the "api" thread (all signals but SIGSYS blocked in it) and wait
 * until it installed its seccomp filter (cfg.seccomp).  0 or a negative
 * errno (the filter's error: the thread is then joined). */
int api_start(struct api_server *s);

/* Stop the thread if it runs (pending replies are not waited for), close
 * every client and the listener, remove the socket file if it is still
 * ours.  Idempotent; safe after a failed api_init. */
void api_stop(struct api_server *s);

/* api_stop, then free everything.  Safe after a failed api_init. */
void api_destroy(struct api_server *s);

/* Whether a handler asked the server to stop. */
bool api_stop_requested(const struct api_server *s);

/* One request from a client: connect to path, send request (one line; a
 * '\n' is added if missing) and read one reply line into reply (replylen
 * bytes including the NUL; the '\n' is dropped).  timeout_ms (0: the
 * default) bounds the whole exchange.  Returns the reply length, or a
 * negative errno: from connect (-ENOENT, -ECONNREFUSED, -EACCES, ...),
 * -ETIMEDOUT, -EMSGSIZE (the reply does not fit), -ECONNRESET (closed
 * before a whole line), -EINVAL (a '\n' inside request). */
ssize_t api_client_request(const char *path, const char *request, char *reply, size_t replylen,
			   unsigned int timeout_ms);

#endif
