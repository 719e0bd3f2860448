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
 * One thread drives one SamplerProc. Usage:
 *
 *     SamplerProc sp;
 *     if (sampler_proc_start(&sp, "ernie-sample --temp 0")) ...
 *     while (...) sampler_proc_step(&sp, logits, vocab, &id);
 *     sampler_proc_end(&sp);               (next sequence: history reset)
 *     rc = sampler_proc_close(&sp);        (waits; ERR_IO unless it exited 0)
 */
#ifndef ERNIE_SAMPLER_PROC_H
#define ERNIE_SAMPLER_PROC_H

#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "stream/stream.h"

typedef struct {
	pid_t pid;              /* the child; 0 once it has been waited for */
	int status;             /* its wait status, once waited for */
	FILE *to;               /* its stdin: we write frames */
	FILE *from;             /* its stdout: we read ids */
	StreamWriter w;         /* on to, binary frames */
	StreamReader *r;        /* on from */
	char *name;             /* "sampler 'CMD'", for messages */
} SamplerProc;

/* Run "/bin/sh -c cmd". ERR_IO if the pipes or the process cannot be made.
 * On error sp holds nothing to close. */
int sampler_proc_start(SamplerProc *sp, const char *cmd);

/* Send n logits (n > 0), receive the chosen id. */
int sampler_proc_step(SamplerProc *sp, const float *logits, uint32_t n, int32_t *id);

/* End the sequence: an empty frame out, an empty record back. */
int sampler_proc_end(SamplerProc *sp);

/* Close its stdin and stdout and wait for it. Returns 0 if it exited with
 * status 0, else ERR_IO saying how it ended. Frees everything; call it after
 * a failed step or end too (keeping the first error). */
int sampler_proc_close(SamplerProc *sp);

#endif
