/* Opening a --disk image: flags per cache mode, size, the OFD lock that
 * keeps a second writer out, and the O_DIRECT alignment. */
#ifndef KVMLAB_VMM_DISK_H
#define KVMLAB_VMM_DISK_H

#include <stddef.h>

#include "virtio/blk.h"
#include "vmm/disk_opts.h"

/* Open o->path into *d (d->fd, size, block size, dio alignment, readonly,
 * discard, cache, serial).  Read-write images take an exclusive OFD lock,
 * readonly=on a shared one; a conflicting lock is refused.  Returns 0, or
 * a negative errno with a one-line reason naming the option and file in
 * err (nothing left open). */
int disk_open(const struct disk_opts *o, struct blk_disk *d, char *err, size_t errlen);

/* Close the image (drops the lock).  Safe with d->fd < 0. */
void disk_close(struct blk_disk *d);

#endif
