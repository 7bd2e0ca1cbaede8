// A quantized checkpoint written by `qlab quantize --out DIR`: the rotated,
// fake-quantized weights as an ordinary Hugging Face checkpoint, plus
// qlab_quant.json saying which online transforms and activation / KV
// quantizers must run beside them. Loading re-attaches those, so the model
// computes what it computed when it was saved.
#pragma once
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "core/model/model.h"
#include "core/quant/online.h"

namespace qlab {

inline constexpr const char* kQuantDescriptionFile = "qlab_quant.json";

void save_quant_description(const std::string& dir, const OnlineSpec& spec, const nlohmann::json& steps);

// The description in dir, if it holds one. Malformed file: UsageError naming it.
std::optional<OnlineSpec> read_saved_quantization(const std::string& dir);
// Attaches what read_saved_quantization finds; returns whether there was one.
bool attach_saved_quantization(Model& model, const std::string& dir);

}  // namespace qlab
