/* JSON reader, lookup helpers, writer and pretty-printer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/json.h"

/* Parse s (internally allocated arena); the return code. */
static int parse(struct json_doc *doc, const char *s, struct json_error *err)
{
	return json_parse(doc, s, strlen(s), NULL, NULL, 0, err);
}

/* s must fail with code, the error at byte offset at. */
static void expect_fail(const char *s, int code, size_t at)
{
	struct json_doc doc;
	struct json_error err;
	int r = parse(&doc, s, &err);

	if (r != code || err.offset != at)
		print_error("input '%s': got %d at %zu (%s)\n", s, r, err.offset, err.msg);
	assert_int_equal(r, code);
	assert_int_equal(err.offset, at);
	assert_null(doc.root);
	assert_true(strncmp(err.msg, "at byte ", 8) == 0);
	json_doc_free(&doc);
}

static void test_scalars(void **state)
{
	struct json_doc doc;

	(void)state;
	assert_int_equal(parse(&doc, " true ", NULL), 0);
	assert_int_equal(doc.root->type, JSON_BOOL);
	assert_true(doc.root->b);
	json_doc_free(&doc);
	assert_null(doc.root);

	assert_int_equal(parse(&doc, "false", NULL), 0);
	assert_int_equal(doc.root->type, JSON_BOOL);
	assert_false(doc.root->b);
	json_doc_free(&doc);

	assert_int_equal(parse(&doc, "\t\r\nnull\n", NULL), 0);
	assert_int_equal(doc.root->type, JSON_NULL);
	json_doc_free(&doc);

	assert_int_equal(parse(&doc, "\"hi\"", NULL), 0);
	assert_int_equal(doc.root->type, JSON_STRING);
	assert_string_equal(doc.root->s, "hi");
	assert_int_equal(doc.root->len, 2);
	json_doc_free(&doc);
}

/* Integers are exact where int64/uint64 hold them, doubles otherwise. */
static void test_numbers(void **state)
{
	static const struct {
		const char *text;
		enum json_type type;
		int64_t i;
		uint64_t u;
		double d;
	} cases[] = {
	    {"0", JSON_INT, 0, 0, 0},
	    {"-0", JSON_INT, 0, 0, 0},
	    {"42", JSON_INT, 42, 0, 0},
	    {"-17", JSON_INT, -17, 0, 0},
	    {"9223372036854775807", JSON_INT, INT64_MAX, 0, 0},
	    {"-9223372036854775808", JSON_INT, INT64_MIN, 0, 0},
	    {"9223372036854775808", JSON_UINT, 0, 9223372036854775808ull, 0},
	    {"18446744073709551615", JSON_UINT, 0, UINT64_MAX, 0},
	    {"18446744073709551616", JSON_DOUBLE, 0, 0, 18446744073709551616.0},
	    {"-9223372036854775809", JSON_DOUBLE, 0, 0, -9223372036854775809.0},
	    {"1.5", JSON_DOUBLE, 0, 0, 1.5},
	    {"-0.25", JSON_DOUBLE, 0, 0, -0.25},
	    {"1e3", JSON_DOUBLE, 0, 0, 1000},
	    {"2E-2", JSON_DOUBLE, 0, 0, 0.02},
	    {"1.0e+2", JSON_DOUBLE, 0, 0, 100},
	    {"1e-400", JSON_DOUBLE, 0, 0, 0},
	};

	(void)state;
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct json_doc doc;

		assert_int_equal(parse(&doc, cases[k].text, NULL), 0);
		assert_int_equal(doc.root->type, cases[k].type);
		if (cases[k].type == JSON_INT)
			assert_true(doc.root->i == cases[k].i);
		else if (cases[k].type == JSON_UINT)
			assert_true(doc.root->u == cases[k].u);
		else
			assert_true(doc.root->d == cases[k].d);
		json_doc_free(&doc);
	}
}

static void test_bad_numbers(void **state)
{
	(void)state;
	expect_fail("-", -EINVAL, 1);
	expect_fail("01", -EINVAL, 1);
	expect_fail("1.", -EINVAL, 2);
	expect_fail(".5", -EINVAL, 0);
	expect_fail("1e", -EINVAL, 2);
	expect_fail("1e+", -EINVAL, 3);
	expect_fail("+1", -EINVAL, 0);
	expect_fail("1e400", -EINVAL, 0);
	expect_fail("-1e400", -EINVAL, 0);
	expect_fail("0x10", -EINVAL, 1);
	expect_fail("NaN", -EINVAL, 0);
	expect_fail("Infinity", -EINVAL, 0);
	expect_fail("[1,-]", -EINVAL, 4);
}

static void test_strings(void **state)
{
	struct json_doc doc;

	(void)state;
	assert_int_equal(parse(&doc, "\"a\\\"b\\\\c\\/d\\b\\f\\n\\r\\t\"", NULL), 0);
	assert_string_equal(doc.root->s, "a\"b\\c/d\b\f\n\r\t");
	json_doc_free(&doc);

	/* \u escapes to UTF-8, one to four bytes, surrogate pairs joined */
	assert_int_equal(parse(&doc, "\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"", NULL), 0);
	assert_string_equal(doc.root->s, "A\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	assert_int_equal(doc.root->len, 10);
	json_doc_free(&doc);

	/* raw UTF-8 passes through */
	assert_int_equal(parse(&doc, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", NULL), 0);
	assert_string_equal(doc.root->s, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
	json_doc_free(&doc);

	/* \u0000 is kept, with the length telling */
	assert_int_equal(parse(&doc, "\"a\\u0000b\"", NULL), 0);
	assert_int_equal(doc.root->len, 3);
	assert_memory_equal(doc.root->s, "a\0b", 4);
	json_doc_free(&doc);

	assert_int_equal(parse(&doc, "\"\"", NULL), 0);
	assert_int_equal(doc.root->len, 0);
	assert_string_equal(doc.root->s, "");
	json_doc_free(&doc);
}

static void test_bad_strings(void **state)
{
	(void)state;
	expect_fail("\"abc", -EINVAL, 0);
	expect_fail("\"abc\\\"", -EINVAL, 0);
	expect_fail("\"a\nb\"", -EINVAL, 2);
	expect_fail("\"a\tb\"", -EINVAL, 2);
	expect_fail("\"\x01\"", -EINVAL, 1);
	expect_fail("\"\\x41\"", -EINVAL, 1);
	expect_fail("\"\\u12\"", -EINVAL, 1);
	expect_fail("\"\\u12g4\"", -EINVAL, 1);
	expect_fail("\"\\ud800\"", -EINVAL, 1);
	expect_fail("\"\\ud800\\u0041\"", -EINVAL, 1);
	expect_fail("\"\\udc00\"", -EINVAL, 1);
	expect_fail("\"x\\ude00\\ud83d\"", -EINVAL, 2);
	/* invalid UTF-8: stray continuation, overlong, surrogate, too large,
	 * truncated */
	expect_fail("\"\x80\"", -EINVAL, 1);
	expect_fail("\"\xc0\xaf\"", -EINVAL, 1);
	expect_fail("\"\xe0\x80\xaf\"", -EINVAL, 1);
	expect_fail("\"\xed\xa0\x80\"", -EINVAL, 1);
	expect_fail("\"\xf4\x90\x80\x80\"", -EINVAL, 1);
	expect_fail("\"ab\xe2\x82\"", -EINVAL, 3);
	expect_fail("\"\xff\"", -EINVAL, 1);
}

static void test_containers(void **state)
{
	const char *text = "{\"a\": [1, 2, {\"b\": null}], \"c\": {}, \"d\": [], \"e\": \"x\"}";
	const struct json_value *a, *e;
	struct json_doc doc;
	int n = 0;

	(void)state;
	assert_int_equal(parse(&doc, text, NULL), 0);
	assert_int_equal(doc.root->type, JSON_OBJECT);
	assert_int_equal(doc.root->len, 4);
	a = json_get(doc.root, "a");
	assert_non_null(a);
	assert_int_equal(a->type, JSON_ARRAY);
	assert_int_equal(a->len, 3);
	assert_string_equal(a->key, "a");
	for (e = a->child; e; e = e->next)
		n++;
	assert_int_equal(n, 3);
	assert_int_equal(a->child->i, 1);
	assert_int_equal(a->child->next->i, 2);
	e = a->child->next->next;
	assert_int_equal(e->type, JSON_OBJECT);
	assert_non_null(json_get(e, "b"));
	assert_int_equal(json_get(e, "b")->type, JSON_NULL);
	assert_int_equal(json_get(doc.root, "c")->type, JSON_OBJECT);
	assert_int_equal(json_get(doc.root, "c")->len, 0);
	assert_null(json_get(doc.root, "c")->child);
	assert_int_equal(json_get(doc.root, "d")->len, 0);
	assert_null(json_get(doc.root, "zz"));
	assert_null(json_get(a, "a")); /* not an object */
	assert_null(json_get(NULL, "a"));
	/* members keep their order */
	assert_string_equal(doc.root->child->key, "a");
	assert_string_equal(doc.root->child->next->next->next->key, "e");
	json_doc_free(&doc);

	/* keys are compared with their length: "a\0b" is not "a" */
	assert_int_equal(parse(&doc, "{\"a\\u0000b\": 1, \"a\": 2}", NULL), 0);
	assert_int_equal(json_get(doc.root, "a")->i, 2);
	json_doc_free(&doc);
}

static void test_bad_containers(void **state)
{
	(void)state;
	expect_fail("", -EINVAL, 0);
	expect_fail("   ", -EINVAL, 3);
	expect_fail("[", -EINVAL, 1);
	expect_fail("[1,]", -EINVAL, 3);
	expect_fail("[1 2]", -EINVAL, 3);
	expect_fail("{", -EINVAL, 1);
	expect_fail("{\"a\"}", -EINVAL, 4);
	expect_fail("{\"a\":}", -EINVAL, 5);
	expect_fail("{\"a\":1,}", -EINVAL, 7);
	expect_fail("{a:1}", -EINVAL, 1);
	expect_fail("{\"a\":1 \"b\":2}", -EINVAL, 7);
	expect_fail("{\"a\":1,\"a\":2}", -EINVAL, 7);
	expect_fail("[1]]", -EINVAL, 3);
	expect_fail("1 2", -EINVAL, 2);
	expect_fail("tru", -EINVAL, 0);
	expect_fail("nul", -EINVAL, 0);
	expect_fail("truex", -EINVAL, 4);
	expect_fail("[true,fals]", -EINVAL, 6);
	expect_fail("/* c */ 1", -EINVAL, 0);
	{
		/* a NUL after the value is not whitespace */
		struct json_doc doc;
		struct json_error err;

		assert_int_equal(json_parse(&doc, "{\"a\":1}\0", 8, NULL, NULL, 0, &err), -EINVAL);
		assert_int_equal(err.offset, 7);
	}
}

static void test_error_message(void **state)
{
	struct json_doc doc;
	struct json_error err;

	(void)state;
	assert_int_equal(parse(&doc, "{\"cmd\" 1}", &err), -EINVAL);
	assert_int_equal(err.offset, 7);
	assert_string_equal(err.msg, "at byte 7: expected ':' after key, found '1'");
	assert_int_equal(parse(&doc, "[1,", &err), -EINVAL);
	assert_string_equal(err.msg, "at byte 3: expected a value, found end of input");
	assert_int_equal(parse(&doc, "\"\x7f\x01\"", &err), -EINVAL);
	assert_string_equal(err.msg, "at byte 2: control character 0x01 in string");
}

/* Not NUL-terminated: the parser stays inside the given length. */
static void test_length_bound(void **state)
{
	struct json_doc doc;
	char *buf = malloc(4);

	(void)state;
	memcpy(buf, "1234", 4);
	assert_int_equal(json_parse(&doc, buf, 2, NULL, NULL, 0, NULL), 0);
	assert_int_equal(doc.root->i, 12);
	json_doc_free(&doc);
	memcpy(buf, "\"abc", 4);
	assert_int_equal(json_parse(&doc, buf, 4, NULL, NULL, 0, NULL), -EINVAL);
	memcpy(buf, "1.5e", 4);
	assert_int_equal(json_parse(&doc, buf, 3, NULL, NULL, 0, NULL), 0);
	assert_true(doc.root->d == 1.5);
	json_doc_free(&doc);
	free(buf);
}

static char *repeat(const char *open, int n, const char *mid, const char *close)
{
	size_t lo = strlen(open), lm = strlen(mid), lc = strlen(close);
	char *s = malloc((size_t)n * (lo + lc) + lm + 1), *p = s;

	for (int i = 0; i < n; i++, p += lo)
		memcpy(p, open, lo);
	memcpy(p, mid, lm);
	p += lm;
	for (int i = 0; i < n; i++, p += lc)
		memcpy(p, close, lc);
	*p = '\0';
	return s;
}

static void test_limits(void **state)
{
	struct json_limits lim = {.max_len = 10, .max_depth = 3, .max_nodes = 5};
	struct json_doc doc;
	struct json_error err;
	char *s;

	(void)state;
	/* depth: 32 levels by default */
	s = repeat("[", 32, "1", "]");
	assert_int_equal(parse(&doc, s, NULL), 0);
	json_doc_free(&doc);
	free(s);
	s = repeat("[", 33, "1", "]");
	assert_int_equal(parse(&doc, s, &err), -E2BIG);
	assert_int_equal(err.offset, 32);
	free(s);
	s = repeat("{\"a\":", 33, "1", "}");
	assert_int_equal(parse(&doc, s, NULL), -E2BIG);
	free(s);
	/* a very deep text fails quickly without exhausting the stack */
	s = repeat("[", 60000, "", "]");
	assert_int_equal(parse(&doc, s, NULL), -E2BIG);
	free(s);

	/* length, depth and nodes as given */
	assert_int_equal(json_parse(&doc, "[[[1]]]", 7, &lim, NULL, 0, NULL), 0);
	json_doc_free(&doc);
	assert_int_equal(json_parse(&doc, "[[[[1]]]]", 9, &lim, NULL, 0, &err), -E2BIG);
	assert_int_equal(json_parse(&doc, "[1,2,3,4]", 9, &lim, NULL, 0, NULL), 0);
	json_doc_free(&doc);
	assert_int_equal(json_parse(&doc, "[1,2,3,4,5]", 11, &lim, NULL, 0, &err), -E2BIG);
	lim.max_len = 100;
	assert_int_equal(json_parse(&doc, "[1,2,3,4,5]", 11, &lim, NULL, 0, &err), -E2BIG);
	assert_true(strstr(err.msg, "more than 5 values") != NULL);

	/* the default length: 64 KiB */
	s = malloc(JSON_DEFAULT_MAX_LEN + 2);
	memset(s, ' ', JSON_DEFAULT_MAX_LEN + 1);
	s[0] = '1';
	assert_int_equal(json_parse(&doc, s, JSON_DEFAULT_MAX_LEN, NULL, NULL, 0, NULL), 0);
	json_doc_free(&doc);
	assert_int_equal(json_parse(&doc, s, JSON_DEFAULT_MAX_LEN + 1, NULL, NULL, 0, &err),
			 -E2BIG);
	free(s);
}

/* A caller-provided arena: exactly json_arena_size is always enough. */
static void test_arena(void **state)
{
	const char *texts[] = {
	    "[[],[],[],[],[],[],[],[]]",
	    "{\"a\":{\"b\":{\"c\":[1,2,3]}}}",
	    "\"\\u20ac\\u20ac\"",
	    "[1.5,2.5,-3e10,1e-5]",
	    "[\"\",\"\",\"\",\"\"]",
	    "0",
	    "{\"\":\"\"}",
	    "[1,[2,[3,[4,[5]]]]]",
	};
	static char big[1 << 16];
	struct json_doc doc;
	char small[64];

	(void)state;
	for (size_t k = 0; k < sizeof(texts) / sizeof(texts[0]); k++) {
		size_t len = strlen(texts[k]), need = json_arena_size(len, NULL);
		char *arena = malloc(need);

		assert_true(need > 0);
		/* any alignment */
		assert_int_equal(json_parse(&doc, texts[k], len, NULL, arena, need, NULL), 0);
		json_doc_free(&doc);
		memmove(arena, arena, need);
		free(arena);
		assert_int_equal(json_parse(&doc, texts[k], len, NULL, big + 1, need, NULL), 0);
		assert_true((const char *)doc.root >= big &&
			    (const char *)doc.root < big + need + 1);
		json_doc_free(&doc);
	}
	/* too small: -ENOMEM, never a write outside */
	memset(small, 0x5a, sizeof(small));
	assert_int_equal(json_parse(&doc, "[1,2,3,4]", 9, NULL, small, 32, NULL), -ENOMEM);
	for (size_t i = 32; i < sizeof(small); i++)
		assert_int_equal((unsigned char)small[i], 0x5a);
	assert_int_equal(json_parse(&doc, "1", 1, NULL, small, 1, NULL), -ENOMEM);
}

static void test_getters(void **state)
{
	const char *text = "{\"s\":\"str\",\"n\":7,\"big\":18446744073709551615,\"neg\":-1,"
			   "\"f\":1.5,\"b\":true,\"z\":\"a\\u0000b\",\"o\":{}}";
	struct json_doc doc;
	const char *s;
	uint64_t u;
	bool b;
	char err[128];

	(void)state;
	assert_int_equal(parse(&doc, text, NULL), 0);
	assert_int_equal(json_get_string(doc.root, "s", &s, err, sizeof(err)), 0);
	assert_string_equal(s, "str");
	assert_int_equal(json_get_string(doc.root, "x", &s, err, sizeof(err)), -ENOENT);
	assert_string_equal(err, "missing 'x'");
	assert_int_equal(json_get_string(doc.root, "n", &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'n' must be a string, not number");
	assert_int_equal(json_get_string(doc.root, "z", &s, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'z' must not contain a NUL character");

	assert_int_equal(json_get_uint(doc.root, "n", 0, 10, &u, err, sizeof(err)), 0);
	assert_int_equal(u, 7);
	assert_int_equal(json_get_uint(doc.root, "n", 8, 10, &u, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'n' must be an integer from 8 to 10");
	assert_int_equal(json_get_uint(doc.root, "big", 0, UINT64_MAX, &u, NULL, 0), 0);
	assert_true(u == UINT64_MAX);
	assert_int_equal(json_get_uint(doc.root, "neg", 0, 10, &u, NULL, 0), -EINVAL);
	assert_int_equal(json_get_uint(doc.root, "f", 0, 10, &u, NULL, 0), -EINVAL);
	assert_int_equal(json_get_uint(doc.root, "s", 0, 10, &u, NULL, 0), -EINVAL);
	assert_int_equal(json_get_uint(doc.root, "x", 0, 10, &u, NULL, 0), -ENOENT);

	assert_int_equal(json_get_bool(doc.root, "b", &b, err, sizeof(err)), 0);
	assert_true(b);
	assert_int_equal(json_get_bool(doc.root, "o", &b, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "'o' must be true or false, not object");
	assert_int_equal(json_get_bool(doc.root, "x", &b, NULL, 0), -ENOENT);
	/* not an object */
	assert_int_equal(json_get_bool(json_get(doc.root, "n"), "b", &b, NULL, 0), -ENOENT);
	assert_false(json_as_uint(NULL, 0, 1, &u));
	json_doc_free(&doc);
}

static const char *finish(struct json_writer *w)
{
	const char *text;
	size_t len;

	assert_int_equal(jw_finish(w, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	return text;
}

static void test_writer(void **state)
{
	struct json_writer w;

	(void)state;
	jw_init(&w, 0);
	jw_begin_object(&w);
	jw_kv_bool(&w, "ok", true);
	jw_kv_int(&w, "i", -5);
	jw_kv_uint(&w, "u", UINT64_MAX);
	jw_kv_double(&w, "d", 1.5);
	jw_kv_double(&w, "d2", 3);
	jw_kv_double(&w, "inf", 1.0 / 0.0);
	jw_key(&w, "a");
	jw_begin_array(&w);
	jw_null(&w);
	jw_string(&w, "x");
	jw_begin_object(&w);
	jw_end_object(&w);
	jw_begin_array(&w);
	jw_end_array(&w);
	jw_int(&w, INT64_MIN);
	jw_end_array(&w);
	jw_kv_string(&w, "s", "q\"b\\n\n\x01\x7f\xc3\xa9");
	jw_end_object(&w);
	assert_string_equal(finish(&w),
			    "{\"ok\":true,\"i\":-5,\"u\":18446744073709551615,\"d\":1.5,\"d2\":3.0,"
			    "\"inf\":null,\"a\":[null,\"x\",{},[],-9223372036854775808],"
			    "\"s\":\"q\\\"b\\\\n\\n\\u0001\x7f\xc3\xa9\"}");

	/* reset keeps nothing of the old text */
	jw_reset(&w);
	jw_string(&w, "top");
	assert_string_equal(finish(&w), "\"top\"");
	jw_reset(&w);
	jw_double(&w, 0.1);
	assert_string_equal(finish(&w), "0.1");
	jw_reset(&w);
	jw_double(&w, -0.0);
	assert_string_equal(finish(&w), "-0.0");
	jw_reset(&w);
	jw_double(&w, 1e300);
	assert_string_equal(finish(&w), "1e+300");
	jw_free(&w);
}

/* Invalid UTF-8 in a string is replaced, so the output stays valid. */
static void test_writer_utf8(void **state)
{
	struct json_writer w;
	struct json_doc doc;
	const char *text;

	(void)state;
	jw_init(&w, 0);
	jw_string_len(&w,
		      "a\xff"
		      "b\xc3"
		      "\0c\xed\xa0\x80",
		      9);
	text = finish(&w);
	assert_string_equal(text, "\"a\\ufffdb\\ufffd\\u0000c\\ufffd\\ufffd\\ufffd\"");
	assert_int_equal(parse(&doc, text, NULL), 0);
	json_doc_free(&doc);
	jw_free(&w);
}

static void test_writer_misuse(void **state)
{
	struct json_writer w;
	const char *text;
	size_t len;

	(void)state;
	jw_init(&w, 0);
	assert_int_equal(jw_finish(&w, &text, &len), -EINVAL); /* nothing written */

	jw_begin_object(&w);
	jw_int(&w, 1); /* no key */
	assert_int_equal(jw_error(&w), -EINVAL);
	jw_reset(&w);

	jw_begin_array(&w);
	jw_key(&w, "k"); /* key in an array */
	assert_int_equal(jw_error(&w), -EINVAL);
	jw_reset(&w);

	jw_begin_array(&w);
	jw_end_object(&w); /* mismatched */
	assert_int_equal(jw_error(&w), -EINVAL);
	jw_reset(&w);

	jw_begin_object(&w);
	jw_key(&w, "k");
	jw_end_object(&w); /* key without value */
	assert_int_equal(jw_error(&w), -EINVAL);
	jw_reset(&w);

	jw_begin_object(&w);
	jw_key(&w, "k");
	jw_key(&w, "l"); /* two keys */
	assert_int_equal(jw_error(&w), -EINVAL);
	jw_reset(&w);

	jw_int(&w, 1);
	jw_int(&w, 2); /* two top-level values */
	assert_int_equal(jw_error(&w), -EINVAL);
	jw_reset(&w);

	jw_end_array(&w);
	assert_int_equal(jw_error(&w), -EINVAL);
	jw_reset(&w);

	jw_begin_object(&w); /* unbalanced */
	assert_int_equal(jw_error(&w), 0);
	assert_int_equal(jw_finish(&w, &text, &len), -EINVAL);
	jw_reset(&w);

	for (int i = 0; i < JW_MAX_DEPTH; i++)
		jw_begin_array(&w);
	assert_int_equal(jw_error(&w), 0);
	jw_begin_array(&w);
	assert_int_equal(jw_error(&w), -EINVAL);
	jw_reset(&w);
	jw_null(&w);
	assert_string_equal(finish(&w), "null");
	jw_free(&w);
}

/* The limit: an error instead of growth, and the error sticks. */
static void test_writer_limit(void **state)
{
	struct json_writer w;
	const char *text;
	size_t len;

	(void)state;
	jw_init(&w, 16);
	jw_begin_array(&w);
	jw_string(&w, "0123456789");
	assert_int_equal(jw_error(&w), 0);
	jw_string(&w, "0123456789");
	assert_int_equal(jw_error(&w), -E2BIG);
	jw_end_array(&w);
	assert_int_equal(jw_finish(&w, &text, &len), -E2BIG);
	/* reset clears it */
	jw_reset(&w);
	jw_string(&w, "short");
	assert_string_equal(finish(&w), "\"short\"");
	jw_free(&w);
}

/* jw_value writes back what the reader parsed. */
static void test_writer_value(void **state)
{
	const char *in = "{\"a\":[1,-2,18446744073709551615,1.5,true,false,null],\"b\":{\"c\":"
			 "\"\\u00e9\\n\"},\"\":[]}";
	struct json_writer w;
	struct json_doc doc;

	(void)state;
	assert_int_equal(parse(&doc, in, NULL), 0);
	jw_init(&w, 0);
	jw_value(&w, doc.root);
	assert_string_equal(finish(&w), "{\"a\":[1,-2,18446744073709551615,1.5,true,false,null],"
					"\"b\":{\"c\":\"\xc3\xa9\\n\"},\"\":[]}");
	json_doc_free(&doc);
	jw_free(&w);
}

static void test_pretty(void **state)
{
	const char *in = " {\"ok\":true,\"a\":[1, 2,{}],\"e\":[ ],\"s\":\"x, y: {z}\\\"\"}";
	struct strbuf sb;

	(void)state;
	sb_init(&sb, 0);
	assert_int_equal(json_pretty(in, strlen(in), 2, &sb), 0);
	assert_string_equal(sb_str(&sb), "{\n"
					 "  \"ok\": true,\n"
					 "  \"a\": [\n"
					 "    1,\n"
					 "    2,\n"
					 "    {}\n"
					 "  ],\n"
					 "  \"e\": [],\n"
					 "  \"s\": \"x, y: {z}\\\"\"\n"
					 "}");
	sb_reset(&sb);
	assert_int_equal(json_pretty("42", 2, 4, &sb), 0);
	assert_string_equal(sb_str(&sb), "42");
	/* garbage does not crash, and the limit is honoured */
	sb_reset(&sb);
	assert_int_equal(json_pretty("]]]\"\\", 5, 2, &sb), 0);
	sb_free(&sb);
	sb_init(&sb, 8);
	assert_int_equal(json_pretty("[[[[[[1]]]]]]", 13, 2, &sb), -E2BIG);
	sb_free(&sb);
}

/* Writer output, pretty or not, reads back as the same tree. */
static void test_roundtrip(void **state)
{
	const char *in = "[{\"k\":[0.1,-0.0,1e-7,123456789012345678,\"\\ud834\\udd1e\"]},{}]";
	struct json_doc a, b;
	struct json_writer w;
	struct strbuf sb;
	const char *text;

	(void)state;
	assert_int_equal(parse(&a, in, NULL), 0);
	jw_init(&w, 0);
	jw_value(&w, a.root);
	text = finish(&w);
	sb_init(&sb, 0);
	assert_int_equal(json_pretty(text, strlen(text), 3, &sb), 0);
	assert_int_equal(parse(&b, sb_str(&sb), NULL), 0);
	jw_reset(&w);
	jw_value(&w, b.root);
	assert_string_equal(finish(&w), text);
	json_doc_free(&a);
	json_doc_free(&b);
	sb_free(&sb);
	jw_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scalars),	   cmocka_unit_test(test_numbers),
	    cmocka_unit_test(test_bad_numbers),	   cmocka_unit_test(test_strings),
	    cmocka_unit_test(test_bad_strings),	   cmocka_unit_test(test_containers),
	    cmocka_unit_test(test_bad_containers), cmocka_unit_test(test_error_message),
	    cmocka_unit_test(test_length_bound),   cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_arena),	   cmocka_unit_test(test_getters),
	    cmocka_unit_test(test_writer),	   cmocka_unit_test(test_writer_utf8),
	    cmocka_unit_test(test_writer_misuse),  cmocka_unit_test(test_writer_limit),
	    cmocka_unit_test(test_writer_value),   cmocka_unit_test(test_pretty),
	    cmocka_unit_test(test_roundtrip),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
