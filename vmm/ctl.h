/* kvmlab ctl PATH COMMAND [KEY=VALUE ...] [--raw]: send one request to a
 * running kvmlab's control socket (see vmm/api.h) and print the reply.
 * The request is {"cmd":COMMAND, KEY:VALUE, ...}; a VALUE that is a JSON
 * number goes as a number, true and false as booleans, anything else as
 * a string.  The reply is pretty-printed, or printed as it came with
 * --raw.  Exit status: 0 if the reply says "ok":true, 1 if "ok":false, 2
 * for a usage error or when the exchange itself fails (socket unreachable,
 * no reply, malformed reply). */
#ifndef KVMLAB_VMM_CTL_H
#define KVMLAB_VMM_CTL_H

#include <stdio.h>

#include "vmm/json.h"

#define CTL_OK	   0
#define CTL_FAILED 1
#define CTL_USAGE  2

extern const char ctl_usage[];

/* The request for COMMAND and nargs KEY=VALUE strings, written to w (a
 * fresh writer).  Returns 0, or -EINVAL with a one-line message in err for
 * an argument without '=', an empty or repeated KEY, or KEY "cmd". */
int ctl_build_request(const char *command, char *const *args, int nargs, struct json_writer *w,
		      char *err, size_t errlen);

/* The whole command with argv[0] == "ctl": the reply goes to out, messages
 * to errout.  Returns the exit status (CTL_OK, CTL_FAILED or CTL_USAGE);
 * never exits. */
int ctl_run(int argc, char **argv, FILE *out, FILE *errout);

/* ctl_run on stdout and stderr. */
int ctl_main(int argc, char **argv);

#endif
