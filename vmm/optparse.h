/* Helpers shared by the KEY=VALUE[,KEY=VALUE...] option parsers (--disk,
 * --net, --rng): one-line errors naming the option, on/off and number
 * values, and splitting items where a CPU list may contain ','.  Pure. */
#ifndef KVMLAB_VMM_OPTPARSE_H
#define KVMLAB_VMM_OPTPARSE_H

#include <stdbool.h>
#include <stddef.h>

/* printf into err (may be NULL); returns -EINVAL. */
int opt_fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "on"/"off" for KEY of option OPT.  0, or -EINVAL with "OPT: KEY='V' (use
 * on or off)". */
int opt_onoff(const char *opt, const char *key, const char *v, bool *out, char *err, size_t errlen);

/* A decimal number in [min, max].  0, or -EINVAL naming OPT and KEY. */
int opt_uint(const char *opt, const char *key, const char *v, unsigned int min, unsigned int max,
	     unsigned int *out, char *err, size_t errlen);

/* Length of the item at s: up to the next ',', except that an item
 * starting with list_key (e.g. "iothread-affinity=") also takes the
 * following items that have no '=' ("iothread-affinity=0-1,4"). */
size_t opt_item_len(const char *s, const char *list_key);

#endif
