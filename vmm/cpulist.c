/* CPU list parser. */
#include "vmm/cpulist.h"

#include <errno.h>
#include <stdio.h>

static int parse_cpu(const char **sp, unsigned int *out)
{
	const char *s = *sp;
	unsigned int v = 0;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	for (; *s >= '0' && *s <= '9'; s++) {
		v = v * 10 + (unsigned int)(*s - '0');
		if (v >= CPU_SETSIZE)
			return -ERANGE;
	}
	*sp = s;
	*out = v;
	return 0;
}

int cpulist_parse(const char *s, cpu_set_t *set)
{
	cpu_set_t m;
	unsigned int lo, hi;
	int r;

	if (!s)
		return -EINVAL;
	CPU_ZERO(&m);
	for (;;) {
		r = parse_cpu(&s, &lo);
		if (r)
			return r;
		hi = lo;
		if (*s == '-') {
			s++;
			r = parse_cpu(&s, &hi);
			if (r)
				return r;
			if (hi < lo)
				return -ERANGE;
		}
		for (unsigned int c = lo; c <= hi; c++)
			CPU_SET(c, &m);
		if (*s == ',' || *s == ':') {
			s++;
			continue;
		}
		if (*s)
			return -EINVAL;
		break;
	}
	*set = m;
	return 0;
}

int cpulist_format(const cpu_set_t *set, char *buf, size_t len)
{
	size_t n = 0;

	if (len)
		buf[0] = '\0';
	for (int c = 0; c < CPU_SETSIZE; c++) {
		char *at = n < len ? buf + n : NULL;
		size_t room = n < len ? len - n : 0;
		int hi = c, w;

		if (!CPU_ISSET(c, set))
			continue;
		while (hi + 1 < CPU_SETSIZE && CPU_ISSET(hi + 1, set))
			hi++;
		if (hi == c)
			w = snprintf(at, room, "%s%d", n ? "," : "", c);
		else
			w = snprintf(at, room, "%s%d-%d", n ? "," : "", c, hi);
		n += (size_t)w;
		c = hi;
	}
	return (int)n;
}
