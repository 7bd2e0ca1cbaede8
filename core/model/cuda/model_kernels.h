// Launchers of the forward's fused CUDA kernels, free of LibTorch headers so
// that nvcc compiles only CUDA (core/model/fused_ops.h decides when they run).
// Each replaces a chain of small LibTorch ops: a decode step is ~1,500 of
// them at 7B, and at small batch their launches, not the GPU, set its time.
#pragma once
#include <cstdint>

#include "core/quant/cuda/fake_quant_kernel.h"   // Dtype

namespace qlab::cuda {

// rms_norm of model.h on rows of x [rows, width] (contiguous): the mean of
// squares and the scaling in float32, the normalised row rounded to the dtype,
// then multiplied by w in the dtype. One block per row.
void launch_rms_norm(const void* x, const void* w, void* y, int64_t rows, int64_t width, float eps, Dtype dtype,
                     void* stream);
// The same followed by the fake quantizer of each row (fake_quant_kernel.h),
// in one kernel: the normed row held in shared memory, bit for bit what the
// two kernels give. False (nothing launched) for a row over 48 KiB of float32.
bool launch_rms_norm_quant(const void* x, const void* w, void* y, int64_t rows, int64_t width, float eps,
                           const QuantArgs& q, Dtype dtype, void* stream);

// apply_rope of rope.h: y = x cos + rotate_half(x) sin with each product and
// the sum rounded to the dtype as the three LibTorch ops round them (so the
// result is theirs bit for bit). x and y have their own strides (last dim
// contiguous: x may be a slice of the fused q/k/v product's rows, y is dense);
// cos and sin are [cos_batch, T, D] contiguous, cos_batch 1 or B.
struct RopeShape {
  int64_t B, H, T, D;
  int64_t stride_b, stride_h, stride_t;
  int64_t y_stride_b, y_stride_h, y_stride_t;
  int64_t cos_batch;
};
// What may follow the rotation in the same kernel, on each head's row (the
// forward's q_rope / k_rope ops): QuaRot's R3, the Hadamard of order D, and
// then the KV cache's fake quantizer, one grid per head row. `scale` is the
// dtype's value of 1 / sqrt(D), as the dense H_D / sqrt(D) of hadamard.h
// holds it: each output is then that GEMM's (the same exact products summed
// in float32 in another order, so a rare element differs by one unit in the
// last place) and the quantizer sees it rounded to the dtype, as it would.
struct HeadOps {
  bool hadamard = false;
  float scale = 1.f;
  bool quant = false;
  QuantArgs q{};
};
// False (nothing launched) where the head ops are asked for and the rows do
// not fit them: D a power of two of at most 64 16-byte packs, x and y in packs.
bool launch_rope(const void* x, const void* cos, const void* sin, void* y, const RopeShape& s, const HeadOps& ops,
                 Dtype dtype, void* stream);

// One query per row against a cache of fixed capacity: softmax(q k^T *
// scale) v over the keys 0..*last_key that `allowed` [B, C] permits (null:
// all of them), in float32, written in the dtype. Keys past *last_key are not
// read, so the cost follows the filled length while every shape stays fixed
// (a CUDA graph replays it). Each row's written keys are cut into `splits`
// equal parts computed in parallel and combined (flash-decoding).
// q: [B, H, D] with strides (q_stride_b, q_stride_h, 1); k, v: [B, KV, C, D]
// contiguous; out: [B, H, D] contiguous; q, k, v 16-byte aligned (strides
// included). With splits > 1, partial: B*KV*splits*rep*D floats and stats:
// B*KV*splits*rep*2 floats (rep = H / KV <= 8; D 64 or 128); unused at 1.
struct DecodeAttentionShape {
  int64_t B, H, KV, C, D;
  int64_t q_stride_b, q_stride_h;
  int64_t splits;
  float scale;
};
// The splits for B * KV (row, kv head) pairs and a capacity C on the current
// device: a function of the shapes, so that a graph replays the same launch.
int64_t decode_attention_splits(int64_t rows_heads, int64_t capacity);
void launch_decode_attention(const void* q, const void* k, const void* v, const bool* allowed,
                             const int64_t* last_key, float* partial, float* stats, void* out,
                             const DecodeAttentionShape& s, Dtype dtype, void* stream);

// out[r] = logit[r, targets[r]] - logsumexp(logit[r, :]) for the rows of
// logits [rows, vocab] (contiguous, as the head's GEMM writes them), each
// logit read once as the dtype holds it and everything after in float64:
// log_softmax(logits.to(float64)).gather(targets) to float64 rounding,
// without a float64 copy of the logits. NaN for a target outside the
// vocabulary. One block per row.
void launch_target_logprobs(const void* logits, const int64_t* targets, double* out, int64_t rows, int64_t vocab,
                            Dtype dtype, void* stream);

// y = silu(gate) * up on rows [rows, width] (y contiguous; gate and up rows
// in_stride elements apart, e.g. the two halves of the fused gate/up
// product's rows), each op rounded to the dtype as LibTorch's two ops round
// it: their result bit for bit, with one read of each input and one write.
void launch_silu_mul(const void* gate, const void* up, void* y, int64_t rows, int64_t width, int64_t in_stride,
                     Dtype dtype, void* stream);

// down_proj's input under QuaRot's R4 (online.h): the Hadamard M = F ⊗ H_p
// / sqrt(p) of hadamard.h on silu(gate) * up, then the per-token quantizer.
// launch_silu_mul_hadamard makes what the LibTorch ops make in three
// passes: silu(gate) * up (silu_mul's rounding), H_p on each chunk of p with
// `scale` (the dtype's 1 / sqrt(p), as the dense H_p / sqrt(p) holds it),
// rounded to the dtype, into z [rows, m_pad p] in the row's order, chunks m..
// zero (m_pad: m rounded up to whole 16-byte packs, so that the batched GEMM
// by F that follows, F zero-padded to [m, m_pad], takes cuBLAS's aligned
// kernels; a dimension like 172 takes its slow unaligned ones). F over the
// chunks and the quantizer are the caller's (that GEMM, fake_quant_rows).
// Each product is the reference's: the same exact products summed in
// float32 in another order. p a power of two from one pack to 1024, each
// row staged in at most 48 KiB; gate and up rows in_stride elements apart
// (the fused gate/up product's halves); all 16-byte aligned. False (nothing
// launched) where they do not fit.
struct DownInputShape {
  int64_t rows, m, p, m_pad;
  float scale;
};
bool launch_silu_mul_hadamard(const void* gate, const void* up, void* z, int64_t in_stride, const DownInputShape& s,
                              Dtype dtype, void* stream);

}  // namespace qlab::cuda
