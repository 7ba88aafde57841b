/* Disk images: open, lock, size, O_DIRECT alignment. */
#include "vmm/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

static int open_flags(const struct disk_opts *o)
{
	int f = (o->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC;

	if (o->cache == BLK_CACHE_NONE || o->cache == BLK_CACHE_DIRECTSYNC)
		f |= O_DIRECT;
	if (o->cache == BLK_CACHE_WRITETHROUGH || o->cache == BLK_CACHE_DIRECTSYNC)
		f |= O_DSYNC;
	return f;
}

/* Smallest alignment (512 or 4096) an O_DIRECT read accepts here. */
static uint32_t probe_dio_align(int fd)
{
	void *buf;
	uint32_t a = 4096;

	if (posix_memalign(&buf, 4096, 8192))
		return 4096;
	/* a 512-byte read into a buffer that is 512- but not 4096-aligned */
	if (pread(fd, (char *)buf + 512, 512, 0) >= 0)
		a = 512;
	free(buf);
	return a;
}

int disk_open(const struct disk_opts *o, struct blk_disk *d, char *err, size_t errlen)
{
	struct flock lk = {.l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
	struct stat st;
	int e;

	memset(d, 0, sizeof(*d));
	d->fd = open(o->path, open_flags(o));
	if (d->fd < 0) {
		e = -errno;
		if (errno == EINVAL && (open_flags(o) & O_DIRECT))
			snprintf(err, errlen,
				 "--disk path=%s: cache=%s needs O_DIRECT, which this filesystem "
				 "refuses",
				 o->path, blk_cache_name(o->cache));
		else
			snprintf(err, errlen, "--disk path=%s: %s", o->path, strerror(errno));
		return e;
	}
	if (fstat(d->fd, &st) < 0) {
		e = -errno;
		snprintf(err, errlen, "--disk path=%s: %s", o->path, strerror(errno));
		goto fail;
	}
	if (S_ISREG(st.st_mode)) {
		d->size = (uint64_t)st.st_size;
	} else if (S_ISBLK(st.st_mode)) {
		if (ioctl(d->fd, BLKGETSIZE64, &d->size) < 0) {
			e = -errno;
			snprintf(err, errlen, "--disk path=%s: BLKGETSIZE64: %s", o->path,
				 strerror(errno));
			goto fail;
		}
	} else {
		e = -EINVAL;
		snprintf(err, errlen, "--disk path=%s: not a regular file or block device",
			 o->path);
		goto fail;
	}
	if (d->size < BLK_SECTOR) {
		e = -EINVAL;
		snprintf(err, errlen, "--disk path=%s: smaller than one 512-byte sector", o->path);
		goto fail;
	}
	/* OFD locks belong to this open file, so a second kvmlab (or a second
	 * --disk of the same image) sees the conflict. */
	lk.l_type = o->readonly ? F_RDLCK : F_WRLCK;
	if (fcntl(d->fd, F_OFD_SETLK, &lk) < 0) {
		e = errno == EAGAIN || errno == EACCES ? -EBUSY : -errno;
		snprintf(err, errlen, "--disk path=%s: %s", o->path,
			 e == -EBUSY ? (o->readonly ? "image is in use by a writer (locked)"
						    : "image is in use by another process (locked)")
				     : strerror(-e));
		goto fail;
	}
	d->block_size = 512;
	if (open_flags(o) & O_DIRECT) {
		int lbs = 0;

		d->dio_align = probe_dio_align(d->fd);
		if (S_ISBLK(st.st_mode) && ioctl(d->fd, BLKSSZGET, &lbs) == 0 &&
		    (uint32_t)lbs > d->dio_align)
			d->dio_align = (uint32_t)lbs;
		/* the guest then issues requests O_DIRECT can take as they are */
		d->block_size = d->dio_align;
	}
	d->readonly = o->readonly;
	d->discard = o->discard && !o->readonly;
	d->cache = o->cache;
	memcpy(d->serial, o->serial, strnlen(o->serial, BLK_ID_BYTES));
	return 0;
fail:
	close(d->fd);
	d->fd = -1;
	return e;
}

void disk_close(struct blk_disk *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}
