/* sampler_proc.c: an outside sampler process driven over two pipes (sampler_proc.h). */
#include "model/sampler_proc.h"
#include "base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
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

/* ---- the two pipes: writing never waits on a full reply pipe ------------ */

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* poll() until the step's deadline: its result, or 0 (with sp->failed set
 * and errno ETIMEDOUT) once the deadline has passed. */
static int wait_fds(SamplerProc *sp, struct pollfd *fds, int n)
{
	double left = sp->deadline - now_s();
	int k = !sp->timeout ? poll(fds, n, -1) :
		left > 0 ? poll(fds, n, left > 1e6 ? 1000000000 : (int)(left * 1e3) + 1) : 0;
	if (k == 0) {
		sp->failed = 1;
		errno = ETIMEDOUT;
	}
	return k;
}

/* Read what the sampler has written into sp->ahead. 0, or -1 (errno set). */
static int read_ahead(SamplerProc *sp)
{
	char buf[4096];
	ssize_t k = read(sp->from_fd, buf, sizeof buf);
	if (k < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (sp->ahead.len - sp->ahead_pos + (size_t)k > SAMPLER_AHEAD) {
		sp->failed = 2;
		errno = EPROTO;
		return -1;
	}
	if (sp->ahead_pos == sp->ahead.len)
		sp->ahead.len = sp->ahead_pos = 0;
	return bytebuf_add(&sp->ahead, buf, (size_t)k) ? (errno = ENOMEM, -1) : 0;
}

/* The frames go out here: as the pipe takes them, reading replies meanwhile. */
static long to_write(void *arg, const void *buf, size_t n)
{
	SamplerProc *sp = arg;
	const char *p = buf;
	size_t done = 0;
	while (done < n) {
		struct pollfd fds[2] = { { sp->to_fd, POLLOUT, 0 }, { sp->from_fd, POLLIN, 0 } };
		int k = wait_fds(sp, fds, 2);
		if (k == 0 || (k < 0 && errno != EINTR))
			return -1;
		if (k < 0)
			continue;
		/* a reply, or the end of its stdout (then the write below fails) */
		if ((fds[1].revents & (POLLIN | POLLHUP)) && read_ahead(sp))
			return -1;
		if (fds[0].revents & (POLLOUT | POLLERR | POLLHUP)) {
			ssize_t w = write(sp->to_fd, p + done, n - done);
			if (w < 0 && errno != EAGAIN && errno != EINTR)
				return -1;
			if (w > 0)
				done += (size_t)w;
		}
	}
	return (long)n;
}

/* The replies come in here: first what was read ahead, then the pipe. */
static long from_read(void *arg, void *p, size_t n)
{
	SamplerProc *sp = arg;
	for (;;) {
		size_t have = sp->ahead.len - sp->ahead_pos;
		if (have) {
			size_t m = have < n ? have : n;
			memcpy(p, sp->ahead.s + sp->ahead_pos, m);
			sp->ahead_pos += m;
			return (long)m;
		}
		struct pollfd fd = { sp->from_fd, POLLIN, 0 };
		int k = wait_fds(sp, &fd, 1);
		if (k == 0 || (k < 0 && errno != EINTR))
			return -1;
		if (k > 0) {
			ssize_t r = read(sp->from_fd, p, n);
			if (r >= 0 || (errno != EINTR && errno != EAGAIN))
				return r;
		}
	}
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

/* Spawn path with argv in a process group of its own, its stdin and stdout
 * on two new pipes. */
static int spawn(SamplerProc *sp, const char *path, char *const argv[])
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
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF |
				 POSIX_SPAWN_SETPGROUP);
	int e = posix_spawn(&sp->pid, path, &fa, &attr, argv, environ);
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
	fcntl(in[1], F_SETFL, fcntl(in[1], F_GETFL) | O_NONBLOCK);
	sp->to_fd = in[1];
	sp->from_fd = out[0];
	in[1] = out[0] = -1;
	sp->io = (StreamIo){ .read = from_read, .write = to_write, .arg = sp };
	if (!(sp->r = stream_reader_new(sp->from_fd, sp->name, NULL))) {
		rc = err(ERR_IO, "%s: out of memory", sp->name);
		goto out;
	}
	stream_reader_io(sp->r, &sp->io);
	stream_writer_init(&sp->w, sp->to_fd, sp->name, 1);
	stream_writer_io(&sp->w, &sp->io);
out:
	for (int i = 0; i < 2; i++) {
		if (in[i] >= 0)
			close(in[i]);
		if (out[i] >= 0)
			close(out[i]);
	}
	if (rc)
		sampler_proc_close(sp, rc);
	return rc;
}

int sampler_proc_start(SamplerProc *sp, const char *cmd, double timeout)
{
	char *argv[] = { "sh", "-c", (char *)cmd, NULL };

	memset(sp, 0, sizeof *sp);
	sp->to_fd = sp->from_fd = -1;
	sp->timeout = timeout;
	if (!(sp->name = malloc(strlen(cmd) + sizeof "sampler ''")))
		return err(ERR_IO, "sampler: out of memory");
	sprintf(sp->name, "sampler '%s'", cmd);
	return spawn(sp, "/bin/sh", argv);
}

/* ---- talking ----------------------------------------------------------- */

/* Close its stdin and wait for it (once); one that failed is killed first. */
static void reap(SamplerProc *sp)
{
	sigset_t old;

	if (sp->to_fd >= 0) {
		block_sigpipe(&old);
		stream_writer_close(&sp->w);    /* holds nothing: each frame went out */
		unblock_sigpipe(&old);
		close(sp->to_fd);
		sp->to_fd = -1;
	}
	if (sp->pid) {
		if (sp->failed)
			kill(-sp->pid, SIGKILL);
		while (waitpid(sp->pid, &sp->status, 0) < 0 && errno == EINTR)
			;
		sp->pid = 0;
	}
}

/* The step failed: how, as ERR_IO. */
static int ended(SamplerProc *sp)
{
	int failed = sp->failed;
	reap(sp);
	if (failed == 1)
		return err(ERR_IO, "%s: no answer within %g seconds (--sampler-timeout)", sp->name,
			   sp->timeout);
	if (failed == 2)
		return err(ERR_IO, "%s: wrote more than %d bytes without reading its input",
			   sp->name, SAMPLER_AHEAD);
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

	if (sp->to_fd < 0)
		return err(ERR_IO, "%s: already ended", sp->name);
	sp->deadline = now_s() + sp->timeout;
	block_sigpipe(&old);
	rc = n ? stream_write_logits(&sp->w, logits, n) : stream_write_end(&sp->w, 1);
	unblock_sigpipe(&old);
	if (rc)
		return ended(sp);
	rc = stream_read(sp->r, rec, 0);
	if (sp->failed || (!rc && rec->kind == REC_EOF))
		return ended(sp);
	if (rc)
		return rc;
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

int sampler_proc_close(SamplerProc *sp, int rc)
{
	if (sp->from_fd >= 0) {     /* first: a child still writing gets EPIPE, not stuck */
		close(sp->from_fd);
		sp->from_fd = -1;
	}
	reap(sp);
	if (!rc && (!WIFEXITED(sp->status) || WEXITSTATUS(sp->status)))
		rc = ended(sp);
	stream_reader_free(sp->r);
	sp->r = NULL;
	bytebuf_free(&sp->ahead);
	free(sp->name);
	sp->name = NULL;
	return rc;
}
