/* Parsing of sizes with binary suffixes. */
#ifndef KVMLAB_VMM_SIZE_H
#define KVMLAB_VMM_SIZE_H

#include <stdint.h>

/* Parse "<digits>[K|M|G|T]" (case-insensitive, optional trailing 'B' or
 * 'iB': "512M", "2GiB", "4096").  No suffix means bytes.  Returns 0 and
 * stores the byte count, or -EINVAL for an empty, negative, fractional or
 * malformed string, -ERANGE if it does not fit in 64 bits. */
int parse_size(const char *s, uint64_t *out);

/* Parse a decimal unsigned integer in [min, max].  Returns 0, -EINVAL if
 * malformed, -ERANGE if outside the bounds. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
