/* err.c: the library's last-error message and its helpers (err.h). */
#include "base/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char msg[1024];

int err(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	return code;
}

int err_errno(int code, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof msg)
		snprintf(msg + n, sizeof msg - (size_t)n, ": %s", strerror(saved));
	return code;
}

int err_prefix(int code, const char *fmt, ...)
{
	char old[sizeof msg];
	memcpy(old, msg, sizeof msg);
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n + 3 >= sizeof msg)
		return code;
	size_t room = sizeof msg - (size_t)n - 3, len = strnlen(old, room);
	memcpy(msg + n, ": ", 2);
	memcpy(msg + n + 2, old, len);
	msg[n + 2 + len] = 0;
	return code;
}

const char *err_msg(void)
{
	return msg;
}
