/* --disk parser. */
#include "vmm/disk_opts.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmm/cpulist.h"
#include "vmm/size.h"

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

const char *disk_engine_name(enum disk_engine e)
{
	return e == DISK_ENGINE_IO_URING ? "io_uring" : "sync";
}

static int onoff(const char *key, const char *v, bool *out, char *err, size_t errlen)
{
	if (!strcmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "off"))
		*out = false;
	else
		return fail(err, errlen, "--disk: %s='%s' (use on or off)", key, v);
	return 0;
}

static int number(const char *key, const char *v, unsigned int min, unsigned int max,
		  unsigned int *out, char *err, size_t errlen)
{
	uint64_t n;

	if (parse_uint(v, min, max, &n))
		return fail(err, errlen, "--disk: %s='%s' is not a number from %u to %u", key, v,
			    min, max);
	*out = (unsigned int)n;
	return 0;
}

static int set_key(struct disk_opts *d, const char *k, const char *v, char *err, size_t errlen)
{
	if (!strcmp(k, "path")) {
		if (!*v)
			return fail(err, errlen, "--disk: path= is empty");
		if (strlen(v) >= sizeof(d->path))
			return fail(err, errlen, "--disk: path= is too long");
		strcpy(d->path, v);
		return 0;
	}
	if (!strcmp(k, "readonly"))
		return onoff(k, v, &d->readonly, err, errlen);
	if (!strcmp(k, "discard"))
		return onoff(k, v, &d->discard, err, errlen);
	if (!strcmp(k, "ioeventfd"))
		return onoff(k, v, &d->ioeventfd, err, errlen);
	if (!strcmp(k, "irqfd"))
		return onoff(k, v, &d->irqfd, err, errlen);
	if (!strcmp(k, "cache")) {
		for (int i = BLK_CACHE_NONE; i <= BLK_CACHE_UNSAFE; i++) {
			if (!strcmp(v, blk_cache_name((enum blk_cache)i))) {
				d->cache = (enum blk_cache)i;
				return 0;
			}
		}
		return fail(err, errlen,
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
			return fail(err, errlen, "--disk: engine='%s' (use sync or io_uring)", v);
		return 0;
	}
	if (!strcmp(k, "queues"))
		return number(k, v, 1, BLK_MAX_QUEUES, &d->queues, err, errlen);
	if (!strcmp(k, "iothreads"))
		return number(k, v, 1, BLK_MAX_QUEUES, &d->iothreads, err, errlen);
	if (!strcmp(k, "queue-size")) {
		int r = number(k, v, 2, DISK_MAX_QUEUE_SIZE, &d->queue_size, err, errlen);

		if (!r && (d->queue_size & (d->queue_size - 1)))
			return fail(err, errlen, "--disk: queue-size=%u is not a power of two",
				    d->queue_size);
		return r;
	}
	if (!strcmp(k, "iothread-affinity")) {
		if (cpulist_parse(v, &d->affinity) || CPU_COUNT(&d->affinity) == 0)
			return fail(err, errlen,
				    "--disk: iothread-affinity='%s' is not a CPU list (e.g. 2-3 or "
				    "2:5)",
				    v);
		d->affinity_set = true;
		return 0;
	}
	if (!strcmp(k, "serial")) {
		if (strlen(v) > BLK_ID_BYTES)
			return fail(err, errlen, "--disk: serial='%s' is longer than %d characters",
				    v, BLK_ID_BYTES);
		for (const char *c = v; *c; c++)
			if (*c < 0x21 || *c > 0x7e)
				return fail(err, errlen,
					    "--disk: serial= may only hold printable ASCII without "
					    "spaces");
		strcpy(d->serial, v);
		return 0;
	}
	return fail(err, errlen, "--disk: unknown key '%s'", k);
}

/* Length of the item at s: up to the next ',', except that a CPU list
 * swallows following items without '=' ("iothread-affinity=0-1,4"). */
static size_t item_len(const char *s)
{
	size_t n = strcspn(s, ",");

	if (strncmp(s, "iothread-affinity=", 18))
		return n;
	while (s[n] == ',') {
		size_t next = strcspn(s + n + 1, ",");

		if (!next || memchr(s + n + 1, '=', next))
			break;
		n += 1 + next;
	}
	return n;
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
		return fail(err, errlen, "--disk: empty value (use --disk path=IMAGE[,...])");
	while (*s) {
		size_t n = item_len(s);
		char *eq;
		int r;

		if (n >= sizeof(item))
			return fail(err, errlen, "--disk: item too long");
		memcpy(item, s, n);
		item[n] = '\0';
		eq = strchr(item, '=');
		if (!eq)
			return fail(err, errlen, "--disk: '%s' is not KEY=VALUE", item);
		*eq = '\0';
		r = set_key(d, item, eq + 1, err, errlen);
		if (r)
			return r;
		s += n;
		if (*s == ',') {
			s++;
			if (!*s)
				return fail(err, errlen, "--disk: trailing ','");
		}
	}
	if (!d->path[0])
		return fail(err, errlen, "--disk: path=IMAGE is required");
	if (d->queues && d->iothreads > d->queues)
		return fail(err, errlen, "--disk: iothreads=%u is more than queues=%u", d->iothreads,
			    d->queues);
	return 0;
}
