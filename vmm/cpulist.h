/* CPU lists such as "0-3,8" or "2:5": parsing into a cpu_set_t.  Pure. */
#ifndef KVMLAB_VMM_CPULIST_H
#define KVMLAB_VMM_CPULIST_H

#include <sched.h>

/* Parse s (numbers and ranges a-b, separated by ',' or ':') into *set.
 * Returns 0, -EINVAL if malformed or empty, -ERANGE for a CPU >=
 * CPU_SETSIZE or a reversed range. */
int cpulist_parse(const char *s, cpu_set_t *set);

#endif
