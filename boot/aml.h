/* A tiny AML (ACPI Machine Language) byte builder for firmware tables the
 * VMM writes itself: names, integers, strings, packages, buffers, scopes,
 * devices and resource-template descriptors, encoded as ACPI 6.5 chapter 20
 * (AML grammar) and section 6.4 (resource data types) specify, byte for
 * byte what iasl emits for the same ASL.
 *
 * Output goes to a caller buffer.  Nothing is ever written past its
 * capacity: the first error (no room, a bad argument) is remembered in the
 * builder, every later call does nothing, and aml_result() reports it, so a
 * caller can emit a whole table and check once at the end.
 *
 * Objects with a PkgLength (Scope, Device, Package, Buffer) are opened with
 * a *_begin call, which returns a mark, filled with their contents, and
 * closed with aml_end() (aml_buffer_end() / aml_restemplate_end() for
 * buffers), which inserts the PkgLength in its 1-4 byte form once the body
 * size is known.  Blocks nest; close them innermost first. */
#ifndef KVMLAB_BOOT_AML_H
#define KVMLAB_BOOT_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Largest PkgLength value (ACPI 6.5 sec. 20.2.4: 28 bits). */
#define AML_PKGLEN_MAX 0x0FFFFFFFU

/* Memory range caching (_MEM: bits 2:1 of the memory resource type-specific
 * flags, ACPI 6.5 sec. 6.4.3.5.5). */
enum aml_cache {
	AML_NON_CACHEABLE = 0,
	AML_CACHEABLE = 1,
	AML_WRITE_COMBINING = 2,
	AML_PREFETCHABLE = 3,
};

/* Extended interrupt descriptor flags (ACPI 6.5 sec. 6.4.3.6, byte 3).
 * Zero means: produced by the device, level-triggered, active high,
 * exclusive, not wake capable. */
#define AML_IRQ_CONSUMER   (1u << 0)
#define AML_IRQ_EDGE	   (1u << 1)
#define AML_IRQ_ACTIVE_LOW (1u << 2)
#define AML_IRQ_SHARED	   (1u << 3)
#define AML_IRQ_WAKE	   (1u << 4)

struct aml {
	uint8_t *buf; /* output, cap bytes */
	size_t cap;
	size_t len; /* bytes emitted so far */
	int err;    /* 0, or the first error (negative errno) */
};

/* Start an empty builder writing into buf[0..cap). */
void aml_init(struct aml *a, uint8_t *buf, size_t cap);

/* The bytes emitted, or the first error: -ENOSPC when something did not fit
 * in the buffer, -EINVAL for a bad argument or a misused mark. */
int aml_result(const struct aml *a);

/* Encode the PkgLength value total (the byte count of the PkgLength itself
 * plus what it covers) into out: 1 byte up to 63, 2 up to 4095, 3 up to
 * 0xFFFFF, 4 up to AML_PKGLEN_MAX.  Returns the bytes used, 0 if total is
 * too large.  Helper for the block calls below; exposed for tests. */
size_t aml_pkglen_encode(uint8_t out[4], uint32_t total);

/* Raw bytes, for encodings the helpers below do not cover. */
void aml_bytes(struct aml *a, const void *p, size_t n);

/* A NameString: an optional root prefix '\' or parent prefixes '^', then
 * NameSegs separated by '.' (1-4 characters from A-Z, 0-9 and '_', not
 * starting with a digit; shorter ones are padded with '_'), e.g. "_HID",
 * "\_SB.PCI0".  One segment is emitted bare, two after DualNamePrefix,
 * more after MultiNamePrefix; a prefix alone is followed by NullName.
 * -EINVAL for anything else. */
void aml_namestring(struct aml *a, const char *path);

/* An integer in its shortest form: ZeroOp, OneOp, or a Byte, Word, DWord or
 * QWord prefix with the value little-endian. */
void aml_int(struct aml *a, uint64_t v);

/* A String: StringPrefix, the ASCII characters (1-0x7F each), NUL. */
void aml_string(struct aml *a, const char *s);

/* The 32-bit compressed form of an EISA id such as "PNP0A03": three
 * letters A-Z (5 bits each, 'A' = 1) and four upper-case hex digits,
 * stored so that its little-endian bytes read 0x41 0xD0 0x0A 0x03 for
 * PNP0A03 (value 0x030AD041).  Returns 0, or -EINVAL for a malformed id. */
int aml_eisaid_value(const char *id, uint32_t *out);

/* EisaId (id) as iasl emits it: always DWordPrefix + the 4 bytes above. */
void aml_eisaid(struct aml *a, const char *id);

/* Name (name, ...): NameOp and the name; the caller emits the object next. */
void aml_name(struct aml *a, const char *name);

/* Name (name, v) for an integer v. */
void aml_name_int(struct aml *a, const char *name, uint64_t v);

/* Scope (path) { ... }: returns the mark to pass to aml_end(). */
size_t aml_scope_begin(struct aml *a, const char *path);

/* Device (path) { ... }: returns the mark to pass to aml_end(). */
size_t aml_device_begin(struct aml *a, const char *path);

/* Package (count) { ... } with count elements to follow (the caller emits
 * exactly that many): returns the mark to pass to aml_end(). */
size_t aml_package_begin(struct aml *a, uint8_t count);

/* Close the Scope, Device or Package opened at mark: insert its PkgLength.
 * -EINVAL if mark lies past the output (not a mark of this builder). */
void aml_end(struct aml *a, size_t mark);

/* Buffer () { bytes }: returns the mark to pass to aml_buffer_end(), which
 * inserts the BufferSize (the bytes emitted since, shortest integer form)
 * and the PkgLength. */
size_t aml_buffer_begin(struct aml *a);
void aml_buffer_end(struct aml *a, size_t mark);

/* ResourceTemplate () { descriptors }: a Buffer whose bytes are resource
 * descriptors; aml_restemplate_end() appends the End Tag (0x79, checksum 0:
 * "treat as valid", ACPI 6.5 sec. 6.4.2.9) and closes the Buffer. */
size_t aml_restemplate_begin(struct aml *a);
void aml_restemplate_end(struct aml *a, size_t mark);

/* Resource descriptors (ACPI 6.5 sec. 6.4), emitted inside a template.
 * Address space descriptors describe a window [min, max] the device
 * produces for its children (a bridge's windows): ResourceProducer,
 * MinFixed, MaxFixed, PosDecode, granularity 0, translation 0, length
 * max - min + 1; -EINVAL if max < min or the length does not fit. */

/* IO (Decode16 or Decode10, min, max, align, len): the 8-byte small I/O
 * port descriptor (sec. 6.4.2.5). */
void aml_res_io(struct aml *a, bool decode16, uint16_t min, uint16_t max, uint8_t align,
		uint8_t len);

/* IRQNoFlags () {irq}: the 3-byte small IRQ descriptor (sec. 6.4.2.1) for
 * an ISA IRQ 0-15 (edge, active high, exclusive). */
void aml_res_irq_noflags(struct aml *a, unsigned irq);

/* Interrupt (flags) {gsi}: the extended interrupt descriptor (sec.
 * 6.4.3.6) with one interrupt number; flags are AML_IRQ_*. */
void aml_res_interrupt(struct aml *a, unsigned flags, uint32_t gsi);

/* WordBusNumber (...): bus numbers [min, max] (sec. 6.4.3.5.3). */
void aml_res_word_bus(struct aml *a, uint16_t min, uint16_t max);

/* WordIO (..., EntireRange, ...): I/O ports [min, max] (sec. 6.4.3.5.3). */
void aml_res_word_io(struct aml *a, uint16_t min, uint16_t max);

/* DWordMemory (..., cache, ReadWrite or ReadOnly, ...): memory [min, max]
 * (sec. 6.4.3.5.2). */
void aml_res_dword_memory(struct aml *a, enum aml_cache cache, bool rw, uint32_t min, uint32_t max);

/* QWordMemory (..., cache, ReadWrite or ReadOnly, ...): memory [min, max]
 * (sec. 6.4.3.5.1). */
void aml_res_qword_memory(struct aml *a, enum aml_cache cache, bool rw, uint64_t min, uint64_t max);

#endif
