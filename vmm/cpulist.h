/* CPU lists such as "0-3,8" or "2:5": parsing into a cpu_set_t, and
 * printing one.  Pure. */
#ifndef KVMLAB_VMM_CPULIST_H
#define KVMLAB_VMM_CPULIST_H

#include <sched.h>
#include <stddef.h>

/* Parse s (numbers and ranges a-b, separated by ',' or ':') into *set.
 * Returns 0, -EINVAL if malformed or empty, -ERANGE for a CPU >=
 * CPU_SETSIZE or a reversed range. */
int cpulist_parse(const char *s, cpu_set_t *set);

/* Write *set as a CPU list ("0-3,8"; "" for an empty set) into buf (len
 * bytes, NUL-terminated, truncated if too small).  Returns the length the
 * whole list needs, excluding the NUL (as snprintf does). */
int cpulist_format(const cpu_set_t *set, char *buf, size_t len);

#endif
