#include "plugins/common/calibration_data.h"

#include "datasets/calibration.h"

namespace qlab {

std::vector<ParamSpec> calibration_params(int64_t default_nsamples, int64_t default_seqlen) {
  return {
      {"dataset", ParamType::String, "", "data set (under `datasets:`) whose text is sampled for calibration", true},
      {"nsamples", ParamType::Int, std::to_string(default_nsamples), "calibration windows", false, 1, 1 << 20},
      {"seqlen", ParamType::Int, std::to_string(default_seqlen), "tokens per calibration window", false, 2, 1 << 20},
  };
}

torch::Tensor calibration_windows(Workspace& ws, const Params& p) {
  const Dataset& data = ws.dataset(p.get_string("dataset"));
  std::vector<int64_t> ids = ws.tokenizer().encode(data.text, /*add_special=*/true);
  const int n = static_cast<int>(p.get_int("nsamples"));
  const int seqlen = static_cast<int>(p.get_int("seqlen"));
  std::vector<int64_t> starts = sample_windows(ids, n, seqlen, ws.seed(), data.source);
  auto all = torch::from_blob(ids.data(), {static_cast<int64_t>(ids.size())}, torch::kInt64);
  std::vector<torch::Tensor> rows;
  for (int64_t s : starts) rows.push_back(all.narrow(0, s, seqlen));
  return torch::stack(rows).clone();
}

}  // namespace qlab
