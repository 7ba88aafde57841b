/* Locating the default guest's kernel and initramfs. */
#include "vmm/default_guest.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define PREFIX "vmlinuz-"

int default_guest_pick(const char *const *names, int n, int (*accept)(const char *ver, void *ctx),
		       void *ctx)
{
	int best = -1;
	size_t plen = strlen(PREFIX);

	for (int i = 0; i < n; i++) {
		const char *ver;

		if (strncmp(names[i], PREFIX, plen) || !names[i][plen])
			continue;
		ver = names[i] + plen;
		if (accept && !accept(ver, ctx))
			continue;
		if (best < 0 || strverscmp(ver, names[best] + plen) > 0)
			best = i;
	}
	return best;
}

static int has_modules(const char *ver, void *ctx)
{
	char path[512];
	struct stat st;

	(void)ctx;
	snprintf(path, sizeof(path), "/lib/modules/%s", ver);
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int find_kernel(char *kernel, size_t klen, char *err, size_t errlen)
{
	const char *names[256];
	struct dirent *de;
	int n = 0, best, r = 0;
	DIR *d = opendir("/boot");

	if (!d) {
		snprintf(err, errlen, "default guest: /boot: %s (give --kernel)", strerror(errno));
		return -ENOENT;
	}
	while ((de = readdir(d)) && n < 256)
		if (!strncmp(de->d_name, PREFIX, strlen(PREFIX)))
			names[n++] = strdup(de->d_name);
	closedir(d);
	for (int i = 0; i < n; i++)
		if (!names[i])
			r = -ENOMEM;
	best = r ? -1 : default_guest_pick(names, n, has_modules, NULL);
	if (best < 0) {
		snprintf(err, errlen,
			 "default guest: no /boot/vmlinuz-* with modules in /lib/modules "
			 "(install linux-image-amd64, or give --kernel)");
		r = r ? r : -ENOENT;
	} else {
		snprintf(kernel, klen, "/boot/%s", names[best]);
	}
	for (int i = 0; i < n; i++)
		free((void *)names[i]);
	return r;
}

static int find_initrd(char *initrd, size_t ilen, char *err, size_t errlen)
{
	char exe[512];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	if (n <= 0) {
		snprintf(err, errlen, "default guest: cannot locate the kvmlab binary");
		return -ENOENT;
	}
	exe[n] = '\0';
	snprintf(initrd, ilen, "%s/guests/initramfs.cpio.gz", dirname(exe));
	if (access(initrd, R_OK)) {
		snprintf(err, errlen, "default guest: %s: %s (build it with ninja -C build)", initrd,
			 strerror(errno));
		return -ENOENT;
	}
	return 0;
}

int default_guest_find(char *kernel, size_t klen, char *initrd, size_t ilen, char *err,
		       size_t errlen)
{
	int r = find_kernel(kernel, klen, err, errlen);
	return r ? r : find_initrd(initrd, ilen, err, errlen);
}
