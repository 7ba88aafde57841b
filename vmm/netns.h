/* A private network namespace with taps in it, for `kvmlab bench net`:
 * everything the suite's guests and its host-side server say to each other
 * stays in a namespace of the bench process's own, and the namespace (taps,
 * addresses, routes) vanishes with the last process in it: bench, and the
 * runs and server it started (they get PR_SET_PDEATHSIG, so a killed bench
 * takes them along).
 * Needs CAP_SYS_ADMIN and CAP_NET_ADMIN (root). */
#ifndef KVMLAB_VMM_NETNS_H
#define KVMLAB_VMM_NETNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Move the calling process (single-threaded) into a new network namespace
 * and bring its loopback up.  Children started afterwards inherit it.
 * Returns 0, or a negative errno with a one-line reason in err (EPERM:
 * not root). */
int netns_enter_private(char *err, size_t errlen);

/* Create the persistent tap `name` (IFF_TAP | IFF_NO_PI | IFF_VNET_HDR,
 * IFF_MULTI_QUEUE if multi_queue) in the current namespace, give it the
 * IPv4 address addr (dotted quad) with a /prefix netmask and bring it up.
 * Returns 0, or a negative errno with a one-line reason naming the tap in
 * err; a tap made before the failure stays (it goes with the namespace). */
int netns_tap_add(const char *name, bool multi_queue, const char *addr, unsigned int prefix,
		  char *err, size_t errlen);

#endif
