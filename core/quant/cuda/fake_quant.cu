#include "core/quant/cuda/fake_quant_kernel.h"
#include "core/quant/cuda/row_quant.cuh"

namespace qlab::cuda {
namespace {

template <typename T>
__global__ void fake_quant_rows(const T* __restrict__ x, T* __restrict__ y, int64_t width, QuantArgs q) {
  __shared__ float shared[32];
  const T* in = x + blockIdx.x * width;
  T* out = y + blockIdx.x * width;
  RowRange range;
  for (int64_t i = threadIdx.x; i < width; i += blockDim.x) range.add(load(in + i), q.symmetric);
  const RowGrid g = block_row_grid(range, q, shared);
  for (int64_t i = threadIdx.x; i < width; i += blockDim.x) store(out + i, fake_quant_value(load(in + i), g, q));
}

}  // namespace

void launch_fake_quant_rows(const void* x, void* y, int64_t rows, int64_t width, Dtype dtype, const QuantArgs& q,
                            void* stream) {
  if (rows == 0 || width == 0) return;
  with_element_type(dtype, [&](auto t) {
    using T = decltype(t);
    fake_quant_rows<T><<<static_cast<unsigned>(rows), row_threads(width), 0, static_cast<cudaStream_t>(stream)>>>(
        static_cast<const T*>(x), static_cast<T*>(y), width, q);
  });
  check_launch("fake-quant kernel");
}

}  // namespace qlab::cuda
