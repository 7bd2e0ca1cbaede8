#include "core/report_plots.h"

#include <algorithm>
#include <map>
#include <set>

#include "core/error.h"

namespace qlab {
namespace {

using nlohmann::json;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// A run as its tooltip names it.
std::string run_name(const RunRecord& r) { return "seed " + std::to_string(r.seed) + ", run " + r.hash.substr(0, 8); }

// The series a run belongs to: its values of the series keys.
struct SeriesOf {
  std::vector<std::string> keys;
  std::string operator()(const RunRecord& r) const {
    std::string label;
    for (const auto& k : keys) label += (label.empty() ? "" : " · ") + shown_row_value(r, k);
    return keys.empty() ? "all runs" : label;
  }
};

const std::vector<double>* doubles(const RunRecord& r, const std::string& name) {
  auto it = r.output.arrays.find(name);
  return it == r.output.arrays.end() ? nullptr : std::get_if<std::vector<double>>(&it->second);
}

const double* metric(const RunRecord& r, const std::string& name) {
  auto it = r.output.metrics.find(name);
  return it == r.output.metrics.end() ? nullptr : &it->second;
}

// One plot being built: series (in the order first used), categories (for a
// category plot, in the order first used) and the marks.
class Plot {
 public:
  Plot(std::string kind, const std::string& title, const std::string& x_label, const std::string& y_label)
      : kind_(std::move(kind)) {
    json_ = {{"kind", kind_}, {"title", title}, {"x_label", x_label}, {"y_label", y_label}};
  }
  json& series(const std::string& label) {
    auto it = std::find(labels_.begin(), labels_.end(), label);
    if (it != labels_.end()) return series_[size_t(it - labels_.begin())];
    labels_.push_back(label);
    series_.push_back({{"label", label}, {"points", json::array()}, {"curves", json::array()}});
    return series_.back();
  }
  void point(const std::string& series_label, double x, double y, const RunRecord& r) {
    series(series_label)["points"].push_back({{"x", x}, {"y", y}, {"run", run_name(r)}});
    ++marks_;
  }
  void point(const std::string& series_label, const std::string& category, double y, const RunRecord& r) {
    auto it = std::find(categories_.begin(), categories_.end(), category);
    if (it == categories_.end()) it = categories_.insert(categories_.end(), category);
    point(series_label, double(it - categories_.begin()), y, r);
  }
  void curve(const std::string& series_label, const std::vector<double>& ys, const RunRecord& r) {
    series(series_label)["curves"].push_back({{"run", run_name(r)}, {"y", ys}});
    ++marks_;
  }
  // The plot's JSON (null when it has no marks); a category plot's means per
  // series and category, joined by a line when `connect`.
  json finish(bool connect = false) {
    if (marks_ == 0) return nullptr;
    if (kind_ == "category") {
      for (json& s : series_) {
        std::map<double, std::vector<double>> by_category;
        for (const json& p : s["points"]) by_category[p["x"].get<double>()].push_back(p["y"].get<double>());
        json means = json::array();
        for (const auto& [x, ys] : by_category) means.push_back({{"x", x}, {"y", summarize(ys).mean}});
        s["means"] = means;
      }
      json_["categories"] = categories_;
      json_["connect"] = connect;
    }
    json_["series"] = series_;
    return json_;
  }

 private:
  std::string kind_;
  json json_;
  std::vector<std::string> labels_, categories_;
  std::vector<json> series_;
  size_t marks_ = 0;
};

// Whether every run with one value of `key` shows one value of `other`.
bool determined_by(const std::vector<const RunRecord*>& runs, const std::string& key, const std::string& other) {
  if (key.empty()) return false;
  std::map<std::string, std::string> seen;
  for (const RunRecord* r : runs) {
    auto [it, fresh] = seen.emplace(shown_row_value(*r, key), shown_row_value(*r, other));
    if (!fresh && it->second != shown_row_value(*r, other)) return false;
  }
  return true;
}

// `metric_name` per category (the run's value of `key`; its series without one).
json category_plot(const std::vector<const RunRecord*>& runs, const SeriesOf& series, const std::string& key,
                   const std::string& metric_name) {
  Plot plot("category", metric_name + (key.empty() ? "" : " by " + key), key, metric_name);
  for (const RunRecord* r : runs)
    if (const double* y = metric(*r, metric_name))
      plot.point(series(*r), key.empty() ? series(*r) : shown_row_value(*r, key), *y, *r);
  return plot.finish(!key.empty());
}

json scatter_plot(const std::vector<const RunRecord*>& runs, const SeriesOf& series, const std::string& x_metric,
                  const std::string& y_metric) {
  Plot plot("scatter", y_metric + " against " + x_metric, x_metric, y_metric);
  for (const RunRecord* r : runs) {
    const double *x = metric(*r, x_metric), *y = metric(*r, y_metric);
    if (x && y) plot.point(series(*r), *x, *y, *r);
  }
  return plot.finish();
}

json curve_plot(const std::vector<const RunRecord*>& runs, const SeriesOf& series, const std::string& array) {
  Plot plot("curve", array + " per step", "step", array);
  for (const RunRecord* r : runs)
    if (const auto* ys = doubles(*r, array)) plot.curve(series(*r), *ys, *r);
  return plot.finish();
}

// A safety metric: a refusal rate (refusal evaluator), a judge's safe rate,
// or the accuracy of a label naming safety (SafetyBench).
bool is_safety(const std::string& m) {
  if (ends_with(m, ".refusal_rate") || ends_with(m, ".safe_rate")) return true;
  return ends_with(m, ".acc") && m.find("safety") != std::string::npos && m.find('.') == m.size() - 4;
}

// Training records (plugins/common/learned.h): P.loss per step and each term
// P.T beside it, the same length in some run.
std::vector<std::string> training_arrays(const std::vector<const RunRecord*>& runs) {
  std::set<std::string> prefixes;
  for (const RunRecord* r : runs)
    for (const auto& [name, a] : r->output.arrays)
      if (ends_with(name, ".loss") && doubles(*r, name)) prefixes.insert(name.substr(0, name.size() - 5));
  std::vector<std::string> out;
  for (const auto& p : prefixes) {
    out.push_back(p + ".loss");
    std::set<std::string> terms;
    for (const RunRecord* r : runs) {
      const auto* loss = doubles(*r, p + ".loss");
      if (!loss) continue;
      for (const auto& [name, a] : r->output.arrays) {
        const auto* ys = doubles(*r, name);
        if (ys && ys->size() == loss->size() && name != p + ".loss" && name.rfind(p + ".", 0) == 0 &&
            name.find('.', p.size() + 1) == std::string::npos)
          terms.insert(name);
      }
    }
    out.insert(out.end(), terms.begin(), terms.end());
  }
  return out;
}

// N-Mix metrics L.nmix.<lang>: label -> languages.
std::map<std::string, std::set<std::string>> nmix_languages(const std::set<std::string>& metrics) {
  std::map<std::string, std::set<std::string>> out;
  for (const auto& m : metrics) {
    size_t at = m.rfind(".nmix.");
    if (at == std::string::npos || at == 0) continue;
    std::string lang = m.substr(at + 6);
    if (!lang.empty() && lang.find('.') == std::string::npos) out[m.substr(0, at)].insert(lang);
  }
  return out;
}

void nmix_plots(const std::vector<const RunRecord*>& runs, const SeriesOf& series, const std::set<std::string>& metrics,
                std::vector<json>& plots) {
  const auto languages = nmix_languages(metrics);
  // A language names its category unless two labels scored it.
  std::map<std::string, int> labels_per_language;
  for (const auto& [label, langs] : languages)
    for (const auto& lang : langs) ++labels_per_language[lang];
  auto category = [&](const std::string& label, const std::string& lang) {
    return labels_per_language[lang] > 1 ? label + ": " + lang : lang;
  };
  Plot nmix("category", "N-Mix per language", "language", "N-Mix");
  for (const RunRecord* r : runs)
    for (const auto& [label, langs] : languages)
      for (const auto& lang : langs)
        if (const double* y = metric(*r, label + ".nmix." + lang)) nmix.point(series(*r), category(label, lang), *y, *r);
  plots.push_back(nmix.finish());
  for (const std::string rate : {"line_pass_rate", "word_pass_rate"}) {
    Plot plot("category", rate + " per language", "language", rate);
    for (const RunRecord* r : runs)
      for (const auto& [label, langs] : languages)
        if (langs.size() == 1)
          if (const double* y = metric(*r, label + "." + rate)) plot.point(series(*r), category(label, *langs.begin()), *y, *r);
    plots.push_back(plot.finish());
  }
}

}  // namespace

PlotRequest parse_plot_request(const std::string& text) {
  PlotRequest req;
  auto bad = [&] { return UsageError("--plot: expected x=METRIC,y=METRIC[,color=KEY], got '" + text + "'"); };
  size_t begin = 0;
  while (begin <= text.size()) {
    size_t end = std::min(text.find(',', begin), text.size());
    std::string item = text.substr(begin, end - begin);
    size_t eq = item.find('=');
    if (eq == std::string::npos || eq + 1 == item.size()) throw bad();
    std::string key = item.substr(0, eq), value = item.substr(eq + 1);
    std::string* slot = key == "x" ? &req.x : key == "y" ? &req.y : key == "color" ? &req.color : nullptr;
    if (!slot || !slot->empty()) throw bad();
    *slot = value;
    begin = end + 1;
  }
  if (req.x.empty() || req.y.empty()) throw bad();
  return req;
}

json choose_plots(const std::vector<const RunRecord*>& runs, const ReportSpec& spec,
                  const std::vector<PlotRequest>& requests) {
  std::vector<const RunRecord*> ordered = runs;
  std::stable_sort(ordered.begin(), ordered.end(), [](const RunRecord* a, const RunRecord* b) { return a->index < b->index; });
  std::set<std::string> metrics;
  for (const RunRecord* r : runs)
    for (const auto& [k, v] : r->output.metrics) metrics.insert(k);
  for (const auto& req : requests) {
    if (!metrics.count(req.y)) throw UsageError("--plot: no run has metric '" + req.y + "' (metrics: " + name_list(metrics) + ")");
    if (!metrics.count(req.x)) {
      try {
        require_key(runs, "--plot", req.x);
      } catch (const UsageError&) {
        throw UsageError("--plot: no run has metric or key '" + req.x + "' (metrics: " + name_list(metrics) + ")");
      }
    }
    if (!req.color.empty()) require_key(runs, "--plot", req.color);
  }

  // The x key of the per-precision plots, and the series: the other row keys.
  std::string x_key = spec.pivot;
  if (x_key.empty() && std::any_of(runs.begin(), runs.end(), [](const RunRecord* r) {
        return !row_value(*r, "tags.precision").empty();
      }))
    x_key = "tags.precision";
  // Series: the row keys (the table's grouping); across precisions, all but
  // those that only rename the precision (a zip partner of it, one value per
  // precision and back, would give each precision a series of its own, with
  // nothing to join).
  const SeriesOf series{spec.rows.empty() ? default_rows(runs) : spec.rows};
  SeriesOf across;
  for (const auto& k : series.keys)
    if (k != x_key && !(determined_by(runs, x_key, k) && determined_by(runs, k, x_key))) across.keys.push_back(k);

  std::vector<json> plots;
  std::vector<std::string> ppl;
  for (const auto& m : metrics)
    if (ends_with(m, ".ppl")) ppl.push_back(m);
  for (const auto& m : ppl) plots.push_back(category_plot(ordered, across, x_key, m));
  for (const auto& m : metrics)
    if (!ppl.empty() && is_safety(m)) plots.push_back(scatter_plot(ordered, series, ppl.front(), m));
  for (const auto& a : training_arrays(ordered)) plots.push_back(curve_plot(ordered, series, a));
  nmix_plots(ordered, series, metrics, plots);
  for (const auto& req : requests) {
    SeriesOf by = req.color.empty() ? series : SeriesOf{{req.color}};
    plots.push_back(metrics.count(req.x) ? scatter_plot(ordered, by, req.x, req.y)
                                         : category_plot(ordered, by, req.x, req.y));
  }

  json out = json::array();
  for (json& p : plots) {
    if (p.is_null()) continue;
    p["id"] = "plot-" + std::to_string(out.size() + 1);
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace qlab
