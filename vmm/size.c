/* Size and integer parsing for the command line. */
#include "vmm/size.h"

#include <ctype.h>
#include <errno.h>
#include <strings.h>

/* Digits only, no sign, no spaces; value must not overflow. */
static int parse_digits(const char **sp, uint64_t *out)
{
	const char *s = *sp;
	uint64_t v = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	for (; isdigit((unsigned char)*s); s++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*s - '0'), &v))
			return -ERANGE;
	}
	*sp = s;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t *out)
{
	uint64_t v, mult = 1;
	int r;

	if (!s)
		return -EINVAL;
	r = parse_digits(&s, &v);
	if (r)
		return r;
	switch (toupper((unsigned char)*s)) {
	case 'K':
		mult = 1ull << 10;
		break;
	case 'M':
		mult = 1ull << 20;
		break;
	case 'G':
		mult = 1ull << 30;
		break;
	case 'T':
		mult = 1ull << 40;
		break;
	case '\0':
		break;
	case 'B':
		if (s[1] == '\0') {
			*out = v;
			return 0;
		}
		return -EINVAL;
	default:
		return -EINVAL;
	}
	if (*s) {
		s++;
		if (strcasecmp(s, "") && strcasecmp(s, "B") && strcasecmp(s, "iB"))
			return -EINVAL;
	}
	if (__builtin_mul_overflow(v, mult, out))
		return -ERANGE;
	return 0;
}

int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t v;
	int r;

	if (!s)
		return -EINVAL;
	r = parse_digits(&s, &v);
	if (r)
		return r;
	if (*s)
		return -EINVAL;
	if (v < min || v > max)
		return -ERANGE;
	*out = v;
	return 0;
}
