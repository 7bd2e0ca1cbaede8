#include "evaluation/common/nmix.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "core/error.h"

namespace qlab {

static constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

namespace {

std::u32string lower(std::string_view s) {
  std::u32string l = text::decode_utf8(s);
  for (auto& c : l) c = text::to_lower(c);
  return l;
}

std::vector<std::u32string> lowered(const std::vector<std::string>& words) {
  std::vector<std::u32string> out;
  for (const auto& w : words) out.push_back(lower(w));
  return out;
}

// `s` with every maximal run of Latin letters that is one of `words`
// (lower-cased) replaced by a space.
std::string drop_latin_words(const std::string& s, const std::vector<std::u32string>& words) {
  std::string out, run;
  std::u32string run_lower;
  auto flush = [&] {
    bool drop = std::find(words.begin(), words.end(), run_lower) != words.end();
    out += drop ? " " : run;
    run.clear(), run_lower.clear();
  };
  for (char32_t c : text::decode_utf8(s)) {
    if (text::script_of(c) == text::Script::Latin) {
      text::append_utf8(run, c);
      run_lower.push_back(text::to_lower(c));
      continue;
    }
    if (!run.empty()) flush();
    text::append_utf8(out, c);
  }
  if (!run.empty()) flush();
  return out;
}

}  // namespace

NmixResult nmix_response(std::string_view response, const std::string& expected_language,
                         const LanguageIdentifier& lid, const NmixOptions& o) {
  if (o.n < 0 || o.stride < 1)
    throw UsageError("nmix: need n >= 0 (0 = default) and stride >= 1 (got n = " + std::to_string(o.n) +
                     ", stride = " + std::to_string(o.stride) + ")");
  text::Units kind = o.units.value_or(text::default_units(expected_language));
  size_t n = o.n > 0 ? static_cast<size_t>(o.n) : kind == text::Units::Words ? 5 : 10;
  std::string norm = text::normalize(response, o.normalize);
  if (!o.exempt_words.empty()) norm = drop_latin_words(norm, lowered(o.exempt_words));
  std::vector<text::Span> units = text::unit_spans(norm, kind);

  NmixResult r;
  std::map<std::string, int> counts;
  size_t last_start = units.size() <= n ? 0 : units.size() - n;
  for (size_t start = 0; !units.empty() && start <= last_start; start += o.stride) {
    size_t end = std::min(start + n, units.size()) - 1;
    LidResult id = lid.identify(std::string_view(norm).substr(units[start].begin, units[end].end - units[start].begin));
    ++r.windows;
    bool keep = !id.lang.empty() && id.confidence >= o.min_confidence && (id.reliable || !o.require_reliable);
    r.labels.push_back(keep ? id.lang : "");
    if (!keep) continue;
    ++r.labelled;
    ++counts[id.lang];
    if (id.lang != expected_language) ++r.foreign;
  }
  if (r.labelled == 0) {
    r.nmix = r.entropy = kNaN;
    return r;
  }
  r.nmix = static_cast<double>(r.foreign) / r.labelled;
  for (const auto& [lang, c] : counts) {
    double p = static_cast<double>(c) / r.labelled;
    r.entropy -= p * std::log(p);
  }
  return r;
}

NmixSummary summarize_nmix(const std::vector<std::string>& languages, const std::vector<double>& nmix,
                           double tau) {
  if (languages.size() != nmix.size())
    throw std::invalid_argument("summarize_nmix: languages and scores differ in length");
  NmixSummary s;
  std::map<std::string, int> above;
  for (size_t i = 0; i < nmix.size(); ++i) {
    auto& l = s.per_language[languages[i]];
    ++l.responses;
    if (std::isnan(nmix[i])) continue;
    ++l.defined;
    l.mean += nmix[i];
    above[languages[i]] += nmix[i] > tau;
  }
  int langs = 0;
  for (auto& [lang, l] : s.per_language) {
    if (l.defined == 0) {
      l.mean = l.share_above_tau = kNaN;
      continue;
    }
    l.mean /= l.defined;
    l.share_above_tau = static_cast<double>(above[lang]) / l.defined;
    s.macro_mean += l.mean;
    s.macro_share_above_tau += l.share_above_tau;
    ++langs;
  }
  if (langs == 0) {
    s.macro_mean = s.macro_share_above_tau = kNaN;
  } else {
    s.macro_mean /= langs;
    s.macro_share_above_tau /= langs;
  }
  return s;
}

}  // namespace qlab
