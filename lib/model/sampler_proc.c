/* sampler_proc.c: an outside sampler process driven over two pipes (sampler_proc.h). */
#include "model/sampler_proc.h"
#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ---- SIGPIPE: an error code while we write to the child ---------------- */

static void block_sigpipe(sigset_t *old)
{
	sigset_t pipe_set;
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_set, old);
}

/* Discard the SIGPIPE our writes raised (if any), then restore the mask. */
static void unblock_sigpipe(const sigset_t *old)
{
	sigset_t pipe_set;
	struct timespec zero = { 0, 0 };
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	if (!sigismember(old, SIGPIPE))
		while (sigtimedwait(&pipe_set, NULL, &zero) == SIGPIPE)
			;
	pthread_sigmask(SIG_SETMASK, old, NULL);
}

/* ---- starting ---------------------------------------------------------- */

static int cloexec_pipe(int fd[2])
{
	if (pipe(fd))
		return -1;
	fcntl(fd[0], F_SETFD, FD_CLOEXEC);
	fcntl(fd[1], F_SETFD, FD_CLOEXEC);
	return 0;
}

/* Spawn path (searched in PATH when search is set) with argv, its stdin and
 * stdout on two new pipes. */
static int spawn(SamplerProc *sp, const char *path, char *const argv[], int search)
{
	int in[2] = { -1, -1 }, out[2] = { -1, -1 }, rc = 0;
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, pipe_set;

	if (cloexec_pipe(in) || cloexec_pipe(out)) {
		rc = err_errno(ERR_IO, "%s: pipe", sp->name);
		goto out;
	}
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], 0);
	posix_spawn_file_actions_adddup2(&fa, out[1], 1);
	/* the child starts with SIGPIPE at its default, whatever we do */
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&pipe_set);
	sigaddset(&pipe_set, SIGPIPE);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &pipe_set);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
	int e = search ? posix_spawnp(&sp->pid, path, &fa, &attr, argv, environ)
	               : posix_spawn(&sp->pid, path, &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (e) {
		errno = e;
		sp->pid = 0;
		rc = err_errno(ERR_IO, "%s: cannot run it", sp->name);
		goto out;
	}
	close(in[0]);
	close(out[1]);
	in[0] = out[1] = -1;
	if (!(sp->to = fdopen(in[1], "w")) || !(sp->from = fdopen(out[0], "r"))) {
		rc = err_errno(ERR_IO, "%s", sp->name);
		goto out;
	}
	in[1] = out[0] = -1;
	if (!(sp->r = stream_reader_new(fileno(sp->from), sp->name, NULL))) {
		rc = err(ERR_IO, "%s: out of memory", sp->name);
		goto out;
	}
	stream_writer_init(&sp->w, fileno(sp->to), sp->name, 1);
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	if (rc)
		sampler_proc_close(sp);
	return rc;
}

static int named(SamplerProc *sp, const char *what)
{
	memset(sp, 0, sizeof *sp);
	if (!(sp->name = malloc(strlen(what) + sizeof "sampler ''")))
		return err(ERR_IO, "sampler: out of memory");
	sprintf(sp->name, "sampler '%s'", what);
	return 0;
}

int sampler_proc_start(SamplerProc *sp, const char *cmd)
{
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };

	if (named(sp, cmd))
		return ERR_IO;
	return spawn(sp, "/bin/sh", argv, 0);
}

int sampler_proc_start_argv(SamplerProc *sp, char *const argv[])
{
	if (named(sp, argv[0]))
		return ERR_IO;
	return spawn(sp, argv[0], argv, 1);
}

/* ---- talking ----------------------------------------------------------- */

/* Close its stdin and wait for it (once). */
static void reap(SamplerProc *sp)
{
	sigset_t old;

	if (sp->to) {
		block_sigpipe(&old);
		fclose(sp->to);         /* may flush into a closed pipe */
		unblock_sigpipe(&old);
		sp->to = NULL;
	}
	if (sp->pid) {
		while (waitpid(sp->pid, &sp->status, 0) < 0 && errno == EINTR)
			;
		sp->pid = 0;
	}
}

/* The child closed its end of a pipe, so it is ending: how it ended, as ERR_IO. */
static int ended(SamplerProc *sp)
{
	reap(sp);
	if (WIFSIGNALED(sp->status))
		return err(ERR_IO, "%s: killed by signal %d", sp->name, WTERMSIG(sp->status));
	if (WEXITSTATUS(sp->status))
		return err(ERR_IO, "%s: exited with status %d", sp->name, WEXITSTATUS(sp->status));
	return err(ERR_IO, "%s: exited without answering", sp->name);
}

/* Write one frame (n = 0: the empty one) and read the reply record. */
static int exchange(SamplerProc *sp, const float *logits, uint32_t n, Record *rec)
{
	sigset_t old;
	int rc;

	if (!sp->to)
		return err(ERR_IO, "%s: already ended", sp->name);
	block_sigpipe(&old);
	rc = n ? stream_write_logits(&sp->w, logits, n) : stream_write_end(&sp->w, 1);
	unblock_sigpipe(&old);
	if (rc)
		return ended(sp);
	if ((rc = stream_read(sp->r, rec, 0)))
		return rc;
	if (rec->kind == REC_EOF)
		return ended(sp);
	if (rec->kind != REC_TOKENS)
		return err(ERR_DATA, "%s: answered with logits, not a token id", sp->name);
	return 0;
}

int sampler_proc_step(SamplerProc *sp, const float *logits, uint32_t n, int32_t *id)
{
	Record rec;
	int rc;

	if (!n)
		return err(ERR_DATA, "%s: no logits to send", sp->name);
	if ((rc = exchange(sp, logits, n, &rec)))
		return rc;
	if (rec.n != 1)
		return err(ERR_DATA, "%s: answered %u ids, expected one", sp->name, (unsigned)rec.n);
	if ((uint32_t)rec.ids[0] >= n)
		return err(ERR_DATA, "%s: answered id %d, past the %u logits", sp->name,
		           (int)rec.ids[0], (unsigned)n);
	*id = rec.ids[0];
	return 0;
}

int sampler_proc_end(SamplerProc *sp)
{
	Record rec;
	int rc;

	if ((rc = exchange(sp, NULL, 0, &rec)))
		return rc;
	if (rec.n)
		return err(ERR_DATA, "%s: answered %u ids to an empty frame, expected none",
		           sp->name, (unsigned)rec.n);
	return 0;
}

int sampler_proc_close(SamplerProc *sp)
{
	int rc = 0;

	if (sp->from) {
		fclose(sp->from);       /* first: a child still writing gets EPIPE, not stuck */
		sp->from = NULL;
	}
	reap(sp);
	if (!WIFEXITED(sp->status) || WEXITSTATUS(sp->status))
		rc = ended(sp);
	stream_reader_free(sp->r);
	sp->r = NULL;
	stream_writer_close(&sp->w);    /* holds nothing: each frame went out */
	free(sp->name);
	sp->name = NULL;
	return rc;
}
