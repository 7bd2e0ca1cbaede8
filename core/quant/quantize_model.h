// Weight quantization of a whole model: every linear inside the decoder blocks
// (q, k, v, o, gate, up, down); the embedding and lm_head stay in 16-bit.
#pragma once
#include "core/tensor.h"

#include "core/model/model.h"
#include "core/quant/gptq.h"
#include "core/quant/quantizer.h"

namespace qlab {

// Round-to-nearest, each weight on the model's device (one at a time).
void quantize_weights_rtn(Model& model, const QuantConfig& cfg);

// GPTQ, layer by layer: calibration hidden states flow through the already
// quantized earlier layers; inside a layer the linears are quantized
// true-sequentially ({q,k,v}, {o}, {gate,up}, {down}), re-running the layer
// between stages, each time only as far as the stage's inputs. Each linear's
// Hessian is taken from its input as the matmul sees it (after any online
// transform already attached, before quantizers, which must not be attached
// yet); the linears of a stage that see the same input (shared_input_groups)
// share one Hessian and are quantized in one gptq_quantize call over their
// rows stacked (the same as separate calls up to the BLAS's rounding of the
// block products: Gptq.StackedRowsEqualSeparateCallsToRounding).
// calibration: [n, seqlen] token ids.
// Only the current layer needs to be on the GPU (offloaded models work).
struct GptqRunOptions {
  GptqOptions gptq;
  int64_t batch_size = 8;       // calibration windows per forward
};
void quantize_weights_gptq(Model& model, const QuantConfig& cfg, const torch::Tensor& calibration,
                           const GptqRunOptions& options);

// The decoder linears of one layer, in GPTQ's true-sequential stages.
std::vector<std::vector<Linear*>> sequential_stages(Layer& layer);

// A stage's linears read one activation; those whose input ops are the same
// (none, or equal saved records) see one matrix input, so one Hessian serves
// them (q, k, v; gate, up). Groups in stage order, each in stage order.
std::vector<std::vector<Linear*>> shared_input_groups(const std::vector<Linear*>& stage);

}  // namespace qlab
