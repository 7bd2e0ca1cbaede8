#include "core/quant/saved_quant.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"

namespace qlab {

void save_quant_description(const std::string& dir, const OnlineSpec& spec, const nlohmann::json& steps) {
  std::string path = dir + "/" + kQuantDescriptionFile;
  std::ofstream f(path);
  f << nlohmann::json{{"format", "qlab-quant"}, {"version", 1}, {"online", spec.to_json()}, {"steps", steps}}.dump(2)
    << "\n";
  if (!f) throw UsageError(path + ": cannot write");
}

std::optional<OnlineSpec> read_saved_quantization(const std::string& dir) {
  std::string path = dir + "/" + kQuantDescriptionFile;
  if (!std::filesystem::exists(path)) return std::nullopt;
  try {
    std::ifstream f(path);
    auto j = nlohmann::json::parse(f);
    if (j.value("format", "") != "qlab-quant") throw UsageError(path + ": not a qlab quantization description");
    return OnlineSpec::from_json(j.at("online"));
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(path + ": " + e.what());
  }
}

bool attach_saved_quantization(Model& model, const std::string& dir) {
  auto spec = read_saved_quantization(dir);
  if (!spec) return false;
  attach_online_hadamards(model, *spec);
  attach_quantizers(model, *spec);
  return true;
}

}  // namespace qlab
