// The zero-shot tasks: each reader's first items against strings written out
// by hand from lm-eval's task definitions (docs/evaluators.md), HellaSwag's
// preprocessing on a fixture in rowanz/hellaswag's format, the folder reader,
// bad labels, and the zeroshot evaluator against a slow reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <functional>

#include "core/error.h"
#include "core/model/generate.h"
#include "datasets/zeroshot.h"
#include "evaluation/common/loglikelihood.h"
#include "plugin_harness.h"

namespace qlab {
namespace {

using test::array;

Dataset read_task(const std::string& task, int64_t limit) {
  return find_zeroshot_task(task)->read(test::shared_data() + "/zeroshot/" + task, limit);
}

std::vector<std::pair<std::string, std::string>> pairs(const Example& e) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r : lm_eval_choice_requests(e)) out.emplace_back(r.context, r.continuation);
  return out;
}

using Pairs = std::vector<std::pair<std::string, std::string>>;

size_t code_points(const std::string& s) {
  size_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

TEST(ZeroShotPrompts, Piqa) {
  QLAB_REQUIRE_SHARED_DATA();
  Dataset d = read_task("piqa", 2);
  ASSERT_EQ(d.examples.size(), 2u);
  const std::string q1 = "Question: How do I ready a guinea pig cage for it's new occupants?\nAnswer:";
  EXPECT_EQ(pairs(d.examples[0]),
            (Pairs{{q1, " Provide the guinea pig with a cage full of a few inches of bedding made of ripped paper "
                        "strips, you will also need to supply it with a water bottle and a food dish."},
                   {q1, " Provide the guinea pig with a cage full of a few inches of bedding made of ripped jeans "
                        "material, you will also need to supply it with a water bottle and a food dish."}}));
  EXPECT_EQ(d.examples[0].answer, 0);
  // Choices are kept as the file has them, trailing and double spaces included.
  EXPECT_EQ(pairs(d.examples[1]), (Pairs{{"Question: dresser\nAnswer:", " replace drawer with bobby pin "},
                                         {"Question: dresser\nAnswer:", " finish, woodgrain with  bobby pin "}}));
  EXPECT_EQ(d.examples[1].answer, 1);
  EXPECT_EQ(d.examples[1].label, "piqa");
  EXPECT_EQ(read_task("piqa", 0).examples.size(), 1838u);
}

TEST(ZeroShotPrompts, ArcEasyAndChallenge) {
  QLAB_REQUIRE_SHARED_DATA();
  Dataset e = read_task("arc_easy", 1);
  const std::string q = "Question: Which statement best explains why photosynthesis is the foundation of most food webs?\nAnswer:";
  EXPECT_EQ(pairs(e.examples[0]), (Pairs{{q, " Sunlight is the source of energy for nearly all ecosystems."},
                                         {q, " Most ecosystems are found on land instead of in water."},
                                         {q, " Carbon dioxide is more available than other gases."},
                                         {q, " The producers in all ecosystems are plants."}}));
  EXPECT_EQ(e.examples[0].answer, 0);
  Dataset c = read_task("arc_challenge", 1);
  EXPECT_EQ(c.examples[0].prompt,
            "Question: An astronomer observes that a planet rotates faster after a meteorite impact. Which is the most "
            "likely effect of this increase in rotation?\nAnswer:");
  EXPECT_EQ(c.examples[0].choices.at(2), "Planetary days will become shorter.");
  EXPECT_EQ(c.examples[0].answer, 2);   // answerKey "C"
  EXPECT_EQ(read_task("arc_easy", 0).examples.size(), 2376u);
  EXPECT_EQ(read_task("arc_challenge", 0).examples.size(), 1172u);
}

TEST(ZeroShotPrompts, WinograndePartialScoring) {
  QLAB_REQUIRE_SHARED_DATA();
  Dataset d = read_task("winogrande", 2);
  EXPECT_EQ(pairs(d.examples[0]),
            (Pairs{{"Sarah was a much better surgeon than Maria so Sarah", " always got the easier cases."},
                   {"Sarah was a much better surgeon than Maria so Maria", " always got the easier cases."}}));
  EXPECT_EQ(d.examples[0].answer, 1);   // answer "2"
  EXPECT_EQ(d.examples[1].answer, 0);
  EXPECT_EQ(read_task("winogrande", 0).examples.size(), 1267u);
}

TEST(ZeroShotPrompts, BoolQ) {
  QLAB_REQUIRE_SHARED_DATA();
  Dataset d = read_task("boolq", 1);
  const Example& e = d.examples[0];
  EXPECT_EQ(e.prompt.rfind("Ethanol fuel -- All biomass goes through at least some of these steps", 0), 0u);
  const std::string tail = "concluded that producing ethanol from corn uses much less petroleum than producing "
                           "gasoline.\nQuestion: does ethanol take more energy make that produces?\nAnswer:";
  EXPECT_EQ(e.prompt.substr(e.prompt.size() - tail.size()), tail);
  EXPECT_EQ(e.choices, (std::vector<std::string>{"no", "yes"}));
  EXPECT_EQ(e.answer, 0);   // label false
  EXPECT_EQ(read_task("boolq", 0).examples.size(), 3270u);
}

TEST(ZeroShotPrompts, OpenBookQaAndSocialIqa) {
  QLAB_REQUIRE_SHARED_DATA();
  Dataset o = read_task("openbookqa", 1);
  const std::string stem = "A person wants to start saving money so that they can afford a nice vacation at the end of "
                           "the year. After looking over their budget and expenses, they decide the best way to save "
                           "money is to";
  EXPECT_EQ(pairs(o.examples[0]), (Pairs{{stem, " make more phone calls"}, {stem, " quit eating lunch out"},
                                         {stem, " buy less with monopoly money"}, {stem, " have lunch with friends"}}));
  EXPECT_EQ(o.examples[0].answer, 1);
  Dataset s = read_task("social_iqa", 1);
  const std::string q = "Q: Tracy didn't go home that evening and resisted Riley's attacks. What does Tracy need to do "
                        "before this?\nA:";
  EXPECT_EQ(pairs(s.examples[0]),
            (Pairs{{q, " make a new plan"}, {q, " Go home and see Riley"}, {q, " Find somewhere to go"}}));
  EXPECT_EQ(s.examples[0].answer, 2);   // label 3
  EXPECT_EQ(read_task("openbookqa", 0).examples.size(), 500u);
  EXPECT_EQ(read_task("social_iqa", 0).examples.size(), 1954u);
}

TEST(ZeroShotPrompts, Lambada) {
  QLAB_REQUIRE_SHARED_DATA();
  Dataset d = read_task("lambada_openai", 1);
  const Example& e = d.examples[0];
  EXPECT_EQ(e.prompt.rfind("In my palm is a clear stone, and inside it is a small ivory statuette. A guardian angel.\n\n", 0), 0u);
  const std::string tail = "his mouth curved in a confident grin, I don't care about";
  EXPECT_EQ(e.prompt.substr(e.prompt.size() - tail.size()), tail);
  EXPECT_EQ(e.reference, "signs");
  EXPECT_TRUE(e.choices.empty());
  EXPECT_EQ(read_task("lambada_openai", 0).examples.size(), 5153u);
}

// Two items in rowanz/hellaswag's hellaswag_val.jsonl layout (label an
// integer there, a string in the Hugging Face copy); expected strings worked
// out by hand from lm-eval's preprocessing.
TEST(ZeroShotPrompts, HellaSwagPreprocessing) {
  std::string dir = test::temp_dir("hellaswag");
  test::write_file(dir + "/hellaswag_val.jsonl",
                   R"({"ind": 24, "activity_label": "Roof shingle removal", "ctx_a": "A man is sitting on a roof.", "ctx_b": "he", "split": "val", "label": 3, "endings": ["is using wrap to wrap a pair of skis.", "is ripping level tiles off.", "is holding a rubik's cube.", "starts pulling up roofing on a roof."]})"
                   "\n"
                   R"({"ind": 7, "activity_label": "Home and Garden", "ctx_a": "[header] How to grow tomatoes [title] Pick a sunny spot.", "ctx_b": "you WILL need  soil.", "split": "val", "label": "1", "endings": ["  Water daily [step] often. ", "Buy seeds [substeps] now.", "Dig   deep.", "Wait [open"]})"
                   "\n");
  Dataset d = find_zeroshot_task("hellaswag")->read(dir, 0);
  ASSERT_EQ(d.examples.size(), 2u);
  EXPECT_EQ(d.examples[0].prompt, "Roof shingle removal: A man is sitting on a roof. He");
  EXPECT_EQ(d.examples[0].choices[3], "starts pulling up roofing on a roof.");
  EXPECT_EQ(d.examples[0].answer, 3);
  EXPECT_EQ(d.examples[1].prompt, "Home and Garden: How to grow tomatoes. Pick a sunny spot. You will need soil.");
  // One pass of "  " -> " " leaves two of three spaces; an unclosed '[' stays.
  EXPECT_EQ(d.examples[1].choices,
            (std::vector<std::string>{"Water daily often.", "Buy seeds now.", "Dig  deep.", "Wait [open"}));
  EXPECT_EQ(d.examples[1].answer, 1);
  EXPECT_EQ(hellaswag_preprocess("a [x\ny] b"), "a [x\ny] b");   // the regex's '.' stops at a newline
}

struct ZeroShotFolder : ::testing::Test {
  std::string root = test::temp_dir("zs_root");
  void SetUp() override {
    std::filesystem::create_directories(root + "/piqa");
    test::write_file(root + "/piqa/valid.jsonl", R"({"goal": "Open a jar", "sol1": "twist the lid", "sol2": "eat the lid"})"
                                                 "\n" R"({"goal": "Dry hair", "sol1": "use a towel", "sol2": "use soup"})" "\n");
    test::write_file(root + "/piqa/valid-labels.lst", "0\n0\n");
  }
  std::string error_of(const std::function<void()>& fn) {
    try {
      fn();
    } catch (const UsageError& e) {
      return e.what();
    }
    return "";
  }
};

TEST_F(ZeroShotFolder, ReadsWhicheverTasksArePresent) {
  Dataset d = read_zeroshot(root, {}, 0);
  EXPECT_EQ(d.examples.size(), 2u);
  EXPECT_EQ(d.examples[1].prompt, "Question: Dry hair\nAnswer:");
  std::string err = error_of([&] { read_zeroshot(root, {"piqa", "boolq"}, 0); });
  EXPECT_NE(err.find(root + "/boolq/val.jsonl: task 'boolq' was asked for but its split is missing"), std::string::npos)
      << err;
}

TEST_F(ZeroShotFolder, LabelOutOfRangeNamesFileAndLine) {
  test::write_file(root + "/piqa/valid-labels.lst", "0\n2\n");
  std::string err = error_of([&] { read_zeroshot(root, {}, 0); });
  EXPECT_EQ(err, root + "/piqa/valid-labels.lst:2: label '2' is not one of 0..1");
  test::write_file(root + "/piqa/valid-labels.lst", "0\n");
  err = error_of([&] { read_zeroshot(root, {}, 0); });
  EXPECT_NE(err.find(root + "/piqa/valid.jsonl:2: no label for this item"), std::string::npos) << err;
}

// qlab run stops before any run with one line and exit code 2.
TEST_F(ZeroShotFolder, RunRefusesBadLabelBeforeStarting) {
  test::write_file(root + "/piqa/valid-labels.lst", "0\n7\n");
  std::string s = root + "/s.yaml";
  test::write_file(s, "output: " + root + "/r.h5\nmodel: {path: " + test::llama2_fixture() +
                          "}\ndatasets: {zs: {zeroshot: {path: " + root + "}}}\nevaluators: [{zeroshot: {dataset: zs}}]\n");
  auto r = test::run_qlab({"run", s, "-q"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_NE(r.err.find(root + "/piqa/valid-labels.lst:2: label '7' is not one of 0..1"), std::string::npos) << r.err;
}

// The evaluator against a slow reference: every continuation scored alone
// with token_logprobs on the strings spelled out above (no BOS), the greedy
// check by argmax, and the papers' average.
TEST(ZeroShotEval, MatchesSlowReference) {
  QLAB_REQUIRE_SHARED_DATA();
  test::PluginRun run("model: {path: " + test::llama2_fixture() + "}\n"
                      "datasets: {zs: {zeroshot: {path: " + test::shared_data() + "/zeroshot, limit: 3}}}\n"
                      "evaluators: [{zeroshot: {dataset: zs, batch_size: 5}}]\n");
  RunOutput out = run.evaluate();
  Model& model = run.ws().model();
  const Tokenizer& tok = run.ws().tokenizer();
  auto reference = [&](const std::string& ctx, const std::string& cont, bool* greedy) {
    auto whole = tok.encode(ctx + cont, false);
    size_t n_ctx = tok.encode(ctx, false).size();
    auto lp = token_logprobs(model, whole);
    torch::NoGradGuard g;
    auto pred = model.forward(torch::tensor(whole, torch::kLong).unsqueeze(0))[0].argmax(-1);
    double s = 0;
    *greedy = true;
    for (size_t t = n_ctx; t < whole.size(); ++t) {
      s += lp[t - 1].item<double>();
      *greedy = *greedy && pred[t - 1].item<int64_t>() == whole[t];
    }
    return s;
  };
  const Dataset& data = run.ws().dataset("zs");
  double average = 0;
  int tasks = 0;
  for (const auto& t : zeroshot_tasks()) {
    std::vector<const Example*> items;
    for (const auto& e : data.examples)
      if (e.label == t.name) items.push_back(&e);
    if (items.empty()) continue;
    ++tasks;
    ASSERT_EQ(items.size(), 3u) << t.name;
    double acc = 0, acc_norm = 0, ll = 0;
    for (const Example* e : items) {
      bool greedy = false;
      if (t.lambada) {
        ll += reference(e->prompt, " " + e->reference, &greedy);
        acc += greedy;
        continue;
      }
      std::vector<double> s, s_norm;
      for (auto [ctx, cont] : pairs(*e)) s.push_back(reference(ctx, cont, &greedy));
      for (size_t c = 0; c < s.size(); ++c)
        s_norm.push_back(s[c] / double(code_points(e->choices[c])));
      acc += std::max_element(s.begin(), s.end()) - s.begin() == e->answer;
      acc_norm += std::max_element(s_norm.begin(), s_norm.end()) - s_norm.begin() == e->answer;
    }
    EXPECT_DOUBLE_EQ(out.metrics.at(t.name + ".acc"), acc / 3) << t.name;
    EXPECT_EQ(out.metrics.count(t.name + ".acc_norm"), size_t(t.acc_norm)) << t.name;
    if (t.acc_norm) EXPECT_DOUBLE_EQ(out.metrics.at(t.name + ".acc_norm"), acc_norm / 3) << t.name;
    if (t.lambada) EXPECT_NEAR(out.metrics.at(t.name + ".perplexity"), std::exp(-ll / 3), 1e-6 * std::exp(-ll / 3));
    average += (t.acc_norm ? acc_norm : acc) / 3;
  }
  EXPECT_EQ(tasks, 8);   // HellaSwag is not in the shared data
  EXPECT_EQ(out.metrics.at("tasks"), 8);
  EXPECT_NEAR(out.metrics.at("average"), average / 8, 1e-12);
  EXPECT_EQ(array<std::string>(out, "tasks").front(), "piqa");
}

}  // namespace
}  // namespace qlab
