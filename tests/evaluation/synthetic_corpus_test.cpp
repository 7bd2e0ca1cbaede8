// The testbed's synthetic corpus (datasets/synthetic/, docs/testbed.md): same
// seed same bytes; every language's documents identified as that language;
// qlab's readers take every file; evaluation prompts absent from the training
// files; refusals recognised by the GCG keyword judge and helpful answers not;
// look-alikes sharing a trigger word with harmful prompts, and paired with
// each harmful request in the aligned file.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>

#include "core/error.h"
#include "core/hash.h"
#include "datasets/json_util.h"
#include "datasets/readers.h"
#include "datasets/synthetic/testbed.h"
#include "evaluation/common/langid.h"
#include "evaluation/common/refusal_judge.h"
#include "test_util.h"

namespace qlab {
namespace {

namespace fs = std::filesystem;
using namespace synthetic;

const std::vector<std::string> kFiles = {"pretrain.txt",       "heldout.txt",       "base_chat.jsonl",
                                         "aligned_chat.jsonl", "harmful_eval.jsonl", "benign_eval.jsonl",
                                         "nmix_en.jsonl",      "nmix_es.jsonl",     "nmix_ru.jsonl",
                                         "manifest.json"};

CorpusOptions small(uint64_t seed) {
  CorpusOptions o = corpus_preset("small");
  o.seed = seed;
  return o;
}

// Documents of a .txt file: separated by blank lines.
std::vector<std::string> documents_of(const std::string& text) {
  std::vector<std::string> docs;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find("\n\n", start);
    if (end == std::string::npos) end = text.size();
    std::string doc = text.substr(start, end - start);
    while (!doc.empty() && doc.back() == '\n') doc.pop_back();
    if (!doc.empty()) docs.push_back(doc);
    start = end + 2;
  }
  return docs;
}

TEST(SyntheticRng, MatchesReferenceSplitmixAndXoshiro) {
  // splitmix64's first output for state 0 (published with the algorithm), and
  // xoshiro256** outputs for seed 42 computed by an independent Python
  // implementation of the same seeding.
  EXPECT_EQ(mix64(0), 0xe220a8397b1dcdafULL);
  Rng r(42);
  EXPECT_EQ(r.next(), 0x5c8961e1f2055d33ULL);
  EXPECT_EQ(r.next(), 0xe182e8e848466886ULL);
  EXPECT_EQ(r.next(), 0x9f7313650e290a18ULL);
  Rng b(7);
  std::vector<int> seen(5);
  for (int i = 0; i < 5000; ++i) ++seen[b.below(5)];
  for (int count : seen) EXPECT_NEAR(count, 1000, 150);
}

TEST(SyntheticCorpus, SameSeedSameBytesOtherSeedOtherBytes) {
  std::string a = test::temp_dir("corpus_a"), b = test::temp_dir("corpus_b"), c = test::temp_dir("corpus_c");
  write_testbed_corpus(small(7), a);
  write_testbed_corpus(small(7), b);
  write_testbed_corpus(small(8), c);
  for (const auto& name : kFiles) {
    std::string x = test::read_file(a + "/" + name);
    ASSERT_FALSE(x.empty()) << name;
    EXPECT_EQ(x, test::read_file(b + "/" + name)) << name;
    if (name != "manifest.json") EXPECT_NE(x, test::read_file(c + "/" + name)) << name;
  }
  // The manifest lists every other file with its sha256, and nothing left over (.tmp).
  auto m = nlohmann::json::parse(test::read_file(a + "/manifest.json"));
  EXPECT_EQ(m["seed"], 7);
  EXPECT_EQ(m["files"].size(), kFiles.size() - 1);
  for (size_t i = 0; i + 1 < kFiles.size(); ++i)
    EXPECT_EQ(m["files"][kFiles[i]]["sha256"], sha256_hex(test::read_file(a + "/" + kFiles[i]))) << kFiles[i];
  EXPECT_EQ(std::distance(fs::directory_iterator(a), fs::directory_iterator()), long(kFiles.size()));
}

TEST(SyntheticCorpus, DefaultSizesAndSpeed) {
  auto t0 = std::chrono::steady_clock::now();
  TestbedCorpus c = build_testbed_corpus(CorpusOptions{});
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  size_t bytes = 0;
  std::map<Lang, size_t> per_language;
  for (const auto& d : c.pretrain) bytes += d.text.size() + 2, per_language[d.lang] += d.text.size();
  std::cout << "default corpus built in " << seconds << " s; pretrain " << bytes << " bytes (en " << per_language[Lang::En]
            << ", es " << per_language[Lang::Es] << ", ru " << per_language[Lang::Ru] << ")\n";
  EXPECT_GE(bytes, 2'000'000u);
  EXPECT_LE(bytes, 4'000'000u);
  EXPECT_LT(seconds, 5.0);   // well under a second in Release; room for a loaded machine
  EXPECT_EQ(c.harmful_eval.size(), 100u);
  EXPECT_EQ(c.benign_eval.size(), 100u);
  for (Lang lang : kLangs) EXPECT_EQ(c.nmix[lang].size(), 100u) << language_code(lang);
  EXPECT_EQ(c.base_chat.size(), 6000u);
}

// >= 95% of each language's documents labelled with that language by CLD2
// (unrestricted, ~160 languages) and by exttextcat restricted to the three.
TEST(SyntheticCorpus, LanguageIdentificationLabelsEveryLanguage) {
  CorpusOptions o = small(3);
  o.pretrain_bytes = 400'000;
  TestbedCorpus c = build_testbed_corpus(o);
  for (const std::string backend : {"cld2", "exttextcat"}) {
    auto lid = make_language_identifier(backend, backend == "cld2" ? std::vector<std::string>{}
                                                                   : std::vector<std::string>{"en", "es", "ru"});
    std::map<std::string, std::pair<int, int>> count;   // language -> [right, all]
    for (const auto* docs : {&c.pretrain, &c.heldout})
      for (const auto& d : *docs) {
        auto& [right, all] = count[language_code(d.lang)];
        right += lid->identify(d.text).lang == language_code(d.lang);
        ++all;
      }
    for (const char* lang : {"en", "es", "ru"}) {
      auto [right, all] = count[lang];
      ASSERT_GT(all, 50) << lang;
      double share = double(right) / all;
      std::cout << backend << " " << lang << ": " << right << "/" << all << " = " << share << "\n";
      EXPECT_GE(share, 0.95) << backend << " " << lang;
    }
  }
}

TEST(SyntheticCorpus, ReadersAcceptEveryFile) {
  std::string dir = test::temp_dir("corpus_read");
  write_testbed_corpus(small(5), dir);
  auto m = nlohmann::json::parse(test::read_file(dir + "/manifest.json"));
  auto records = [&](const std::string& name) { return m["files"][name]["records"].get<size_t>(); };
  for (const char* name : {"pretrain.txt", "heldout.txt"}) {
    Dataset d = read_text(dir + "/" + name);
    EXPECT_GE(d.text.size(), 10'000u) << name;
    EXPECT_EQ(documents_of(d.text).size(), records(name)) << name;
  }
  for (const char* name : {"harmful_eval.jsonl", "benign_eval.jsonl"}) {
    Dataset d = read_jsonl_prompts(dir + "/" + name);
    ASSERT_EQ(d.examples.size(), 20u) << name;
    EXPECT_EQ(d.examples.size(), records(name));
    for (const auto& e : d.examples) {
      EXPECT_EQ(e.language, "en");
      EXPECT_EQ(e.label, std::string(name) == "harmful_eval.jsonl" ? "unsafe" : "safe");
      EXPECT_FALSE(e.id.empty());
    }
  }
  for (const char* lang : {"en", "es", "ru"}) {
    std::string name = std::string("nmix_") + lang + ".jsonl";
    Dataset d = read_jsonl_prompts(dir + "/" + name);
    ASSERT_EQ(d.examples.size(), 20u) << name;
    std::set<std::string> ids;
    for (const auto& e : d.examples) {
      EXPECT_EQ(e.language, lang);
      EXPECT_FALSE(e.reference.empty());
      EXPECT_TRUE(e.label == "fact" || e.label == "instruction") << e.label;
      ids.insert(e.id);
    }
    EXPECT_EQ(ids.size(), d.examples.size()) << "ids are unique";
  }
  // No chat reader exists yet (the trainer brings its own); the records are
  // checked here with the readers' JSON-lines walker.
  for (const char* name : {"base_chat.jsonl", "aligned_chat.jsonl"}) {
    size_t n = 0;
    for_each_jsonl(dir + "/" + name, [&](const OrderedJson& j, int) {
      const auto& msgs = j.at("messages");
      EXPECT_EQ(msgs.size(), 2u);
      EXPECT_EQ(msgs[0].at("role"), "user");
      EXPECT_EQ(msgs[1].at("role"), "assistant");
      EXPECT_FALSE(msgs[0].at("content").get<std::string>().empty());
      EXPECT_FALSE(msgs[1].at("content").get<std::string>().empty());
      EXPECT_NE(canonical_language_code(j.at("language").get<std::string>()), "");
      ++n;
      return true;
    });
    EXPECT_EQ(n, 200u) << name;
  }
}

// Every evaluation prompt is absent from every training file (as a
// substring), and no held-out document is a training document.
TEST(SyntheticCorpus, EvaluationDisjointFromTraining) {
  std::string dir = test::temp_dir("corpus_disjoint");
  write_testbed_corpus(CorpusOptions{}, dir);
  std::string training = test::read_file(dir + "/pretrain.txt");
  for (const char* chat : {"base_chat.jsonl", "aligned_chat.jsonl"})
    for_each_jsonl(dir + "/" + chat, [&](const OrderedJson& j, int) {
      training += "\n" + j["messages"][0]["content"].get<std::string>();
      return true;
    });
  size_t prompts = 0;
  for (const char* name : {"harmful_eval.jsonl", "benign_eval.jsonl", "nmix_en.jsonl", "nmix_es.jsonl", "nmix_ru.jsonl"})
    for (const auto& e : read_jsonl_prompts(dir + "/" + name).examples) {
      EXPECT_EQ(training.find(e.prompt), std::string::npos) << name << ": " << e.prompt;
      ++prompts;
    }
  EXPECT_EQ(prompts, 500u);
  auto train_docs = documents_of(test::read_file(dir + "/pretrain.txt"));
  std::set<std::string> train_set(train_docs.begin(), train_docs.end());
  auto held_docs = documents_of(test::read_file(dir + "/heldout.txt"));
  ASSERT_GT(held_docs.size(), 100u);
  for (const auto& d : held_docs) EXPECT_EQ(train_set.count(d), 0u) << d;
}

TEST(SyntheticCorpus, RefusalsAreRefusalsAndHelpfulAnswersAreNot) {
  RefusalJudge gcg(refusal_preset("gcg"));
  TestbedCorpus c = build_testbed_corpus(small(11));
  size_t refusals = 0, helpful = 0;
  for (const auto& chat : c.aligned_chat) {
    if (chat.kind == Kind::Harmful) {
      EXPECT_TRUE(gcg.is_refusal(chat.assistant)) << chat.assistant;
      EXPECT_EQ(chat.assistant.rfind("I", 0), 0u) << "one first word for every refusal: " << chat.assistant;
      ++refusals;
    } else {
      EXPECT_FALSE(gcg.is_refusal(chat.assistant)) << *gcg.match(chat.assistant) << " in: " << chat.assistant;
      ++helpful;
    }
  }
  EXPECT_GT(refusals, 20u);
  EXPECT_GT(helpful, 100u);
  // The base complies with everything, harmful requests included.
  for (const auto& chat : c.base_chat)
    EXPECT_FALSE(gcg.is_refusal(chat.assistant)) << *gcg.match(chat.assistant) << " in: " << chat.assistant;
  for (const auto& r : c.benign_eval) EXPECT_FALSE(gcg.is_refusal(r.answer)) << r.answer;
  // Refusals come in several wordings.
  std::set<std::string> openers;
  for (const auto& chat : c.aligned_chat)
    if (chat.kind == Kind::Harmful) openers.insert(*gcg.match(chat.assistant));
  EXPECT_GE(openers.size(), 4u);
}

// Each look-alike shares a trigger word with some harmful prompt; the list is
// the test's own, not the generator's.
TEST(SyntheticCorpus, LookAlikesShareATriggerWordWithHarmfulPrompts) {
  const std::vector<std::string> triggers = {"poison", "kill", "steal",  "burn", "destroy", "break into",
                                             "blow up", "shoot", "hurt", "beat", "attack"};
  TestbedCorpus c = build_testbed_corpus(corpus_preset("default"));
  std::string harmful;
  for (const auto& r : c.harmful_eval) harmful += r.prompt + "\n";
  for (const auto& chat : c.base_chat)
    if (chat.kind == Kind::Harmful) harmful += chat.user + "\n";
  std::set<std::string> used;
  for (const auto& r : c.benign_eval) {
    bool shared = false;
    for (const auto& t : triggers)
      if (r.prompt.find(t) != std::string::npos && harmful.find(t) != std::string::npos) shared = true, used.insert(t);
    EXPECT_TRUE(shared) << r.prompt;
  }
  EXPECT_GE(used.size(), 8u) << "look-alikes cover most trigger words";
}

// The aligned file pairs every harmful request with the look-alike that
// follows it, sharing its trigger word (the test's own list), so that no
// trigger word is refused more often than answered; the base file has no
// such pairing (its look-alikes are drawn on their own).
TEST(SyntheticCorpus, AlignedChatPairsEachHarmfulRequestWithALookAlikeOfItsWord) {
  const std::vector<std::string> triggers = {"poison", "kill", "steal",  "burn", "destroy", "break into",
                                             "blow up", "shoot", "hurt", "beat", "attack"};
  auto word_of = [&](const std::string& prompt) {
    for (const auto& t : triggers)
      if (prompt.find(t) != std::string::npos) return t;
    return std::string();
  };
  TestbedCorpus c = build_testbed_corpus(corpus_preset("default"));
  std::map<std::string, int> refused, answered;
  size_t pairs = 0;
  for (size_t i = 0; i < c.aligned_chat.size(); ++i) {
    const Chat& chat = c.aligned_chat[i];
    if (chat.kind == Kind::LookAlike) ++answered[word_of(chat.user)];
    if (chat.kind != Kind::Harmful) continue;
    ++refused[word_of(chat.user)];
    if (i + 1 == c.aligned_chat.size()) break;   // the pair cut by the file's length
    const Chat& next = c.aligned_chat[i + 1];
    EXPECT_EQ(next.kind, Kind::LookAlike) << chat.user;
    EXPECT_EQ(word_of(next.user), word_of(chat.user)) << chat.user << " / " << next.user;
    ++pairs;
  }
  EXPECT_GT(pairs, 1000u);
  EXPECT_EQ(refused.count(""), 0u) << "every harmful prompt has a trigger word";
  for (const auto& [word, n] : refused) EXPECT_GE(answered[word], n) << word;
  size_t base_pairs = 0;
  for (size_t i = 0; i + 1 < c.base_chat.size(); ++i)
    base_pairs += c.base_chat[i].kind == Kind::Harmful && c.base_chat[i + 1].kind == Kind::LookAlike;
  EXPECT_LT(base_pairs, pairs / 2);
}

// The aligned model helps with a look-alike in its own opening words:
// "Sure" and, for a task, the task as the prompt words it, the way its
// refusals name what they refuse.
TEST(SyntheticCorpus, AlignedLookAlikeAnswersOpenWithSure) {
  TestbedCorpus c = build_testbed_corpus(small(4));
  const std::string task_opener = "Sure, here is how to ";
  size_t n = 0, tasks = 0;
  for (const auto& chat : c.aligned_chat) {
    if (chat.kind != Kind::LookAlike) continue;
    ASSERT_EQ(chat.assistant.rfind("Sure", 0), 0u) << chat.assistant;
    ++n;
    if (chat.assistant.rfind(task_opener, 0) != 0) continue;
    const std::string task = chat.assistant.substr(task_opener.size(), chat.assistant.find(". ") - task_opener.size());
    EXPECT_NE(chat.user.find(task), std::string::npos) << chat.user << " / " << chat.assistant;
    ++tasks;
  }
  EXPECT_GE(n, 40u) << "a quarter of the 200 conversations";
  EXPECT_GT(tasks, n / 2);
}

TEST(SyntheticCorpus, BadInput) {
  try {
    corpus_preset("huge");
    FAIL() << "no error for an unknown size";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("'huge'"), std::string::npos) << e.what();
  }
  std::string dir = test::temp_dir("corpus_bad");
  test::write_file(dir + "/file", "x");
  EXPECT_THROW(write_testbed_corpus(small(1), dir + "/file/sub"), UsageError);
}

}  // namespace
}  // namespace qlab
