/* Formatted error reasons for the loaders. */
#include "boot/errmsg.h"

#include <stdarg.h>
#include <stdio.h>

int boot_err(int rc, char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return rc;
}
