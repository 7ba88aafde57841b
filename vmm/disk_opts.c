/* --disk parser. */
#include "vmm/disk_opts.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "vmm/cpulist.h"
#include "vmm/optparse.h"

const char *disk_engine_name(enum disk_engine e)
{
	return e == DISK_ENGINE_IO_URING ? "io_uring" : "sync";
}

static int set_key(struct disk_opts *d, const char *k, const char *v, char *err, size_t errlen)
{
	if (!strcmp(k, "path")) {
		if (!*v)
			return opt_fail(err, errlen, "--disk: path= is empty");
		if (strlen(v) >= sizeof(d->path))
			return opt_fail(err, errlen, "--disk: path= is too long");
		strcpy(d->path, v);
		return 0;
	}
	if (!strcmp(k, "readonly"))
		return opt_onoff("--disk", k, v, &d->readonly, err, errlen);
	if (!strcmp(k, "discard"))
		return opt_onoff("--disk", k, v, &d->discard, err, errlen);
	if (!strcmp(k, "ioeventfd"))
		return opt_onoff("--disk", k, v, &d->ioeventfd, err, errlen);
	if (!strcmp(k, "irqfd"))
		return opt_onoff("--disk", k, v, &d->irqfd, err, errlen);
	if (!strcmp(k, "cache")) {
		for (int i = BLK_CACHE_NONE; i <= BLK_CACHE_UNSAFE; i++) {
			if (!strcmp(v, blk_cache_name((enum blk_cache)i))) {
				d->cache = (enum blk_cache)i;
				return 0;
			}
		}
		return opt_fail(
		    err, errlen,
		    "--disk: cache='%s' (use none, writeback, writethrough, directsync or "
		    "unsafe)",
		    v);
	}
	if (!strcmp(k, "engine")) {
		if (!strcmp(v, "sync"))
			d->engine = DISK_ENGINE_SYNC;
		else if (!strcmp(v, "io_uring"))
			d->engine = DISK_ENGINE_IO_URING;
		else
			return opt_fail(err, errlen, "--disk: engine='%s' (use sync or io_uring)",
					v);
		return 0;
	}
	if (!strcmp(k, "queues"))
		return opt_uint("--disk", k, v, 1, BLK_MAX_QUEUES, &d->queues, err, errlen);
	if (!strcmp(k, "iothreads"))
		return opt_uint("--disk", k, v, 1, BLK_MAX_QUEUES, &d->iothreads, err, errlen);
	if (!strcmp(k, "queue-size")) {
		int r =
		    opt_uint("--disk", k, v, 2, DISK_MAX_QUEUE_SIZE, &d->queue_size, err, errlen);

		if (!r && (d->queue_size & (d->queue_size - 1)))
			return opt_fail(err, errlen, "--disk: queue-size=%u is not a power of two",
					d->queue_size);
		return r;
	}
	if (!strcmp(k, "iothread-affinity")) {
		if (cpulist_parse(v, &d->affinity) || CPU_COUNT(&d->affinity) == 0)
			return opt_fail(
			    err, errlen,
			    "--disk: iothread-affinity='%s' is not a CPU list (e.g. 2-3 or "
			    "2:5)",
			    v);
		d->affinity_set = true;
		return 0;
	}
	if (!strcmp(k, "serial")) {
		if (strlen(v) > BLK_ID_BYTES)
			return opt_fail(err, errlen,
					"--disk: serial='%s' is longer than %d characters", v,
					BLK_ID_BYTES);
		for (const char *c = v; *c; c++)
			if (*c < 0x21 || *c > 0x7e)
				return opt_fail(
				    err, errlen,
				    "--disk: serial= may only hold printable ASCII without "
				    "spaces");
		strcpy(d->serial, v);
		return 0;
	}
	return opt_fail(err, errlen, "--disk: unknown key '%s'", k);
}

int disk_opts_parse(const char *s, struct disk_opts *d, char *err, size_t errlen)
{
	char item[PATH_MAX + 32];

	memset(d, 0, sizeof(*d));
	d->cache = BLK_CACHE_WRITEBACK;
	d->engine = DISK_ENGINE_SYNC;
	d->queue_size = DISK_DEFAULT_QUEUE_SIZE;
	d->iothreads = 1;
	d->discard = true;
	d->ioeventfd = d->irqfd = true;
	if (err && errlen)
		err[0] = '\0';
	if (!s || !*s)
		return opt_fail(err, errlen, "--disk: empty value (use --disk path=IMAGE[,...])");
	while (*s) {
		size_t n = opt_item_len(s, "iothread-affinity=");
		char *eq;
		int r;

		if (n >= sizeof(item))
			return opt_fail(err, errlen, "--disk: item too long");
		memcpy(item, s, n);
		item[n] = '\0';
		eq = strchr(item, '=');
		if (!eq)
			return opt_fail(err, errlen, "--disk: '%s' is not KEY=VALUE", item);
		*eq = '\0';
		r = set_key(d, item, eq + 1, err, errlen);
		if (r)
			return r;
		s += n;
		if (*s == ',') {
			s++;
			if (!*s)
				return opt_fail(err, errlen, "--disk: trailing ','");
		}
	}
	if (!d->path[0])
		return opt_fail(err, errlen, "--disk: path=IMAGE is required");
	if (d->queues && d->iothreads > d->queues)
		return opt_fail(err, errlen, "--disk: iothreads=%u is more than queues=%u",
				d->iothreads, d->queues);
	return 0;
}
