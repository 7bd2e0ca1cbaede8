#include "stories.h"

#include <gtest/gtest.h>

#include "core/model/checkpoint.h"
#include "core/model/model.h"
#include "test_util.h"

namespace qlab::test {

const std::string& stories_model() {
  static const std::string dir = [] {
    std::string d = temp_dir("stories") + "/stories260K-hf", data = shared_data() + "/stories260K";
    auto r = run_qlab({"convert", "--from", "llama2c", data + "/stories260K.bin", "--tokenizer", data + "/tok512.model",
                       "--out", d});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return d;
  }();
  return dir;
}

const std::string& perturbed_stories_base() {
  static const std::string dir = [] {
    const std::string d = temp_dir("stories_base") + "/base";
    Model m = Model::load(stories_model(), torch::kCPU, torch::kFloat32);
    torch::manual_seed(4);
    torch::NoGradGuard no_grad;
    for (auto& [name, lin] : m.all_linears())
      if (name != "embed" && name != "lm_head") lin->weight.add_(0.3 * lin->weight.std() * torch::randn_like(lin->weight));
    save_checkpoint(d, m.config, m.checkpoint_tensors(), stories_model());
    return d;
  }();
  return dir;
}

// The calibration reads the same story text the perplexity is measured on:
// the only text of this model's domain here.
std::string write_study(const std::string& dir, const std::vector<std::string>& pipelines, const std::string& extra) {
  std::string text = "name: sq\noutput: " + dir + "/sq.h5\nmodel: {path: " + stories_model() + "}\n" + extra +
                     "datasets:\n  stories: {text: {path: " + source_dir() +
                     "/experiments/data/stories_eval.txt}}\nmethod: []\nevaluators:\n"
                     "  - perplexity: {dataset: stories, seqlen: 512}\nsweep:\n  grid:\n    method:\n";
  for (const auto& p : pipelines) text += "      - " + p + "\n";
  write_file(dir + "/sq.yaml", text);
  return dir + "/sq.yaml";
}

}  // namespace qlab::test
