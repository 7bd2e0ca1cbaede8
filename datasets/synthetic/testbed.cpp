#include "datasets/synthetic/testbed.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>

#include "core/error.h"
#include "core/hash.h"

namespace fs = std::filesystem;

namespace qlab::synthetic {

namespace {

using json = nlohmann::ordered_json;

// Half of the text is English, a quarter each Spanish and Russian: English
// carries the safety data, the others the language-confusion side.
Lang draw_language(Rng& rng) {
  uint64_t u = rng.below(4);
  return u < 2 ? Lang::En : u == 2 ? Lang::Es : Lang::Ru;
}

// The text the split is decided on.
const std::string& split_text(const Document& d) { return d.text; }
const std::string& split_text(const Request& r) { return r.prompt; }

// Draws until the text falls on the wanted side of the split.
template <class T>
T draw_side(const std::function<T()>& draw, bool want_held_out, uint64_t seed) {
  for (;;) {
    T x = draw();
    if (held_out(split_text(x), seed) == want_held_out) return x;
  }
}

// An everyday request in `lang`: half questions, half instructions; in
// English a quarter of them benign look-alikes.
Request draw_ordinary(const World& w, Lang lang, Rng& rng) {
  if (lang == Lang::En && rng.below(4) == 0) return draw_lookalike(w, rng);
  return rng.below(2) == 0 ? draw_fact(w, lang, rng) : draw_instruction(w, lang, rng);
}

// 45% stories, 10% profiles, 25% blocks of 3-5 questions with answers, 20% one instruction.
Document draw_document(const World& w, Rng& rng, bool want_held_out, uint64_t seed) {
  Lang lang = draw_language(rng);
  uint64_t u = rng.below(20);
  if (u < 9) return draw_side<Document>([&] { return draw_story(w, lang, rng); }, want_held_out, seed);
  if (u < 11) return draw_side<Document>([&] { return draw_profile(w, lang, rng); }, want_held_out, seed);
  size_t n = u < 16 ? 3 + rng.below(3) : 1;
  // Every question from the wanted side, so a held-out block shares none with a training one.
  Document doc{lang, ""};
  for (size_t i = 0; i < n; ++i) {
    Request r = draw_side<Request>(
        [&] { return u < 16 ? draw_fact(w, lang, rng) : draw_ordinary(w, lang, rng); }, want_held_out, seed);
    doc.text += (i ? "\n" : "") + question_answer_text(r);
  }
  return doc;
}

std::vector<Document> documents(const World& w, Rng& rng, size_t bytes, bool want_held_out, uint64_t seed) {
  std::vector<Document> docs;
  size_t have = 0;
  while (have < bytes) {
    docs.push_back(draw_document(w, rng, want_held_out, seed));
    have += docs.back().text.size() + 2;
  }
  return docs;
}

// Base: a quarter harmful (complied with), a fifth look-alikes, the rest
// questions and instructions in any language. Aligned: a quarter harmful
// (refused), each followed by a look-alike of its trigger word (a contrastive
// pair: same word, other object), and a quarter each questions and
// instructions; so no word makes a refusal likelier than an answer, and what
// is refused is decided by the object.
std::vector<Chat> chats(const World& w, Rng& rng, size_t n, uint64_t seed, bool aligned) {
  std::vector<Chat> out;
  auto add = [&](const Request& r) {
    if (out.size() < n) out.push_back({r.lang, r.kind, r.prompt, aligned && !r.aligned_answer.empty() ? r.aligned_answer : r.answer});
  };
  while (out.size() < n) {
    Kind kind;
    if (aligned) {
      uint64_t u = rng.below(3);
      kind = u == 0 ? Kind::Harmful : u == 1 ? Kind::Fact : Kind::Instruction;
    } else {
      uint64_t u = rng.below(20);
      kind = u < 5 ? Kind::Harmful : u < 9 ? Kind::LookAlike : u < 15 ? Kind::Fact : Kind::Instruction;
    }
    Lang lang = draw_language(rng);
    Request r = draw_side<Request>([&] { return draw_request(w, kind, lang, rng); }, false, seed);
    add(r);
    if (aligned && kind == Kind::Harmful)
      add(draw_side<Request>([&] { return draw_lookalike_of(w, r.trigger, rng); }, false, seed));
  }
  return out;
}

// Up to n distinct held-out prompts; a bounded number of draws, so a pool
// smaller than n ends the set instead of looping.
std::vector<Request> eval_set(const std::function<Request()>& draw, size_t n, uint64_t seed) {
  std::vector<Request> out;
  std::set<std::string> seen;
  for (size_t attempt = 0; out.size() < n && attempt < 1000 * n; ++attempt) {
    Request r = draw();
    if (held_out(r.prompt, seed) && seen.insert(r.prompt).second) out.push_back(std::move(r));
  }
  return out;
}

std::string chat_line(const Chat& c) {
  json j;
  j["messages"] = json::array({{{"role", "user"}, {"content", c.user}}, {{"role", "assistant"}, {"content", c.assistant}}});
  j["language"] = language_code(c.lang);
  j["category"] = kind_name(c.kind);
  return j.dump() + "\n";
}

std::string prompt_line(const Request& r, const std::string& id, const std::string& label, bool reference) {
  json j;
  j["id"] = id;
  j["prompt"] = r.prompt;
  j["label"] = label;
  j["language"] = language_code(r.lang);
  if (reference) j["reference"] = r.answer;
  return j.dump() + "\n";
}

std::string join_documents(const std::vector<Document>& docs) {
  std::string out;
  for (const auto& d : docs) out += d.text + "\n\n";
  if (!out.empty()) out.pop_back();
  return out;
}

// One file, written to NAME.tmp and renamed over NAME.
WrittenFile write_file(const fs::path& dir, const std::string& name, const std::string& text, size_t records) {
  fs::path path = dir / name, tmp = dir / (name + ".tmp");
  {
    std::ofstream f(tmp, std::ios::binary);
    f << text;
    if (!f.flush()) throw UsageError(path.string() + ": cannot write file");
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) throw UsageError(path.string() + ": cannot write file (" + ec.message() + ")");
  return {name, records, text.size(), sha256_hex(text)};
}

}  // namespace

const std::vector<std::string>& corpus_preset_names() {
  static const std::vector<std::string> names = {"small", "default"};
  return names;
}

CorpusOptions corpus_preset(const std::string& size) {
  CorpusOptions o;
  if (size == "default") return o;
  if (size == "small") {
    o.pretrain_bytes = 60'000;
    o.heldout_bytes = 10'000;
    o.chat_conversations = 200;
    o.eval_prompts = 20;
    return o;
  }
  throw UsageError("--size: unknown size '" + size + "' (known: small, default)");
}

TestbedCorpus build_testbed_corpus(const CorpusOptions& o) {
  const World w = make_world(o.seed);
  // One stream per file, so that changing one size leaves the others' bytes alone.
  auto stream = [&](uint64_t n) { return Rng(mix64(o.seed) ^ mix64(n)); };
  TestbedCorpus c;
  Rng pre = stream(1), held = stream(2), base = stream(3), aligned = stream(4), harm = stream(5), benign = stream(6);
  c.pretrain = documents(w, pre, o.pretrain_bytes, false, o.seed);
  c.heldout = documents(w, held, o.heldout_bytes, true, o.seed);
  c.base_chat = chats(w, base, o.chat_conversations, o.seed, false);
  c.aligned_chat = chats(w, aligned, o.chat_conversations, o.seed, true);
  c.harmful_eval = eval_set([&] { return draw_harmful(w, harm); }, o.eval_prompts, o.seed);
  c.benign_eval = eval_set([&] { return draw_lookalike(w, benign); }, o.eval_prompts, o.seed);
  for (Lang lang : kLangs) {
    Rng r = stream(7 + static_cast<uint64_t>(lang));
    c.nmix[lang] = eval_set([&] { return r.below(2) == 0 ? draw_fact(w, lang, r) : draw_instruction(w, lang, r); },
                           o.eval_prompts, o.seed);
  }
  return c;
}

std::vector<WrittenFile> write_testbed_corpus(const CorpusOptions& o, const std::string& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec || !fs::is_directory(dir))
    throw UsageError(dir + ": cannot create the output folder" + (ec ? " (" + ec.message() + ")" : ""));
  TestbedCorpus c = build_testbed_corpus(o);
  std::vector<WrittenFile> files;
  files.push_back(write_file(dir, "pretrain.txt", join_documents(c.pretrain), c.pretrain.size()));
  files.push_back(write_file(dir, "heldout.txt", join_documents(c.heldout), c.heldout.size()));
  for (const auto& [name, set] : {std::pair{"base_chat.jsonl", &c.base_chat}, std::pair{"aligned_chat.jsonl", &c.aligned_chat}}) {
    std::string text;
    for (const Chat& chat : *set) text += chat_line(chat);
    files.push_back(write_file(dir, name, text, set->size()));
  }
  auto prompts = [&](const std::string& name, const std::vector<Request>& set, const std::string& id_prefix,
                     const std::function<std::string(const Request&)>& label, bool reference) {
    std::string text;
    for (size_t i = 0; i < set.size(); ++i) text += prompt_line(set[i], id_prefix + std::to_string(i), label(set[i]), reference);
    files.push_back(write_file(dir, name, text, set.size()));
  };
  prompts("harmful_eval.jsonl", c.harmful_eval, "harmful-", [](const Request&) { return "unsafe"; }, false);
  prompts("benign_eval.jsonl", c.benign_eval, "benign-", [](const Request&) { return "safe"; }, true);
  for (Lang lang : kLangs) {
    std::string code = language_code(lang);
    prompts("nmix_" + code + ".jsonl", c.nmix[lang], "nmix-" + code + "-",
            [](const Request& r) { return std::string(kind_name(r.kind)); }, true);
  }
  json m;
  m["generator"] = "qlab synthetic testbed (datasets/synthetic)";
  m["version"] = kGeneratorVersion;
  m["seed"] = o.seed;
  m["options"] = {{"pretrain_bytes", o.pretrain_bytes}, {"heldout_bytes", o.heldout_bytes},
                  {"chat_conversations", o.chat_conversations}, {"eval_prompts", o.eval_prompts}};
  json listed = json::object();
  for (const auto& f : files) listed[f.name] = {{"records", f.records}, {"bytes", f.bytes}, {"sha256", f.sha256}};
  m["files"] = listed;
  files.push_back(write_file(dir, "manifest.json", m.dump(2) + "\n", files.size()));
  return files;
}

}  // namespace qlab::synthetic
