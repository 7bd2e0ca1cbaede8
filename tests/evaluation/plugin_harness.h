// Test harness for evaluator plugins: runs them the way a study does (YAML ->
// load_study -> Workspace -> registry), on the tiny llama2 checkpoint of
// tests/fixtures/golden, and builds "scripted" checkpoints whose greedy output
// is known in advance.
#pragma once
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "core/engine/workspace.h"
#include "core/model/checkpoint.h"
#include "core/registry.h"
#include "core/study.h"
#include "test_util.h"

namespace qlab::test {

inline std::string llama2_fixture() { return fixtures() + "/golden/llama2"; }

// One study (YAML text) expanded to its single run, with a workspace on it.
class PluginRun {
 public:
  explicit PluginRun(const std::string& study_yaml) {
    std::string dir = temp_dir("plugin_run");
    write_file(dir + "/study.yaml", "name: t\noutput: " + dir + "/out.h5\n" + study_yaml);
    study_ = load_study(dir + "/study.yaml");
    ws_ = std::make_unique<Workspace>(study_.runs.at(0));
  }
  Workspace& ws() { return *ws_; }
  // Creates evaluator i from its validated parameters and runs it.
  RunOutput evaluate(size_t i = 0) {
    const Step& s = ws_->steps().evaluators.at(i);
    RunOutput out;
    Registry::instance().evaluator(s.plugin).create(s.params)->evaluate(*ws_, out);
    return out;
  }

 private:
  Study study_;
  std::unique_ptr<Workspace> ws_;
};

template <class T>
const std::vector<T>& array(const RunOutput& out, const std::string& key) {
  auto it = out.arrays.find(key);
  if (it == out.arrays.end()) throw std::runtime_error("no array " + key);
  return std::get<std::vector<T>>(it->second);
}

// A model whose greedy continuation depends on the last token only: after a
// token in `triggers` it writes script `a`, after any other token (not in a
// script) script `b`, then EOS. How: o_proj and down_proj are zeroed, so
// every layer adds nothing and the final hidden state is the last token's
// embedding; embeddings are one-hot (x8, so that RMSNorm leaves them as they
// are): dimension 0 for ordinary tokens, 1 for triggers, 2.. one per script
// token; lm_head row s has a 1 in the dimension of every token whose successor
// is s, so the successor's logit is 8 and every other logit 0.
// Scripts are token ids, each id at most once in all scripts (the last token
// is the whole state); script(tok, text) is the usual spelling.
inline Model scripted_model(const Tokenizer& tok, const std::vector<int64_t>& triggers, const std::vector<int64_t>& a,
                            const std::vector<int64_t>& b) {
  Model m = Model::load(llama2_fixture(), torch::kCPU, torch::kFloat32);
  const int64_t V = m.config.vocab_size, H = m.config.hidden_size;
  const int64_t eos = tok.eos_ids().at(0);
  std::map<int64_t, int64_t> dim_of;       // script token -> its dimension
  std::map<int64_t, int64_t> successor;    // dimension -> next token
  successor[0] = b.at(0);
  successor[1] = a.at(0);
  for (const auto* script : {&a, &b}) {
    for (size_t i = 0; i < script->size(); ++i) {
      int64_t t = (*script)[i];
      EXPECT_TRUE(dim_of.emplace(t, 2 + dim_of.size()).second) << "token " << t << " twice in the scripts";
      successor[dim_of[t]] = i + 1 < script->size() ? (*script)[i + 1] : eos;
    }
  }
  EXPECT_TRUE(dim_of.emplace(eos, 2 + dim_of.size()).second) << "EOS inside a script";
  successor[dim_of[eos]] = eos;
  EXPECT_LT(int64_t(dim_of.size()) + 2, H);
  torch::NoGradGuard no_grad;
  auto embed = torch::zeros({V, H});
  embed.select(1, 0).fill_(8.0);
  for (int64_t t : triggers) {
    EXPECT_FALSE(dim_of.count(t)) << "trigger " << t << " is a script token";
    embed[t].zero_(), embed[t][1] = 8.0;
  }
  for (auto [t, d] : dim_of) embed[t].zero_(), embed[t][d] = 8.0;
  auto head = torch::zeros({V, H});
  for (auto [d, s] : successor) head[s][d] = 1.0;
  m.embed.weight = embed;
  m.lm_head.weight = head;
  m.final_norm = torch::ones({H});
  for (Layer& l : m.layers) l.o.weight.zero_(), l.down.weight.zero_();
  return m;
}

inline std::vector<int64_t> script(const Tokenizer& tok, const std::string& text) { return tok.encode(text, false); }

// Id of a piece of the llama2 fixture's vocabulary, e.g. "<0x61>" (byte
// fallback: spells "a" with a token other than the piece "a").
inline int64_t llama2_piece(const std::string& piece) {
  auto vocab = nlohmann::json::parse(read_file(llama2_fixture() + "/tokenizer.json"))["model"]["vocab"];
  return vocab.at(piece).get<int64_t>();
}

// Writes a model as a checkpoint with the llama2 fixture's tokenizer; returns the folder.
inline std::string save_with_llama2_tokenizer(const Model& m, const std::string& tag) {
  std::string dir = temp_dir(tag);
  save_checkpoint(dir, m.config, m.checkpoint_tensors(), llama2_fixture());
  return dir;
}

}  // namespace qlab::test
