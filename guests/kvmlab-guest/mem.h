/* kvmlab-guest mem: touches guest memory and times it (docs/guest.md,
 * "kvmlab-guest mem").
 *
 * Maps SIZE of anonymous memory and writes every byte of it twice: the
 * first pass takes the guest's own page faults and, below them, the host's
 * (EPT/NPT violations, host page faults unless the VMM preallocated), the
 * second pass runs over memory that is already there (TLB and page-walk
 * costs, which hugepages change).  One JSON line with both times. */
#ifndef KVMLAB_GUEST_MEM_H
#define KVMLAB_GUEST_MEM_H

#include <stddef.h>
#include <stdint.h>

/* The subcommand: argv[0] is "mem", then SIZE (a byte count as blk.h's
 * blk_parse_size reads it).  Returns the exit status: 0 success, 1 the
 * memory could not be had, 2 bad usage (a message on stderr). */
int mem_main(int argc, char **argv);

/* Write one byte of every `stride` bytes of p[0..len) (stride > 0) with a
 * value that changes with pass; returns a checksum of what it read back so
 * the compiler cannot drop the stores. */
uint64_t mem_touch(volatile uint8_t *p, size_t len, size_t stride, unsigned int pass);

#endif
