/* vmm/bench_results.c: rows, CSV quoting, JSON that parses back, and the
 * min / median / max summaries the plots use. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/bench_results.h"
#include "vmm/json.h"

static void add(struct bench_results *r, const char *sys, unsigned int point, unsigned int rep,
		const char *metric, double v, const char *cmd)
{
	struct bench_row row;

	memset(&row, 0, sizeof(row));
	snprintf(row.system, sizeof(row.system), "%s", sys);
	snprintf(row.suite, sizeof(row.suite), "blk");
	row.point = point;
	row.repeat = rep;
	snprintf(row.label, sizeof(row.label), "disk.cache=%s", point ? "writeback" : "none");
	snprintf(row.metric, sizeof(row.metric), "%s", metric);
	snprintf(row.unit, sizeof(row.unit), "IOPS");
	row.value = v;
	snprintf(row.command, sizeof(row.command), "%s", cmd);
	assert_int_equal(bench_results_add(r, &row), 0);
}

/* the whole of f's content */
static char *slurp(FILE *f, size_t *len)
{
	char *buf;

	*len = (size_t)ftell(f);
	rewind(f);
	buf = calloc(1, *len + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, *len, f), *len);
	return buf;
}

static void test_csv_json_summary(void **state)
{
	struct bench_results r;
	double lo = 0, med = 0, hi = 0;
	size_t len;
	char *text;
	FILE *f;

	(void)state;
	bench_results_init(&r, "0.1", "6.1.0-57-amd64", true);
	add(&r, "kvmlab", 0, 1, "iops", 300, "kvmlab run --disk path=a,cache=none -- x");
	add(&r, "kvmlab", 0, 2, "iops", 100, "kvmlab run");
	add(&r, "kvmlab", 0, 3, "iops", 200, "kvmlab run");
	add(&r, "kvmlab", 0, 1, "p99_us", 50, "kvmlab run");
	add(&r, "qemu", 0, 1, "iops", 7, "qemu-system-x86_64 -drive \"file=x\"");
	add(&r, "kvmlab", 1, 1, "iops", 10, "kvmlab run");
	add(&r, "kvmlab", 1, 2, "iops", 30, "kvmlab run");

	/* an odd count: the middle one; even: the mean of the middle two */
	assert_int_equal(bench_results_summary(&r, "kvmlab", 0, "iops", &lo, &med, &hi), 3);
	assert_true(lo == 100 && med == 200 && hi == 300);
	assert_int_equal(bench_results_summary(&r, "kvmlab", 1, "iops", &lo, &med, &hi), 2);
	assert_true(lo == 10 && med == 20 && hi == 30);
	assert_int_equal(bench_results_summary(&r, "qemu", 1, "iops", &lo, &med, &hi), 0);
	assert_true(lo == 10); /* untouched */
	assert_int_equal(bench_results_metrics(&r, NULL, NULL), 2);

	f = tmpfile();
	assert_non_null(f);
	assert_int_equal(bench_results_write_csv(&r, f), 0);
	text = slurp(f, &len);
	fclose(f);
	{
		static const char head[] =
		    "system,suite,point,repeat,label,metric,unit,value,command,";

		assert_memory_equal(text, head, sizeof(head) - 1);
	}
	/* 8 lines: header + 7 rows */
	size_t lines = 0;
	for (size_t i = 0; i < len; i++)
		lines += text[i] == '\n';
	assert_int_equal(lines, 8);
	/* a command with a comma is quoted; quotes inside are doubled */
	assert_non_null(strstr(text, "\"kvmlab run --disk path=a,cache=none -- x\""));
	assert_non_null(strstr(text, "\"qemu-system-x86_64 -drive \"\"file=x\"\"\""));
	assert_non_null(strstr(text, "kvmlab,blk,0,2,disk.cache=none,iops,IOPS,100,kvmlab run,0.1,"
				     "6.1.0-57-amd64,yes\n"));
	free(text);

	f = tmpfile();
	assert_non_null(f);
	assert_int_equal(bench_results_write_json(&r, f), 0);
	text = slurp(f, &len);
	fclose(f);
	{
		struct json_limits lim = {.max_len = 1 << 20, .max_depth = 8, .max_nodes = 1000};
		struct json_doc doc;
		const struct json_value *rows, *v;
		struct json_error err;

		assert_int_equal(json_parse(&doc, text, len, &lim, NULL, 0, &err), 0);
		v = json_get(doc.root, "emulated_host");
		assert_non_null(v);
		assert_int_equal(v->type, JSON_BOOL);
		assert_true(v->b);
		rows = json_get(doc.root, "rows");
		assert_non_null(rows);
		assert_int_equal(rows->type, JSON_ARRAY);
		assert_int_equal(rows->len, 7);
		v = json_get(rows->child->next, "value");
		assert_non_null(v);
		assert_true(v->type == JSON_DOUBLE || v->type == JSON_INT);
		json_doc_free(&doc);
	}
	free(text);
	bench_results_free(&r);
}

static void test_add_terminates(void **state)
{
	struct bench_results r;
	struct bench_row row;

	(void)state;
	bench_results_init(&r, "a-version-string-longer-than-thirty-two-bytes-in-all", NULL, false);
	assert_int_equal(strlen(r.version), sizeof(r.version) - 1);
	assert_string_equal(r.host_kernel, "");
	memset(&row, 'x', sizeof(row)); /* no terminator anywhere */
	row.value = 1;
	for (int i = 0; i < 100; i++)
		assert_int_equal(bench_results_add(&r, &row), 0);
	assert_int_equal(r.n, 100);
	assert_int_equal(strlen(r.rows[99].command), sizeof(row.command) - 1);
	assert_int_equal(strlen(r.rows[0].metric), sizeof(row.metric) - 1);
	bench_results_free(&r);
	assert_int_equal(r.n, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_csv_json_summary),
	    cmocka_unit_test(test_add_terminates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
