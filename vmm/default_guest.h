/* The default guest: the host's newest Debian kernel with kvmlab's own
 * initramfs (build/guests/initramfs.cpio.gz). */
#ifndef KVMLAB_VMM_DEFAULT_GUEST_H
#define KVMLAB_VMM_DEFAULT_GUEST_H

#include <stddef.h>

/* Kernel command line used when --cmdline is not given. */
#define DEFAULT_GUEST_CMDLINE "console=ttyS0 quiet panic=-1 io_delay=none pci=noearly"

/* Of names (file names like "vmlinuz-6.1.0-26-amd64"), the index of the
 * newest version by version order, considering only names starting with
 * "vmlinuz-" for which accept(version, ctx) returns nonzero (accept may be
 * NULL).  Returns -1 if none qualifies.  Pure, for unit tests. */
int default_guest_pick(const char *const *names, int n, int (*accept)(const char *ver, void *ctx),
		       void *ctx);

/* Find the newest /boot/vmlinuz-<ver> that has /lib/modules/<ver>, and the
 * initramfs next to the kvmlab binary (<dir of exe>/guests/initramfs.cpio.gz).
 * Returns 0, or a negative errno with a one-line reason in err. */
int default_guest_find(char *kernel, size_t klen, char *initrd, size_t ilen, char *err,
		       size_t errlen);

#endif
