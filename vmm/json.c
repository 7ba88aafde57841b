/* JSON reader (recursive descent into an arena), lookup helpers, writer
 * and pretty-printer. */
#include "vmm/json.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- reader ---- */

struct parser {
	const char *s;
	size_t len;
	size_t pos;
	unsigned int max_depth;
	unsigned int max_nodes;
	struct json_doc *doc;
	struct json_error *err;
};

static void limits_of(const struct json_limits *lim, size_t *max_len, unsigned int *max_depth,
		      unsigned int *max_nodes)
{
	*max_len = lim && lim->max_len ? lim->max_len : JSON_DEFAULT_MAX_LEN;
	*max_depth = lim && lim->max_depth ? lim->max_depth : JSON_DEFAULT_MAX_DEPTH;
	if (*max_depth > JSON_HARD_MAX_DEPTH)
		*max_depth = JSON_HARD_MAX_DEPTH;
	*max_nodes = lim && lim->max_nodes ? lim->max_nodes : JSON_DEFAULT_MAX_NODES;
}

size_t json_arena_size(size_t len, const struct json_limits *lim)
{
	size_t max_len, nodes, bytes;
	unsigned int max_depth, max_nodes;

	limits_of(lim, &max_len, &max_depth, &max_nodes);
	if (len > max_len)
		len = max_len;
	/* A node is taken for the root and after each '[', ',' or ':'; a
	 * string's decoded bytes plus its NUL never exceed its quoted text;
	 * a number copied for strtod needs its text plus one byte.  Those
	 * bytes are distinct, so len bounds them together. */
	nodes = len < max_nodes ? len + 1 : max_nodes;
	if (__builtin_mul_overflow(nodes, sizeof(struct json_value), &bytes) ||
	    __builtin_add_overflow(bytes, len, &bytes) ||
	    __builtin_add_overflow(bytes, 1 + alignof(struct json_value), &bytes))
		return 0;
	return bytes;
}

static int fail(struct parser *p, int code, size_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int fail(struct parser *p, int code, size_t at, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->err) {
		p->err->offset = at;
		n = snprintf(p->err->msg, sizeof(p->err->msg), "at byte %zu: ", at);
		if (n > 0 && (size_t)n < sizeof(p->err->msg)) {
			va_start(ap, fmt);
			vsnprintf(p->err->msg + n, sizeof(p->err->msg) - (size_t)n, fmt, ap);
			va_end(ap);
		}
	}
	return code;
}

/* A printable description of the byte at pos for messages. */
static const char *describe(const struct parser *p, size_t pos, char *buf, size_t len)
{
	unsigned char c;

	if (pos >= p->len)
		return "end of input";
	c = (unsigned char)p->s[pos];
	if (c > 0x20 && c < 0x7f)
		snprintf(buf, len, "'%c'", c);
	else
		snprintf(buf, len, "byte 0x%02x", c);
	return buf;
}

static int unexpected(struct parser *p, const char *what)
{
	char b[16];

	return fail(p, -EINVAL, p->pos, "expected %s, found %s", what,
		    describe(p, p->pos, b, sizeof(b)));
}

static struct json_value *new_node(struct parser *p, enum json_type type)
{
	struct json_doc *d = p->doc;
	struct json_value *v;

	if (d->nodes >= p->max_nodes) {
		fail(p, -E2BIG, p->pos, "more than %u values", p->max_nodes);
		return NULL;
	}
	if (d->hi - d->lo < sizeof(*v)) {
		fail(p, -ENOMEM, p->pos, "out of parser memory");
		return NULL;
	}
	v = (struct json_value *)(void *)(d->mem + d->lo);
	d->lo += sizeof(*v);
	d->nodes++;
	memset(v, 0, sizeof(*v));
	v->type = type;
	return v;
}

/* n bytes from the top of the arena, or NULL (error set). */
static char *take_bytes(struct parser *p, size_t n)
{
	struct json_doc *d = p->doc;

	if (d->hi - d->lo < n) {
		fail(p, -ENOMEM, p->pos, "out of parser memory");
		return NULL;
	}
	d->hi -= n;
	return d->mem + d->hi;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len) {
		char c = p->s[p->pos];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->pos++;
	}
}

static int hex4(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++) {
		char c = s[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

static size_t put_utf8(char *o, uint32_t cp)
{
	if (cp < 0x80) {
		o[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (char)(0xc0 | (cp >> 6));
		o[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | (cp >> 12));
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (cp >> 18));
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Length of the valid UTF-8 sequence at s[0, n) (1 to 4), or 0 if the bytes
 * there are not one: overlong forms, surrogates and code points above
 * U+10FFFF are refused. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0], lo = 0x80, hi = 0xbf;
	size_t need;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 2;
	else if (c >= 0xe0 && c <= 0xef)
		need = 3;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 4;
	else
		return 0;
	if (c == 0xe0)
		lo = 0xa0;
	else if (c == 0xed)
		hi = 0x9f;
	else if (c == 0xf0)
		lo = 0x90;
	else if (c == 0xf4)
		hi = 0x8f;
	if (n < need || s[1] < lo || s[1] > hi)
		return 0;
	for (size_t i = 2; i < need; i++)
		if (s[i] < 0x80 || s[i] > 0xbf)
			return 0;
	return need;
}

/* The string starting at the '"' at p->pos: decoded into the arena. */
static int parse_string(struct parser *p, const char **out, uint32_t *out_len)
{
	const char *s = p->s;
	size_t start = p->pos + 1, end = start, o = 0;
	char *buf;

	/* find the closing quote first: the decoded text is never longer */
	while (end < p->len && s[end] != '"')
		end += s[end] == '\\' ? 2 : 1;
	if (end >= p->len)
		return fail(p, -EINVAL, p->pos, "unterminated string");
	if (end - start > UINT32_MAX - 1)
		return fail(p, -E2BIG, p->pos, "string too long");
	buf = take_bytes(p, end - start + 1);
	if (!buf)
		return -ENOMEM;

	for (size_t i = start; i < end;) {
		unsigned char c = (unsigned char)s[i];
		uint32_t cp, lo;
		size_t n;

		if (c < 0x20)
			return fail(p, -EINVAL, i, "control character 0x%02x in string", c);
		if (c != '\\') {
			n = utf8_len((const unsigned char *)s + i, end - i);
			if (!n)
				return fail(p, -EINVAL, i, "invalid UTF-8 in string");
			memcpy(buf + o, s + i, n);
			o += n;
			i += n;
			continue;
		}
		/* an escape: i + 1 < end holds, the scan above skipped it */
		switch (s[i + 1]) {
		case '"':
		case '\\':
		case '/':
			buf[o++] = s[i + 1];
			i += 2;
			continue;
		case 'b':
			buf[o++] = '\b';
			i += 2;
			continue;
		case 'f':
			buf[o++] = '\f';
			i += 2;
			continue;
		case 'n':
			buf[o++] = '\n';
			i += 2;
			continue;
		case 'r':
			buf[o++] = '\r';
			i += 2;
			continue;
		case 't':
			buf[o++] = '\t';
			i += 2;
			continue;
		case 'u':
			break;
		default:
			return fail(p, -EINVAL, i, "invalid escape in string");
		}
		if (end - i < 6 || hex4(s + i + 2, &cp))
			return fail(p, -EINVAL, i, "invalid \\u escape in string");
		if (cp >= 0xdc00 && cp <= 0xdfff)
			return fail(p, -EINVAL, i, "unpaired surrogate \\u%04X in string", cp);
		if (cp >= 0xd800 && cp <= 0xdbff) {
			if (end - i < 12 || s[i + 6] != '\\' || s[i + 7] != 'u' ||
			    hex4(s + i + 8, &lo) || lo < 0xdc00 || lo > 0xdfff)
				return fail(p, -EINVAL, i, "unpaired surrogate \\u%04X in string",
					    cp);
			cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			i += 6;
		}
		i += 6;
		/* 6 (or 12) bytes of text never decode to more than 3 (or 4) */
		o += put_utf8(buf + o, cp);
	}
	buf[o] = '\0';
	*out = buf;
	*out_len = (uint32_t)o;
	p->pos = end + 1;
	return 0;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int parse_number(struct parser *p, struct json_value *v)
{
	const char *s = p->s;
	size_t start = p->pos, i = start;
	bool neg = false, integer = true, overflow = false;
	uint64_t mag = 0;

	if (s[i] == '-') {
		neg = true;
		i++;
	}
	if (i >= p->len || !is_digit(s[i])) {
		p->pos = i;
		return unexpected(p, "a digit");
	}
	if (s[i] == '0') {
		i++;
	} else {
		for (; i < p->len && is_digit(s[i]); i++) {
			unsigned int d = (unsigned int)(s[i] - '0');

			if (__builtin_mul_overflow(mag, 10, &mag) ||
			    __builtin_add_overflow(mag, d, &mag))
				overflow = true;
		}
	}
	if (i < p->len && s[i] == '.') {
		integer = false;
		i++;
		if (i >= p->len || !is_digit(s[i])) {
			p->pos = i;
			return unexpected(p, "a digit after '.'");
		}
		while (i < p->len && is_digit(s[i]))
			i++;
	}
	if (i < p->len && (s[i] == 'e' || s[i] == 'E')) {
		integer = false;
		i++;
		if (i < p->len && (s[i] == '+' || s[i] == '-'))
			i++;
		if (i >= p->len || !is_digit(s[i])) {
			p->pos = i;
			return unexpected(p, "a digit in the exponent");
		}
		while (i < p->len && is_digit(s[i]))
			i++;
	}
	p->pos = i;

	if (integer && !overflow) {
		if (!neg && mag <= INT64_MAX) {
			v->type = JSON_INT;
			v->i = (int64_t)mag;
			return 0;
		}
		if (!neg) {
			v->type = JSON_UINT;
			v->u = mag;
			return 0;
		}
		if (mag <= (uint64_t)INT64_MAX + 1) {
			v->type = JSON_INT;
			v->i = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
			return 0;
		}
	}

	/* strtod needs a terminated copy; the bytes go back right after */
	{
		struct json_doc *d = p->doc;
		size_t n = i - start, saved = d->hi;
		char *tmp = take_bytes(p, n + 1);

		if (!tmp)
			return -ENOMEM;
		memcpy(tmp, s + start, n);
		tmp[n] = '\0';
		v->type = JSON_DOUBLE;
		v->d = strtod(tmp, NULL);
		d->hi = saved;
	}
	if (!isfinite(v->d))
		return fail(p, -EINVAL, start, "number out of range");
	return 0;
}

static int parse_value(struct parser *p, struct json_value *v, unsigned int depth);

static int parse_literal(struct parser *p, struct json_value *v, const char *word,
			 enum json_type type, bool b)
{
	size_t n = strlen(word);

	if (p->len - p->pos < n || memcmp(p->s + p->pos, word, n))
		return unexpected(p, "a value");
	v->type = type;
	v->b = b;
	p->pos += n;
	return 0;
}

static int parse_array(struct parser *p, struct json_value *v, unsigned int depth)
{
	struct json_value **link = &v->child;
	int r;

	p->pos++; /* '[' */
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == ']') {
		p->pos++;
		return 0;
	}
	for (;;) {
		struct json_value *e = new_node(p, JSON_NULL);

		if (!e)
			return p->doc->nodes >= p->max_nodes ? -E2BIG : -ENOMEM;
		r = parse_value(p, e, depth + 1);
		if (r)
			return r;
		*link = e;
		link = &e->next;
		v->len++;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == ']') {
			p->pos++;
			return 0;
		}
		return unexpected(p, "',' or ']' in array");
	}
}

static int parse_object(struct parser *p, struct json_value *v, unsigned int depth)
{
	struct json_value **link = &v->child;
	int r;

	p->pos++; /* '{' */
	skip_ws(p);
	if (p->pos < p->len && p->s[p->pos] == '}') {
		p->pos++;
		return 0;
	}
	for (;;) {
		struct json_value *m;
		const char *key;
		uint32_t key_len;
		size_t key_at;

		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != '"')
			return unexpected(p, "a string key in object");
		key_at = p->pos;
		r = parse_string(p, &key, &key_len);
		if (r)
			return r;
		for (const struct json_value *o = v->child; o; o = o->next)
			if (o->key_len == key_len && !memcmp(o->key, key, key_len))
				return fail(p, -EINVAL, key_at, "duplicate key in object");
		skip_ws(p);
		if (p->pos >= p->len || p->s[p->pos] != ':')
			return unexpected(p, "':' after key");
		p->pos++;
		m = new_node(p, JSON_NULL);
		if (!m)
			return p->doc->nodes >= p->max_nodes ? -E2BIG : -ENOMEM;
		r = parse_value(p, m, depth + 1);
		if (r)
			return r;
		m->key = key;
		m->key_len = key_len;
		*link = m;
		link = &m->next;
		v->len++;
		skip_ws(p);
		if (p->pos < p->len && p->s[p->pos] == ',') {
			p->pos++;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == '}') {
			p->pos++;
			return 0;
		}
		return unexpected(p, "',' or '}' in object");
	}
}

/* Parse the value at p->pos (after whitespace) into v, which sits at
 * nesting depth `depth` (the root is at 0). */
static int parse_value(struct parser *p, struct json_value *v, unsigned int depth)
{
	skip_ws(p);
	if (p->pos >= p->len)
		return unexpected(p, "a value");
	switch (p->s[p->pos]) {
	case '{':
	case '[':
		if (depth >= p->max_depth)
			return fail(p, -E2BIG, p->pos, "nested deeper than %u", p->max_depth);
		if (p->s[p->pos] == '{') {
			v->type = JSON_OBJECT;
			return parse_object(p, v, depth);
		}
		v->type = JSON_ARRAY;
		return parse_array(p, v, depth);
	case '"':
		v->type = JSON_STRING;
		return parse_string(p, &v->s, &v->len);
	case 't':
		return parse_literal(p, v, "true", JSON_BOOL, true);
	case 'f':
		return parse_literal(p, v, "false", JSON_BOOL, false);
	case 'n':
		return parse_literal(p, v, "null", JSON_NULL, false);
	default:
		if (p->s[p->pos] == '-' || is_digit(p->s[p->pos]))
			return parse_number(p, v);
		return unexpected(p, "a value");
	}
}

int json_parse(struct json_doc *doc, const char *text, size_t len, const struct json_limits *lim,
	       void *arena, size_t arena_size, struct json_error *err)
{
	struct parser p = {.s = text, .len = len, .doc = doc, .err = err};
	struct json_value *root;
	size_t max_len, pad;
	int r;

	memset(doc, 0, sizeof(*doc));
	if (err) {
		err->offset = 0;
		err->msg[0] = '\0';
	}
	limits_of(lim, &max_len, &p.max_depth, &p.max_nodes);
	if (len > max_len)
		return fail(&p, -E2BIG, 0, "text longer than %zu bytes", max_len);
	if (!text && len)
		return fail(&p, -EINVAL, 0, "no text");
	if (!arena) {
		arena_size = json_arena_size(len, lim);
		arena = arena_size ? malloc(arena_size) : NULL;
		if (!arena)
			return fail(&p, -ENOMEM, 0, "out of memory");
		doc->owned = true;
	}
	doc->mem = arena;
	doc->size = arena_size;
	pad = (alignof(struct json_value) - (uintptr_t)arena % alignof(struct json_value)) %
	      alignof(struct json_value);
	doc->lo = pad < arena_size ? pad : arena_size;
	doc->hi = arena_size;

	root = new_node(&p, JSON_NULL);
	r = root ? parse_value(&p, root, 0) : (doc->nodes >= p.max_nodes ? -E2BIG : -ENOMEM);
	if (!r) {
		skip_ws(&p);
		if (p.pos < len)
			r = unexpected(&p, "end of text after the value");
	}
	if (r) {
		json_doc_free(doc);
		return r;
	}
	doc->root = root;
	return 0;
}

void json_doc_free(struct json_doc *doc)
{
	if (doc->owned)
		free(doc->mem);
	memset(doc, 0, sizeof(*doc));
}

/* ---- lookup ---- */

const struct json_value *json_get(const struct json_value *obj, const char *key)
{
	size_t n;

	if (!obj || obj->type != JSON_OBJECT || !key)
		return NULL;
	n = strlen(key);
	for (const struct json_value *m = obj->child; m; m = m->next)
		if (m->key_len == n && !memcmp(m->key, key, n))
			return m;
	return NULL;
}

const char *json_type_name(enum json_type type)
{
	switch (type) {
	case JSON_NULL:
		return "null";
	case JSON_BOOL:
		return "boolean";
	case JSON_INT:
	case JSON_UINT:
	case JSON_DOUBLE:
		return "number";
	case JSON_STRING:
		return "string";
	case JSON_ARRAY:
		return "array";
	case JSON_OBJECT:
		return "object";
	}
	return "?";
}

static int get_fail(char *err, size_t errlen, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int get_fail(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

int json_get_string(const struct json_value *obj, const char *key, const char **out, char *err,
		    size_t errlen)
{
	const struct json_value *v = json_get(obj, key);

	if (!v)
		return get_fail(err, errlen, -ENOENT, "missing '%s'", key);
	if (v->type != JSON_STRING)
		return get_fail(err, errlen, -EINVAL, "'%s' must be a string, not %s", key,
				json_type_name(v->type));
	if (memchr(v->s, '\0', v->len))
		return get_fail(err, errlen, -EINVAL, "'%s' must not contain a NUL character", key);
	*out = v->s;
	return 0;
}

bool json_as_uint(const struct json_value *v, uint64_t min, uint64_t max, uint64_t *out)
{
	uint64_t u;

	if (!v)
		return false;
	if (v->type == JSON_INT && v->i >= 0)
		u = (uint64_t)v->i;
	else if (v->type == JSON_UINT)
		u = v->u;
	else
		return false;
	if (u < min || u > max)
		return false;
	*out = u;
	return true;
}

int json_get_uint(const struct json_value *obj, const char *key, uint64_t min, uint64_t max,
		  uint64_t *out, char *err, size_t errlen)
{
	const struct json_value *v = json_get(obj, key);

	if (!v)
		return get_fail(err, errlen, -ENOENT, "missing '%s'", key);
	if (!json_as_uint(v, min, max, out))
		return get_fail(err, errlen, -EINVAL,
				"'%s' must be an integer from %" PRIu64 " to %" PRIu64, key, min,
				max);
	return 0;
}

int json_get_bool(const struct json_value *obj, const char *key, bool *out, char *err,
		  size_t errlen)
{
	const struct json_value *v = json_get(obj, key);

	if (!v)
		return get_fail(err, errlen, -ENOENT, "missing '%s'", key);
	if (v->type != JSON_BOOL)
		return get_fail(err, errlen, -EINVAL, "'%s' must be true or false, not %s", key,
				json_type_name(v->type));
	*out = v->b;
	return 0;
}

/* ---- writer ---- */

void jw_init(struct json_writer *w, size_t limit)
{
	memset(w, 0, sizeof(*w));
	sb_init(&w->sb, limit);
}

void jw_free(struct json_writer *w)
{
	sb_free(&w->sb);
}

void jw_reset(struct json_writer *w)
{
	sb_reset(&w->sb);
	w->err = 0;
	w->depth = 0;
	w->is_object = 0;
	w->has_items = 0;
	w->key_pending = false;
	w->done = false;
}

static bool in_object(const struct json_writer *w)
{
	return w->depth && (w->is_object >> (w->depth - 1) & 1);
}

static bool misuse(struct json_writer *w)
{
	w->err = -EINVAL;
	return false;
}

/* Before a value: check the place, write the comma.  False if an error. */
static bool value_prefix(struct json_writer *w)
{
	uint64_t bit;

	if (w->err || (w->err = sb_error(&w->sb)))
		return false;
	if (!w->depth)
		return w->done ? misuse(w) : true;
	if (in_object(w)) {
		if (!w->key_pending)
			return misuse(w);
		w->key_pending = false;
		return true;
	}
	bit = 1ull << (w->depth - 1);
	if (w->has_items & bit)
		sb_addc(&w->sb, ',');
	w->has_items |= bit;
	return true;
}

/* After a value: note a finished top-level value, pick up buffer errors. */
static void value_done(struct json_writer *w)
{
	if (!w->depth)
		w->done = true;
	if (!w->err)
		w->err = sb_error(&w->sb);
}

static void begin(struct json_writer *w, bool object)
{
	uint64_t bit;

	if (!value_prefix(w))
		return;
	if (w->depth >= JW_MAX_DEPTH) {
		misuse(w);
		return;
	}
	bit = 1ull << w->depth;
	w->depth++;
	w->is_object = object ? w->is_object | bit : w->is_object & ~bit;
	w->has_items &= ~bit;
	sb_addc(&w->sb, object ? '{' : '[');
	w->err = sb_error(&w->sb);
}

static void end(struct json_writer *w, bool object)
{
	if (w->err)
		return;
	if (!w->depth || in_object(w) != object || w->key_pending) {
		misuse(w);
		return;
	}
	w->depth--;
	sb_addc(&w->sb, object ? '}' : ']');
	value_done(w);
}

void jw_begin_object(struct json_writer *w)
{
	begin(w, true);
}

void jw_end_object(struct json_writer *w)
{
	end(w, true);
}

void jw_begin_array(struct json_writer *w)
{
	begin(w, false);
}

void jw_end_array(struct json_writer *w)
{
	end(w, false);
}

/* Append s[0, len) as a quoted JSON string. */
static void put_string(struct strbuf *sb, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0, run = 0;

	sb_addc(sb, '"');
	while (i < len) {
		unsigned char c = u[i];
		size_t n = c >= 0x20 && c != '"' && c != '\\' ? utf8_len(u + i, len - i) : 0;
		char esc[7] = {'\\', 0};

		if (n) {
			i += n;
			run += n;
			continue;
		}
		/* flush the plain run before the byte that needs care */
		sb_add(sb, s + i - run, run);
		run = 0;
		i++;
		switch (c) {
		case '"':
			sb_add(sb, "\\\"", 2);
			continue;
		case '\\':
			sb_add(sb, "\\\\", 2);
			continue;
		case '\n':
			sb_add(sb, "\\n", 2);
			continue;
		case '\r':
			sb_add(sb, "\\r", 2);
			continue;
		case '\t':
			sb_add(sb, "\\t", 2);
			continue;
		case '\b':
			sb_add(sb, "\\b", 2);
			continue;
		case '\f':
			sb_add(sb, "\\f", 2);
			continue;
		}
		if (c < 0x20) {
			esc[1] = 'u';
			esc[2] = '0';
			esc[3] = '0';
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			sb_add(sb, esc, 6);
		} else {
			sb_add(sb, "\\ufffd", 6); /* a byte that is not valid UTF-8 */
		}
	}
	sb_add(sb, s + i - run, run);
	sb_addc(sb, '"');
}

void jw_key_len(struct json_writer *w, const char *key, size_t len)
{
	uint64_t bit;

	if (w->err || (w->err = sb_error(&w->sb)))
		return;
	if (!in_object(w) || w->key_pending || (!key && len)) {
		misuse(w);
		return;
	}
	bit = 1ull << (w->depth - 1);
	if (w->has_items & bit)
		sb_addc(&w->sb, ',');
	w->has_items |= bit;
	put_string(&w->sb, key ? key : "", len);
	sb_addc(&w->sb, ':');
	w->key_pending = true;
	w->err = sb_error(&w->sb);
}

void jw_key(struct json_writer *w, const char *key)
{
	jw_key_len(w, key, key ? strlen(key) : 0);
}

void jw_string_len(struct json_writer *w, const char *s, size_t len)
{
	if (!s && len) {
		misuse(w);
		return;
	}
	if (!value_prefix(w))
		return;
	put_string(&w->sb, s ? s : "", len);
	value_done(w);
}

void jw_string(struct json_writer *w, const char *s)
{
	jw_string_len(w, s, s ? strlen(s) : 0);
}

void jw_int(struct json_writer *w, int64_t v)
{
	if (!value_prefix(w))
		return;
	sb_addf(&w->sb, "%" PRId64, v);
	value_done(w);
}

void jw_uint(struct json_writer *w, uint64_t v)
{
	if (!value_prefix(w))
		return;
	sb_addf(&w->sb, "%" PRIu64, v);
	value_done(w);
}

void jw_double(struct json_writer *w, double v)
{
	if (!value_prefix(w))
		return;
	if (isfinite(v))
		sb_add_double(&w->sb, v);
	else
		sb_adds(&w->sb, "null");
	value_done(w);
}

void jw_bool(struct json_writer *w, bool v)
{
	if (!value_prefix(w))
		return;
	sb_adds(&w->sb, v ? "true" : "false");
	value_done(w);
}

void jw_null(struct json_writer *w)
{
	if (!value_prefix(w))
		return;
	sb_adds(&w->sb, "null");
	value_done(w);
}

void jw_value(struct json_writer *w, const struct json_value *v)
{
	if (!v) {
		misuse(w);
		return;
	}
	switch (v->type) {
	case JSON_NULL:
		jw_null(w);
		break;
	case JSON_BOOL:
		jw_bool(w, v->b);
		break;
	case JSON_INT:
		jw_int(w, v->i);
		break;
	case JSON_UINT:
		jw_uint(w, v->u);
		break;
	case JSON_DOUBLE:
		jw_double(w, v->d);
		break;
	case JSON_STRING:
		jw_string_len(w, v->s, v->len);
		break;
	case JSON_ARRAY:
		jw_begin_array(w);
		for (const struct json_value *e = v->child; e && !w->err; e = e->next)
			jw_value(w, e);
		jw_end_array(w);
		break;
	case JSON_OBJECT:
		jw_begin_object(w);
		for (const struct json_value *m = v->child; m && !w->err; m = m->next) {
			jw_key_len(w, m->key, m->key_len);
			jw_value(w, m);
		}
		jw_end_object(w);
		break;
	}
}

void jw_kv_string(struct json_writer *w, const char *key, const char *s)
{
	jw_key(w, key);
	jw_string(w, s);
}

void jw_kv_int(struct json_writer *w, const char *key, int64_t v)
{
	jw_key(w, key);
	jw_int(w, v);
}

void jw_kv_uint(struct json_writer *w, const char *key, uint64_t v)
{
	jw_key(w, key);
	jw_uint(w, v);
}

void jw_kv_double(struct json_writer *w, const char *key, double v)
{
	jw_key(w, key);
	jw_double(w, v);
}

void jw_kv_bool(struct json_writer *w, const char *key, bool v)
{
	jw_key(w, key);
	jw_bool(w, v);
}

int jw_error(const struct json_writer *w)
{
	return w->err ? w->err : sb_error(&w->sb);
}

int jw_finish(const struct json_writer *w, const char **text, size_t *len)
{
	int r = jw_error(w);

	if (r)
		return r;
	if (w->depth || !w->done)
		return -EINVAL;
	*text = sb_str(&w->sb);
	*len = w->sb.len;
	return 0;
}

/* ---- pretty-printer ---- */

/* Indentation stops growing past this level, so that any input expands
 * by a bounded factor. */
#define PRETTY_MAX_LEVEL  64
#define PRETTY_MAX_INDENT 16

static void newline(struct strbuf *out, size_t level, unsigned int indent)
{
	static const char spaces[PRETTY_MAX_INDENT] = "                ";

	if (level > PRETTY_MAX_LEVEL)
		level = PRETTY_MAX_LEVEL;
	if (indent > PRETTY_MAX_INDENT)
		indent = PRETTY_MAX_INDENT;
	sb_addc(out, '\n');
	for (size_t i = 0; i < level; i++)
		sb_add(out, spaces, indent);
}

int json_pretty(const char *text, size_t len, unsigned int indent, struct strbuf *out)
{
	size_t level = 0;

	for (size_t i = 0; i < len && !out->err; i++) {
		char c = text[i];
		size_t j;

		switch (c) {
		case ' ':
		case '\t':
		case '\n':
		case '\r':
			break;
		case '"':
			/* copy the string through its closing quote */
			j = i + 1;
			while (j < len && text[j] != '"')
				j += text[j] == '\\' ? 2 : 1;
			j = j < len ? j + 1 : len;
			sb_add(out, text + i, j - i);
			i = j - 1;
			break;
		case '{':
		case '[':
			sb_addc(out, c);
			/* an empty container stays on one line */
			j = i + 1;
			while (j < len && (text[j] == ' ' || text[j] == '\t' || text[j] == '\n' ||
					   text[j] == '\r'))
				j++;
			if (j < len && text[j] == (c == '{' ? '}' : ']')) {
				sb_addc(out, text[j]);
				i = j;
				break;
			}
			newline(out, ++level, indent);
			break;
		case '}':
		case ']':
			if (level)
				level--;
			newline(out, level, indent);
			sb_addc(out, c);
			break;
		case ',':
			sb_addc(out, ',');
			newline(out, level, indent);
			break;
		case ':':
			sb_add(out, ": ", 2);
			break;
		default:
			sb_addc(out, c);
			break;
		}
	}
	return sb_error(out);
}
