// The zero-shot suite of the rotation papers: every task of a `zeroshot` (or
// single-task) data set scored as lm-evaluation-harness 0.4 scores it, with
// the papers' average.
//
// Per task (the label of its examples): acc and, where the task defines it,
// acc_norm (evaluation/common/loglikelihood.h); LAMBADA: acc = the last
// word's tokens are all greedy predictions, perplexity = exp(-mean of its
// log-likelihood). `average` is the mean over the tasks present of acc_norm
// where the task defines it, else acc (QuaRot's evaluation script), or of acc
// everywhere.
#include <cmath>
#include <map>

#include "core/engine/workspace.h"
#include "core/error.h"
#include "core/registry.h"
#include "datasets/zeroshot.h"
#include "evaluation/common/loglikelihood.h"

namespace qlab {
namespace {

class ZeroShot : public Evaluator {
 public:
  explicit ZeroShot(const Params& p)
      : dataset_(p.get_string("dataset")), average_(p.get_string("average")), batch_(p.get_int("batch_size")),
        bos_(p.get_bool("bos")) {}

  void evaluate(Workspace& ws, RunOutput& out) override {
    const Dataset& data = ws.dataset(dataset_);
    if (data.examples.empty()) throw UsageError(data.source + ": data set '" + dataset_ + "' has no examples");
    // Examples by task, in the table's order; the requests of all of them in one list.
    std::map<std::string, std::vector<const Example*>> by_task;
    for (size_t i = 0; i < data.examples.size(); ++i) {
      const Example& e = data.examples[i];
      if (!find_zeroshot_task(e.label))
        throw UsageError(data.source + ": data set '" + dataset_ + "' is not a zero-shot task set (example " +
                         std::to_string(i + 1) + " has label '" + e.label + "'; use the zeroshot or a task reader)");
      by_task[e.label].push_back(&e);
    }
    std::vector<LoglikRequest> requests;
    for (const auto& t : zeroshot_tasks())
      for (const Example* e : by_task[t.name]) {
        if (t.lambada) {
          requests.push_back({e->prompt, " " + e->reference});
        } else {
          auto rs = lm_eval_choice_requests(*e);
          requests.insert(requests.end(), rs.begin(), rs.end());
        }
      }
    auto scores = score_loglikelihood(ws.model(), ws.tokenizer(), requests, bos_, batch_, "zeroshot " + dataset_);

    size_t next = 0;
    double sum = 0;
    std::vector<std::string> tasks;
    for (const auto& t : zeroshot_tasks()) {
      const auto& items = by_task[t.name];
      if (items.empty()) continue;
      std::vector<int64_t> correct, correct_norm;
      std::vector<double> logprobs;
      double ll_sum = 0;
      for (const Example* e : items) {
        if (t.lambada) {
          correct.push_back(scores[next].greedy);
          logprobs.push_back(scores[next].logprob);
          ll_sum += scores[next++].logprob;
          continue;
        }
        std::vector<double> s;
        for (size_t c = 0; c < e->choices.size(); ++c) s.push_back(scores[next++].logprob);
        logprobs.insert(logprobs.end(), s.begin(), s.end());
        correct.push_back(argmax_choice(s) == e->answer);
        if (t.acc_norm) correct_norm.push_back(argmax_choice_norm(s, e->choices) == e->answer);
      }
      auto mean = [](const std::vector<int64_t>& v) {
        double s = 0;
        for (int64_t x : v) s += double(x);
        return s / double(v.size());
      };
      const std::string& k = t.name;
      out.metrics[k + ".acc"] = mean(correct);
      out.metrics[k + ".n"] = double(items.size());
      out.arrays[k + ".correct"] = correct;
      out.arrays[k + ".logprobs"] = logprobs;   // per choice, items in order (LAMBADA: per item)
      if (t.acc_norm) {
        out.metrics[k + ".acc_norm"] = mean(correct_norm);
        out.arrays[k + ".correct_norm"] = correct_norm;
      }
      if (t.lambada) out.metrics[k + ".perplexity"] = std::exp(-ll_sum / double(items.size()));
      sum += average_ == "paper" && t.acc_norm ? mean(correct_norm) : mean(correct);
      tasks.push_back(k);
    }
    out.metrics["average"] = sum / double(tasks.size());
    out.metrics["tasks"] = double(tasks.size());
    out.arrays["tasks"] = tasks;
  }

 private:
  std::string dataset_, average_;
  int64_t batch_;
  bool bos_;
};

QLAB_REGISTER(EvaluatorInfo{
    "zeroshot",
    "lm-eval zero-shot tasks (PIQA, ARC, HellaSwag, WinoGrande, BoolQ, OBQA, SIQA, LAMBADA): acc, acc_norm, average",
    {
        {"dataset", ParamType::String, "", "name of a `zeroshot` (or single-task) data set under `datasets:`", true},
        {"average", ParamType::String, "paper",
         "paper: acc_norm where the task defines it, else acc (QuaRot's script); acc: acc everywhere", false, {}, {},
         {"paper", "acc"}},
        {"batch_size", ParamType::Int, "8", "continuations per forward pass (right-padded)", false, 1, 4096},
        {"bos", ParamType::Bool, "false", "prepend BOS (lm-eval's HF model adds none)"},
    },
    [](const Params& p) { return std::make_unique<ZeroShot>(p); }});

}  // namespace
}  // namespace qlab
