// fma_peak: the CPU's floating-point ceiling for `collapse bench`. Output i is x after `iterations` steps of
// x <- fma(x, a, b) from x0 = (i mod 1024) / 1024: every output is an independent dependency chain, and a
// thread runs 12 AVX2 vectors of them at once (96 outputs), enough chains to keep both FMA ports busy through
// the FMA latency; where the GEMM runs its AVX-512 family (matmul.h: chosen at load, SC_NATIVE_ISA=avx2 forces
// AVX2), 12 AVX-512 vectors (192 outputs), so that the ceiling is the one the GEMM can reach. Each output is the
// same FMA chain either way. 2 FLOP per output per iteration. src/kernels/fma_peak.ts declares the fields and holds the
// reference; shaders/fma_peak.wgsl is the webgpu twin.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "kernel.h"
#include "matmul.h"
#include "thread_pool.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define SC_FMA_AVX2 1
#if defined(__GNUC__) && defined(__x86_64__)
#define SC_FMA_AVX512 1
#define SC_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq")))
#endif
#endif

namespace {

constexpr size_t kChains = 12;
constexpr size_t kLanes = 8;
constexpr size_t kTile = kChains * kLanes;  // outputs per task

inline float start_of(size_t i) { return static_cast<float>(i & 1023u) * (1.0f / 1024.0f); }

#ifdef SC_FMA_AVX512
constexpr size_t kTile512 = kChains * 16;

// Outputs [first, first + kTile512).
SC_TARGET_AVX512 void run_tile512(float* out, size_t first, uint32_t iterations, float a, float b) {
  __m512 x[kChains];
  for (size_t c = 0; c < kChains; ++c) {
    alignas(64) float init[16];
    for (size_t l = 0; l < 16; ++l) init[l] = start_of(first + c * 16 + l);
    x[c] = _mm512_load_ps(init);
  }
  const __m512 va = _mm512_set1_ps(a), vb = _mm512_set1_ps(b);
  for (uint32_t it = 0; it < iterations; ++it) {
    for (size_t c = 0; c < kChains; ++c) x[c] = _mm512_fmadd_ps(x[c], va, vb);
  }
  for (size_t c = 0; c < kChains; ++c) _mm512_storeu_ps(out + first + c * 16, x[c]);
}
#endif

// Outputs [first, first + count) with count <= kTile.
void run_tile(float* out, size_t first, size_t count, uint32_t iterations, float a, float b) {
#ifdef SC_FMA_AVX2
  if (count == kTile) {
    __m256 x[kChains];
    for (size_t c = 0; c < kChains; ++c) {
      alignas(32) float init[kLanes];
      for (size_t l = 0; l < kLanes; ++l) init[l] = start_of(first + c * kLanes + l);
      x[c] = _mm256_load_ps(init);
    }
    const __m256 va = _mm256_set1_ps(a), vb = _mm256_set1_ps(b);
    for (uint32_t it = 0; it < iterations; ++it) {
      for (size_t c = 0; c < kChains; ++c) x[c] = _mm256_fmadd_ps(x[c], va, vb);
    }
    for (size_t c = 0; c < kChains; ++c) _mm256_storeu_ps(out + first + c * kLanes, x[c]);
    return;
  }
#endif
  float x[kTile];
  for (size_t j = 0; j < count; ++j) x[j] = start_of(first + j);
  for (uint32_t it = 0; it < iterations; ++it) {
    for (size_t j = 0; j < count; ++j) x[j] = std::fma(x[j], a, b);
  }
  std::copy(x, x + count, out + first);
}

// fields: n, iterations, a, b, groups (webgpu only);  arrays: out (f32, n)
void fma_peak_kernel(const sc::KernelCall& call) {
  call.expect(5, 1);
  const size_t n = call.integer(0);
  const auto iterations = static_cast<uint32_t>(call.integer(1));
  const auto a = static_cast<float>(call.fields[2]);
  const auto b = static_cast<float>(call.fields[3]);
  float* out = call.array<float>(0, sc::ArrayType::F32, "out");
  if (call.length(0) != n) throw std::invalid_argument("fma_peak: out must hold n elements");
#ifdef SC_FMA_AVX512
  const bool wide = sc::gemm_isa() == sc::GemmIsa::kAvx512;
  const size_t tile = wide ? kTile512 : kTile;
#else
  [[maybe_unused]] const bool wide = false;
  const size_t tile = kTile;
#endif
  const size_t tiles = (n + tile - 1) / tile;
  auto task = [&](size_t t) {
    const size_t first = t * tile, count = std::min(tile, n - first);
#ifdef SC_FMA_AVX512
    if (wide && count == tile) return run_tile512(out, first, iterations, a, b);
#endif
    // An AVX2 tile at a time (the last partial one of the AVX-512 tiling included).
    for (size_t f = first; f < first + count; f += kTile) run_tile(out, f, std::min(kTile, first + count - f), iterations, a, b);
  };
  if (call.pool != nullptr && call.threads > 1 && tiles > 1) {
    call.pool->parallel_for(tiles, call.threads, task);
  } else {
    for (size_t t = 0; t < tiles; ++t) task(t);
  }
}

}  // namespace
SC_REGISTER_KERNEL("fma_peak", fma_peak_kernel);
