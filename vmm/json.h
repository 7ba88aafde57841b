/* JSON for the control socket: a reader that parses one request into a
 * tree held in a single arena, lookup helpers with one-line errors, a
 * writer that builds text into a growable buffer, and a pretty-printer.
 *
 * The reader accepts RFC 8259 JSON in UTF-8 and nothing else: no comments,
 * no trailing commas, no NaN, no duplicate keys in an object, no control
 * characters or invalid UTF-8 in strings.  It never reads past the given
 * length, needs no NUL terminator, and bounds length, nesting and node
 * count, so any input is safe (it is fuzzed: tests/fuzz/fuzz_json.c). */
#ifndef KVMLAB_VMM_JSON_H
#define KVMLAB_VMM_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/strbuf.h"

/* ---- reader ---- */

enum json_type {
	JSON_NULL,
	JSON_BOOL,   /* b */
	JSON_INT,    /* i: an integer literal that fits int64_t */
	JSON_UINT,   /* u: an integer literal above INT64_MAX that fits uint64_t */
	JSON_DOUBLE, /* d: any other number (fraction, exponent, or too large) */
	JSON_STRING, /* s, len bytes of UTF-8, NUL-terminated; may contain NUL */
	JSON_ARRAY,  /* child, len elements */
	JSON_OBJECT, /* child, len members, each with a key */
};

struct json_value {
	enum json_type type;
	uint32_t len;		 /* string bytes, or number of children */
	const char *key;	 /* member of an object: its key (NUL-terminated) */
	uint32_t key_len;	 /* key bytes (a key may contain NUL) */
	struct json_value *next; /* next element or member of the parent */
	union {
		bool b;
		int64_t i;
		uint64_t u;
		double d;
		const char *s;
		struct json_value *child; /* first element or member */
	};
};

#define JSON_DEFAULT_MAX_LEN   65536
#define JSON_DEFAULT_MAX_DEPTH 32
#define JSON_DEFAULT_MAX_NODES 4096
#define JSON_HARD_MAX_DEPTH    512 /* larger max_depth values are clamped */

/* Bounds on what json_parse accepts; a zero field takes the default. */
struct json_limits {
	size_t max_len;		/* bytes of text */
	unsigned int max_depth; /* nesting of arrays and objects */
	unsigned int max_nodes; /* values, members and elements included */
};

/* A parsed text: the root and the arena that holds every node and string. */
struct json_doc {
	const struct json_value *root; /* NULL unless json_parse succeeded */
	char *mem;		       /* the arena */
	size_t size;		       /* arena bytes */
	size_t lo, hi;		       /* nodes grow up from lo, strings down from hi */
	unsigned int nodes;	       /* nodes used */
	bool owned;		       /* mem was allocated by json_parse */
};

/* Where and why parsing failed. */
struct json_error {
	size_t offset; /* byte offset of the problem in the text */
	char msg[128]; /* "at byte N: ..." */
};

/* Upper bound of the arena bytes json_parse may need for a text of len
 * bytes under lim (NULL: defaults); size a caller-provided arena with it
 * to never see -ENOMEM.  Returns 0 if the size would overflow. */
size_t json_arena_size(size_t len, const struct json_limits *lim);

/* Parse text[0, len) as one JSON value with optional surrounding
 * whitespace.  Nodes and decoded strings come from arena (arena_size
 * bytes, any alignment; the doc borrows it) or, if arena is NULL, from one
 * malloc of json_arena_size bytes.  lim NULL: defaults; err may be NULL.
 * Returns 0 with doc->root set, or -EINVAL (not valid JSON), -E2BIG (a
 * limit passed) or -ENOMEM (arena too small, or no memory), with err
 * filled.  Free with json_doc_free (also after a failure; harmless). */
int json_parse(struct json_doc *doc, const char *text, size_t len, const struct json_limits *lim,
	       void *arena, size_t arena_size, struct json_error *err);

/* Release the arena if json_parse allocated it; the doc becomes empty. */
void json_doc_free(struct json_doc *doc);

/* Member key of obj, or NULL (obj NULL or not an object, or no member). */
const struct json_value *json_get(const struct json_value *obj, const char *key);

/* String member key of obj as a C string.  0, -ENOENT ("missing 'key'"),
 * or -EINVAL ("'key' must be a string", or it contains a NUL character);
 * the message goes to err (may be NULL). */
int json_get_string(const struct json_value *obj, const char *key, const char **out, char *err,
		    size_t errlen);

/* Integer member key of obj in [min, max].  0, -ENOENT, or -EINVAL
 * ("'key' must be an integer from MIN to MAX"). */
int json_get_uint(const struct json_value *obj, const char *key, uint64_t min, uint64_t max,
		  uint64_t *out, char *err, size_t errlen);

/* Boolean member key of obj.  0, -ENOENT, or -EINVAL. */
int json_get_bool(const struct json_value *obj, const char *key, bool *out, char *err,
		  size_t errlen);

/* Whether v is an integer (JSON_INT or JSON_UINT) in [min, max]; stores
 * it in *out if so. */
bool json_as_uint(const struct json_value *v, uint64_t min, uint64_t max, uint64_t *out);

/* The name of a type for messages: "null", "boolean", "number", ... */
const char *json_type_name(enum json_type type);

/* ---- writer ---- */

#define JW_MAX_DEPTH 64

/* Builds one JSON text.  Calls in a wrong place (a value in an object
 * without a key, a key in an array, an end that does not match, a second
 * top-level value, nesting past JW_MAX_DEPTH) set the error -EINVAL; a
 * failed allocation or passing the limit sets -ENOMEM or -E2BIG.  After an
 * error further calls do nothing.  Strings are escaped; invalid UTF-8
 * bytes become U+FFFD so the output is always valid JSON. */
struct json_writer {
	struct strbuf sb;
	int err;	    /* 0, -EINVAL for misuse, or the buffer's error */
	unsigned int depth; /* open containers */
	uint64_t is_object; /* bit d: container at depth d + 1 is an object */
	uint64_t has_items; /* bit d: it already holds an item */
	bool key_pending;   /* a key was written, its value is due */
	bool done;	    /* a complete top-level value was written */
};

/* An empty writer whose text may grow to limit bytes (0: no limit). */
void jw_init(struct json_writer *w, size_t limit);

/* Free the buffer. */
void jw_free(struct json_writer *w);

/* Start over (empty text, no error); keeps the memory and the limit. */
void jw_reset(struct json_writer *w);

void jw_begin_object(struct json_writer *w);
void jw_end_object(struct json_writer *w);
void jw_begin_array(struct json_writer *w);
void jw_end_array(struct json_writer *w);

/* The key of the next member (inside an object only). */
void jw_key(struct json_writer *w, const char *key);
void jw_key_len(struct json_writer *w, const char *key, size_t len);

void jw_string(struct json_writer *w, const char *s);
void jw_string_len(struct json_writer *w, const char *s, size_t len);
void jw_int(struct json_writer *w, int64_t v);
void jw_uint(struct json_writer *w, uint64_t v);
/* A finite double ("1.5", "3.0"); NaN and infinities are written as null. */
void jw_double(struct json_writer *w, double v);
void jw_bool(struct json_writer *w, bool v);
void jw_null(struct json_writer *w);

/* Write a parsed value (and everything below it). */
void jw_value(struct json_writer *w, const struct json_value *v);

/* A key and its value, for reply members. */
void jw_kv_string(struct json_writer *w, const char *key, const char *s);
void jw_kv_int(struct json_writer *w, const char *key, int64_t v);
void jw_kv_uint(struct json_writer *w, const char *key, uint64_t v);
void jw_kv_double(struct json_writer *w, const char *key, double v);
void jw_kv_bool(struct json_writer *w, const char *key, bool v);

/* 0, or the sticky error. */
int jw_error(const struct json_writer *w);

/* The finished text (NUL-terminated) and its length.  Returns 0, the
 * sticky error, or -EINVAL if no complete value was written (containers
 * still open, or nothing at all). */
int jw_finish(const struct json_writer *w, const char **text, size_t *len);

/* ---- pretty-printer ---- */

/* Append text[0, len) to out re-indented: one member or element per line,
 * indent spaces per level (at most 16, and no deeper than 64 levels),
 * "key": value, empty containers kept as {} and [], no trailing newline.  Strings are copied as
 * they are.  Works on any bytes without failing (meant for valid JSON; other input is re-spaced as
 * well as it goes).  Returns 0 or out's error. */
int json_pretty(const char *text, size_t len, unsigned int indent, struct strbuf *out);

#endif
