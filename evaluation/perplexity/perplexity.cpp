// Perplexity, the papers' protocol (QuaRot, SpinQuant, GPTQ): tokenize the
// whole corpus once, cut it into non-overlapping windows of `seqlen` tokens
// (the last partial window dropped), average the next-token NLL over every
// predicted token of every window, ppl = exp(mean).
#include <spdlog/spdlog.h>

#include <chrono>
#include <cmath>

#include "core/engine/workspace.h"
#include "core/error.h"
#include "core/model/generate.h"
#include "core/progress.h"
#include "core/registry.h"

namespace qlab {
namespace {

// A window longer than the model's context: refused (before any run, and here).
void check_window(const Params& p, Workspace& ws) {
  check_context(ws, p, p.get_int("seqlen"), "'seqlen' " + std::to_string(p.get_int("seqlen")));
}

class Perplexity : public Evaluator {
 public:
  explicit Perplexity(const Params& p)
      : params_(p), dataset_(p.get_string("dataset")), seqlen_(p.get_int("seqlen")),
        max_windows_(p.get_int("max_windows")), batch_(p.get_int("batch_size")) {}

  void evaluate(Workspace& ws, RunOutput& out) override {
    check_window(params_, ws);
    const Dataset& data = ws.dataset(dataset_);
    if (data.text.empty()) throw UsageError(data.source + ": data set '" + dataset_ + "' has no text for perplexity");
    // One BOS at the start of the corpus, as the reference code's single
    // tokenizer call does.
    std::vector<int64_t> ids = ws.tokenizer().encode(data.text, /*add_special=*/true);
    int64_t windows = static_cast<int64_t>(ids.size()) / seqlen_;
    if (max_windows_ > 0) windows = std::min(windows, max_windows_);
    if (windows == 0)
      throw UsageError(data.source + ": " + std::to_string(ids.size()) + " tokens, fewer than one window of " +
                       std::to_string(seqlen_));
    Model& model = ws.model();
    auto all = torch::from_blob(ids.data(), {static_cast<int64_t>(ids.size())}, torch::kInt64);
    std::vector<double> window_nll;
    auto t0 = std::chrono::steady_clock::now();
    torch::NoGradGuard no_grad;
    for (int64_t w0 = 0; w0 < windows; w0 += batch_) {
      int64_t nb = std::min(batch_, windows - w0);
      auto batch = all.narrow(0, w0 * seqlen_, nb * seqlen_).view({nb, seqlen_}).to(model.device);
      auto nll = -next_token_logprobs(model, batch).mean(1).cpu();   // [nb]
      for (int64_t i = 0; i < nb; ++i) window_nll.push_back(nll[i].item<double>());
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      int64_t done = w0 + nb;
      spdlog::info("perplexity {}: window {}/{} | {:.0f} tokens/s | ETA {}", dataset_, done, windows,
                   done * seqlen_ / std::max(secs, 1e-9), format_duration(secs / done * (windows - done)));
    }
    double mean = 0;
    for (double v : window_nll) mean += v;
    mean /= static_cast<double>(window_nll.size());
    out.metrics["ppl"] = std::exp(mean);
    out.metrics["nll"] = mean;
    out.metrics["windows"] = static_cast<double>(windows);
    out.metrics["tokens"] = static_cast<double>(windows * (seqlen_ - 1));
    out.metrics["seqlen"] = static_cast<double>(seqlen_);
    out.arrays["window_nll"] = window_nll;
  }

 private:
  Params params_;
  std::string dataset_;
  int64_t seqlen_, max_windows_, batch_;
};

QLAB_REGISTER(EvaluatorInfo{
    "perplexity",
    "next-token perplexity over non-overlapping windows of a text corpus (papers' protocol)",
    {
        {"dataset", ParamType::String, "", "name of a data set under `datasets:` with a text corpus", true},
        {"seqlen", ParamType::Int, "2048", "window length in tokens", false, 2, 1 << 20},
        {"max_windows", ParamType::Int, "0", "evaluate at most this many windows (0: all)", false, 0, {}},
        {"batch_size", ParamType::Int, "1", "windows per forward pass", false, 1, 1024},
        allow_past_context_param(),
    },
    [](const Params& p) { return std::make_unique<Perplexity>(p); }, check_window});

}  // namespace
}  // namespace qlab
