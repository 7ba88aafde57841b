/* kvmlab.cmd=<HEX>: encoding and decoding of the guest's command. */
#include "vmm/guest_cmd.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

static const char hexdigits[] = "0123456789abcdef";

/* An output cursor: pos counts every byte that would be written, so overflow
 * is detected once, at the end. */
struct hexout {
	char *buf;
	size_t len; /* capacity excluding the NUL */
	size_t pos; /* hex digits produced so far */
};

static void put_byte(struct hexout *o, unsigned char c)
{
	if (o->pos + 2 <= o->len) {
		o->buf[o->pos] = hexdigits[c >> 4];
		o->buf[o->pos + 1] = hexdigits[c & 0xf];
	}
	o->pos += 2;
}

static void put_str(struct hexout *o, const char *s)
{
	while (*s)
		put_byte(o, (unsigned char)*s++);
}

static int finish(struct hexout *o, char *out, size_t outlen)
{
	if (o->pos > o->len || o->pos > INT_MAX) {
		if (outlen)
			out[0] = '\0';
		return -ENOSPC;
	}
	out[o->pos] = '\0';
	return (int)o->pos;
}

int guest_cmd_encode(const char *const *argv, int argc, char *out, size_t outlen)
{
	struct hexout o = {out, outlen ? outlen - 1 : 0, 0};

	if (outlen && out)
		out[0] = '\0';
	if (!argv || argc < 1 || !out)
		return -EINVAL;
	for (int i = 0; i < argc; i++)
		if (!argv[i])
			return -EINVAL;
	if (!outlen)
		return -ENOSPC;
	for (int i = 0; i < argc; i++) {
		if (i)
			put_byte(&o, ' ');
		put_byte(&o, '\'');
		for (const char *p = argv[i]; *p; p++) {
			if (*p == '\'')
				put_str(&o, "'\\''");
			else
				put_byte(&o, (unsigned char)*p);
		}
		put_byte(&o, '\'');
	}
	return finish(&o, out, outlen);
}

size_t guest_cmd_encoded_len(const char *const *argv, int argc)
{
	size_t n = 0;

	if (!argv || argc < 1)
		return 0;
	for (int i = 0; i < argc; i++) {
		if (!argv[i])
			return 0;
		n += 2 + (i > 0); /* the quotes and the separating space */
		for (const char *p = argv[i]; *p; p++)
			n += *p == '\'' ? 4 : 1;
	}
	return 2 * n;
}

int guest_cmd_encode_raw(const char *cmd, char *out, size_t outlen)
{
	struct hexout o = {out, outlen ? outlen - 1 : 0, 0};

	if (outlen && out)
		out[0] = '\0';
	if (!cmd || !*cmd || !out)
		return -EINVAL;
	if (!outlen)
		return -ENOSPC;
	put_str(&o, cmd);
	return finish(&o, out, outlen);
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int guest_cmd_decode(const char *hex, char *out, size_t outlen)
{
	size_t n;

	if (outlen && out)
		out[0] = '\0';
	if (!hex || !out)
		return -EINVAL;
	n = strlen(hex);
	if (n % 2)
		return -EINVAL;
	for (size_t i = 0; i < n; i += 2) {
		int hi = nibble(hex[i]), lo = nibble(hex[i + 1]);
		if (hi < 0 || lo < 0 || (hi | lo) == 0)
			return -EINVAL;
	}
	if (n / 2 >= outlen || n / 2 > INT_MAX)
		return -ENOSPC;
	for (size_t i = 0; i < n; i += 2)
		out[i / 2] = (char)(nibble(hex[i]) << 4 | nibble(hex[i + 1]));
	out[n / 2] = '\0';
	return (int)(n / 2);
}
