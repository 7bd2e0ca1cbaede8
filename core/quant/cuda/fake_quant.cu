#include "core/quant/cuda/fake_quant_kernel.h"
#include "core/quant/cuda/row_quant.cuh"

namespace qlab::cuda {
namespace {

// Rows of at most this many packs go one to a warp (8 rows a block, the
// reductions in registers); longer ones one to a block.
constexpr int64_t kWarpRowPacks = 128;
constexpr unsigned kWarpBlock = 256;

// One grid per row: the row's range in one read, its codes in a second (of
// what the first left in cache). kWarp: a warp per row, else a block per row.
template <typename T, int P, bool kWarp>
__global__ void fake_quant_rows(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t width, QuantArgs q) {
  __shared__ float shared[32];
  const int64_t row = kWarp ? blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32 : blockIdx.x;
  if (row >= rows) return;   // the whole warp (a block only ever has its row)
  const int member = kWarp ? threadIdx.x % 32 : threadIdx.x, team = kWarp ? 32 : blockDim.x;
  const T* in = x + row * width;
  T* out = y + row * width;
  const int64_t packs = width / P;
  RowRange range;
#pragma unroll 4
  for (int64_t i = member; i < packs; i += team) {
    float v[P];
    load_elements<T, P>(in, i, v);
#pragma unroll
    for (int k = 0; k < P; ++k) range.add(v[k], q.symmetric);
  }
  const RowGrid g = kWarp ? warp_row_grid(range, q) : block_row_grid(range, q, shared);
#pragma unroll 4
  for (int64_t i = member; i < packs; i += team) {
    float v[P];
    load_elements<T, P>(in, i, v);
#pragma unroll
    for (int k = 0; k < P; ++k) v[k] = fake_quant_value(v[k], g, q);
    store_elements<T, P>(out, i, v);
  }
}

template <typename T, int P>
void launch(const T* x, T* y, int64_t rows, int64_t width, const QuantArgs& q, cudaStream_t stream) {
  const int64_t packs = width / P;
  if (packs <= kWarpRowPacks) {
    const int64_t per_block = kWarpBlock / 32;
    fake_quant_rows<T, P, true><<<static_cast<unsigned>((rows + per_block - 1) / per_block), kWarpBlock, 0, stream>>>(
        x, y, rows, width, q);
  } else {
    fake_quant_rows<T, P, false><<<static_cast<unsigned>(rows), row_threads(packs), 0, stream>>>(x, y, rows, width, q);
  }
}

}  // namespace

void launch_fake_quant_rows(const void* x, void* y, int64_t rows, int64_t width, Dtype dtype, const QuantArgs& q,
                            void* stream) {
  if (rows == 0 || width == 0) return;
  with_element_type(dtype, [&](auto t) {
    using T = decltype(t);
    constexpr int P = kPack<T>;
    auto in = static_cast<const T*>(x);
    auto out = static_cast<T*>(y);
    auto s = static_cast<cudaStream_t>(stream);
    if (packs_fit(x, y, width, sizeof(T))) launch<T, P>(in, out, rows, width, q, s);
    else launch<T, 1>(in, out, rows, width, q, s);
  });
  check_launch("fake-quant kernel");
}

}  // namespace qlab::cuda
