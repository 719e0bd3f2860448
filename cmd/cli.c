/* cli.c: what the programs' main()s share: program name, SIGPIPE, messages, exit codes (cli.h). */
#include "cli.h"
#include "base/err.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#ifndef VERSION
#define VERSION "unknown"
#endif

static const char *prog = "ernie";

void cli_init(const char *argv0)
{
	if (argv0 && *argv0) {
		const char *slash = strrchr(argv0, '/');
		prog = slash ? slash + 1 : argv0;
	}
	signal(SIGPIPE, SIG_DFL);
}

const char *cli_prog(void)
{
	return prog;
}

int cli_fail(int code)
{
	fprintf(stderr, "%s: %s\n", prog, err_msg());
	return code;
}

int cli_usage_error(const char *fmt, ...)
{
	va_list ap;
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

int cli_flush(FILE *f, const char *name)
{
	if (fflush(f) != 0 || ferror(f))
		return err_errno(ERR_IO, "%s: write error", name);
	return 0;
}
