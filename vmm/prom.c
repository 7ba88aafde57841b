/* Prometheus text exposition format writer. */
#include "vmm/prom.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <string.h>

void prom_init(struct prom_writer *p, size_t limit)
{
	memset(p, 0, sizeof(*p));
	sb_init(&p->out, limit);
	sb_init(&p->families, 0);
}

void prom_free(struct prom_writer *p)
{
	sb_free(&p->out);
	sb_free(&p->families);
	p->current = 0;
	p->open = false;
	p->err = 0;
}

static bool name_char(char c, bool first, bool colon)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_')
		return true;
	if (colon && c == ':')
		return true;
	return !first && c >= '0' && c <= '9';
}

static bool name_valid(const char *name, bool colon)
{
	if (!name || !*name)
		return false;
	for (size_t i = 0; name[i]; i++)
		if (!name_char(name[i], i == 0, colon))
			return false;
	return true;
}

bool prom_metric_name_valid(const char *name)
{
	return name_valid(name, true);
}

bool prom_label_name_valid(const char *name)
{
	return name_valid(name, false) && strncmp(name, "__", 2) != 0;
}

/* Record err (if none yet) and return the sticky error. */
static int check(struct prom_writer *p, int err)
{
	if (!p->err)
		p->err = err ? err : sb_error(&p->out) ? sb_error(&p->out) : sb_error(&p->families);
	return p->err;
}

static bool family_seen(const struct prom_writer *p, const char *name)
{
	const char *s = sb_str(&p->families), *end = s + p->families.len;

	for (; s < end; s += strlen(s) + 1)
		if (!strcmp(s, name))
			return true;
	return false;
}

/* HELP text: backslash and newline escaped. */
static void put_help(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			sb_add(sb, "\\\\", 2);
		else if (*s == '\n')
			sb_add(sb, "\\n", 2);
		else
			sb_addc(sb, *s);
	}
}

int prom_family(struct prom_writer *p, const char *name, enum prom_type type, const char *help)
{
	if (p->err)
		return p->err;
	if (!prom_metric_name_valid(name) || family_seen(p, name) ||
	    (type != PROM_COUNTER && type != PROM_GAUGE))
		return check(p, -EINVAL);
	p->current = p->families.len;
	sb_add(&p->families, name, strlen(name) + 1);
	if (help && *help) {
		sb_addf(&p->out, "# HELP %s ", name);
		put_help(&p->out, help);
		sb_addc(&p->out, '\n');
	}
	sb_addf(&p->out, "# TYPE %s %s\n", name, type == PROM_COUNTER ? "counter" : "gauge");
	p->open = true;
	return check(p, 0);
}

/* Label value: backslash, double quote and newline escaped. */
static void put_label_value(struct strbuf *sb, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			sb_add(sb, "\\\\", 2);
		else if (*s == '"')
			sb_add(sb, "\\\"", 2);
		else if (*s == '\n')
			sb_add(sb, "\\n", 2);
		else
			sb_addc(sb, *s);
	}
}

/* "name{labels} " of a sample; false (error set) if something is wrong. */
static bool sample_head(struct prom_writer *p, const struct prom_label *labels, size_t nlabels)
{
	if (p->err)
		return false;
	if (!p->open || (nlabels && !labels)) {
		check(p, -EINVAL);
		return false;
	}
	for (size_t i = 0; i < nlabels; i++) {
		if (!prom_label_name_valid(labels[i].name) || !labels[i].value) {
			check(p, -EINVAL);
			return false;
		}
		for (size_t j = 0; j < i; j++)
			if (!strcmp(labels[i].name, labels[j].name)) {
				check(p, -EINVAL);
				return false;
			}
	}
	sb_adds(&p->out, sb_str(&p->families) + p->current);
	if (nlabels) {
		sb_addc(&p->out, '{');
		for (size_t i = 0; i < nlabels; i++) {
			if (i)
				sb_addc(&p->out, ',');
			sb_adds(&p->out, labels[i].name);
			sb_add(&p->out, "=\"", 2);
			put_label_value(&p->out, labels[i].value);
			sb_addc(&p->out, '"');
		}
		sb_addc(&p->out, '}');
	}
	sb_addc(&p->out, ' ');
	return true;
}

int prom_sample_u64(struct prom_writer *p, const struct prom_label *labels, size_t nlabels,
		    uint64_t v)
{
	if (sample_head(p, labels, nlabels))
		sb_addf(&p->out, "%" PRIu64 "\n", v);
	return check(p, 0);
}

int prom_sample_i64(struct prom_writer *p, const struct prom_label *labels, size_t nlabels,
		    int64_t v)
{
	if (sample_head(p, labels, nlabels))
		sb_addf(&p->out, "%" PRId64 "\n", v);
	return check(p, 0);
}

int prom_sample_double(struct prom_writer *p, const struct prom_label *labels, size_t nlabels,
		       double v)
{
	if (!sample_head(p, labels, nlabels))
		return check(p, 0);
	if (isnan(v))
		sb_adds(&p->out, "NaN");
	else if (isinf(v))
		sb_adds(&p->out, v > 0 ? "+Inf" : "-Inf");
	else
		sb_add_double(&p->out, v);
	sb_addc(&p->out, '\n');
	return check(p, 0);
}

int prom_metric_u64(struct prom_writer *p, const char *name, enum prom_type type, const char *help,
		    uint64_t v)
{
	if (prom_family(p, name, type, help))
		return p->err;
	return prom_sample_u64(p, NULL, 0, v);
}

int prom_finish(const struct prom_writer *p, const char **text, size_t *len)
{
	int r = p->err ? p->err : sb_error(&p->out) ? sb_error(&p->out) : sb_error(&p->families);

	if (r)
		return r;
	*text = sb_str(&p->out);
	*len = p->out.len;
	return 0;
}
