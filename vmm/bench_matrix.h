/* The point matrix of `kvmlab bench`: the cartesian product of the values
 * given with --set KEY=V1,V2,..., and each point turned into kvmlab run
 * options.  Keys are kvmlab's own option keys: "OPT.SUB" sets SUB=V in the
 * option --OPT (memory, cpus, disk, net, rng, balloon), so
 * memory.backend=memfd and memory.hugepage-size=2M make one
 * "--memory backend=memfd,hugepage-size=2M"; "ioeventfd" and "irqfd" go
 * into every virtio device option the suite uses; "guest.SUB" is for the
 * suite's in-guest workload and gives no option.  Pure: no allocation
 * beyond the structures themselves, nothing opened. */
#ifndef KVMLAB_VMM_BENCH_MATRIX_H
#define KVMLAB_VMM_BENCH_MATRIX_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_MAX_AXES	 12
#define BENCH_MAX_VALUES 16
#define BENCH_KEY_MAX	 48
#define BENCH_SPEC_MAX	 512
#define BENCH_MAX_POINTS 4096
/* Devices a suite may give ioeventfd=/irqfd= to, and option groups */
#define BENCH_OPT_MAX 8

struct bench_axis {
	char key[BENCH_KEY_MAX];
	unsigned int n;			     /* values, >= 1 */
	const char *value[BENCH_MAX_VALUES]; /* into buf */
	char buf[BENCH_SPEC_MAX];
};

struct bench_matrix {
	unsigned int naxes;
	struct bench_axis axis[BENCH_MAX_AXES];
};

/* One point: the value index on each axis. */
struct bench_point {
	unsigned int idx[BENCH_MAX_AXES];
};

/* Empty matrix (one point, no axis). */
void bench_matrix_init(struct bench_matrix *m);

/* Add the axis of one --set spec "KEY=V1,V2,...".  The key must be
 * OPT.SUB (OPT one of memory, cpus, disk, net, rng, balloon, guest; SUB
 * letters, digits and '-'), "ioeventfd" or "irqfd"; values non-empty,
 * without ',' or '=' or spaces, at most BENCH_MAX_VALUES.  Returns 0, or
 * -EINVAL with a one-line reason in err (naming --set and the key). */
int bench_matrix_add(struct bench_matrix *m, const char *spec, char *err, size_t errlen);

/* Number of points (product of the axis sizes; 1 without axes). */
uint64_t bench_matrix_points(const struct bench_matrix *m);

/* Point i (0 <= i < points) in order, the last axis varying fastest.
 * Returns 0, or -ERANGE if i is out of range. */
int bench_matrix_point(const struct bench_matrix *m, uint64_t i, struct bench_point *p);

/* The value of key at point p, or NULL if the matrix has no such axis. */
const char *bench_point_value(const struct bench_matrix *m, const struct bench_point *p,
			      const char *key);

/* "key=value key=value" for point p (stable: axis order) into buf (size n,
 * always terminated).  Returns buf. */
char *bench_point_label(const struct bench_matrix *m, const struct bench_point *p, char *buf,
			size_t n);

/* A kvmlab run option group for bench_point_options: the option ("--disk")
 * and the suite's own fixed part ("path=/x/img", may be "" or NULL: the
 * option is then given only when the point sets one of its keys, unless
 * always is set). */
struct bench_opt {
	const char *opt;  /* "--memory", "--cpus", "--disk", ... */
	const char *base; /* fixed KEY=V[,KEY=V] or NULL */
	int virtio;	  /* takes ioeventfd= / irqfd= */
	int always;	  /* given even when empty */
};

/* Build the options of point p for the suite's groups opts[0..nopts) into
 * argv (at most max entries, pointers into store, which has storelen
 * bytes): for each group the point touches (or that is always given), its
 * option and "base,SUB=V,..." (or "SUB=V,..." or, for an empty value of an
 * always-given group, nothing after the option is emitted and the option is
 * left out); a KEY=V of base whose KEY the matrix sets is left out of base
 * (the point's value replaces the suite's default).  Keys of option groups the suite does not have
 * are refused. Returns the count of argv entries written, or -EINVAL (a key the suite has no option
 * for; err says which) or -E2BIG (too many or too long). */
int bench_point_options(const struct bench_matrix *m, const struct bench_point *p,
			const struct bench_opt *opts, unsigned int nopts, const char **argv,
			int max, char *store, size_t storelen, char *err, size_t errlen);

#endif
