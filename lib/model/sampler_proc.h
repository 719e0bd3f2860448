/* sampler_proc.h: a sampler process driven over pipes (ernie-run -n).
 *
 * Per generated token the caller writes one ELOG frame to the sampler's
 * stdin and reads one token record (one id) back from its stdout; an empty
 * frame ends a sequence and the sampler answers with an empty record
 * (ernie-streams(5)). The sampler is any program that talks this way:
 * ernie-sample with its options, or a user's command run by /bin/sh -c.
 * It inherits our stderr, so its own messages reach the user; our ends of
 * its pipes are not inherited, and SIGPIPE has its default action in it.
 *
 * When the sampler dies, the call that notices (a write to its closed stdin,
 * or end of file on its stdout) returns ERR_IO naming the command and how it
 * ended: "sampler 'ernie-sample --top-k x': exited with status 2". SIGPIPE is
 * blocked while we write to it, so a dead sampler is an error to report, not
 * a signal that ends the caller. A reply that is not one id below the number
 * of logits is ERR_DATA.
 *
 * Neither direction blocks the other: while a frame is being written, what
 * the sampler writes is read and kept, so a sampler that writes without
 * reading cannot deadlock us (past SAMPLER_AHEAD bytes ahead it is an error).
 * With a timeout, a step that takes longer is ERR_IO ("no answer within S
 * seconds"). A sampler that failed that way is killed (its process group) at
 * close rather than waited for.
 *
 * One thread drives one SamplerProc. Usage:
 *
 *     SamplerProc sp;
 *     if (sampler_proc_start(&sp, "ernie-sample --temp 0", 0)) ...
 *     while (...) sampler_proc_step(&sp, logits, vocab, &id);
 *     sampler_proc_end(&sp);               (next sequence: history reset)
 *     rc = sampler_proc_close(&sp, rc);    (waits; ERR_IO unless it exited 0)
 */
#ifndef ERNIE_SAMPLER_PROC_H
#define ERNIE_SAMPLER_PROC_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "base/bytebuf.h"
#include "stream/stream.h"

#define SAMPLER_AHEAD (1 << 20) /* bytes of replies read while a frame is written, at most */

typedef struct {
	pid_t pid;              /* the child (and its process group); 0 once waited for */
	int status;             /* its wait status, once waited for */
	int to_fd, from_fd;     /* its stdin (non-blocking), its stdout */
	StreamIo io;            /* the pipes polled both ways, with the deadline */
	StreamWriter w;         /* on to_fd through io, binary frames */
	StreamReader *r;        /* on from_fd through io */
	ByteBuf ahead;          /* replies read while writing, not yet consumed */
	size_t ahead_pos;       /* ahead.s[ahead_pos..len) are unread */
	double timeout;         /* seconds a step may take; 0: no limit */
	double deadline;        /* of the step under way (CLOCK_MONOTONIC seconds) */
	int failed;             /* 1: timed out, 2: wrote too far ahead (then killed) */
	char *name;             /* "sampler 'CMD'", for messages */
} SamplerProc;

/* Run "/bin/sh -c cmd" in a process group of its own; timeout: seconds a
 * step may take (0: no limit). ERR_IO if the pipes or the process cannot be
 * made. On error sp holds nothing to close. */
int sampler_proc_start(SamplerProc *sp, const char *cmd, double timeout);

/* Send n logits (n > 0), receive the chosen id. */
int sampler_proc_step(SamplerProc *sp, const float *logits, uint32_t n, int32_t *id);

/* End the sequence: an empty frame out, an empty record back. */
int sampler_proc_end(SamplerProc *sp);

/* Close its stdin and stdout and wait for it. Frees everything; call it
 * after a failed step or end too, with that error as rc: rc and its message
 * are kept. With rc 0: 0 if it exited with status 0, else ERR_IO saying how
 * it ended. */
int sampler_proc_close(SamplerProc *sp, int rc);

#endif
