/* sample_opts.h: the sampling options of ernie-sample and ernie-run -n, one
 * table for both. The parameters are lib/sample's sample_param_specs (each
 * under llama.cpp's name and its Hugging Face name), with -s/--seed and
 * --logit-bias. Values are checked as they are parsed (a usage error echoes
 * the user's own text); the model's generation_config.json defaults go under
 * them in sample_opts_settle. */
#ifndef ERNIE_SAMPLE_OPTS_H
#define ERNIE_SAMPLE_OPTS_H

#include <getopt.h>
#include <stdio.h>

#include "sample/sample.h"

#define SAMPLE_OPT_FIRST 0x1000  /* getopt values from here on are sampling options */
#define SAMPLE_OPTS_MAX (2 * SAMPLE_NPARAMS + 2) /* rows sample_opts_longopts() adds */

typedef struct {
	SampleParams over;      /* the values given (bias and seed too) */
	unsigned set;           /* bit i: parameter i of sample_param_specs was given */
	int seeded;             /* -s N given (not -s -1) */
	int given;              /* any sampling option at all */
} SampleOpts;

/* Append the options' rows to a getopt_long table at opts; returns how many. */
int sample_opts_longopts(struct option *opts);

/* Take option c (a value from those rows, or 's') with its argument; name is
 * the long name used (NULL for -s). Returns 0, 1 if c is not a sampling
 * option, or ERR_USAGE (message printed). */
int sample_opts_take(SampleOpts *so, int c, const char *name, const char *arg);

/* The parameters to sample with: the defaults, DIR/generation_config.json's
 * values when model is set, the options over them, and a random seed unless
 * one was given. ERR_* with the message set (sample_params_load). */
int sample_opts_settle(SampleOpts *so, const char *model, SampleParams *p);

/* The options' lines of --help. */
void sample_opts_usage(FILE *f);

/* "seed=... temperature=..." on stderr (-v). */
void sample_opts_print(const SampleParams *p);

void sample_opts_free(SampleOpts *so);

#endif
