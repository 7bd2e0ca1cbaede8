// A quantized checkpoint written by `qlab quantize --out DIR`: the rotated,
// fake-quantized weights as an ordinary Hugging Face checkpoint, plus
// qlab_quant.json listing every online op record of the model (site, kind,
// tag, args; their tensors in qlab_online.safetensors). Loading rebuilds those
// ops (make_online_op), so the model computes what it computed when saved.
// Version 1 files (only the OnlineSpec) still load.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/model/model.h"
#include "core/quant/online.h"

namespace qlab {

inline constexpr const char* kQuantDescriptionFile = "qlab_quant.json";
inline constexpr const char* kOnlineTensorsFile = "qlab_online.safetensors";

// Writes the records of every non-transient online op of model, the settings
// spec and the steps' description. Weight ops must be baked first.
void save_quantization(const std::string& dir, Model& model, const OnlineSpec& spec, const nlohmann::json& steps);

// The settings in dir's description, if it holds one. Malformed file: UsageError naming it.
std::optional<OnlineSpec> read_saved_quantization(const std::string& dir);
// The saved online op records (site, kind, tag, args), read without a model
// (`qlab inspect`); empty when dir holds no description.
nlohmann::json read_saved_op_records(const std::string& dir);
// Rebuilds the saved online ops on model; returns whether there was a
// description. A record for a site the model lacks, an unknown kind or a
// missing tensor: UsageError naming the file.
bool attach_saved_quantization(Model& model, const std::string& dir);

}  // namespace qlab
