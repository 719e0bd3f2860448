/* cli.c: what the programs' main()s share: program name, SIGPIPE, messages, exit codes (cli.h). */
#include "cli.h"
#include "base/err.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef VERSION
#define VERSION "unknown"
#endif

static const char *prog = "ernie";
static int reported;    /* an error message went out: the exit status is set */

/* What GNU's close_stdout does: output that --help or --version could not
 * write is an error too. */
static void close_stdout(void)
{
	int bad = fflush(stdout) != 0 || ferror(stdout), e = errno;
	/* a closed stdout that nothing was written to is no error */
	if (fclose(stdout) != 0 && errno != EBADF && !bad) {
		bad = 1;
		e = errno;
	}
	if (bad && !reported) {
		fprintf(stderr, "%s: <stdout>: write error: %s\n", prog, strerror(e));
		_exit(ERR_IO);
	}
}

void cli_init(const char *argv0)
{
	if (argv0 && *argv0) {
		const char *slash = strrchr(argv0, '/');
		prog = slash ? slash + 1 : argv0;
	}
	signal(SIGPIPE, SIG_DFL);
	atexit(close_stdout);
}

const char *cli_prog(void)
{
	return prog;
}

int cli_fail(int code)
{
	reported = 1;
	fprintf(stderr, "%s: %s\n", prog, err_msg());
	return code;
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;
	reported = 1;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see %s --help)\n", prog);
	return ERR_USAGE;
}

const char *cli_model(const char *given)
{
	const char *env = getenv("ERNIE_MODEL");
	return given ? given : env && *env ? env : NULL;
}

int cli_version(void)
{
	printf("%s %s\n", prog, VERSION);
	return CLI_DONE;
}

int cli_binary_out(int binary, int force)
{
	if (binary && !force && isatty(STDOUT_FILENO))
		return err(ERR_USAGE, "<stdout> is a terminal: refusing to write binary frames (use -f to force)");
	return 0;
}

int cli_flush(FILE *f, const char *name)
{
	if (fflush(f) != 0 || ferror(f))
		return err_errno(ERR_IO, "%s: write error", name);
	return 0;
}
