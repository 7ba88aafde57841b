/* The `--net` option (repeatable):
 *   --net tap=NAME[,mac=MAC][,queues=N][,queue-size=N][,vhost=on|off]
 *         [,iothreads=N][,iothread-affinity=CPULIST][,offloads=on|off]
 *         [,mtu=N][,ioeventfd=on|off][,irqfd=on|off]
 * queues counts queue pairs.  Pure: nothing is opened. */
#ifndef KVMLAB_VMM_NET_OPTS_H
#define KVMLAB_VMM_NET_OPTS_H

#include <net/if.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_MAX		       4
#define NET_MAX_PAIRS	       8
#define NET_DEFAULT_QUEUE_SIZE 256
#define NET_MAX_QUEUE_SIZE     1024
#define NET_MIN_MTU	       68
#define NET_MAX_MTU	       65535

struct net_opts {
	char tap[IFNAMSIZ];
	uint8_t mac[6];
	bool mac_set;		 /* else 02:4b:4c:00:00:<index + 1> */
	unsigned int queues;	 /* queue pairs, default 1 */
	unsigned int queue_size; /* power of two, 2..NET_MAX_QUEUE_SIZE */
	bool vhost;
	unsigned int iothreads; /* 1..queues */
	bool affinity_set;
	cpu_set_t affinity;
	bool offloads;	  /* default on */
	unsigned int mtu; /* 0: not announced */
	bool ioeventfd, irqfd;
};

/* Parse one --net value into *n (defaults first).  Returns 0 or -EINVAL
 * with a one-line reason naming --net and the key in err. */
int net_opts_parse(const char *s, struct net_opts *n, char *err, size_t errlen);

#endif
