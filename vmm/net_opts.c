/* --net parser. */
#include "vmm/net_opts.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "vmm/cpulist.h"
#include "vmm/optparse.h"

static int parse_mac(const char *v, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	if (sscanf(v, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3], &b[4], &b[5],
		   &end) != 6 ||
	    strlen(v) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	/* a multicast address cannot be a NIC's */
	return (mac[0] & 1) ? -EINVAL : 0;
}

static int set_key(struct net_opts *n, const char *k, const char *v, char *err, size_t errlen)
{
	if (!strcmp(k, "tap")) {
		if (!*v || strlen(v) >= IFNAMSIZ || strchr(v, '/') || !strcmp(v, ".") ||
		    !strcmp(v, ".."))
			return opt_fail(err, errlen, "--net: tap='%s' is not an interface name", v);
		strcpy(n->tap, v);
		return 0;
	}
	if (!strcmp(k, "mac")) {
		if (parse_mac(v, n->mac))
			return opt_fail(
			    err, errlen,
			    "--net: mac='%s' (use six hex bytes like 02:00:00:00:00:01, "
			    "not multicast)",
			    v);
		n->mac_set = true;
		return 0;
	}
	if (!strcmp(k, "vhost"))
		return opt_onoff("--net", k, v, &n->vhost, err, errlen);
	if (!strcmp(k, "offloads"))
		return opt_onoff("--net", k, v, &n->offloads, err, errlen);
	if (!strcmp(k, "ioeventfd"))
		return opt_onoff("--net", k, v, &n->ioeventfd, err, errlen);
	if (!strcmp(k, "irqfd"))
		return opt_onoff("--net", k, v, &n->irqfd, err, errlen);
	if (!strcmp(k, "queues"))
		return opt_uint("--net", k, v, 1, NET_MAX_PAIRS, &n->queues, err, errlen);
	if (!strcmp(k, "iothreads"))
		return opt_uint("--net", k, v, 1, NET_MAX_PAIRS, &n->iothreads, err, errlen);
	if (!strcmp(k, "mtu"))
		return opt_uint("--net", k, v, NET_MIN_MTU, NET_MAX_MTU, &n->mtu, err, errlen);
	if (!strcmp(k, "queue-size")) {
		int r = opt_uint("--net", k, v, 2, NET_MAX_QUEUE_SIZE, &n->queue_size, err, errlen);

		if (!r && (n->queue_size & (n->queue_size - 1)))
			return opt_fail(err, errlen, "--net: queue-size=%u is not a power of two",
					n->queue_size);
		return r;
	}
	if (!strcmp(k, "iothread-affinity")) {
		if (cpulist_parse(v, &n->affinity) || CPU_COUNT(&n->affinity) == 0)
			return opt_fail(
			    err, errlen,
			    "--net: iothread-affinity='%s' is not a CPU list (e.g. 2-3 or "
			    "2:5)",
			    v);
		n->affinity_set = true;
		return 0;
	}
	return opt_fail(err, errlen, "--net: unknown key '%s'", k);
}

int net_opts_parse(const char *s, struct net_opts *n, char *err, size_t errlen)
{
	char item[128];

	memset(n, 0, sizeof(*n));
	n->queues = 1;
	n->queue_size = NET_DEFAULT_QUEUE_SIZE;
	n->iothreads = 1;
	n->offloads = true;
	n->ioeventfd = n->irqfd = true;
	if (err && errlen)
		err[0] = '\0';
	if (!s || !*s)
		return opt_fail(err, errlen, "--net: empty value (use --net tap=NAME[,...])");
	while (*s) {
		size_t len = opt_item_len(s, "iothread-affinity=");
		char *eq;
		int r;

		if (len >= sizeof(item))
			return opt_fail(err, errlen, "--net: item too long");
		memcpy(item, s, len);
		item[len] = '\0';
		eq = strchr(item, '=');
		if (!eq)
			return opt_fail(err, errlen, "--net: '%s' is not KEY=VALUE", item);
		*eq = '\0';
		r = set_key(n, item, eq + 1, err, errlen);
		if (r)
			return r;
		s += len;
		if (*s == ',' && !*++s)
			return opt_fail(err, errlen, "--net: trailing ','");
	}
	if (!n->tap[0])
		return opt_fail(err, errlen, "--net: tap=NAME is required");
	if (n->iothreads > n->queues)
		return opt_fail(err, errlen, "--net: iothreads=%u is more than queues=%u",
				n->iothreads, n->queues);
	return 0;
}
