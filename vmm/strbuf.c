/* Growable NUL-terminated buffer with a limit and a sticky error. */
#include "vmm/strbuf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SB_MIN_CAP 256

void sb_init(struct strbuf *sb, size_t limit)
{
	sb->buf = NULL;
	sb->len = 0;
	sb->cap = 0;
	sb->limit = limit && limit < SIZE_MAX / 2 ? limit : SIZE_MAX / 2;
	sb->err = 0;
}

void sb_free(struct strbuf *sb)
{
	free(sb->buf);
	sb->buf = NULL;
	sb->len = 0;
	sb->cap = 0;
	sb->err = 0;
}

void sb_reset(struct strbuf *sb)
{
	sb->len = 0;
	sb->err = 0;
	if (sb->buf)
		sb->buf[0] = '\0';
}

void sb_truncate(struct strbuf *sb, size_t len)
{
	if (len < sb->len) {
		sb->len = len;
		sb->buf[len] = '\0';
	}
}

int sb_reserve(struct strbuf *sb, size_t extra)
{
	size_t need, cap;
	char *p;

	if (sb->err)
		return sb->err;
	if (extra > sb->limit - sb->len) {
		sb->err = -E2BIG;
		return sb->err;
	}
	need = sb->len + extra + 1; /* cannot overflow: limit <= SIZE_MAX / 2 */
	if (need <= sb->cap)
		return 0;
	cap = sb->cap ? sb->cap : SB_MIN_CAP;
	while (cap < need)
		cap *= 2;
	p = realloc(sb->buf, cap);
	if (!p) {
		sb->err = -ENOMEM;
		return sb->err;
	}
	sb->buf = p;
	sb->cap = cap;
	return 0;
}

void sb_add(struct strbuf *sb, const void *p, size_t n)
{
	if (sb_reserve(sb, n))
		return;
	if (n)
		memcpy(sb->buf + sb->len, p, n);
	sb->len += n;
	sb->buf[sb->len] = '\0';
}

void sb_addc(struct strbuf *sb, char c)
{
	sb_add(sb, &c, 1);
}

void sb_adds(struct strbuf *sb, const char *s)
{
	sb_add(sb, s, strlen(s));
}

void sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
	va_list ap2;
	int n;

	if (sb->err)
		return;
	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0) {
		sb->err = -EINVAL;
		return;
	}
	if (sb_reserve(sb, (size_t)n))
		return;
	vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
	sb->len += (size_t)n;
}

void sb_addf(struct strbuf *sb, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	sb_vaddf(sb, fmt, ap);
	va_end(ap);
}

void sb_add_double(struct strbuf *sb, double d)
{
	char tmp[40];

	/* 15 significant digits suffice for most values; 17 always do. */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
		if (strtod(tmp, NULL) == d)
			break;
	}
	sb_adds(sb, tmp);
	if (!strpbrk(tmp, ".eEn"))
		sb_adds(sb, ".0");
}

const char *sb_str(const struct strbuf *sb)
{
	return sb->buf ? sb->buf : "";
}

int sb_error(const struct strbuf *sb)
{
	return sb->err;
}
