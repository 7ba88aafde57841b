/* `kvmlab bench`'s plots (see bench.h): one per metric, and for suites
 * that watch their runs one of a sampled figure over time.  gnuplot draws
 * them from the .dat and .gp files written to DIR/raw. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/bench.h"
#include "vmm/bench_suite.h"

static const char *const systems[] = {"kvmlab", "qemu"};

/* gnuplot gp; the output beside it.  true if it drew. */
static bool gnuplot(const char *dir, const char *name)
{
	char gp[PATH_MAX], log[PATH_MAX];
	struct bench_argv a = {.n = 0};
	struct bench_run r;

	snprintf(gp, sizeof(gp), "%s/raw/plot-%s.gp", dir, name);
	snprintf(log, sizeof(log), "%s/raw/plot-%s.gnuplot-out", dir, name);
	bench_argv_add(&a, "gnuplot");
	bench_argv_add(&a, gp);
	return bench_run_child(&a, log, NULL, &r) == 0 && r.status == 0;
}

struct plot_ctx {
	const struct bench_results *res;
	const struct bench_matrix *m;
	const char *dir;
	unsigned int repeat;
	int made, failed;
};

static void plot_metric(void *opaque, const char *metric, const char *unit)
{
	struct plot_ctx *pc = opaque;
	uint64_t npts = bench_matrix_points(pc->m);
	char dat[PATH_MAX], gp[PATH_MAX], svg[PATH_MAX], label[256];
	unsigned int x = 0;
	FILE *f;

	snprintf(dat, sizeof(dat), "%s/raw/plot-%s.dat", pc->dir, metric);
	snprintf(gp, sizeof(gp), "%s/raw/plot-%s.gp", pc->dir, metric);
	snprintf(svg, sizeof(svg), "%s/%s.svg", pc->dir, metric);
	f = fopen(dat, "we");
	if (!f) {
		pc->failed++;
		return;
	}
	/* x, "system label", min, median, max */
	for (uint64_t i = 0; i < npts; i++) {
		struct bench_point p;

		bench_matrix_point(pc->m, i, &p);
		bench_point_label(pc->m, &p, label, sizeof(label));
		for (size_t s = 0; s < sizeof(systems) / sizeof(systems[0]); s++) {
			double lo, med, hi;

			if (!bench_results_summary(pc->res, systems[s], (unsigned int)i, metric,
						   &lo, &med, &hi))
				continue;
			fprintf(f, "%u \"%s %s\" %.6g %.6g %.6g\n", x++, systems[s],
				label[0] ? label : "(defaults)", lo, med, hi);
		}
	}
	fclose(f);
	f = fopen(gp, "we");
	if (!f) {
		pc->failed++;
		return;
	}
	fprintf(f,
		"set terminal svg size 1000,560 dynamic\n"
		"set output '%s'\n"
		"set title \"%s (%s): median of %u repeats, whiskers min-max\" noenhanced\n"
		"set ylabel '%s' noenhanced\n"
		"set style fill solid 0.4\n"
		"set boxwidth 0.7\n"
		"set xtics rotate by -25 noenhanced\n"
		"set yrange [0:*]\n"
		"set key off\n"
		"set bmargin 8\n"
		"plot '%s' using 1:4:xtic(2) with boxes, '' using 1:4:3:5 with yerrorbars pt 0\n",
		svg, metric, unit, pc->repeat, unit, dat);
	fclose(f);
	if (gnuplot(pc->dir, metric))
		pc->made++;
	else
		pc->failed++;
}

int bench_plot_metrics(const struct bench_results *res, const struct bench_matrix *m,
		       const char *dir, unsigned int repeat, int *failed)
{
	struct plot_ctx pc = {.res = res, .m = m, .dir = dir, .repeat = repeat};

	bench_results_metrics(res, plot_metric, &pc);
	*failed += pc.failed;
	return pc.made;
}

struct series {
	const char *key;
	FILE *f;
	unsigned int lines;
};

static int sample_line(const struct json_value *root, void *opaque)
{
	struct series *s = opaque;
	double t, v;

	if (!bench_json_num(root, "t", &t) || !bench_json_num(root, s->key, &v))
		return 0;
	fprintf(s->f, "%.3f %.6g\n", t, v);
	s->lines++;
	return 1;
}

int bench_plot_timeline(const struct bench_suite *s, const struct bench_matrix *m, const char *dir,
			bool peers, int *failed)
{
	uint64_t npts = bench_matrix_points(m);
	char name[96], gp[PATH_MAX];
	unsigned int drawn = 0;
	FILE *g;

	snprintf(name, sizeof(name), "timeline-%s", s->timeline);
	snprintf(gp, sizeof(gp), "%s/raw/plot-%s.gp", dir, name);
	g = fopen(gp, "we");
	if (!g) {
		(*failed)++;
		return 0;
	}
	fprintf(g,
		"set terminal svg size 1000,560 dynamic\n"
		"set output '%s/%s.svg'\n"
		"set title \"%s (%s) over time, first repeat of each point\" noenhanced\n"
		"set xlabel 'seconds since the guests started'\n"
		"set ylabel '%s' noenhanced\n"
		"set key outside below noenhanced\n"
		"set yrange [0:*]\n"
		"plot",
		dir, name, s->timeline, s->timeline_unit, s->timeline_unit);
	for (uint64_t i = 0; i < npts; i++) {
		struct bench_point p;
		char label[256];

		bench_matrix_point(m, i, &p);
		bench_point_label(m, &p, label, sizeof(label));
		for (int sys = 0; sys < (peers ? 2 : 1); sys++) {
			char in[PATH_MAX], dat[PATH_MAX];
			struct series se = {.key = s->timeline};
			char *text;
			int figs = 0;

			snprintf(in, sizeof(in), "%s/raw/%s-p%llu-r1.samples", dir, systems[sys],
				 (unsigned long long)i);
			snprintf(dat, sizeof(dat), "%s/raw/%s-%s-p%llu.dat", dir, name,
				 systems[sys], (unsigned long long)i);
			text = bench_slurp(in);
			se.f = text && *text ? fopen(dat, "we") : NULL;
			if (se.f) {
				bench_each_json_line(text, "{\"t\":", sample_line, &se, &figs);
				fclose(se.f);
			}
			free(text);
			if (!se.lines)
				continue;
			fprintf(g, "%s '%s' using 1:2 with linespoints title \"%s %s\"",
				drawn ? "," : "", dat, systems[sys],
				label[0] ? label : "(defaults)");
			drawn++;
		}
	}
	fputc('\n', g);
	fclose(g);
	if (!drawn)
		return 0;
	if (gnuplot(dir, name))
		return 1;
	(*failed)++;
	return 0;
}
