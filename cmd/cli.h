/* cli.h: the little that every program's main() shares. Nothing here exits:
 * main() returns the code, so exit statuses are decided in cmd/ alone. */
#ifndef ERNIE_CLI_H
#define ERNIE_CLI_H

#include <stdio.h>

/* Remember the program name (basename of argv0) and restore SIGPIPE's
 * default action, so `| head` ends the program quietly. At exit, standard
 * output is closed and a write error there (--help >/dev/full) not reported
 * yet is: "prog: <stdout>: write error: ...", exit status 3. */
void cli_init(const char *argv0);
const char *cli_prog(void);

/* Print "prog: <err_msg()>" on stderr and return code (for `return cli_fail(rc);`). */
int cli_fail(int code);

/* Print "prog: <message>" on stderr and return ERR_USAGE, with a hint to --help. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The model path: given (-m), else $ERNIE_MODEL when set and not empty, else NULL. */
const char *cli_model(const char *given);

/* What an option parser returns after --help or --version has been
 * answered: main() then exits 0 without doing anything else. No ERR_* code
 * is negative, so it cannot be mistaken for one. */
#define CLI_DONE (-1)

/* "PROG VERSION" on stdout; returns CLI_DONE. */
int cli_version(void);

/* Binary frames go to a terminal only when forced (the gzip convention):
 * ERR_USAGE with a message when binary, not force and stdout is a terminal. */
int cli_binary_out(int binary, int force);

/* Flush f and report a write error (ERR_IO, "name: write error: ...") or 0. */
int cli_flush(FILE *f, const char *name);

#endif
