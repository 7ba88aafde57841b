/* AML byte builder.  Encodings from ACPI 6.5: sec. 20.2.2 (NameString),
 * 20.2.3 (data objects: integers, String), 20.2.4 (PkgLength), 20.2.5
 * (Scope, Device, Name, Package, Buffer opcodes), 6.4 (resource
 * descriptors: small items 6.4.2, large items 6.4.3). */
#include "boot/aml.h"

#include "boot/bytes.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

/* Opcodes. */
#define ZERO_OP		   0x00
#define ONE_OP		   0x01
#define NAME_OP		   0x08
#define BYTE_PREFIX	   0x0A
#define WORD_PREFIX	   0x0B
#define DWORD_PREFIX	   0x0C
#define STRING_PREFIX	   0x0D
#define QWORD_PREFIX	   0x0E
#define SCOPE_OP	   0x10
#define BUFFER_OP	   0x11
#define PACKAGE_OP	   0x12
#define DUAL_NAME_PREFIX   0x2E
#define MULTI_NAME_PREFIX  0x2F
#define EXT_OP_PREFIX	   0x5B
#define DEVICE_OP	   0x82 /* after EXT_OP_PREFIX */
#define ROOT_CHAR	   '\\'
#define PARENT_PREFIX_CHAR '^'
#define NULL_NAME	   0x00

/* Resource descriptor tags and lengths (the length field of a large item
 * counts the bytes after it). */
#define RES_IRQ_NOFLAGS	  0x22 /* small item 0x4, length 2 */
#define RES_IO		  0x47 /* small item 0x8, length 7 */
#define RES_END_TAG	  0x79 /* small item 0xF, length 1 */
#define RES_DWORD_ADDR	  0x87 /* large item 0x7 */
#define RES_WORD_ADDR	  0x88 /* large item 0x8 */
#define RES_EXT_IRQ	  0x89 /* large item 0x9 */
#define RES_QWORD_ADDR	  0x8A /* large item 0xA */
#define WORD_ADDR_LEN	  13
#define DWORD_ADDR_LEN	  23
#define QWORD_ADDR_LEN	  43
#define EXT_IRQ_LEN_1	  6 /* flags, count, one 32-bit interrupt number */
#define ADDR_MEMORY	  0 /* resource type */
#define ADDR_IO		  1
#define ADDR_BUS	  2
#define ADDR_MAX_FIXED	  (1u << 3) /* general flags */
#define ADDR_MIN_FIXED	  (1u << 2)
#define ADDR_PRODUCER_POS 0 /* bit 1 _DEC 0: positive decode; bit 0 0: producer (as iasl) */
#define IO_ENTIRE_RANGE	  3 /* type-specific flags, I/O: _RNG */
#define MEM_RW		  (1u << 0)
#define MEM_CACHE_SHIFT	  1
#define AML_NAMESEG_LEN	  4
#define AML_MAX_SEGS	  255

static void fail(struct aml *a, int err)
{
	if (a->err == 0)
		a->err = err;
}

void aml_init(struct aml *a, uint8_t *buf, size_t cap)
{
	a->buf = buf;
	a->cap = buf ? cap : 0;
	a->len = 0;
	a->err = 0;
}

int aml_result(const struct aml *a)
{
	if (a->err)
		return a->err;
	if (a->len > (size_t)INT_MAX)
		return -EOVERFLOW;
	return (int)a->len;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->err || n == 0)
		return;
	if (n > a->cap - a->len) {
		fail(a, -ENOSPC);
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void byte(struct aml *a, uint8_t v)
{
	aml_bytes(a, &v, 1);
}

/* Insert n bytes at offset at, moving what follows up. */
static void insert(struct aml *a, size_t at, const uint8_t *p, size_t n)
{
	if (a->err)
		return;
	if (at > a->len) {
		fail(a, -EINVAL);
		return;
	}
	if (n > a->cap - a->len) {
		fail(a, -ENOSPC);
		return;
	}
	memmove(a->buf + at + n, a->buf + at, a->len - at);
	memcpy(a->buf + at, p, n);
	a->len += n;
}

size_t aml_pkglen_encode(uint8_t out[4], uint32_t total)
{
	size_t n;

	/* bits 7:6 of the lead byte: how many bytes follow; a lone byte
	 * holds 6 bits of length, otherwise the lead byte holds the low 4
	 * and each following byte 8 more */
	if (total <= 0x3F) {
		out[0] = (uint8_t)total;
		return 1;
	}
	if (total <= 0xFFF)
		n = 2;
	else if (total <= 0xFFFFF)
		n = 3;
	else if (total <= AML_PKGLEN_MAX)
		n = 4;
	else
		return 0;
	out[0] = (uint8_t)(((n - 1) << 6) | (total & 0xF));
	for (size_t i = 1; i < n; i++)
		out[i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
	return n;
}

/* Insert at mark the PkgLength covering itself and everything after it. */
static void close_pkg(struct aml *a, size_t mark)
{
	uint8_t enc[4];
	size_t body, n = 0;

	if (a->err)
		return;
	if (mark > a->len) {
		fail(a, -EINVAL);
		return;
	}
	body = a->len - mark;
	/* the encoding's own size counts: try each size in turn */
	for (size_t k = 1; k <= 4 && n == 0; k++) {
		if (body > AML_PKGLEN_MAX - k)
			break;
		n = aml_pkglen_encode(enc, (uint32_t)(body + k));
		if (n != k)
			n = 0;
	}
	if (n == 0) {
		fail(a, -ENOSPC);
		return;
	}
	insert(a, mark, enc, n);
}

static bool seg_char(char c, bool first)
{
	return (c >= 'A' && c <= 'Z') || c == '_' || (!first && c >= '0' && c <= '9');
}

/* Length of the NameSeg at s (up to '.' or the end), 0 if invalid. */
static size_t seg_len(const char *s)
{
	size_t n = 0;

	while (s[n] != '\0' && s[n] != '.') {
		if (n == AML_NAMESEG_LEN || !seg_char(s[n], n == 0))
			return 0;
		n++;
	}
	return n;
}

void aml_namestring(struct aml *a, const char *path)
{
	const char *s = path;
	size_t nsegs = 0;

	if (!path) {
		fail(a, -EINVAL);
		return;
	}
	if (*s == ROOT_CHAR)
		s++;
	else
		while (*s == PARENT_PREFIX_CHAR)
			s++;
	/* validate and count the segments first */
	if (*s != '\0') {
		for (const char *p = s;; p++) {
			size_t n = seg_len(p);

			if (n == 0 || ++nsegs > AML_MAX_SEGS) {
				fail(a, -EINVAL);
				return;
			}
			p += n;
			if (*p == '\0')
				break;
		}
	} else if (s == path) {
		fail(a, -EINVAL); /* empty */
		return;
	}
	aml_bytes(a, path, (size_t)(s - path));
	if (nsegs == 0) {
		byte(a, NULL_NAME);
		return;
	}
	if (nsegs == 2) {
		byte(a, DUAL_NAME_PREFIX);
	} else if (nsegs > 2) {
		byte(a, MULTI_NAME_PREFIX);
		byte(a, (uint8_t)nsegs);
	}
	for (;;) {
		size_t n = seg_len(s);

		aml_bytes(a, s, n);
		aml_bytes(a, "___", AML_NAMESEG_LEN - n);
		s += n;
		if (*s == '\0')
			break;
		s++; /* '.' */
	}
}

void aml_int(struct aml *a, uint64_t v)
{
	uint8_t b[9];
	unsigned n;

	if (v <= 1) {
		b[0] = v ? ONE_OP : ZERO_OP;
		aml_bytes(a, b, 1);
		return;
	}
	if (v <= UINT8_MAX) {
		b[0] = BYTE_PREFIX;
		n = 1;
	} else if (v <= UINT16_MAX) {
		b[0] = WORD_PREFIX;
		n = 2;
	} else if (v <= UINT32_MAX) {
		b[0] = DWORD_PREFIX;
		n = 4;
	} else {
		b[0] = QWORD_PREFIX;
		n = 8;
	}
	for (unsigned i = 0; i < n; i++)
		b[1 + i] = (uint8_t)(v >> (8 * i));
	aml_bytes(a, b, 1 + n); /* whole or not at all */
}

void aml_string(struct aml *a, const char *s)
{
	if (!s) {
		fail(a, -EINVAL);
		return;
	}
	for (const char *p = s; *p; p++) {
		if ((unsigned char)*p > 0x7F) {
			fail(a, -EINVAL);
			return;
		}
	}
	byte(a, STRING_PREFIX);
	aml_bytes(a, s, strlen(s) + 1);
}

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int aml_eisaid_value(const char *id, uint32_t *out)
{
	uint32_t v = 0;

	if (!id || strlen(id) != 7)
		return -EINVAL;
	/* big-endian bit layout: bit 31 reserved 0, three 5-bit letters,
	 * then four hex nibbles; AML stores the bytes in that order */
	for (int i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return -EINVAL;
		v = v << 5 | (uint32_t)(id[i] - 'A' + 1);
	}
	for (int i = 3; i < 7; i++) {
		int d = hex_digit(id[i]);

		if (d < 0)
			return -EINVAL;
		v = v << 4 | (uint32_t)d;
	}
	*out = __builtin_bswap32(v);
	return 0;
}

void aml_eisaid(struct aml *a, const char *id)
{
	uint32_t v;
	uint8_t b[5] = {DWORD_PREFIX};

	if (aml_eisaid_value(id, &v) < 0) {
		fail(a, -EINVAL);
		return;
	}
	put32(b + 1, v);
	aml_bytes(a, b, sizeof(b));
}

void aml_name(struct aml *a, const char *name)
{
	byte(a, NAME_OP);
	aml_namestring(a, name);
}

void aml_name_int(struct aml *a, const char *name, uint64_t v)
{
	aml_name(a, name);
	aml_int(a, v);
}

size_t aml_scope_begin(struct aml *a, const char *path)
{
	size_t mark;

	byte(a, SCOPE_OP);
	mark = a->len;
	aml_namestring(a, path);
	return mark;
}

size_t aml_device_begin(struct aml *a, const char *path)
{
	size_t mark;

	byte(a, EXT_OP_PREFIX);
	byte(a, DEVICE_OP);
	mark = a->len;
	aml_namestring(a, path);
	return mark;
}

size_t aml_package_begin(struct aml *a, uint8_t count)
{
	size_t mark;

	byte(a, PACKAGE_OP);
	mark = a->len;
	byte(a, count); /* NumElements */
	return mark;
}

void aml_end(struct aml *a, size_t mark)
{
	close_pkg(a, mark);
}

size_t aml_buffer_begin(struct aml *a)
{
	byte(a, BUFFER_OP);
	return a->len;
}

void aml_buffer_end(struct aml *a, size_t mark)
{
	uint8_t size[9];
	struct aml s;

	if (a->err)
		return;
	if (mark > a->len) {
		fail(a, -EINVAL);
		return;
	}
	/* BufferSize is a TermArg: the byte count as an integer object */
	aml_init(&s, size, sizeof(size));
	aml_int(&s, a->len - mark);
	insert(a, mark, size, s.len);
	close_pkg(a, mark);
}

size_t aml_restemplate_begin(struct aml *a)
{
	return aml_buffer_begin(a);
}

void aml_restemplate_end(struct aml *a, size_t mark)
{
	const uint8_t end_tag[2] = {RES_END_TAG, 0};

	aml_bytes(a, end_tag, sizeof(end_tag));
	aml_buffer_end(a, mark);
}

void aml_res_io(struct aml *a, bool decode16, uint16_t min, uint16_t max, uint8_t align,
		uint8_t len)
{
	uint8_t d[8] = {RES_IO, decode16 ? 1 : 0};

	put16(d + 2, min);
	put16(d + 4, max);
	d[6] = align;
	d[7] = len;
	aml_bytes(a, d, sizeof(d));
}

void aml_res_irq_noflags(struct aml *a, unsigned irq)
{
	uint8_t d[3] = {RES_IRQ_NOFLAGS};

	if (irq > 15) {
		fail(a, -EINVAL);
		return;
	}
	put16(d + 1, (uint16_t)(1u << irq));
	aml_bytes(a, d, sizeof(d));
}

void aml_res_interrupt(struct aml *a, unsigned flags, uint32_t gsi)
{
	uint8_t d[3 + EXT_IRQ_LEN_1] = {RES_EXT_IRQ};

	if (flags & ~0x1Fu) {
		fail(a, -EINVAL);
		return;
	}
	put16(d + 1, EXT_IRQ_LEN_1);
	d[3] = (uint8_t)flags;
	d[4] = 1; /* interrupt table length */
	put32(d + 5, gsi);
	aml_bytes(a, d, sizeof(d));
}

/* Address space descriptor of width 2, 4 or 8 bytes per field (sec.
 * 6.4.3.5.1-3): tag, length, resource type, general flags, type-specific
 * flags, then granularity, min, max, translation offset, length. */
static void addr_space(struct aml *a, unsigned width, uint8_t type, uint8_t tflags, uint64_t min,
		       uint64_t max)
{
	uint8_t d[3 + QWORD_ADDR_LEN] = {0};
	uint64_t limit = width == 8 ? UINT64_MAX : (1ULL << (8 * width)) - 1;
	uint8_t *f = d + 6;

	/* the length max - min + 1 must fit in a field too */
	if (max < min || max > limit || max - min >= limit) {
		fail(a, -EINVAL);
		return;
	}
	d[0] = width == 2 ? RES_WORD_ADDR : width == 4 ? RES_DWORD_ADDR : RES_QWORD_ADDR;
	put16(d + 1, (uint16_t)(3 + 5 * width)); /* 13, 23, 43 */
	d[3] = type;
	d[4] = ADDR_MIN_FIXED | ADDR_MAX_FIXED | ADDR_PRODUCER_POS;
	d[5] = tflags;
	/* granularity 0 (required when both ends are fixed), min, max,
	 * translation 0, length */
	for (unsigned i = 0; i < width; i++) {
		f[width + i] = (uint8_t)(min >> (8 * i));
		f[2 * width + i] = (uint8_t)(max >> (8 * i));
		f[4 * width + i] = (uint8_t)((max - min + 1) >> (8 * i));
	}
	aml_bytes(a, d, 3 + 3 + 5 * width);
}

void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max)
{
	addr_space(a, 2, ADDR_BUS, 0, min, max);
}

void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max)
{
	addr_space(a, 2, ADDR_IO, IO_ENTIRE_RANGE, min, max);
}

/* Memory type-specific flags: _RW (bit 0), _MEM (bits 2:1); _MTP 0
 * (AddressRangeMemory), _TTP 0 (TypeStatic). */
static void mem_window(struct aml *a, unsigned width, enum aml_cache cache, bool rw, uint64_t min,
		       uint64_t max)
{
	if ((unsigned)cache > AML_PREFETCHABLE) {
		fail(a, -EINVAL);
		return;
	}
	addr_space(a, width, ADDR_MEMORY,
		   (uint8_t)((unsigned)cache << MEM_CACHE_SHIFT | (rw ? MEM_RW : 0)), min, max);
}

void aml_res_dword_memory(struct aml *a, enum aml_cache cache, bool rw, uint32_t min, uint32_t max)
{
	mem_window(a, 4, cache, rw, min, max);
}

void aml_res_qword_memory(struct aml *a, enum aml_cache cache, bool rw, uint64_t min, uint64_t max)
{
	mem_window(a, 8, cache, rw, min, max);
}
