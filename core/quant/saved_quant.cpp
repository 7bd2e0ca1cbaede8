#include "core/quant/saved_quant.h"

#include <filesystem>
#include <fstream>

#include "core/error.h"
#include "core/model/checkpoint.h"

namespace qlab {

namespace {
nlohmann::json read_description(const std::string& path) {
  try {
    std::ifstream f(path);
    auto j = nlohmann::json::parse(f);
    if (j.value("format", "") != "qlab-quant") throw UsageError(path + ": not a qlab quantization description");
    return j;
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(path + ": " + e.what());
  }
}
}  // namespace

void save_quantization(const std::string& dir, Model& model, const OnlineSpec& spec, const nlohmann::json& steps) {
  nlohmann::json records = nlohmann::json::array();
  std::map<std::string, torch::Tensor> tensors;
  for (auto& [name, lin] : model.all_linears())
    if (!lin->weight_ops.empty()) throw std::logic_error("save_quantization: " + name + " has unbaked weight ops");
  for (const OpSite& site : model.op_sites())
    for (size_t i = 0; i < site.ops->size(); ++i) {
      const OnlineOp& op = (*site.ops)[i];
      if (op.transient) continue;
      nlohmann::json names = nlohmann::json::object();
      for (const auto& [key, t] : op.tensors) {
        std::string stored = site.name + "." + std::to_string(i) + "." + key;
        tensors[stored] = t;
        names[key] = stored;
      }
      records.push_back({{"site", site.name}, {"kind", op.kind}, {"tag", op.tag}, {"args", op.args}, {"tensors", names}});
    }
  if (!tensors.empty()) save_tensors(dir + "/" + kOnlineTensorsFile, tensors);
  std::string path = dir + "/" + kQuantDescriptionFile;
  std::ofstream f(path);
  f << nlohmann::json{{"format", "qlab-quant"}, {"version", 2}, {"online", spec.to_json()}, {"ops", records}, {"steps", steps}}
           .dump(2)
    << "\n";
  if (!f) throw UsageError(path + ": cannot write");
}

nlohmann::json read_saved_op_records(const std::string& dir) {
  std::string path = dir + "/" + kQuantDescriptionFile;
  if (!std::filesystem::exists(path)) return nlohmann::json::array();
  nlohmann::json ops = read_description(path).value("ops", nlohmann::json::array());
  if (!ops.is_array()) throw UsageError(path + ": 'ops' is not a list");
  return ops;
}

std::optional<OnlineSpec> read_saved_quantization(const std::string& dir) {
  std::string path = dir + "/" + kQuantDescriptionFile;
  if (!std::filesystem::exists(path)) return std::nullopt;
  auto j = read_description(path);
  try {
    return OnlineSpec::from_json(j.at("online"));
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(path + ": " + e.what());
  }
}

bool attach_saved_quantization(Model& model, const std::string& dir) {
  std::string path = dir + "/" + kQuantDescriptionFile;
  if (!std::filesystem::exists(path)) return false;
  auto j = read_description(path);
  if (j.value("version", 1) < 2) {
    OnlineSpec spec = *read_saved_quantization(dir);
    attach_online_hadamards(model, spec, "saved");
    attach_quantizers(model, spec);
    return true;
  }
  try {
    std::map<std::string, torch::Tensor> stored;
    std::string tensor_path = dir + "/" + kOnlineTensorsFile;
    if (std::filesystem::exists(tensor_path)) stored = load_tensors(tensor_path).tensors;
    std::map<std::string, OpSite> sites;
    for (const OpSite& s : model.op_sites()) sites.emplace(s.name, s);
    for (const auto& r : j.at("ops")) {
      const std::string site = r.at("site").get<std::string>();
      auto it = sites.find(site);
      if (it == sites.end()) throw UsageError(path + ": an op for site '" + site + "', which this model does not have");
      std::map<std::string, torch::Tensor> tensors;
      for (const auto& [key, name] : r.at("tensors").items()) {
        auto t = stored.find(name.get<std::string>());
        if (t == stored.end()) throw UsageError(path + ": tensor '" + name.get<std::string>() + "' is not in " + tensor_path);
        tensors[key] = t->second.to(model.device);
      }
      try {
        OnlineOp op = make_online_op(r.at("kind").get<std::string>(), r.at("args"), tensors, model.device, model.dtype,
                                     r.at("tag").get<std::string>());
        check_online_op(op, it->second.width);
        it->second.ops->push_back(std::move(op));
      } catch (const UsageError& e) {
        throw UsageError(path + ": site '" + site + "': " + e.what());
      }
    }
  } catch (const nlohmann::json::exception& e) {
    throw UsageError(path + ": " + e.what());
  }
  return true;
}

}  // namespace qlab
