/* Error reporting for the loaders: a formatted one-line reason. */
#ifndef KVMLAB_BOOT_ERRMSG_H
#define KVMLAB_BOOT_ERRMSG_H

#include <stddef.h>

/* Format the reason into err (errlen bytes; nothing written if 0) and
 * return rc (a negative errno), so callers can `return boot_err(...)`. */
int boot_err(int rc, char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#endif
