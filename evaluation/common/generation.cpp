#include "evaluation/common/generation.h"

#include <spdlog/spdlog.h>
#include "core/tensor.h"

#include <algorithm>
#include <chrono>
#include <numeric>

#include "core/engine/workspace.h"
#include "core/error.h"
#include "core/model/chat_template.h"
#include "core/model/generate.h"
#include "core/model/model.h"
#include "core/model/tokenizer.h"
#include "core/progress.h"

namespace qlab {

namespace {
// The tokenizer's spelling of a special token, "" when it has none (the chat
// format then falls back to its usual string).
std::string special_text(const Tokenizer& tok, int64_t id) {
  return id >= 0 ? tok.decode({id}, /*skip_special=*/false) : "";
}
}  // namespace

std::vector<int64_t> encode_chat_prompt(const Tokenizer& tok, const GenerationOptions& o, const std::string& user) {
  std::vector<Message> messages;
  if (!o.system_prompt.empty()) messages.push_back({"system", o.system_prompt});
  messages.push_back({"user", user});
  auto eos = tok.eos_ids();
  std::string text = render_chat(o.chat_template, messages, /*add_generation_prompt=*/true,
                                 special_text(tok, tok.bos_id()), special_text(tok, eos.empty() ? -1 : eos[0]));
  std::vector<int64_t> ids = tok.encode(text, /*add_special=*/false);
  // "none" renders no BOS, but the model was trained with one in front.
  if (o.chat_template == "none" && tok.bos_id() >= 0 && (ids.empty() || ids[0] != tok.bos_id()))
    ids.insert(ids.begin(), tok.bos_id());
  return ids;
}

std::string cut_at_stop(const std::string& text, const std::vector<std::string>& stop) {
  size_t cut = text.size();
  for (const auto& s : stop)
    if (!s.empty()) cut = std::min(cut, text.find(s));
  return text.substr(0, cut);
}

std::vector<std::string> generate_responses(Model& model, const Tokenizer& tok, const std::vector<std::string>& prompts,
                                            const GenerationOptions& o, const std::string& tag) {
  const size_t n = prompts.size();
  std::vector<std::vector<int64_t>> ids(n);
  for (size_t i = 0; i < n; ++i) {
    ids[i] = encode_chat_prompt(tok, o, prompts[i]);
    if (ids[i].empty()) throw UsageError(tag + ": prompt " + std::to_string(i) + " encodes to no tokens");
  }
  // Longest first: rows of one batch have similar lengths, so little padding,
  // and the first batch shows the worst-case memory at once.
  std::vector<size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ids[a].size() > ids[b].size(); });

  GenerateOptions g;
  g.max_new_tokens = o.max_new_tokens;
  g.greedy = o.greedy;
  g.temperature = o.temperature;
  g.top_p = o.top_p;
  g.stop_ids = tok.eos_ids();
  g.pad_id = tok.pad_id() >= 0 ? tok.pad_id() : 0;

  std::vector<std::string> out(n);
  int64_t new_tokens = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (size_t b0 = 0, batch = 0; b0 < n; b0 += o.batch_size, ++batch) {
    size_t b1 = std::min(n, b0 + size_t(o.batch_size));
    std::vector<std::vector<int64_t>> rows;
    for (size_t k = b0; k < b1; ++k) rows.push_back(ids[order[k]]);
    g.seed = o.seed + batch;
    auto gen = generate(model, rows, g);
    for (size_t k = b0; k < b1; ++k) {
      new_tokens += gen[k - b0].size();
      out[order[k]] = cut_at_stop(tok.decode(gen[k - b0], /*skip_special=*/true), o.stop);
    }
    double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    spdlog::info("{}: generated {}/{} | {:.0f} tokens/s | ETA {}", tag, b1, n, new_tokens / std::max(secs, 1e-9),
                 format_duration(secs / b1 * (n - b1)));
  }
  return out;
}

std::vector<Example> prompt_examples(const Dataset& data, const std::string& name, int64_t limit) {
  if (data.examples.empty())
    throw UsageError(data.source + ": data set '" + name + "' (" + data.name + ") has no prompts");
  size_t n = limit > 0 ? std::min(data.examples.size(), size_t(limit)) : data.examples.size();
  for (size_t i = 0; i < n; ++i)
    if (data.examples[i].prompt.empty())
      throw UsageError(data.source + ": data set '" + name + "' example " + std::to_string(i + 1) +
                       (data.examples[i].id.empty() ? "" : " (id " + data.examples[i].id + ")") + " has an empty prompt");
  return {data.examples.begin(), data.examples.begin() + n};
}

std::vector<ParamSpec> generation_params(int64_t default_max_new_tokens) {
  return {
      {"max_new_tokens", ParamType::Int, std::to_string(default_max_new_tokens),
       "tokens generated per prompt at most (recorded as a metric)", false, 1, 1 << 16},
      {"batch_size", ParamType::Int, "8", "prompts generated together (left-padded)", false, 1, 4096},
      {"greedy", ParamType::Bool, "true", "greedy decoding; false: sample with temperature and top_p"},
      {"temperature", ParamType::Float, "1.0", "sampling temperature (greedy: false)", false, 1e-3, 100},
      {"top_p", ParamType::Float, "1.0", "nucleus sampling mass (greedy: false)", false, 1e-6, 1},
      {"system_prompt", ParamType::String, "''", "system message before each prompt (\"\": none)"},
      {"stop", ParamType::StringList, "[]", "responses are cut before the first of these strings"},
      allow_past_context_param(),
  };
}

void check_generation_context(const Params& p, Workspace& ws) {
  GenerationOptions o = generation_options(p);
  o.chat_template = ws.chat_template();
  const std::string name = p.get_string("dataset");
  size_t longest = 0;
  for (const Example& e : prompt_examples(ws.dataset(name), name, p.get_int("limit")))
    longest = std::max(longest, encode_chat_prompt(ws.tokenizer(), o, e.prompt).size());
  check_context(ws, p, static_cast<int64_t>(longest) + o.max_new_tokens,
                "the longest prompt of '" + name + "' (" + std::to_string(longest) + " tokens) plus max_new_tokens " +
                    std::to_string(o.max_new_tokens));
}

GenerationOptions generation_options(const Params& p) {
  GenerationOptions o;
  o.max_new_tokens = p.get_int("max_new_tokens");
  o.batch_size = p.get_int("batch_size");
  o.greedy = p.get_bool("greedy");
  o.temperature = p.get_float("temperature");
  o.top_p = p.get_float("top_p");
  o.system_prompt = p.get_string("system_prompt");
  o.stop = p.get_string_list("stop");
  return o;
}

}  // namespace qlab
