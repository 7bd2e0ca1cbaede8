// The fused fake-quantization kernel's launcher, free of LibTorch headers so
// that nvcc compiles only CUDA (core/quant/cuda/fake_quant.cu).
#pragma once
#include <cstdint>

namespace qlab::cuda {

enum class Dtype { Float32, Float16, BFloat16 };

// One row's grid as find_grid + fake_quantize_on_grid compute it without clip
// search (quantizer.h), with what the config fixes (core/quant/cuda/tensor_args.h
// makes it from a QuantConfig):
//   symmetric:  scale = max|x| * mult,             zero = sym_zero
//   asymmetric: scale = (max(x,0) - min(x,0)) * mult, zero = rint(-min(x,0) * factor / scale)
//   (a scale that is not > 0 becomes 1), x_hat = (clamp(rint(x / scale) + zero, qmin, qmax) - zero) * scale,
// all in float32.
struct QuantArgs {
  bool symmetric;
  float mult, factor, sym_zero, qmin, qmax;
};

// One grid per row of x [rows, width], written to y [rows, width]
// (contiguous) in x's dtype. x's rows are contiguous in groups of `group`
// rows, the groups group_stride elements apart (tensor_args.h's RowOrder;
// group = rows for contiguous x). Each row is read once for its range and
// once for its codes (a row of at most 32 16-byte packs: once, held in
// registers by as many lanes), where the unfused LibTorch ops make about ten
// passes in float32.
void launch_fake_quant_rows(const void* x, void* y, int64_t rows, int64_t width, int64_t group,
                            int64_t group_stride, Dtype dtype, const QuantArgs& q, void* stream);

}  // namespace qlab::cuda
