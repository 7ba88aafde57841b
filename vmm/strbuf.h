/* A growable, always NUL-terminated byte buffer with a size limit and a
 * sticky error: once an append fails (no memory, or the limit would be
 * passed) the buffer keeps its earlier content, records the error and
 * ignores further appends, so builders need not check every call.  Shared
 * by the JSON and Prometheus writers and the API server. */
#ifndef KVMLAB_VMM_STRBUF_H
#define KVMLAB_VMM_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

struct strbuf {
	char *buf;    /* NULL until the first append */
	size_t len;   /* bytes used, excluding the terminating NUL */
	size_t cap;   /* bytes allocated */
	size_t limit; /* largest len allowed */
	int err;      /* 0, -ENOMEM or -E2BIG; sticky until sb_reset */
};

/* An empty buffer whose length may grow to limit bytes (0: no limit beyond
 * SIZE_MAX / 2).  Allocates nothing. */
void sb_init(struct strbuf *sb, size_t limit);

/* Free the memory; the buffer is empty (and usable) again. */
void sb_free(struct strbuf *sb);

/* Empty the buffer and clear its error; the memory is kept. */
void sb_reset(struct strbuf *sb);

/* Shorten to len bytes (no-op if already shorter).  The error is kept. */
void sb_truncate(struct strbuf *sb, size_t len);

/* Make room for extra more bytes (plus the NUL) without changing the
 * content.  Returns 0 or the (now sticky) error: -ENOMEM, or -E2BIG when
 * len + extra would pass the limit. */
int sb_reserve(struct strbuf *sb, size_t extra);

/* Append n bytes of p (which may contain NULs). */
void sb_add(struct strbuf *sb, const void *p, size_t n);

/* Append one character. */
void sb_addc(struct strbuf *sb, char c);

/* Append a NUL-terminated string. */
void sb_adds(struct strbuf *sb, const char *s);

/* Append printf-formatted text. */
void sb_addf(struct strbuf *sb, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Append printf-formatted text from a va_list. */
void sb_vaddf(struct strbuf *sb, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Append a finite double in the shortest "%.*g" form that reads back as
 * the same value, with ".0" added when the text would look like an
 * integer ("3.0", "-0.0", "1e+20").  Not for NaN or infinities (the
 * callers choose their own spelling).  Uses the C locale's '.' (kvmlab
 * never calls setlocale). */
void sb_add_double(struct strbuf *sb, double d);

/* The content, NUL-terminated ("" while nothing was allocated).  Valid
 * until the next change. */
const char *sb_str(const struct strbuf *sb);

/* 0, or the sticky error. */
int sb_error(const struct strbuf *sb);

#endif
