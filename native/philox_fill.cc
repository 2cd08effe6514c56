#include "philox_fill.h"

#include <algorithm>

#include "fastmath.h"
#include "philox.h"
#include "kernel.h"
#include "sde_isa.h"
#include "thread_pool.h"

namespace sc {
namespace {

constexpr size_t kBatch = 64;            // blocks per vectorized batch (256 draws)
constexpr size_t kChunk = size_t(1) << 16;  // draws per parallel work item

// Blocks first .. first + nb - 1 as interleaved draws into out[0 .. 4 nb).
template <DrawKind K, typename T>
void fill_blocks(T* __restrict out, uint64_t first, size_t nb, uint32_t seed, uint32_t stream) {
#if SC_SDE_SIMD
  if constexpr (K == DrawKind::Normal) {
    // The SIMD family's Philox + Box-Muller core (sde_simd.h, shared with em_collapse), whole vectors of
    // blocks straight into `out`; the scalar code below (the same normals) takes the last few blocks.
    const size_t width = sde_use_avx512() ? avx512::kWidth : avx2::kWidth;
    const size_t whole = nb / width * width;
    if (whole > 0) {
      if (width == static_cast<size_t>(avx512::kWidth)) avx512::normals_consecutive(out, first, whole, seed, stream);
      else avx2::normals_consecutive(out, first, whole, seed, stream);
      out += 4 * whole;
      first += whole;
      nb -= whole;
    }
  }
#endif
  alignas(64) uint32_t o0[kBatch], o1[kBatch], o2[kBatch], o3[kBatch];
  while (nb > 0) {
    const size_t b = std::min(nb, kBatch);
    philox_consecutive(first, 0, 0, seed, stream, b, o0, o1, o2, o3);
    if constexpr (K == DrawKind::U32) {
      for (size_t i = 0; i < b; ++i) {
        out[4 * i] = o0[i]; out[4 * i + 1] = o1[i]; out[4 * i + 2] = o2[i]; out[4 * i + 3] = o3[i];
      }
    } else if constexpr (K == DrawKind::Uniform) {
      for (size_t i = 0; i < b; ++i) {
        out[4 * i] = uniform_from_u32(o0[i]); out[4 * i + 1] = uniform_from_u32(o1[i]);
        out[4 * i + 2] = uniform_from_u32(o2[i]); out[4 * i + 3] = uniform_from_u32(o3[i]);
      }
    } else {
      alignas(64) float z0[kBatch], z1[kBatch], z2[kBatch], z3[kBatch];
      for (size_t i = 0; i < b; ++i) {
        box_muller(o0[i], o1[i], z0[i], z1[i]);
        box_muller(o2[i], o3[i], z2[i], z3[i]);
      }
      for (size_t i = 0; i < b; ++i) {
        out[4 * i] = z0[i]; out[4 * i + 1] = z1[i]; out[4 * i + 2] = z2[i]; out[4 * i + 3] = z3[i];
      }
    }
    out += 4 * b;
    first += b;
    nb -= b;
  }
}

template <DrawKind K, typename T>
void fill_typed(T* out, size_t n, uint32_t seed, uint32_t stream, uint64_t offset) {
  if (n == 0) return;
  alignas(16) T tmp[4];
  // Head: a partial first block.
  const unsigned lane = static_cast<unsigned>(offset & 3);
  if (lane != 0) {
    fill_blocks<K>(tmp, offset >> 2, 1, seed, stream);
    const size_t take = std::min<size_t>(4 - lane, n);
    for (size_t i = 0; i < take; ++i) out[i] = tmp[lane + i];
    out += take; n -= take; offset += take;
  }
  const size_t full = n / 4;
  fill_blocks<K>(out, offset >> 2, full, seed, stream);
  out += 4 * full; offset += 4 * full; n -= 4 * full;
  if (n > 0) {  // Tail: a partial last block.
    fill_blocks<K>(tmp, offset >> 2, 1, seed, stream);
    for (size_t i = 0; i < n; ++i) out[i] = tmp[i];
  }
}

}  // namespace

void fill_draws(DrawKind kind, void* out, size_t n, uint32_t seed, uint32_t stream, uint64_t offset) {
  switch (kind) {
    case DrawKind::U32: fill_typed<DrawKind::U32>(static_cast<uint32_t*>(out), n, seed, stream, offset); break;
    case DrawKind::Uniform: fill_typed<DrawKind::Uniform>(static_cast<float*>(out), n, seed, stream, offset); break;
    case DrawKind::Normal: fill_typed<DrawKind::Normal>(static_cast<float*>(out), n, seed, stream, offset); break;
  }
}

void fill_draws_parallel(DrawKind kind, void* out, size_t n, uint32_t seed, uint32_t stream, uint64_t offset,
                         ThreadPool* pool, unsigned threads) {
  if (pool == nullptr || threads <= 1 || n <= kChunk) {
    fill_draws(kind, out, n, seed, stream, offset);
    return;
  }
  auto* bytes = static_cast<unsigned char*>(out);  // both element types are 4 bytes wide
  const size_t chunks = (n + kChunk - 1) / kChunk;
  pool->parallel_for(chunks, threads, [&](size_t c) {
    const size_t start = c * kChunk;
    const size_t len = std::min(kChunk, n - start);
    fill_draws(kind, bytes + 4 * start, len, seed, stream, offset + start);
  });
}

}  // namespace sc

// ---- registry entry (src/kernels/philox_fill.ts declares the fields) ----
namespace {
// fields: kind, block_lo, block_hi, lane0, n, seed, stream, groups;  arrays: out (u32 or f32)
void philox_fill_kernel(const sc::KernelCall& call) {
  call.expect(8, 1);
  const auto kind = static_cast<sc::DrawKind>(call.integer(0));
  if (call.integer(0) > 2) throw std::invalid_argument("philox_fill: kind must be 0, 1 or 2");
  const uint64_t offset = ((call.integer(2) << 32) | call.integer(1)) * 4 + call.integer(3);
  const size_t n = call.integer(4);
  void* out = kind == sc::DrawKind::U32 ? static_cast<void*>(call.array<uint32_t>(0, sc::ArrayType::U32, "out"))
                                         : static_cast<void*>(call.array<float>(0, sc::ArrayType::F32, "out"));
  if (call.length(0) != n) throw std::invalid_argument("philox_fill: out must hold n elements");
  sc::fill_draws_parallel(kind, out, n, static_cast<uint32_t>(call.integer(5)), static_cast<uint32_t>(call.integer(6)), offset,
                          call.pool, call.threads);
}
}  // namespace
SC_REGISTER_KERNEL("philox_fill", philox_fill_kernel);
