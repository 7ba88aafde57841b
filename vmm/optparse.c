/* Shared pieces of the KEY=VALUE option parsers. */
#include "vmm/optparse.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "vmm/size.h"

int opt_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int opt_onoff(const char *opt, const char *key, const char *v, bool *out, char *err, size_t errlen)
{
	if (!strcmp(v, "on"))
		*out = true;
	else if (!strcmp(v, "off"))
		*out = false;
	else
		return opt_fail(err, errlen, "%s: %s='%s' (use on or off)", opt, key, v);
	return 0;
}

int opt_uint(const char *opt, const char *key, const char *v, unsigned int min, unsigned int max,
	     unsigned int *out, char *err, size_t errlen)
{
	uint64_t n;

	if (parse_uint(v, min, max, &n))
		return opt_fail(err, errlen, "%s: %s='%s' is not a number from %u to %u", opt, key,
				v, min, max);
	*out = (unsigned int)n;
	return 0;
}

size_t opt_item_len(const char *s, const char *list_key)
{
	size_t n = strcspn(s, ",");

	if (!list_key || strncmp(s, list_key, strlen(list_key)))
		return n;
	while (s[n] == ',') {
		size_t next = strcspn(s + n + 1, ",");

		if (!next || memchr(s + n + 1, '=', next))
			break;
		n += 1 + next;
	}
	return n;
}
