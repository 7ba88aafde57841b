/* The `--balloon` option:
 *   --balloon [deflate-on-oom=on|off][,free-page-reporting=on|off]
 *             [,stats=on|off][,ioeventfd=on|off][,irqfd=on|off]
 * A bare --balloon adds the device with everything off.  Pure. */
#ifndef KVMLAB_VMM_BALLOON_OPTS_H
#define KVMLAB_VMM_BALLOON_OPTS_H

#include <stdbool.h>
#include <stddef.h>

struct balloon_opts {
	bool enabled; /* --balloon given */
	bool deflate_on_oom;
	bool free_page_reporting;
	bool stats;
	bool ioeventfd, irqfd; /* default on */
};

/* Defaults: not enabled, features off, ioeventfd and irqfd on. */
void balloon_opts_default(struct balloon_opts *b);

/* Parse one --balloon value (KEY=VALUE[,KEY=VALUE...]) into *b and mark
 * it enabled.  Returns 0 or -EINVAL with a one-line reason naming
 * --balloon and the key in err. */
int balloon_opts_parse(const char *s, struct balloon_opts *b, char *err, size_t errlen);

#endif
