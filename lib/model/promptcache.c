/* promptcache.c: prompt cache files (promptcache.h): the model's
 * fingerprint, reading and checking a file, reusing its prefix, writing
 * one atomically. */
#define _GNU_SOURCE
#include "model/promptcache.h"
#include "base/err.h"
#include "kernels/kv.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HEADER 64
#define SAMPLE 64               /* bytes of a tensor hashed at each place */
static const char MAGIC[8] = "ERNIEKV";

/* ---- hashing: FNV-1a, 8 bytes a step for the bulk ---- */

#define FNV_BASIS 0xcbf29ce484222325ull
#define FNV_PRIME 0x100000001b3ull

static uint64_t hash(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (; n >= 8; n -= 8, b += 8) {
		uint64_t w;
		memcpy(&w, b, 8);
		h = (h ^ w) * FNV_PRIME;
		h ^= h >> 32;   /* the word's high bits reach the low ones */
	}
	for (; n; n--, b++)
		h = (h ^ *b) * FNV_PRIME;
	return h;
}

static uint64_t hash_i64(uint64_t h, int64_t v)
{
	return hash(h, &v, sizeof v);
}

static uint64_t hash_f64(uint64_t h, double v)
{
	return hash(h, &v, sizeof v);
}

uint64_t pc_fingerprint(const Model *m)
{
	const Config *c = &m->cfg;
	const int64_t ints[] = { c->moe, c->vocab, c->hidden, c->inter, c->layers, c->heads,
				 c->kv_heads, c->head_dim, c->max_pos, c->tie, c->experts,
				 c->top_k, c->moe_inter, c->shared, c->moe_start, c->moe_end,
				 c->moe_interval };
	uint64_t h = FNV_BASIS;
	for (size_t i = 0; i < sizeof ints / sizeof *ints; i++)
		h = hash_i64(h, ints[i]);
	h = hash_f64(hash_f64(hash_f64(h, c->eps), c->rope_theta), c->moe_norm_min);
	for (size_t i = 0; i < m->tensors.n; i++) {
		const Tensor *t = &m->tensors.t[i];
		uint64_t size = t->bytes;
		const char *type = wtype_info[t->type].name;
		h = hash(h, t->name, strlen(t->name) + 1);
		h = hash(h, type, strlen(type) + 1);
		h = hash_i64(h, t->ndim);
		for (int d = 0; d < t->ndim; d++)
			h = hash_i64(h, t->shape[d]);
		if (size <= 4 * SAMPLE) {
			h = hash(h, t->data, size);
			continue;
		}
		for (int k = 0; k < 4; k++)     /* start, thirds, end */
			h = hash(h, (const char *)t->data + (size - SAMPLE) * (uint64_t)k / 3, SAMPLE);
	}
	return h;
}

/* ---- the header ---- */

typedef struct {
	uint32_t version, panel, kt, vt, layers, kv_heads, head_dim, n;
	uint64_t fp, kv_bytes, sum;
} Header;

static uint32_t u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t u64(const unsigned char *p)
{
	return (uint64_t)u32(p) | (uint64_t)u32(p + 4) << 32;
}

static void put32(unsigned char *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (unsigned char)(v >> 8 * i);
}

static void put64(unsigned char *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* every byte but the checksum's own */
static uint64_t checksum(const unsigned char *data, size_t size)
{
	return hash(hash(FNV_BASIS, data, 56), data + HEADER, size - HEADER);
}

static const char *type_name(uint32_t ggml)
{
	WType t;
	return wtype_from_ggml(ggml, &t) == 0 ? wtype_info[t].name : "an unknown type";
}

int pc_parse(PromptCache *pc, void *data, size_t size, const char *name, const State *s,
	     uint64_t fp)
{
	const unsigned char *p = data;
	const Model *m = state_model(s);
	const Config *c = &m->cfg;
	WType kt, vt;
	Header h;
	int rc = ERR_DATA;

	memset(pc, 0, sizeof *pc);
	state_cache_types(s, &kt, &vt);
	if (size < HEADER || memcmp(p, MAGIC, sizeof MAGIC)) {
		err(ERR_DATA, "%s: not an ernie prompt cache file", name);
		goto fail;
	}
	h = (Header){ .version = u32(p + 8), .panel = u32(p + 12), .fp = u64(p + 16),
		      .kt = u32(p + 24), .vt = u32(p + 28), .layers = u32(p + 32),
		      .kv_heads = u32(p + 36), .head_dim = u32(p + 40), .n = u32(p + 44),
		      .kv_bytes = u64(p + 48), .sum = u64(p + 56) };
	if (h.version != PC_VERSION) {
		err(ERR_DATA, "%s: prompt cache format version %u; this ernie-run reads version %d",
		    name, h.version, PC_VERSION);
		goto fail;
	}
	if (h.fp != fp) {
		err(ERR_DATA, "%s: the prompt cache was made with another model (or other weights)",
		    name);
		goto fail;
	}
	if (h.kt != (uint32_t)wtype_info[kt].ggml || h.vt != (uint32_t)wtype_info[vt].ggml) {
		err(ERR_DATA, "%s: the prompt cache holds keys %s and values %s; this run stores "
		    "keys %s and values %s (-ctk, -ctv)", name, type_name(h.kt), type_name(h.vt),
		    wtype_info[kt].name, wtype_info[vt].name);
		goto fail;
	}
	if (h.panel != GEMM_PANEL || h.layers != (uint32_t)c->layers ||
	    h.kv_heads != (uint32_t)c->kv_heads || h.head_dim != (uint32_t)c->head_dim) {
		err(ERR_DATA, "%s: the prompt cache's layout (%u layers, %u KV heads of %u, panels "
		    "of %u) is not this model's", name, h.layers, h.kv_heads, h.head_dim, h.panel);
		goto fail;
	}
	if (h.n < 1 || h.n > (uint32_t)c->max_pos) {
		err(ERR_DATA, "%s: %u tokens: expected 1 to %d", name, h.n, c->max_pos);
		goto fail;
	}
	uint64_t want = state_kv_bytes(s, (int)h.n);
	if (h.kv_bytes != want || size != HEADER + 4 * (uint64_t)h.n + want) {
		err(ERR_DATA, "%s: %zu bytes, expected %llu for %u tokens: truncated or damaged",
		    name, size, (unsigned long long)(HEADER + 4 * (uint64_t)h.n + want), h.n);
		goto fail;
	}
	if (checksum(p, size) != h.sum) {
		err(ERR_DATA, "%s: checksum mismatch: the prompt cache is damaged", name);
		goto fail;
	}
	pc->ids = (const int32_t *)(p + HEADER);        /* 4-byte aligned: malloc'd */
	pc->kv = p + HEADER + 4 * (size_t)h.n;
	pc->n = (int)h.n;
	pc->data = data;
	if ((rc = model_check_ids(m, pc->ids, pc->n))) {
		err_prefix(rc, "%s", name);
		pc_free(pc);
		return rc;
	}
	return 0;
fail:
	free(data);
	return rc;
}

int pc_load(PromptCache *pc, const char *path, const State *s, uint64_t fp)
{
	memset(pc, 0, sizeof *pc);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : err_errno(ERR_IO, "%s", path);
	struct stat st;
	const Config *c = &state_model(s)->cfg;
	/* no real file is larger than the longest sequence's */
	uint64_t max = HEADER + 4 * (uint64_t)c->max_pos + state_kv_bytes(s, c->max_pos);
	if (fstat(fd, &st)) {
		close(fd);
		return err_errno(ERR_IO, "%s", path);
	}
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size > max) {
		close(fd);
		return err(ERR_DATA, "%s: not a prompt cache file (%s)", path,
			   S_ISREG(st.st_mode) ? "too large" : "not a regular file");
	}
	size_t size = (size_t)st.st_size, got = 0;
	void *data = malloc(size ? size : 1);
	if (!data) {
		close(fd);
		return err(ERR_IO, "%s: out of memory", path);
	}
	while (got < size) {
		ssize_t r = read(fd, (char *)data + got, size - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	int rc = got < size ? err_errno(ERR_IO, "%s: read", path) : 0;
	close(fd);
	if (rc) {
		free(data);
		return rc;
	}
	return pc_parse(pc, data, size, path, s, fp);
}

int pc_reuse(const PromptCache *pc, State *s, const int32_t *ids, int n, int *reused)
{
	int k = 0;
	while (k < pc->n && k < n - PC_MIN_SUFFIX && ids[k] == pc->ids[k])
		k++;
	*reused = k;
	return k ? state_kv_load(s, pc->ids, pc->kv, pc->n, k) : 0;
}

int pc_save(const char *path, const State *s, uint64_t fp)
{
	const Model *m = state_model(s);
	int n = state_pos(s);
	WType kt, vt;
	state_cache_types(s, &kt, &vt);
	uint64_t kv = state_kv_bytes(s, n);
	size_t size = HEADER + 4 * (size_t)n + kv;
	unsigned char *p = malloc(size);
	if (!p)
		return err(ERR_IO, "%s: out of memory", path);
	memcpy(p, MAGIC, sizeof MAGIC);
	put32(p + 8, PC_VERSION);
	put32(p + 12, GEMM_PANEL);
	put64(p + 16, fp);
	put32(p + 24, (uint32_t)wtype_info[kt].ggml);
	put32(p + 28, (uint32_t)wtype_info[vt].ggml);
	put32(p + 32, (uint32_t)m->cfg.layers);
	put32(p + 36, (uint32_t)m->cfg.kv_heads);
	put32(p + 40, (uint32_t)m->cfg.head_dim);
	put32(p + 44, (uint32_t)n);
	put64(p + 48, kv);
	for (int i = 0; i < n; i++)
		put32(p + HEADER + 4 * (size_t)i, (uint32_t)state_ids(s)[i]);
	state_kv_save(s, p + HEADER + 4 * (size_t)n);
	put64(p + 56, checksum(p, size));

	size_t len = strlen(path);
	char *tmp = malloc(len + 8);
	int rc = 0, fd = -1;
	if (tmp) {
		memcpy(tmp, path, len);
		memcpy(tmp + len, ".XXXXXX", 8);
		fd = mkostemp(tmp, O_CLOEXEC);
	}
	if (!tmp)
		rc = err(ERR_IO, "%s: out of memory", path);
	else if (fd < 0)
		rc = err_errno(ERR_IO, "%s", tmp);
	else {
		mode_t mask = umask(0);         /* mkstemp makes 0600: the usual 0666 & ~umask */
		umask(mask);
		fchmod(fd, 0666 & ~mask);
		for (size_t done = 0; !rc && done < size; ) {
			ssize_t w = write(fd, p + done, size - done);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				rc = err_errno(ERR_IO, "%s: write", tmp);
			else
				done += (size_t)w;
		}
		/* on the disk before the name: a crash leaves the old file or the new */
		if (!rc && fdatasync(fd))
			rc = err_errno(ERR_IO, "%s: sync", tmp);
		if (close(fd) && !rc)
			rc = err_errno(ERR_IO, "%s: close", tmp);
		if (!rc && rename(tmp, path))
			rc = err_errno(ERR_IO, "%s: rename to %s", tmp, path);
		if (rc)
			unlink(tmp);
	}
	free(tmp);
	free(p);
	return rc;
}

void pc_free(PromptCache *pc)
{
	free(pc->data);
	memset(pc, 0, sizeof *pc);
}
