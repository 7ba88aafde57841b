/* --balloon parsing. */
#include "vmm/balloon_opts.h"

#include <errno.h>
#include <string.h>

#include "vmm/optparse.h"

void balloon_opts_default(struct balloon_opts *b)
{
	memset(b, 0, sizeof(*b));
	b->ioeventfd = b->irqfd = true;
}

static int set_key(struct balloon_opts *b, const char *k, const char *v, char *err, size_t errlen)
{
	static const struct {
		const char *key;
		size_t off;
	} keys[] = {
	    {"deflate-on-oom", offsetof(struct balloon_opts, deflate_on_oom)},
	    {"free-page-reporting", offsetof(struct balloon_opts, free_page_reporting)},
	    {"stats", offsetof(struct balloon_opts, stats)},
	    {"ioeventfd", offsetof(struct balloon_opts, ioeventfd)},
	    {"irqfd", offsetof(struct balloon_opts, irqfd)},
	};

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (!strcmp(k, keys[i].key))
			return opt_onoff("--balloon", k, v, (bool *)((char *)b + keys[i].off), err,
					 errlen);
	return opt_fail(err, errlen,
			"--balloon: unknown key '%s' (use deflate-on-oom, free-page-reporting, "
			"stats, ioeventfd or irqfd)",
			k);
}

int balloon_opts_parse(const char *s, struct balloon_opts *b, char *err, size_t errlen)
{
	char item[64];

	b->enabled = true;
	while (*s) {
		size_t len = strcspn(s, ",");
		const char *eq;
		int r;

		if (len == 0 || len >= sizeof(item))
			return opt_fail(err, errlen, "--balloon: bad item near '%.20s'", s);
		memcpy(item, s, len);
		item[len] = '\0';
		eq = strchr(item, '=');
		if (!eq)
			return opt_fail(err, errlen, "--balloon: '%s' is not KEY=VALUE", item);
		item[eq - item] = '\0';
		r = set_key(b, item, eq + 1, err, errlen);
		if (r)
			return r;
		s += len;
		if (*s == ',' && *++s == '\0')
			return opt_fail(err, errlen, "--balloon: empty item at the end");
	}
	return 0;
}
