/* Prometheus text exposition writer: HELP/TYPE once per family, labelled
 * samples with escaped values, name checks, sticky errors. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "vmm/prom.h"

static const char *text_of(struct prom_writer *p)
{
	const char *text;
	size_t len;

	assert_int_equal(prom_finish(p, &text, &len), 0);
	assert_int_equal(strlen(text), len);
	return text;
}

static void test_families(void **state)
{
	struct prom_writer p;
	const struct prom_label cpu0[] = {{"vcpu", "0"}, {"reason", "io"}};
	const struct prom_label cpu1[] = {{"vcpu", "1"}, {"reason", "mmio"}};

	(void)state;
	prom_init(&p, 0);
	assert_int_equal(prom_family(&p, "kvmlab_exits_total", PROM_COUNTER, "VM exits."), 0);
	assert_int_equal(prom_sample_u64(&p, cpu0, 2, 12), 0);
	assert_int_equal(prom_sample_u64(&p, cpu1, 2, UINT64_MAX), 0);
	assert_int_equal(prom_family(&p, "kvmlab_temp", PROM_GAUGE, NULL), 0);
	assert_int_equal(prom_sample_i64(&p, NULL, 0, -3), 0);
	assert_int_equal(prom_family(&p, "kvmlab:ratio", PROM_GAUGE, ""), 0);
	assert_int_equal(prom_sample_double(&p, NULL, 0, 0.5), 0);
	assert_int_equal(prom_sample_double(&p, (struct prom_label[]){{"k", "nan"}}, 1, NAN), 0);
	assert_int_equal(prom_sample_double(&p, (struct prom_label[]){{"k", "inf"}}, 1, INFINITY),
			 0);
	assert_int_equal(prom_sample_double(&p, (struct prom_label[]){{"k", "-inf"}}, 1, -INFINITY),
			 0);
	assert_int_equal(prom_sample_double(&p, (struct prom_label[]){{"k", "int"}}, 1, 2), 0);
	assert_int_equal(prom_metric_u64(&p, "kvmlab_up", PROM_GAUGE, "Up.", 1), 0);
	assert_string_equal(text_of(&p),
			    "# HELP kvmlab_exits_total VM exits.\n"
			    "# TYPE kvmlab_exits_total counter\n"
			    "kvmlab_exits_total{vcpu=\"0\",reason=\"io\"} 12\n"
			    "kvmlab_exits_total{vcpu=\"1\",reason=\"mmio\"} 18446744073709551615\n"
			    "# TYPE kvmlab_temp gauge\n"
			    "kvmlab_temp -3\n"
			    "# TYPE kvmlab:ratio gauge\n"
			    "kvmlab:ratio 0.5\n"
			    "kvmlab:ratio{k=\"nan\"} NaN\n"
			    "kvmlab:ratio{k=\"inf\"} +Inf\n"
			    "kvmlab:ratio{k=\"-inf\"} -Inf\n"
			    "kvmlab:ratio{k=\"int\"} 2.0\n"
			    "# HELP kvmlab_up Up.\n"
			    "# TYPE kvmlab_up gauge\n"
			    "kvmlab_up 1\n");
	prom_free(&p);
}

static void test_escaping(void **state)
{
	struct prom_writer p;
	const struct prom_label l[] = {{"path", "C:\\dir \"x\"\nnext"}};

	(void)state;
	prom_init(&p, 0);
	assert_int_equal(prom_family(&p, "m", PROM_GAUGE, "a \\ b\nc \"q\""), 0);
	assert_int_equal(prom_sample_u64(&p, l, 1, 1), 0);
	assert_string_equal(text_of(&p), "# HELP m a \\\\ b\\nc \"q\"\n"
					 "# TYPE m gauge\n"
					 "m{path=\"C:\\\\dir \\\"x\\\"\\nnext\"} 1\n");
	prom_free(&p);
}

static void test_names(void **state)
{
	(void)state;
	assert_true(prom_metric_name_valid("a"));
	assert_true(prom_metric_name_valid("_a:b_9"));
	assert_true(prom_metric_name_valid(":x"));
	assert_false(prom_metric_name_valid(""));
	assert_false(prom_metric_name_valid(NULL));
	assert_false(prom_metric_name_valid("9a"));
	assert_false(prom_metric_name_valid("a-b"));
	assert_false(prom_metric_name_valid("a b"));
	assert_false(prom_metric_name_valid("a\xc3\xa9"));
	assert_true(prom_label_name_valid("vcpu"));
	assert_true(prom_label_name_valid("_x1"));
	assert_false(prom_label_name_valid("__name__"));
	assert_false(prom_label_name_valid("a:b"));
	assert_false(prom_label_name_valid("1a"));
	assert_false(prom_label_name_valid(""));
}

/* Each mistake sets the sticky error; the text is then refused. */
static void test_errors(void **state)
{
	struct prom_writer p;
	const char *text;
	size_t len;

	(void)state;
	prom_init(&p, 0);
	assert_int_equal(prom_sample_u64(&p, NULL, 0, 1), -EINVAL); /* no family */
	assert_int_equal(prom_finish(&p, &text, &len), -EINVAL);
	assert_int_equal(prom_family(&p, "ok", PROM_GAUGE, NULL), -EINVAL); /* sticky */
	prom_free(&p);

	prom_init(&p, 0);
	assert_int_equal(prom_family(&p, "bad-name", PROM_GAUGE, NULL), -EINVAL);
	prom_free(&p);

	prom_init(&p, 0);
	assert_int_equal(prom_family(&p, "m", PROM_GAUGE, NULL), 0);
	assert_int_equal(prom_family(&p, "n", PROM_GAUGE, NULL), 0);
	assert_int_equal(prom_family(&p, "m", PROM_COUNTER, NULL), -EINVAL); /* twice */
	prom_free(&p);

	prom_init(&p, 0);
	assert_int_equal(prom_family(&p, "m", PROM_GAUGE, NULL), 0);
	assert_int_equal(prom_sample_u64(&p, (struct prom_label[]){{"__x", "v"}}, 1, 1), -EINVAL);
	prom_free(&p);

	prom_init(&p, 0);
	assert_int_equal(prom_family(&p, "m", PROM_GAUGE, NULL), 0);
	assert_int_equal(prom_sample_u64(&p, (struct prom_label[]){{"a", "1"}, {"a", "2"}}, 2, 1),
			 -EINVAL);
	prom_free(&p);

	prom_init(&p, 0);
	assert_int_equal(prom_family(&p, "m", PROM_GAUGE, NULL), 0);
	assert_int_equal(prom_sample_u64(&p, (struct prom_label[]){{"a", NULL}}, 1, 1), -EINVAL);
	assert_int_equal(prom_sample_u64(&p, NULL, 1, 1), -EINVAL);
	prom_free(&p);

	prom_init(&p, 0);
	assert_int_equal(prom_family(&p, "m", (enum prom_type)7, NULL), -EINVAL);
	prom_free(&p);

	/* the size limit */
	prom_init(&p, 40);
	assert_int_equal(prom_family(&p, "m", PROM_GAUGE, NULL), 0);
	assert_int_equal(prom_sample_u64(&p, NULL, 0, 1), 0);
	assert_int_equal(prom_sample_u64(&p, (struct prom_label[]){{"long", "0123456789"}}, 1, 1),
			 -E2BIG);
	assert_int_equal(prom_finish(&p, &text, &len), -E2BIG);
	prom_free(&p);
}

/* An empty writer gives an empty (valid) exposition. */
static void test_empty(void **state)
{
	struct prom_writer p;

	(void)state;
	prom_init(&p, 0);
	assert_string_equal(text_of(&p), "");
	prom_free(&p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_families), cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_names),    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_empty),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
