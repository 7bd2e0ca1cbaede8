#include "core/model/llama2c.h"

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "core/error.h"
#include "core/model/checkpoint.h"
#include "core/model/sp_model.h"

namespace qlab {

namespace fs = std::filesystem;

torch::Tensor interleaved_to_rotate_half(const torch::Tensor& w, int64_t n_heads) {
  int64_t rows = w.size(0), head_dim = rows / n_heads;
  // [head, pair i, member j, in] -> [head, member j, pair i, in]: member 0 of
  // every pair first (the rotation's "x1" half), then member 1 ("x2").
  return w.reshape({n_heads, head_dim / 2, 2, w.size(1)}).transpose(1, 2).reshape({rows, w.size(1)}).contiguous();
}

Llama2cModel read_llama2c(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw UsageError(path + ": cannot read (missing or unreadable)");
  std::error_code ec;
  uint64_t file_size = fs::file_size(path, ec);
  if (ec || file_size < 28) throw UsageError(path + ": not a llama2.c checkpoint: shorter than its 28-byte header");
  int32_t h[7];
  f.read(reinterpret_cast<char*>(h), sizeof h);   // little-endian host assumed (x86, ARM)
  const int64_t dim = h[0], hidden = h[1], L = h[2], heads = h[3], kv_heads = h[4], seq_len = h[6];
  const bool shared = h[5] > 0;
  const int64_t vocab = h[5] < 0 ? -int64_t(h[5]) : h[5];
  std::string header = "(dim " + std::to_string(dim) + ", hidden_dim " + std::to_string(hidden) + ", n_layers " +
                       std::to_string(L) + ", n_heads " + std::to_string(heads) + ", n_kv_heads " +
                       std::to_string(kv_heads) + ", vocab_size " + std::to_string(h[5]) + ", seq_len " +
                       std::to_string(seq_len) + ")";
  // 2^20 bounds each size so the products below cannot overflow.
  for (int64_t v : {dim, hidden, L, heads, kv_heads, vocab, seq_len})
    if (v <= 0 || v > (1 << 20)) throw UsageError(path + ": implausible llama2.c header " + header);
  if (dim % heads != 0 || heads % kv_heads != 0 || (dim / heads) % 2 != 0)
    throw UsageError(path + ": inconsistent llama2.c header " + header +
                     ": needs dim divisible by n_heads, n_heads by n_kv_heads, and an even head_dim");
  const int64_t head_dim = dim / heads, kv_dim = kv_heads * head_dim;

  const int64_t floats = vocab * dim + L * dim + L * dim * dim + 2 * L * kv_dim * dim + L * dim * dim + L * dim +
                         3 * L * hidden * dim + dim + seq_len * head_dim + (shared ? 0 : vocab * dim);
  if (uint64_t(28 + 4 * floats) != file_size)
    throw UsageError(path + ": llama2.c header " + header + " implies " + std::to_string(28 + 4 * floats) +
                     " bytes but the file has " + std::to_string(file_size));
  std::vector<float> data(static_cast<size_t>(floats));
  f.read(reinterpret_cast<char*>(data.data()), std::streamsize(4 * floats));
  if (!f) throw UsageError(path + ": read failed");

  size_t at = 0;
  auto take = [&](std::vector<int64_t> shape) {
    torch::Tensor t = torch::empty(shape, torch::kFloat32);
    std::memcpy(t.data_ptr<float>(), data.data() + at, t.nbytes());
    at += size_t(t.numel());
    return t;
  };
  torch::Tensor embed = take({vocab, dim}), att_norm = take({L, dim}), wq = take({L, dim, dim}),
                wk = take({L, kv_dim, dim}), wv = take({L, kv_dim, dim}), wo = take({L, dim, dim}),
                ffn_norm = take({L, dim}), w1 = take({L, hidden, dim}), w2 = take({L, dim, hidden}),
                w3 = take({L, hidden, dim}), final_norm = take({dim});
  at += size_t(seq_len * head_dim);   // the two RoPE tables: recomputed at run time

  Llama2cModel m;
  ModelConfig& c = m.config;
  c.architecture = "LlamaForCausalLM";
  c.model_type = "llama";
  c.vocab_size = vocab;
  c.hidden_size = dim;
  c.intermediate_size = hidden;
  c.num_layers = L;
  c.num_heads = heads;
  c.num_kv_heads = kv_heads;
  c.head_dim = head_dim;
  c.max_position = seq_len;
  c.rms_norm_eps = 1e-5;
  c.rope.theta = 10000.0;
  c.tie_word_embeddings = shared;   // keep the sharing of the source
  c.bos_token_ids = {1};
  c.eos_token_ids = {2};
  c.torch_dtype = "float32";

  auto& t = m.tensors;
  t["model.embed_tokens.weight"] = embed;
  for (int64_t i = 0; i < L; ++i) {
    std::string p = "model.layers." + std::to_string(i) + ".";
    t[p + "input_layernorm.weight"] = att_norm[i].clone();
    t[p + "self_attn.q_proj.weight"] = interleaved_to_rotate_half(wq[i], heads);
    t[p + "self_attn.k_proj.weight"] = interleaved_to_rotate_half(wk[i], kv_heads);
    t[p + "self_attn.v_proj.weight"] = wv[i].clone();
    t[p + "self_attn.o_proj.weight"] = wo[i].clone();
    t[p + "post_attention_layernorm.weight"] = ffn_norm[i].clone();
    t[p + "mlp.gate_proj.weight"] = w1[i].clone();
    t[p + "mlp.down_proj.weight"] = w2[i].clone();
    t[p + "mlp.up_proj.weight"] = w3[i].clone();
  }
  t["model.norm.weight"] = final_norm;
  if (!shared) t["lm_head.weight"] = take({vocab, dim});
  return m;
}

void convert_llama2c(const std::string& path, const std::string& tokenizer_model, const std::string& out_dir) {
  if (!tokenizer_model.empty() && !fs::is_regular_file(tokenizer_model))
    throw UsageError(tokenizer_model + ": tokenizer model not found");
  Llama2cModel m = read_llama2c(path);
  // The tokenizer is checked before anything is written: read as qlab will
  // read it, and with the checkpoint's vocabulary size.
  if (!tokenizer_model.empty()) {
    SpModel sp = SpModel::read(tokenizer_model);
    sp.to_tokenizer_json(tokenizer_model);
    if (int64_t(sp.pieces.size()) != m.config.vocab_size)
      throw UsageError(tokenizer_model + ": not the tokenizer of " + path + ": it has " + std::to_string(sp.pieces.size()) +
                       " pieces, the checkpoint's vocabulary " + std::to_string(m.config.vocab_size));
  }
  save_checkpoint(out_dir, m.config, m.tensors);
  if (tokenizer_model.empty()) return;

  std::error_code ec;
  fs::copy_file(tokenizer_model, fs::path(out_dir) / "tokenizer.model", fs::copy_options::overwrite_existing, ec);
  if (ec) throw UsageError(tokenizer_model + ": cannot copy into " + out_dir + ": " + ec.message());
  // The copy keeps the source's mode; a read-only source must not make the next convert fail.
  fs::permissions(fs::path(out_dir) / "tokenizer.model", fs::perms::owner_write, fs::perm_options::add, ec);
  // A SentencePiece model as Hugging Face's LlamaTokenizer reads it; legacy
  // mode encodes exactly as sentencepiece does (dummy prefix, no special
  // handling of text after special tokens).
  nlohmann::json tc = {{"tokenizer_class", "LlamaTokenizer"},
                       {"add_bos_token", true},
                       {"add_eos_token", false},
                       {"bos_token", "<s>"},
                       {"eos_token", "</s>"},
                       {"unk_token", "<unk>"},
                       {"pad_token", nullptr},
                       {"legacy", true},
                       {"clean_up_tokenization_spaces", false},
                       {"sp_model_kwargs", nlohmann::json::object()},
                       {"model_max_length", m.config.max_position}};
  std::ofstream(fs::path(out_dir) / "tokenizer_config.json") << tc.dump(2) << "\n";
}

}  // namespace qlab
