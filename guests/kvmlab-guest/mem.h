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

#include <stdbool.h>
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

/* kvmlab-guest hold SIZE SECONDS [free]: map SIZE, fill every page with
 * content unique within the guest but the same in every guest that runs
 * the same command (mem_fill_unique), unmap it again with "free", print
 * one JSON line ({"tool":"kvmlab-guest hold","bytes":..,"fill_ms":..,...})
 * and sleep SECONDS with the memory held (or freed).  The workload of bench's
 * ksm suite (K identical guests: only the copies across guests can merge)
 * and balloon suite (freed memory the balloon can take).  Returns the exit
 * status: 0, 1 without the memory, 2 bad usage. */
int hold_main(int argc, char **argv);

/* Fill words 64-bit words at p so that no two 4 KiB pages are alike and
 * the content depends only on the offset. */
void mem_fill_unique(uint64_t *p, size_t words);

#endif
