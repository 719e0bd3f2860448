/* lib/config: config.json / generation_config.json, and what model_load
 * settles from the tensors when the config is silent. */
#include "test.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "model/config.h"
#include "base/err.h"
#include "model/model.h"

static char dir[64];

static void rm_dir(void)
{
	const char *files[] = { "config.json", "generation_config.json", "model.safetensors" };
	char p[128];
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}

static const char *tmp(void)
{
	if (!dir[0]) {
		snprintf(dir, sizeof dir, "/tmp/t_model_config.XXXXXX");
		if (mkdtemp(dir))
			atexit(rm_dir);
		else
			dir[0] = 0;
	}
	return dir;
}

static void put(const char *file, const char *text)
{
	char p[128];
	snprintf(p, sizeof p, "%s/%s", tmp(), file);
	FILE *f = fopen(p, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

#define DENSE "\"architectures\": [\"Ernie4_5ForCausalLM\"], \"model_type\": \"ernie4_5\", " \
	"\"hidden_size\": 64, \"intermediate_size\": 160, \"num_hidden_layers\": 3, " \
	"\"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"vocab_size\": 1024"

static int load(const char *extra, Config *c)
{
	char text[1024];
	snprintf(text, sizeof text, "{" DENSE "%s}", extra);
	put("config.json", text);
	return config_load(c, tmp());
}

TEST(config_defaults_and_head_dim)
{
	Config c;
	CHECK(load("", &c) == 0);
	CHECK_EQ_INT(c.moe, 0);
	CHECK_EQ_INT(c.head_dim, 16);           /* hidden / heads */
	CHECK_NEAR(c.rope_theta, 500000, 0);
	CHECK_EQ_INT(c.max_pos, 131072);
	CHECK_EQ_INT(c.tie, 1);
	CHECK(load(", \"head_dim\": 32", &c) == 0);
	CHECK_EQ_INT(c.head_dim, 32);
	CHECK(load(", \"head_dim\": null", &c) == 0);
	CHECK_EQ_INT(c.head_dim, 16);
	CHECK(load(", \"num_key_value_heads\": null", &c) == 0);
	CHECK_EQ_INT(c.kv_heads, 4);
}

TEST(config_rope)
{
	Config c;
	CHECK(load(", \"rope_parameters\": {\"rope_type\": \"default\", \"rope_theta\": 12345.0}", &c) == 0);
	CHECK_NEAR(c.rope_theta, 12345, 0);
	CHECK(load(", \"rope_theta\": 10000, \"rope_scaling\": null", &c) == 0);
	CHECK_NEAR(c.rope_theta, 10000, 0);
	CHECK_EQ_INT(load(", \"rope_scaling\": {\"type\": \"linear\", \"factor\": 2}", &c), ERR_DATA);
	CHECK(strstr(err_msg(), "rope scaling \"linear\" is not supported") != NULL);
	CHECK_EQ_INT(load(", \"rope_parameters\": {\"rope_type\": \"default\", \"mrope_section\": [1]}", &c),
		     ERR_DATA);
	CHECK(strstr(err_msg(), "vision-language") != NULL);
}

TEST(config_refusals)
{
	Config c;
	put("config.json", "{\"architectures\": [\"Ernie4_5_VLMoeForConditionalGeneration\"]}");
	CHECK_EQ_INT(config_load(&c, tmp()), ERR_DATA);
	CHECK(strstr(err_msg(), "vision-language") != NULL);
	put("config.json", "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\"}");
	CHECK_EQ_INT(config_load(&c, tmp()), ERR_DATA);
	CHECK(strstr(err_msg(), "not an ERNIE 4.5 text model") != NULL);
	CHECK_EQ_INT(load(", \"model_type\": \"ernie4_5_moe\"", &c), ERR_DATA);
	CHECK(strstr(err_msg(), "contradicts") != NULL);
	CHECK_EQ_INT(load(", \"num_key_value_heads\": 3", &c), ERR_DATA);
	CHECK_EQ_INT(load(", \"head_dim\": 33", &c), ERR_DATA);
	CHECK_EQ_INT(load(", \"vocab_size\": -1", &c), ERR_DATA);
	CHECK(strstr(err_msg(), "vocab_size -1 outside") != NULL);
	put("config.json", "{\"architectures\": [\"Ernie4_5ForCausalLM\"], \"hidden_size\": 64}");
	CHECK_EQ_INT(config_load(&c, tmp()), ERR_DATA);
	CHECK(strstr(err_msg(), "missing \"vocab_size\"") != NULL);
	put("config.json", "{\"architectures\": [\"Ernie4_5ForCausalLM\"], \"hidden_size\": ");
	CHECK_EQ_INT(config_load(&c, tmp()), ERR_DATA);
}

TEST(config_generation_eos)
{
	Config c;
	put("generation_config.json", "{\"bos_token_id\": 1, \"eos_token_id\": [2, 100]}");
	CHECK(load(", \"eos_token_id\": 2", &c) == 0);
	CHECK_EQ_INT(c.n_eos, 2);
	CHECK_EQ_INT(c.eos[1], 100);
	CHECK_EQ_INT(c.bos, 1);
	put("generation_config.json", "{\"eos_token_id\": 5000}");
	CHECK_EQ_INT(load("", &c), ERR_DATA);
	char p[128];
	snprintf(p, sizeof p, "%s/generation_config.json", tmp());
	unlink(p);
}

TEST(config_moe_layers)
{
	Config c = { .moe = 1, .layers = 5, .moe_start = 1, .moe_end = 3, .moe_interval = 1 };
	int want[] = { 0, 1, 1, 1, 0 };
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(config_is_moe_layer(&c, i), want[i]);
	c.moe_interval = 2;
	int want2[] = { 0, 1, 0, 1, 0 };
	for (int i = 0; i < 5; i++)
		CHECK_EQ_INT(config_is_moe_layer(&c, i), want2[i]);
}

/* tiny-moe with the config silent on shared experts and the first MoE
 * layer: the tensors decide, and the logits are still the golden ones. */
TEST(model_settles_from_tensors)
{
	char src[512], p[128];
	snprintf(src, sizeof src, "%s/golden/tiny-moe/model.safetensors", test_data_dir);
	if (src[0] != '/') {
		char cwd[256];
		if (getcwd(cwd, sizeof cwd))
			snprintf(src, sizeof src, "%s/%s/golden/tiny-moe/model.safetensors", cwd,
				 test_data_dir);
	}
	snprintf(p, sizeof p, "%s/model.safetensors", tmp());
	unlink(p);
	CHECK(symlink(src, p) == 0);
	put("config.json", "{\"architectures\": [\"Ernie4_5_MoeForCausalLM\"], "
	    "\"hidden_size\": 64, \"intermediate_size\": 192, \"num_hidden_layers\": 5, "
	    "\"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"vocab_size\": 1024, "
	    "\"moe_num_experts\": 8, \"moe_k\": 3, \"moe_intermediate_size\": 48, "
	    "\"moe_layer_end_index\": 3, \"tie_word_embeddings\": false}");
	Model *m;
	if (model_load(&m, tmp())) {
		printf("  %s\n", err_msg());
		test_failed = 1;
		unlink(p);
		return;
	}
	CHECK_EQ_INT(m->cfg.moe_start, 1);
	CHECK_EQ_INT(m->shared_width, 96);
	CHECK_EQ_INT(m->tied, 0);
	CHECK(m->w.layers[1].moe && !m->w.layers[4].moe);
	CHECK(m->active < m->params);
	model_free(m);

	/* says 1 shared expert: width 48, but the tensor is 96 wide */
	put("config.json", "{\"architectures\": [\"Ernie4_5_MoeForCausalLM\"], "
	    "\"hidden_size\": 64, \"intermediate_size\": 192, \"num_hidden_layers\": 5, "
	    "\"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"vocab_size\": 1024, "
	    "\"moe_num_experts\": 8, \"moe_k\": 3, \"moe_intermediate_size\": 48, "
	    "\"moe_num_shared_experts\": 1, \"moe_layer_start_index\": 1, "
	    "\"moe_layer_end_index\": 3, \"tie_word_embeddings\": false}");
	CHECK_EQ_INT(model_load(&m, tmp()), ERR_DATA);
	CHECK(strstr(err_msg(), "shared_experts.gate_proj.weight': shape [96, 64], config.json says [48, 64]") != NULL);
	unlink(p);
}

TEST(config_model_type_not_a_string)
{
	char dir[] = "/tmp/ernie-cfg-XXXXXX";
	CHECK(mkdtemp(dir) != NULL);
	char path[64];
	snprintf(path, sizeof path, "%s/config.json", dir);
	FILE *f = fopen(path, "w");
	fputs("{\"architectures\": [\"Ernie4_5ForCausalLM\"], \"model_type\": {\"a\": 1}}", f);
	fclose(f);
	Config c;
	CHECK_EQ_INT(config_load(&c, dir), ERR_DATA);
	CHECK(strstr(err_msg(), "model_type: expected a string") != NULL);
	remove(path);
	rmdir(dir);
}
