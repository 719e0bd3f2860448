/* lib/safetensors: header validation, the tensor table, shards. */
#include "test.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/err.h"
#include "model/safetensors.h"

static char tmpdir[64];

static void rm_tmp(void)
{
	const char *files[] = { "one", "many", "p", "huge", "trunc" };
	char p[128];
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(p, sizeof p, "%s/%s.safetensors", tmpdir, files[i]);
		unlink(p);
	}
	rmdir(tmpdir);
}

static const char *tmp(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof tmpdir, "/tmp/t_safetensors.XXXXXX");
		if (mkdtemp(tmpdir))
			atexit(rm_tmp);
		else
			tmpdir[0] = 0;
	}
	return tmpdir;
}

static void write_bytes(const char *path, const void *buf, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(buf, 1, n, f);
		fclose(f);
	}
}

/* A safetensors file: header JSON padded to 8 bytes, then datalen bytes
 * whose byte i is i & 0xff. */
static void write_st(const char *path, const char *json, size_t datalen)
{
	size_t hl = (strlen(json) + 7) / 8 * 8;
	unsigned char *buf = calloc(1, 8 + hl + datalen);
	for (int i = 0; i < 8; i++)
		buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
	memset(buf + 8, ' ', hl);
	memcpy(buf + 8, json, strlen(json));
	for (size_t i = 0; i < datalen; i++)
		buf[8 + hl + i] = (unsigned char)i;
	write_bytes(path, buf, 8 + hl + datalen);
	free(buf);
}

static char *path_in(const char *name)
{
	static char p[4][128];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof p[k], "%s/%s", tmp(), name);
	return p[k];
}

static int open_one(const char *json, size_t datalen)
{
	Tensors st = { 0 };
	write_st(path_in("one.safetensors"), json, datalen);
	int rc = st_add_file(&st, path_in("one.safetensors"));
	tensors_close(&st);
	return rc;
}

TEST(st_table_grows_and_finds_every_name)
{
	enum { N = 3000 };
	size_t cap = 64 + (size_t)N * 80, len = 0;
	char *json = malloc(cap);
	len += (size_t)snprintf(json + len, cap - len, "{\"__metadata__\":{\"format\":\"pt\"}");
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(json + len, cap - len,
					",\"t.%d\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[%d,%d]}",
					i, 4 * i, 4 * i + 4);
	snprintf(json + len, cap - len, "}");
	Tensors st = { 0 };
	write_st(path_in("many.safetensors"), json, 4 * N);
	CHECK(st_add_file(&st, path_in("many.safetensors")) == 0);
	CHECK_EQ_INT(st.n, N);
	int bad = 0;
	for (int i = 0; i < N; i++) {
		char name[32];
		snprintf(name, sizeof name, "t.%d", i);
		Tensor *t = tensors_find(&st, name);
		bad += !t || ((const unsigned char *)t->data)[0] != (unsigned char)(4 * i) ||
		       t->nelem != 1 || t->type != WT_F32;
	}
	CHECK_EQ_INT(bad, 0);
	CHECK(tensors_find(&st, "t.3000") == NULL);
	tensors_close(&st);
	free(json);
}

TEST(st_ernie_prefix_and_mtp_skipped)
{
	Tensors st = { 0 };
	write_st(path_in("p.safetensors"),
		 "{\"ernie.layers.0.w\":{\"dtype\":\"BF16\",\"shape\":[2,2],\"data_offsets\":[0,8]},"
		 "\"model.mtp_block.0.w\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[8,12]}}", 12);
	CHECK(st_add_file(&st, path_in("p.safetensors")) == 0);
	Tensor *t = tensors_find(&st, "model.layers.0.w");
	CHECK(t != NULL);
	CHECK(t && t->ndim == 2 && t->shape[0] == 2 && t->shape[1] == 2);
	CHECK(tensors_find(&st, "ernie.layers.0.w") == NULL);
	CHECK(tensors_find(&st, "model.mtp_block.0.w") == NULL);
	CHECK_EQ_INT(st.skipped, 1);
	CHECK_EQ_INT(st.bytes, 8);
	tensors_close(&st);
}

TEST(st_bad_headers)
{
	const char *t = "{\"w\":{\"dtype\":\"%s\",\"shape\":%s,\"data_offsets\":%s}}";
	struct { const char *dtype, *shape, *offs, *msg; } cases[] = {
		{ "BF16", "[2]", "[0,5]", "hold 5 bytes, shape [2] of BF16 needs 4" },
		{ "BF16", "[2]", "[0,20]", "outside the data" },
		{ "BF16", "[2]", "[6,2]", "outside the data" },
		{ "BF16", "[2]", "[-2,2]", "outside the data" },
		{ "F32", "[2]", "[2,10]", "not aligned" },
		{ "Q8", "[2]", "[0,2]", "unknown dtype 'Q8'" },
		{ "BF16", "[-1]", "[0,2]", "bad shape" },
		{ "BF16", "[4294967296,4294967296,16]", "[0,2]", "bad shape" },
		{ "BF16", "[9223372036854775807,2]", "[0,2]", "bad shape" },
		{ "BF16", "2", "[0,4]", "shape is not a list" },
		{ "BF16", "[2]", "[0]", "not [begin, end]" },
		{ "BF16", "[2]", "[0,\"4\"]", "expected an integer" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char json[256];
		snprintf(json, sizeof json, t, cases[i].dtype, cases[i].shape, cases[i].offs);
		CHECK_EQ_INT(open_one(json, 16), ERR_DATA);
		if (!strstr(err_msg(), cases[i].msg)) {
			printf("  case %zu: [%s] lacks [%s]\n", i, err_msg(), cases[i].msg);
			test_failed = 1;
		}
	}
	CHECK_EQ_INT(open_one("{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]},"
			      "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[2,6]}}", 8),
		     ERR_DATA);
	CHECK(strstr(err_msg(), "tensor 'b': data_offsets [2, 6] overlap tensor 'a' [0, 4]") != NULL);
	CHECK(open_one("{\"a\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]},"
		       "\"e\":{\"dtype\":\"BF16\",\"shape\":[0],\"data_offsets\":[2,2]}}", 8) == 0);
	CHECK_EQ_INT(open_one("[1, 2]", 0), ERR_DATA);
	CHECK(strstr(err_msg(), "not a JSON object") != NULL);
	CHECK_EQ_INT(open_one("{\"w\": 3}", 0), ERR_DATA);
	CHECK_EQ_INT(open_one("{\"w\": {\"dtype\": \"BF16\",", 0), ERR_DATA);
	unsigned char huge[16] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, '{', '}' };
	write_bytes(path_in("huge.safetensors"), huge, sizeof huge);
	Tensors st = { 0 };
	CHECK_EQ_INT(st_add_file(&st, path_in("huge.safetensors")), ERR_DATA);
	CHECK(strstr(err_msg(), "header length 18446744073709551615 past the end") != NULL);
	tensors_close(&st);
}

/* A real checkpoint cut short at every byte of its header, and at a few
 * places in the data: always ERR_DATA, never a crash or an overread. */
TEST(st_truncated_at_every_header_byte)
{
	char src[512];
	snprintf(src, sizeof src, "%s/golden/tiny-dense/model.safetensors", test_data_dir);
	FILE *f = fopen(src, "rb");
	unsigned char *buf = malloc(1 << 20);
	size_t n = f ? fread(buf, 1, 1 << 20, f) : 0;
	if (f)
		fclose(f);
	CHECK(n > 8);
	size_t hdr = 8 + (size_t)(buf[0] | buf[1] << 8 | buf[2] << 16);
	/* written once and cut shorter and shorter (rewriting a truncated file
	 * would make the file system flush it every time) */
	write_bytes(path_in("trunc.safetensors"), buf, n);
	int fails = 0;
	for (size_t k = n; k-- > 0; k = k > hdr + 8 && k > 4099 ? k - 4098 : k) {
		Tensors st = { 0 };
		if (truncate(path_in("trunc.safetensors"), (off_t)k))
			fails++;
		int rc = st_add_file(&st, path_in("trunc.safetensors"));
		tensors_close(&st);
		if (rc != ERR_DATA && fails++ < 3)
			printf("  truncated at %zu: rc %d: %s\n", k, rc, err_msg());
	}
	CHECK_EQ_INT(fails, 0);
	Tensors st = { 0 };
	write_bytes(path_in("trunc.safetensors"), buf, n);
	CHECK(st_add_file(&st, path_in("trunc.safetensors")) == 0);
	CHECK_EQ_INT(st.n, 29);        /* 30 entries with __metadata__ */
	tensors_close(&st);
	free(buf);
}

static void write_text(const char *path, const char *s)
{
	write_bytes(path, s, strlen(s));
}

TEST(st_shards_and_index)
{
	char dir[128];
	snprintf(dir, sizeof dir, "%s/shards", tmp());
	mkdir(dir, 0700);
	char a[200], b[200], idx[200];
	snprintf(a, sizeof a, "%s/a.safetensors", dir);
	snprintf(b, sizeof b, "%s/b.safetensors", dir);
	snprintf(idx, sizeof idx, "%s/model.safetensors.index.json", dir);
	write_st(a, "{\"x\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4);
	write_st(b, "{\"y\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]}}", 2);

	Tensors st;
	write_text(idx, "{\"metadata\":{},\"weight_map\":{\"x\":\"a.safetensors\",\"y\":\"b.safetensors\"}}");
	CHECK(st_open_dir(&st, dir) == 0);
	CHECK(tensors_find(&st, "x") && tensors_find(&st, "y"));
	CHECK_EQ_INT(st.nfiles, 2);
	tensors_close(&st);

	write_text(idx, "{\"weight_map\":{\"x\":\"b.safetensors\",\"y\":\"b.safetensors\"}}");
	CHECK_EQ_INT(st_open_dir(&st, dir), ERR_DATA);
	CHECK(strstr(err_msg(), "tensor 'x' is not in") != NULL);

	write_text(idx, "{\"weight_map\":{\"x\":\"../a.safetensors\"}}");
	CHECK_EQ_INT(st_open_dir(&st, dir), ERR_DATA);
	CHECK(strstr(err_msg(), "expected a file name in the model directory") != NULL);

	write_text(idx, "{\"weight_map\":{\"x\":\"c.safetensors\"}}");
	CHECK_EQ_INT(st_open_dir(&st, dir), ERR_IO);

	write_text(idx, "{\"weight_map\":[]}");
	CHECK_EQ_INT(st_open_dir(&st, dir), ERR_DATA);

	/* the same tensor in two shards */
	write_st(b, "{\"x\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]}}", 2);
	write_text(idx, "{\"weight_map\":{\"x\":\"a.safetensors\",\"z\":\"b.safetensors\"}}");
	CHECK_EQ_INT(st_open_dir(&st, dir), ERR_DATA);
	CHECK(strstr(err_msg(), "tensor 'x' also in") != NULL);

	/* no index and no model.safetensors: every *.safetensors */
	unlink(idx);
	write_st(b, "{\"y\":{\"dtype\":\"BF16\",\"shape\":[1],\"data_offsets\":[0,2]}}", 2);
	CHECK(st_open_dir(&st, dir) == 0);
	CHECK(tensors_find(&st, "x") && tensors_find(&st, "y"));
	tensors_close(&st);
	unlink(a);
	unlink(b);
	rmdir(dir);
	CHECK_EQ_INT(st_open_dir(&st, dir), ERR_IO);
}
