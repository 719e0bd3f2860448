/* err.h: how the library reports failure.
 *
 * Library functions never print and never exit. A function that can fail
 * returns 0 on success or one of the ERR_* codes below, after recording a
 * one-line message with err(). The programs in cmd/ print err_msg() and exit
 * with the code, so the code doubles as the documented exit status:
 *
 *   0  success
 *   1  ERR_DATA   bad input: a malformed file or stream, an id out of range...
 *   2  ERR_USAGE  bad command line (only cmd/ uses it)
 *   3  ERR_IO     a file could not be opened, read or written; out of memory
 *
 * Messages name the file and the place: "model.safetensors: tensor
 * 'lm_head.weight': data_offsets [0, 9) past the end of the file (8 bytes)".
 * One longer than 1023 bytes loses the middle of its longest word (a path,
 * as a rule) to "...", never the reason at its end.
 */
#ifndef ERNIE_ERR_H
#define ERNIE_ERR_H

enum { ERR_OK = 0, ERR_DATA = 1, ERR_USAGE = 2, ERR_IO = 3 };

/* Record a message (printf-style) for this thread and return code. */
int err(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Same, with ": strerror(errno)" appended (errno captured on entry). */
int err_errno(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prefix the current message with "prefix: " (adds context on the way up). */
int err_prefix(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The last message recorded by this thread. */
const char *err_msg(void);

#endif
