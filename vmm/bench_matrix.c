/* The point matrix of `kvmlab bench` (see bench_matrix.h). */
#include "vmm/bench_matrix.h"

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static const char *const groups[] = {"memory", "cpus", "disk", "net", "rng", "balloon", "guest"};

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

void bench_matrix_init(struct bench_matrix *m)
{
	memset(m, 0, sizeof(*m));
}

/* The group of key ("disk" for "disk.cache"), as a length, or 0 for the
 * bare keys ioeventfd and irqfd; -1 if the key is not one we know. */
static int key_group(const char *key, size_t *glen)
{
	const char *dot = strchr(key, '.');

	if (!dot) {
		*glen = 0;
		return !strcmp(key, "ioeventfd") || !strcmp(key, "irqfd") ? 0 : -1;
	}
	if (!dot[1])
		return -1;
	for (const char *s = dot + 1; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return -1;
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
		if (strlen(groups[i]) == (size_t)(dot - key) &&
		    !strncmp(key, groups[i], dot - key)) {
			*glen = (size_t)(dot - key);
			return 1;
		}
	return -1;
}

int bench_matrix_add(struct bench_matrix *m, const char *spec, char *err, size_t errlen)
{
	const char *eq = strchr(spec, '=');
	struct bench_axis *a;
	size_t klen, glen;
	char *v;

	if (!eq || eq == spec)
		return fail(err, errlen, "--set %s: expected KEY=V1[,V2...]", spec);
	klen = (size_t)(eq - spec);
	if (klen >= BENCH_KEY_MAX)
		return fail(err, errlen, "--set %.*s: key too long", (int)klen, spec);
	if (m->naxes == BENCH_MAX_AXES)
		return fail(err, errlen, "--set %.*s: at most %d keys", (int)klen, spec,
			    BENCH_MAX_AXES);
	a = &m->axis[m->naxes];
	memset(a, 0, sizeof(*a));
	memcpy(a->key, spec, klen);
	if (key_group(a->key, &glen) < 0)
		return fail(err, errlen,
			    "--set %s: unknown key (memory.*, cpus.*, disk.*, net.*, rng.*, "
			    "balloon.*, guest.*, ioeventfd, irqfd)",
			    a->key);
	for (unsigned int i = 0; i < m->naxes; i++)
		if (!strcmp(m->axis[i].key, a->key))
			return fail(err, errlen, "--set %s: given twice", a->key);
	if (strlen(eq + 1) >= sizeof(a->buf))
		return fail(err, errlen, "--set %s: values too long", a->key);
	strcpy(a->buf, eq + 1);
	v = a->buf;
	for (;;) {
		char *comma = strchr(v, ',');

		if (comma)
			*comma = '\0';
		if (!*v || strpbrk(v, "= \t"))
			return fail(err, errlen, "--set %s: empty or malformed value '%s'", a->key,
				    v);
		if (a->n == BENCH_MAX_VALUES)
			return fail(err, errlen, "--set %s: at most %d values", a->key,
				    BENCH_MAX_VALUES);
		a->value[a->n++] = v;
		if (!comma)
			break;
		v = comma + 1;
	}
	if (bench_matrix_points(m) * a->n > BENCH_MAX_POINTS)
		return fail(err, errlen, "--set %s: more than %d points in all", a->key,
			    BENCH_MAX_POINTS);
	m->naxes++;
	return 0;
}

uint64_t bench_matrix_points(const struct bench_matrix *m)
{
	uint64_t n = 1;

	/* bounded by BENCH_MAX_POINTS at each add: no overflow */
	for (unsigned int i = 0; i < m->naxes; i++)
		n *= m->axis[i].n;
	return n;
}

int bench_matrix_point(const struct bench_matrix *m, uint64_t i, struct bench_point *p)
{
	if (i >= bench_matrix_points(m))
		return -ERANGE;
	memset(p, 0, sizeof(*p));
	for (unsigned int a = m->naxes; a-- > 0;) {
		p->idx[a] = (unsigned int)(i % m->axis[a].n);
		i /= m->axis[a].n;
	}
	return 0;
}

const char *bench_point_value(const struct bench_matrix *m, const struct bench_point *p,
			      const char *key)
{
	for (unsigned int a = 0; a < m->naxes; a++)
		if (!strcmp(m->axis[a].key, key))
			return m->axis[a].value[p->idx[a]];
	return NULL;
}

char *bench_point_label(const struct bench_matrix *m, const struct bench_point *p, char *buf,
			size_t n)
{
	size_t used = 0;

	if (!n)
		return buf;
	buf[0] = '\0';
	for (unsigned int a = 0; a < m->naxes && used < n; a++) {
		int w = snprintf(buf + used, n - used, "%s%s=%s", a ? " " : "", m->axis[a].key,
				 m->axis[a].value[p->idx[a]]);

		if (w < 0)
			break;
		used += (size_t)w < n - used ? (size_t)w : n - used - 1;
	}
	return buf;
}

/* Append s to the store; returns its start or NULL when full. */
static char *store_add(char *store, size_t storelen, size_t *used, const char *s, size_t len)
{
	char *start = store + *used;

	if (len + 1 > storelen - *used)
		return NULL;
	memcpy(start, s, len);
	start[len] = '\0';
	*used += len + 1;
	return start;
}

/* Whether m has an axis that sets SUB key[0..klen) of option group o. */
static bool base_key_set(const struct bench_matrix *m, const struct bench_opt *o, const char *key,
			 size_t klen)
{
	for (unsigned int a = 0; a < m->naxes; a++) {
		const char *k = m->axis[a].key;
		size_t glen;

		key_group(k, &glen);
		if (glen && strlen(o->opt) == glen + 2 && !strncmp(o->opt + 2, k, glen) &&
		    strlen(k + glen + 1) == klen && !strncmp(k + glen + 1, key, klen))
			return true;
	}
	return false;
}

int bench_point_options(const struct bench_matrix *m, const struct bench_point *p,
			const struct bench_opt *opts, unsigned int nopts, const char **argv,
			int max, char *store, size_t storelen, char *err, size_t errlen)
{
	size_t used = 0;
	int argc = 0;
	bool any_virtio = false;

	for (unsigned int g = 0; g < nopts; g++)
		any_virtio |= opts[g].virtio != 0;
	/* every key must have somewhere to go */
	for (unsigned int a = 0; a < m->naxes; a++) {
		const char *key = m->axis[a].key;
		size_t glen;
		bool found = false;

		key_group(key, &glen);
		if (!glen) {
			if (!any_virtio)
				return fail(err, errlen,
					    "--set %s: this suite has no virtio device", key);
			continue;
		}
		if (!strncmp(key, "guest.", 6))
			continue;
		for (unsigned int g = 0; g < nopts; g++)
			if (strlen(opts[g].opt) == glen + 2 && !strncmp(opts[g].opt + 2, key, glen))
				found = true;
		if (!found)
			return fail(err, errlen, "--set %s: this suite has no --%.*s", key,
				    (int)glen, key);
	}
	for (unsigned int g = 0; g < nopts; g++) {
		const struct bench_opt *o = &opts[g];
		char val[BENCH_SPEC_MAX];
		size_t vlen = 0;
		const char *s;

		val[0] = '\0';
		/* the base's KEY=V items, but for the keys the matrix sets */
		for (const char *b = o->base; b && *b;) {
			const char *comma = strchr(b, ',');
			size_t ilen = comma ? (size_t)(comma - b) : strlen(b);
			const char *eq = memchr(b, '=', ilen);
			size_t klen = eq ? (size_t)(eq - b) : ilen;
			int w;

			if (!base_key_set(m, o, b, klen)) {
				w = snprintf(val + vlen, sizeof(val) - vlen, "%s%.*s",
					     vlen ? "," : "", (int)ilen, b);
				if (w < 0 || (size_t)w >= sizeof(val) - vlen)
					return -E2BIG;
				vlen += (size_t)w;
			}
			b += ilen + (comma ? 1 : 0);
		}
		for (unsigned int a = 0; a < m->naxes; a++) {
			const char *key = m->axis[a].key;
			const char *sub = NULL;
			size_t glen;
			int w;

			key_group(key, &glen);
			if (!glen && o->virtio)
				sub = key;
			else if (glen && strlen(o->opt) == glen + 2 &&
				 !strncmp(o->opt + 2, key, glen))
				sub = key + glen + 1;
			if (!sub)
				continue;
			w = snprintf(val + vlen, sizeof(val) - vlen, "%s%s=%s", vlen ? "," : "",
				     sub, m->axis[a].value[p->idx[a]]);
			if (w < 0 || (size_t)w >= sizeof(val) - vlen)
				return -E2BIG;
			vlen += (size_t)w;
		}
		if (!vlen && !o->always)
			continue;
		if (argc + 2 > max)
			return -E2BIG;
		s = store_add(store, storelen, &used, o->opt, strlen(o->opt));
		if (!s)
			return -E2BIG;
		argv[argc++] = s;
		if (vlen) {
			s = store_add(store, storelen, &used, val, vlen);
			if (!s)
				return -E2BIG;
			argv[argc++] = s;
		}
	}
	return argc;
}
