#include "core/quant/cuda/butterfly.cuh"
#include "core/quant/cuda/fake_quant_kernel.h"
#include "core/quant/cuda/row_quant.cuh"

namespace qlab::cuda {
namespace {

// Rows of at most this many packs go one to a warp (8 rows a block, the
// reductions in registers); longer ones one to a block.
constexpr int64_t kWarpRowPacks = 128;
constexpr unsigned kBlock = 256;

// Where row `row` of x starts (RowOrder's grouped rows). In 32-bit
// division (the launcher checks the rows fit): on the GPU a 64-bit one is a
// long software routine.
struct Rows {
  int64_t width, group_stride;
  unsigned group;
  __device__ int64_t start(unsigned row) const {
    return int64_t(row / group) * group_stride + int64_t(row % group) * width;
  }
};

// One grid per row: the row's range in one read, its codes in a second (of
// what the first left in cache). kWarp: a warp per row, else a block per row.
template <typename T, int P, bool kWarp>
__global__ void fake_quant_rows(const T* __restrict__ x, T* __restrict__ y, int64_t rows, Rows layout, QuantArgs q) {
  __shared__ float shared[32];
  const int64_t row = kWarp ? blockIdx.x * int64_t(blockDim.x / 32) + threadIdx.x / 32 : blockIdx.x;
  if (row >= rows) return;   // the whole warp (a block only ever has its row)
  const int member = kWarp ? threadIdx.x % 32 : threadIdx.x, team = kWarp ? 32 : blockDim.x;
  const T* in = x + layout.start(row);
  T* out = y + row * layout.width;
  const int64_t packs = layout.width / P;
  RowRange range;
#pragma unroll 4
  for (int64_t i = member; i < packs; i += team) {
    float v[P];
    load_elements<T, P>(in, i, v);
#pragma unroll
    for (int k = 0; k < P; ++k) range.add(v[k], q.symmetric);
  }
  const RowGrid g = kWarp ? team_row_grid(range, q) : block_row_grid(range, q, shared);
#pragma unroll 4
  for (int64_t i = member; i < packs; i += team) {
    float v[P];
    load_elements<T, P>(in, i, v);
#pragma unroll
    for (int k = 0; k < P; ++k) v[k] = fake_quant_value(v[k], g, q);
    store_elements<T, P>(out, i, v);
  }
}

// Rows of `team` packs (a power of two <= 32: a head's keys or values), a
// lane per pack, held in registers from the load to the store: one read,
// and 32 / team rows in flight per warp where a warp per row would idle
// most of its lanes.
template <typename T, int P>
__global__ void fake_quant_short_rows(const T* __restrict__ x, T* __restrict__ y, int64_t rows, Rows layout,
                                      int team, QuantArgs q) {
  const unsigned thread = blockIdx.x * blockDim.x + threadIdx.x;
  const unsigned row = thread / unsigned(team);
  const int pack = int(thread % unsigned(team));
  const bool live = row < rows;   // the same for a whole team: every lane stays for the shuffles
  float v[P] = {};
  RowRange range;
  if (live) {
    load_elements<T, P>(x + layout.start(row), pack, v);
#pragma unroll
    for (int k = 0; k < P; ++k) range.add(v[k], q.symmetric);
  }
  const RowGrid g = team_row_grid(range, q, team, team_mask(team));
  if (!live) return;
#pragma unroll
  for (int k = 0; k < P; ++k) v[k] = fake_quant_value(v[k], g, q);
  store_elements<T, P>(y + row * layout.width, pack, v);
}

template <typename T, int P>
void launch(const T* x, T* y, int64_t rows, const Rows& layout, const QuantArgs& q, cudaStream_t stream) {
  const int64_t packs = layout.width / P;
  if (P > 1 && packs <= 32 && (packs & (packs - 1)) == 0 && rows * packs < (int64_t(1) << 31)) {
    const int64_t threads = rows * packs;
    fake_quant_short_rows<T, P><<<static_cast<unsigned>((threads + kBlock - 1) / kBlock), kBlock, 0, stream>>>(
        x, y, rows, layout, int(packs), q);
  } else if (packs <= kWarpRowPacks) {
    const int64_t per_block = kBlock / 32;
    fake_quant_rows<T, P, true><<<static_cast<unsigned>((rows + per_block - 1) / per_block), kBlock, 0, stream>>>(
        x, y, rows, layout, q);
  } else {
    fake_quant_rows<T, P, false><<<static_cast<unsigned>(rows), row_threads(packs), 0, stream>>>(x, y, rows, layout, q);
  }
}

}  // namespace

void launch_fake_quant_rows(const void* x, void* y, int64_t rows, int64_t width, int64_t group,
                            int64_t group_stride, Dtype dtype, const QuantArgs& q, void* stream) {
  if (rows == 0 || width == 0) return;
  if (rows >= (int64_t(1) << 31)) throw std::invalid_argument("fake-quant kernel: fewer than 2^31 rows");
  const Rows layout{width, group_stride, static_cast<unsigned>(group)};
  with_element_type(dtype, [&](auto t) {
    using T = decltype(t);
    constexpr int P = kPack<T>;
    auto in = static_cast<const T*>(x);
    auto out = static_cast<T*>(y);
    auto s = static_cast<cudaStream_t>(stream);
    // Packs need every row start aligned: the group starts too.
    if (packs_fit(x, y, width, sizeof(T)) && (group_stride * int64_t(sizeof(T))) % 16 == 0)
      launch<T, P>(in, out, rows, layout, q, s);
    else
      launch<T, 1>(in, out, rows, layout, q, s);
  });
  check_launch("fake-quant kernel");
}

}  // namespace qlab::cuda
