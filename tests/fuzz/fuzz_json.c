/* libFuzzer target: arbitrary bytes against the JSON reader, and what it
 * accepts through the writer and the pretty-printer.
 *
 * Input: the text itself.  Checks:
 *   - parsing never fails for want of memory in an arena of exactly
 *     json_arena_size bytes (at an odd address) when a large one works,
 *     and both give the same result;
 *   - an accepted text written back with jw_value reads as the same tree
 *     (types, keys, exact integers, bit-equal doubles), and writing that
 *     tree again gives the same text;
 *   - the pretty-printed text reads as the same tree too;
 *   - the lookup helpers and the pretty-printer take any input. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/json.h"

/* An invariant failed: crash so libFuzzer keeps the input. */
#define CHECK(x)                                                                                   \
	do {                                                                                       \
		if (!(x))                                                                          \
			abort();                                                                   \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

static bool same(const struct json_value *a, const struct json_value *b)
{
	const struct json_value *x, *y;

	if (a->type != b->type || a->len != b->len || a->key_len != b->key_len)
		return false;
	if (a->key_len && memcmp(a->key, b->key, a->key_len))
		return false;
	switch (a->type) {
	case JSON_NULL:
		return true;
	case JSON_BOOL:
		return a->b == b->b;
	case JSON_INT:
		return a->i == b->i;
	case JSON_UINT:
		return a->u == b->u;
	case JSON_DOUBLE:
		return a->d == b->d && signbit(a->d) == signbit(b->d);
	case JSON_STRING:
		return !memcmp(a->s, b->s, a->len) && a->s[a->len] == '\0';
	case JSON_ARRAY:
	case JSON_OBJECT:
		for (x = a->child, y = b->child; x && y; x = x->next, y = y->next)
			if (!same(x, y))
				return false;
		return !x && !y;
	}
	return false;
}

/* Parse text (generous length, same depth and node bounds) and compare. */
static void reparse_same(const char *text, size_t len, const struct json_value *want)
{
	struct json_limits lim = {.max_len = len + 1};
	struct json_doc doc;

	CHECK(json_parse(&doc, text, len, &lim, NULL, 0, NULL) == 0);
	CHECK(same(doc.root, want));
	json_doc_free(&doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const char *text = (const char *)data;
	struct json_limits lim = {.max_len = len + 1};
	size_t need = json_arena_size(len, &lim);
	struct json_doc doc, exact;
	struct json_error err;
	struct json_writer w;
	struct strbuf pretty;
	char *mem, *big;
	const char *out, *s;
	size_t out_len;
	uint64_t u;
	bool b;
	int r, r2;

	if (len > (1u << 20))
		return 0;
	CHECK(need > 0);
	big = malloc(need * 2 + 64);
	mem = malloc(need + 1);
	CHECK(big && mem);
	r = json_parse(&doc, text, len, &lim, big, need * 2 + 64, &err);
	CHECK(r == 0 || r == -EINVAL || r == -E2BIG);
	CHECK(r == 0 || (err.offset <= len && err.msg[0]));
	r2 = json_parse(&exact, text, len, &lim, mem + 1, need, NULL);
	CHECK(r2 == r);
	json_doc_free(&exact);

	/* any input through the pretty-printer, bounded */
	sb_init(&pretty, 1u << 22);
	json_pretty(text, len, 2, &pretty);
	sb_free(&pretty);

	if (r == 0) {
		json_get_string(doc.root, "cmd", &s, NULL, 0);
		json_get_uint(doc.root, "n", 1, 100, &u, NULL, 0);
		json_get_bool(doc.root, "b", &b, NULL, 0);

		jw_init(&w, 0);
		jw_value(&w, doc.root);
		CHECK(jw_finish(&w, &out, &out_len) == 0);
		CHECK(strlen(out) == out_len);
		reparse_same(out, out_len, doc.root);
		{
			/* writing the re-read tree gives the same text */
			struct json_limits l2 = {.max_len = out_len + 1};
			struct json_writer w2;
			struct json_doc d2;
			const char *out2;
			size_t len2;

			CHECK(json_parse(&d2, out, out_len, &l2, NULL, 0, NULL) == 0);
			jw_init(&w2, 0);
			jw_value(&w2, d2.root);
			CHECK(jw_finish(&w2, &out2, &len2) == 0);
			CHECK(len2 == out_len && !memcmp(out, out2, len2));
			jw_free(&w2);
			json_doc_free(&d2);
		}
		sb_init(&pretty, 0);
		CHECK(json_pretty(out, out_len, 2, &pretty) == 0);
		reparse_same(sb_str(&pretty), pretty.len, doc.root);
		sb_free(&pretty);
		jw_free(&w);
	}
	json_doc_free(&doc);
	free(big);
	free(mem);
	return 0;
}
