/* A throw-away directory tree standing in for /sys, /proc files or mount
 * tables in unit tests.  Include after <cmocka.h>. */
#ifndef KVMLAB_TESTS_FAKE_ROOT_H
#define KVMLAB_TESTS_FAKE_ROOT_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Create /tmp/kvmlab-test-<tag>-XXXXXX into root.  0, or -1 on failure. */
static inline int fake_root_make(char *root, size_t len, const char *tag)
{
	snprintf(root, len, "/tmp/kvmlab-test-%s-XXXXXX", tag);
	return mkdtemp(root) ? 0 : -1;
}

/* Write text to root/rel, creating directories on the way; the full path
 * goes to path (plen bytes) unless path is NULL.  Fails the test on error. */
static inline void fake_root_put(const char *root, const char *rel, const char *text, char *path,
				 size_t plen)
{
	char full[256], dir[256], *slash;
	FILE *f;

	snprintf(full, sizeof(full), "%s/%s", root, rel);
	snprintf(dir, sizeof(dir), "%s", full);
	for (slash = dir + strlen(root) + 1; (slash = strchr(slash, '/')); slash++) {
		*slash = '\0';
		mkdir(dir, 0755);
		*slash = '/';
	}
	f = fopen(full, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	if (path)
		snprintf(path, plen, "%s", full);
}

/* Remove the whole tree.  0, or -1 on failure. */
static inline int fake_root_remove(const char *root)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	return system(cmd) == 0 ? 0 : -1;
}

#endif
