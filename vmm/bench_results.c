/* Results of `kvmlab bench` (see bench_results.h). */
#include "vmm/bench_results.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/json.h"

#define JSON_LIMIT (256u << 20)

static void copy(char *dst, size_t n, const char *src)
{
	snprintf(dst, n, "%s", src ? src : "");
}

void bench_results_init(struct bench_results *r, const char *version, const char *host_kernel,
			bool emulated)
{
	memset(r, 0, sizeof(*r));
	copy(r->version, sizeof(r->version), version);
	copy(r->host_kernel, sizeof(r->host_kernel), host_kernel);
	r->emulated = emulated;
}

void bench_results_free(struct bench_results *r)
{
	free(r->rows);
	r->rows = NULL;
	r->n = r->cap = 0;
}

int bench_results_add(struct bench_results *r, const struct bench_row *row)
{
	struct bench_row *d;

	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 64;
		struct bench_row *rows = reallocarray(r->rows, cap, sizeof(*rows));

		if (!rows)
			return -ENOMEM;
		r->rows = rows;
		r->cap = cap;
	}
	d = &r->rows[r->n++];
	*d = *row;
	/* every string terminated, whatever the caller left in the arrays */
	d->system[sizeof(d->system) - 1] = d->suite[sizeof(d->suite) - 1] = '\0';
	d->label[sizeof(d->label) - 1] = d->metric[sizeof(d->metric) - 1] = '\0';
	d->unit[sizeof(d->unit) - 1] = d->command[sizeof(d->command) - 1] = '\0';
	return 0;
}

/* One CSV field, quoted when it holds a comma, quote or line break. */
static void csv_field(FILE *f, const char *s, bool last)
{
	if (strpbrk(s, ",\"\r\n")) {
		fputc('"', f);
		for (; *s; s++) {
			if (*s == '"')
				fputc('"', f);
			fputc(*s, f);
		}
		fputc('"', f);
	} else {
		fputs(s, f);
	}
	fputc(last ? '\n' : ',', f);
}

int bench_results_write_csv(const struct bench_results *r, FILE *f)
{
	fputs("system,suite,point,repeat,label,metric,unit,value,command,kvmlab_version,"
	      "host_kernel,emulated_host\n",
	      f);
	for (size_t i = 0; i < r->n; i++) {
		const struct bench_row *w = &r->rows[i];
		char num[64];

		csv_field(f, w->system, false);
		csv_field(f, w->suite, false);
		fprintf(f, "%u,%u,", w->point, w->repeat);
		csv_field(f, w->label, false);
		csv_field(f, w->metric, false);
		csv_field(f, w->unit, false);
		snprintf(num, sizeof(num), "%.6g", w->value);
		csv_field(f, num, false);
		csv_field(f, w->command, false);
		csv_field(f, r->version, false);
		csv_field(f, r->host_kernel, false);
		csv_field(f, r->emulated ? "yes" : "no", true);
	}
	return ferror(f) ? -EIO : 0;
}

int bench_results_write_json(const struct bench_results *r, FILE *f)
{
	struct json_writer w;
	int ret = 0;

	jw_init(&w, JSON_LIMIT);
	jw_begin_object(&w);
	jw_kv_string(&w, "kvmlab_version", r->version);
	jw_kv_string(&w, "host_kernel", r->host_kernel);
	jw_key(&w, "emulated_host");
	jw_bool(&w, r->emulated);
	jw_key(&w, "rows");
	jw_begin_array(&w);
	for (size_t i = 0; i < r->n; i++) {
		const struct bench_row *row = &r->rows[i];

		jw_begin_object(&w);
		jw_kv_string(&w, "system", row->system);
		jw_kv_string(&w, "suite", row->suite);
		jw_kv_uint(&w, "point", row->point);
		jw_kv_uint(&w, "repeat", row->repeat);
		jw_kv_string(&w, "label", row->label);
		jw_kv_string(&w, "metric", row->metric);
		jw_kv_string(&w, "unit", row->unit);
		jw_kv_double(&w, "value", row->value); /* NaN: null */
		jw_kv_string(&w, "command", row->command);
		jw_end_object(&w);
	}
	jw_end_array(&w);
	jw_end_object(&w);
	{
		const char *text;
		size_t len;

		ret = jw_finish(&w, &text, &len);
		if (!ret && (fwrite(text, 1, len, f) != len || fputc('\n', f) < 0 || ferror(f)))
			ret = -EIO;
	}
	jw_free(&w);
	return ret;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

size_t bench_results_summary(const struct bench_results *r, const char *system, unsigned int point,
			     const char *metric, double *min, double *median, double *max)
{
	double *v;
	size_t n = 0;

	for (size_t i = 0; i < r->n; i++)
		n += r->rows[i].point == point && !strcmp(r->rows[i].system, system) &&
		     !strcmp(r->rows[i].metric, metric);
	if (!n)
		return 0;
	v = malloc(n * sizeof(*v));
	if (!v)
		return 0;
	n = 0;
	for (size_t i = 0; i < r->n; i++)
		if (r->rows[i].point == point && !strcmp(r->rows[i].system, system) &&
		    !strcmp(r->rows[i].metric, metric))
			v[n++] = r->rows[i].value;
	qsort(v, n, sizeof(*v), cmp_double);
	*min = v[0];
	*max = v[n - 1];
	*median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	free(v);
	return n;
}

size_t bench_results_metrics(const struct bench_results *r,
			     void (*fn)(void *opaque, const char *metric, const char *unit),
			     void *opaque)
{
	size_t count = 0;

	for (size_t i = 0; i < r->n; i++) {
		bool seen = false;

		for (size_t j = 0; j < i && !seen; j++)
			seen = !strcmp(r->rows[j].metric, r->rows[i].metric);
		if (seen)
			continue;
		count++;
		if (fn)
			fn(opaque, r->rows[i].metric, r->rows[i].unit);
	}
	return count;
}
