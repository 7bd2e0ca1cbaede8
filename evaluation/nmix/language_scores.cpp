#include "evaluation/nmix/language_scores.h"

#include <limits>
#include <stdexcept>

#include <spdlog/spdlog.h>

#include "evaluation/common/rouge.h"

namespace qlab {

namespace {
// Maximal runs of Latin letters: the names a prompt may carry.
std::vector<std::string> latin_words(const std::string& s) {
  std::vector<std::string> words(1);
  for (char32_t c : text::decode_utf8(s)) {
    if (text::script_of(c) == text::Script::Latin) {
      text::append_utf8(words.back(), c);
    } else if (!words.back().empty()) {
      words.emplace_back();
    }
  }
  if (words.back().empty()) words.pop_back();
  return words;
}
}  // namespace

LanguageScores score_languages(const std::vector<std::string>& responses, const std::vector<Example>& examples,
                               const LanguageScorers& scorers, const LanguageScoreOptions& o) {
  if (responses.size() != examples.size()) throw std::invalid_argument("score_languages: one example per response");
  const double nan = std::numeric_limits<double>::quiet_NaN();
  LanguageScores s;
  std::vector<std::string> languages;
  std::vector<LcbJudgement> judged, judged_word_level;
  double rouge_sum = 0, rouge_defined = 0;
  for (size_t i = 0; i < responses.size(); ++i) {
    const Example& e = examples[i];
    languages.push_back(e.language);
    NmixOptions nmix = o.nmix;
    if (o.nmix_exempt_prompt_words) nmix.exempt_words = latin_words(e.prompt);
    NmixResult r = nmix_response(responses[i], e.language, scorers.nmix, nmix);
    s.nmix.push_back(r.nmix);
    s.entropy.push_back(r.entropy);
    s.windows.push_back(r.windows);
    s.labelled.push_back(r.labelled);

    LcbOptions lcb = o.lcb;
    if (o.exempt_prompt_words) lcb.exempt = latin_words(e.prompt);
    LcbJudgement j = lcb_judge(responses[i], e.language, scorers.lcb, scorers.english_words, lcb);
    judged.push_back(j);
    const bool word_level = lcb_word_level_language(e.language);
    if (word_level) judged_word_level.push_back(j);
    s.line_pass.push_back(j.verdict == LcbVerdict::Skipped ? -1 : j.verdict != LcbVerdict::LineError);
    s.word_pass.push_back(!word_level || j.verdict == LcbVerdict::Skipped || j.verdict == LcbVerdict::LineError
                              ? -1
                              : j.verdict == LcbVerdict::Pass);

    if (e.reference.empty()) {
      s.rouge_l.push_back(nan);
    } else {
      // Units of the reference's language: characters for zh/ja/th.
      s.rouge_l.push_back(rouge_l(responses[i], e.reference, text::default_units(e.language)).f1);
      rouge_sum += s.rouge_l.back(), rouge_defined += 1;
    }
  }
  NmixSummary sum = summarize_nmix(languages, s.nmix, o.tau);
  s.metrics["nmix"] = sum.macro_mean;
  s.metrics["share_above_tau"] = sum.macro_share_above_tau;
  for (const auto& [lang, l] : sum.per_language) {
    s.metrics["nmix." + lang] = l.mean;
    s.metrics["share_above_tau." + lang] = l.share_above_tau;
    s.metrics["n." + lang] = l.responses;
  }
  s.metrics["n"] = double(responses.size());
  LcbRates lines = lcb_rates(judged, false);
  s.metrics["line_pass_rate"] = lines.line_pass_rate;
  s.metrics["line_accuracy"] = lines.line_accuracy;
  s.metrics["lcb_judged"] = double(lines.judged);
  if (!judged_word_level.empty()) s.metrics["word_pass_rate"] = *lcb_rates(judged_word_level, true).word_pass_rate;
  if (rouge_defined > 0) s.metrics["rouge_l"] = rouge_sum / rouge_defined;
  return s;
}

// --- NmixScorer ---

namespace {

LanguageScoreOptions score_options(const Params& p) {
  LanguageScoreOptions o;
  o.nmix.n = int(p.get_int("n"));
  o.nmix.stride = int(p.get_int("stride"));
  std::string units = p.get_string("units");
  if (units != "auto") o.nmix.units = units == "words" ? text::Units::Words : text::Units::Characters;
  o.nmix.normalize.nfc = p.get_bool("nfc");
  o.nmix.normalize.drop_punctuation = p.get_bool("drop_punctuation");
  o.nmix.normalize.drop_digits = p.get_bool("drop_digits");
  o.nmix.normalize.cut_markers = p.get_string_list("cut_markers");
  o.nmix.min_confidence = p.get_float("min_confidence");
  o.nmix.require_reliable = p.get_bool("require_reliable");
  o.tau = p.get_float("tau");
  o.lcb.min_tokens = int(p.get_int("lcb_min_tokens"));
  o.lcb.min_confidence = p.get_float("lcb_min_confidence");
  o.exempt_prompt_words = p.get_bool("exempt_prompt_words");
  o.nmix_exempt_prompt_words = p.get_bool("nmix_exempt_prompt_words");
  return o;
}

std::string lcb_identifier_name(const Params& p) {
  std::string name = p.get_string("lcb_identifier");
  return name == "same" ? p.get_string("identifier") : name;
}

std::string english_words_path(const Params& p) {
  std::string path = p.get_string("english_words");
  return path.empty() ? default_english_words_path() : path;
}

}  // namespace

void NmixScorer::check(const Params& p) {
  if (p.get_string("identifier") == "fasttext" || lcb_identifier_name(p) == "fasttext")
    check_fasttext_model(p.get_string("fasttext_model"));
  EnglishWords::load(english_words_path(p));
  check_zh_ja_segmenters(p.get_string("jieba_dict"));
}

NmixScorer::NmixScorer(const Params& p) : options_(score_options(p)) {
  const std::vector<std::string> allowed = p.get_string_list("languages");
  const std::string model = p.get_string("fasttext_model");
  nmix_lid_ = make_language_identifier(p.get_string("identifier"), allowed, model);
  if (lcb_identifier_name(p) != p.get_string("identifier"))
    lcb_lid_ = make_language_identifier(lcb_identifier_name(p), allowed, model);
  words_ = std::make_unique<EnglishWords>(EnglishWords::load(english_words_path(p)));
  segmenters_ = load_zh_ja_segmenters(p.get_string("jieba_dict"));
  for (const auto& w : segmenters_.warnings()) spdlog::warn("nmix: {}", w);
}

void NmixScorer::score(const std::vector<std::string>& responses, const std::vector<Example>& examples,
                       RunOutput& out) const {
  LanguageScoreOptions options = options_;
  options.lcb.segmenters = &segmenters_;
  LanguageScores s = score_languages(responses, examples, {*nmix_lid_, lcb_lid_ ? *lcb_lid_ : *nmix_lid_, *words_},
                                     options);
  std::vector<std::string> prompts, languages;
  for (const auto& e : examples) prompts.push_back(e.prompt), languages.push_back(e.language);
  for (const auto& [k, v] : s.metrics) out.metrics[k] = v;
  out.arrays["prompts"] = prompts;
  out.arrays["responses"] = responses;
  out.arrays["languages"] = languages;
  out.arrays["nmix"] = s.nmix;
  out.arrays["entropy"] = s.entropy;
  out.arrays["windows"] = s.windows;
  out.arrays["labelled_windows"] = s.labelled;
  out.arrays["line_pass"] = s.line_pass;
  out.arrays["word_pass"] = s.word_pass;
  out.arrays["rouge_l"] = s.rouge_l;
  out.arrays["lcb_segmenters"] = segmenters_.describe();   // which segmenter gave the zh / ja tokens
}

std::vector<ParamSpec> nmix_score_params() {
  return {
      {"identifier", ParamType::String, "cld2", "language identifier of N-Mix's windows (and of the LCB's lines)", false,
       {}, {}, {"cld2", "exttextcat", "script", "fasttext"}},
      {"lcb_identifier", ParamType::String, "same",
       "language identifier of the LCB's lines (same: `identifier`; the reference: fasttext with lid.176.bin)", false,
       {}, {}, {"same", "cld2", "exttextcat", "script", "fasttext"}},
      {"fasttext_model", ParamType::String, "''", "fastText language-ID model (lid.176.bin) for identifier fasttext",
       false, {}, {}, {}, true},
      {"languages", ParamType::StringList, "[]", "restrict the identifiers to these ISO 639-1 codes ([]: any)"},
      {"n", ParamType::Int, "0", "window length in units (0: 5 words, 10 characters for zh/ja/th)", false, 0, 1000},
      {"stride", ParamType::Int, "1", "units between window starts", false, 1, 1000},
      {"units", ParamType::String, "auto", "window units (auto: characters for zh/ja/th, else words)", false, {}, {},
       {"auto", "words", "characters"}},
      {"nfc", ParamType::Bool, "true", "Unicode NFC before windowing"},
      {"drop_punctuation", ParamType::Bool, "false", "replace punctuation and symbols by spaces before windowing"},
      {"drop_digits", ParamType::Bool, "false", "replace digits by spaces before windowing"},
      {"cut_markers", ParamType::StringList, "[\"[INST]\", \"<|im_start|>\", \"<|start_header_id|>\", \"\\nUser:\"]",
       "the response is cut at the first of these (a new turn the model wrote itself)"},
      {"min_confidence", ParamType::Float, "0.0", "drop windows identified with less confidence", false, 0, 1},
      {"require_reliable", ParamType::Bool, "false", "drop windows the identifier calls unreliable"},
      {"tau", ParamType::Float, "0.5", "share_above_tau counts responses with nmix > tau", false, 0, 1},
      {"lcb_min_tokens", ParamType::Int, "5", "LCB: lines with fewer tokens are not judged", false, 1, 1000},
      {"lcb_min_confidence", ParamType::Float, "0.3", "LCB: a line's label counts only with confidence above this",
       false, 0, 1},
      {"english_words", ParamType::String, "''",
       "LCB word level: English word list, one a line ('': $QLAB_ENGLISH_WORDS, else /usr/share/dict/words)", false,
       {}, {}, {}, true},
      {"jieba_dict", ParamType::String, "''",
       "LCB zh lines: jieba's dictionary ('': python3-jieba's dict.txt where installed, else a stand-in)", false, {},
       {}, {}, true},
      {"exempt_prompt_words", ParamType::Bool, "false",
       "LCB word level: Latin words of the prompt (names) are no English words (the reference: false)"},
      {"nmix_exempt_prompt_words", ParamType::Bool, "false",
       "N-Mix: Latin words of the prompt (names) are taken out of the response before windowing"},
  };
}

}  // namespace qlab
