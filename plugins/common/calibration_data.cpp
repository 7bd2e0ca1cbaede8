#include "plugins/common/calibration_data.h"

#include "core/error.h"
#include "datasets/calibration.h"

#include <map>

namespace qlab {

std::vector<ParamSpec> calibration_params(int64_t default_nsamples, int64_t default_seqlen) {
  return {
      {"dataset", ParamType::String, "", "data set (under `datasets:`) whose text is sampled for calibration", true},
      {"nsamples", ParamType::Int, std::to_string(default_nsamples), "calibration windows", false, 1, 1 << 20},
      {"seqlen", ParamType::Int, std::to_string(default_seqlen), "tokens per calibration window", false, 2, 1 << 20},
  };
}

void check_calibration(const Params& p, Workspace& ws) {
  // A study checks every run first; runs sharing a tokenizer and a corpus
  // share the (slow) tokenization, remembered as its token count.
  static std::map<std::string, int64_t> corpus_tokens;
  const std::string name = p.get_string("dataset");
  const Dataset& data = ws.dataset(name);
  const RunSpec& run = ws.run();
  std::string key = YAML::Dump(run.config()["model"]["path"]) + "|" + YAML::Dump(run.config()["data_root"]) + "|" + name;
  auto spec = ws.steps().datasets.find(name);
  if (spec != ws.steps().datasets.end()) key += "|" + spec->second.plugin + "|" + YAML::Dump(spec->second.params.node());
  auto it = corpus_tokens.find(key);
  if (it == corpus_tokens.end())
    it = corpus_tokens.emplace(key, static_cast<int64_t>(ws.tokenizer().encode(data.text, /*add_special=*/true).size())).first;
  const int64_t n = p.get_int("nsamples"), seqlen = p.get_int("seqlen");
  check_windows_fit(it->second, static_cast<int>(n), static_cast<int>(seqlen), data.source);
  // More window tokens than the corpus holds: the windows would only repeat it
  // (and a huge nsamples would fail late, allocating their activations).
  if (n * seqlen > it->second)
    throw UsageError(data.source + ": nsamples x seqlen = " + std::to_string(n) + " x " + std::to_string(seqlen) + " = " +
                     std::to_string(n * seqlen) + " tokens, more than the corpus's " + std::to_string(it->second) +
                     " (the windows would repeat it); lower nsamples or seqlen");
}

torch::Tensor calibration_windows(Workspace& ws, const Params& p) {
  const Dataset& data = ws.dataset(p.get_string("dataset"));
  std::vector<int64_t> ids = ws.tokenizer().encode(data.text, /*add_special=*/true);
  const int64_t seqlen = p.get_int("seqlen");
  std::vector<int64_t> starts = sample_windows(ids, static_cast<int>(p.get_int("nsamples")), static_cast<int>(seqlen),
                                               ws.seed(), data.source);
  auto all = torch::from_blob(ids.data(), {static_cast<int64_t>(ids.size())}, torch::kInt64);
  std::vector<torch::Tensor> rows;
  for (int64_t s : starts) rows.push_back(all.narrow(0, s, seqlen));
  return torch::stack(rows).clone();
}

}  // namespace qlab
