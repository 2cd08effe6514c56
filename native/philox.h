// Philox4x32-10 (Salmon et al., SC 2011): the one counter-based generator of every backend.
// Bit-identical to src/rng/philox.ts (the reference) and shaders/philox.wgsl:
//   key = (seed, stream); counter = (blockLo, blockHi, c2, c3); draw j lives in block j / 4, lane j % 4.
// The lane functions take structure-of-arrays inputs so that a loop over 8-16 lanes vectorizes: the
// 32x32->64-bit products are written through uint64_t, which GCC/Clang turn into vpmuludq.
#pragma once
#include <cstddef>
#include <cstdint>
#include <climits>
#if defined(__AVX2__)
#include <immintrin.h>
#endif

namespace sc {

constexpr uint32_t kPhiloxM0 = 0xd2511f53u;
constexpr uint32_t kPhiloxM1 = 0xcd9e8d57u;
constexpr uint32_t kPhiloxW0 = 0x9e3779b9u;
constexpr uint32_t kPhiloxW1 = 0xbb67ae85u;

// One Philox4x32-10 block; the rounds are unrolled so the lane loops around it vectorize.
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
inline void philox_block(uint32_t& x0, uint32_t& x1, uint32_t& x2, uint32_t& x3, uint32_t k0, uint32_t k1) {
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC unroll 10
#endif
  for (int round = 0; round < 10; ++round) {
    const uint64_t p0 = static_cast<uint64_t>(kPhiloxM0) * x0;
    const uint64_t p1 = static_cast<uint64_t>(kPhiloxM1) * x2;
    const uint32_t y0 = static_cast<uint32_t>(p1 >> 32) ^ x1 ^ k0;
    const uint32_t y2 = static_cast<uint32_t>(p0 >> 32) ^ x3 ^ k1;
    x1 = static_cast<uint32_t>(p1);
    x3 = static_cast<uint32_t>(p0);
    x0 = y0;
    x2 = y2;
    k0 += kPhiloxW0;
    k1 += kPhiloxW1;
  }
}

// Scalar form: the 4 outputs of (counter, key) into out[0..3].
inline void philox4x32(uint32_t c0, uint32_t c1, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1, uint32_t out[4]) {
  philox_block(c0, c1, c2, c3, k0, k1);
  out[0] = c0; out[1] = c1; out[2] = c2; out[3] = c3;
}

#if defined(__AVX2__)
// 8 x K blocks at once, one per 32-bit lane of K independent vectors (K > 1 hides the multiply latency
// of the round chain). GCC's own vectorization of the uint64_t products narrows through permutes;
// vpmuludq on the even and odd lanes plus two blends per product is cheaper.
template <int K>
inline void philox_block8(__m256i* x0, __m256i* x1, __m256i* x2, __m256i* x3, uint32_t k0, uint32_t k1) {
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(kPhiloxM0)), m1 = _mm256_set1_epi32(static_cast<int>(kPhiloxM1));
  for (int round = 0; round < 10; ++round) {
    const __m256i key0 = _mm256_set1_epi32(static_cast<int>(k0)), key1 = _mm256_set1_epi32(static_cast<int>(k1));
    for (int v = 0; v < K; ++v) {
      const __m256i e0 = _mm256_mul_epu32(x0[v], m0);
      const __m256i o0 = _mm256_mul_epu32(_mm256_srli_epi64(x0[v], 32), m0);
      const __m256i e1 = _mm256_mul_epu32(x2[v], m1);
      const __m256i o1 = _mm256_mul_epu32(_mm256_srli_epi64(x2[v], 32), m1);
      const __m256i hi0 = _mm256_blend_epi32(_mm256_srli_epi64(e0, 32), o0, 0xAA);
      // low words from the same products (vpmulld is 2 slow uops; a shift + blend is cheap)
      const __m256i lo0 = _mm256_blend_epi32(e0, _mm256_slli_epi64(o0, 32), 0xAA);
      const __m256i hi1 = _mm256_blend_epi32(_mm256_srli_epi64(e1, 32), o1, 0xAA);
      const __m256i lo1 = _mm256_blend_epi32(e1, _mm256_slli_epi64(o1, 32), 0xAA);
      x0[v] = _mm256_xor_si256(_mm256_xor_si256(hi1, x1[v]), key0);
      x2[v] = _mm256_xor_si256(_mm256_xor_si256(hi0, x3[v]), key1);
      x1[v] = lo1;
      x3[v] = lo0;
    }
    k0 += kPhiloxW0;
    k1 += kPhiloxW1;
  }
}

// Stores 8 x K blocks (SoA lanes) to o0..o3.
template <int K>
inline void store_blocks8(const __m256i* x0, const __m256i* x1, const __m256i* x2, const __m256i* x3,
                          uint32_t* o0, uint32_t* o1, uint32_t* o2, uint32_t* o3) {
  for (int v = 0; v < K; ++v) {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o0 + 8 * v), x0[v]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o1 + 8 * v), x1[v]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o2 + 8 * v), x2[v]);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(o3 + 8 * v), x3[v]);
  }
}
#endif

// n consecutive blocks first, first+1, ... with free words (c2, c3): lane outputs in o0..o3 (SoA).
inline void philox_consecutive(uint64_t first, uint32_t c2, uint32_t c3, uint32_t k0, uint32_t k1, size_t n,
                               uint32_t* __restrict o0, uint32_t* __restrict o1, uint32_t* __restrict o2,
                               uint32_t* __restrict o3) {
  size_t i = 0;
#if defined(__AVX2__)
  constexpr int K = 2;
  const __m256i step = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i bias = _mm256_set1_epi32(INT32_MIN);
  for (; i + 8 * K <= n; i += 8 * K) {
    __m256i x0[K], x1[K], x2[K], x3[K];
    for (int v = 0; v < K; ++v) {
      const uint64_t b = first + i + 8 * v;
      const __m256i lo = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(b)));
      x0[v] = _mm256_add_epi32(lo, step);
      // lanes whose low word wrapped carry into the high word (unsigned lo > lo + lane)
      const __m256i wrapped = _mm256_cmpgt_epi32(_mm256_xor_si256(lo, bias), _mm256_xor_si256(x0[v], bias));
      x1[v] = _mm256_sub_epi32(_mm256_set1_epi32(static_cast<int>(b >> 32)), wrapped);
      x2[v] = _mm256_set1_epi32(static_cast<int>(c2));
      x3[v] = _mm256_set1_epi32(static_cast<int>(c3));
    }
    philox_block8<K>(x0, x1, x2, x3, k0, k1);
    store_blocks8<K>(x0, x1, x2, x3, o0 + i, o1 + i, o2 + i, o3 + i);
  }
#endif
  for (; i < n; ++i) {
    const uint64_t b = first + i;
    uint32_t x0 = static_cast<uint32_t>(b), x1 = static_cast<uint32_t>(b >> 32), x2 = c2, x3 = c3;
    philox_block(x0, x1, x2, x3, k0, k1);
    o0[i] = x0; o1[i] = x1; o2[i] = x2; o3[i] = x3;
  }
}

// One block index for n lanes that differ in counter word c2 (the SDE kernels: c2 = global path index).
inline void philox_paths(uint64_t block, const uint32_t* __restrict c2, uint32_t c3, uint32_t k0, uint32_t k1, size_t n,
                         uint32_t* __restrict o0, uint32_t* __restrict o1, uint32_t* __restrict o2,
                         uint32_t* __restrict o3) {
  const uint32_t lo = static_cast<uint32_t>(block), hi = static_cast<uint32_t>(block >> 32);
  size_t i = 0;
#if defined(__AVX2__)
  constexpr int K = 2;
  for (; i + 8 * K <= n; i += 8 * K) {
    __m256i x0[K], x1[K], x2[K], x3[K];
    for (int v = 0; v < K; ++v) {
      x0[v] = _mm256_set1_epi32(static_cast<int>(lo));
      x1[v] = _mm256_set1_epi32(static_cast<int>(hi));
      x2[v] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(c2 + i + 8 * v));
      x3[v] = _mm256_set1_epi32(static_cast<int>(c3));
    }
    philox_block8<K>(x0, x1, x2, x3, k0, k1);
    store_blocks8<K>(x0, x1, x2, x3, o0 + i, o1 + i, o2 + i, o3 + i);
  }
#endif
  for (; i < n; ++i) {
    uint32_t x0 = lo, x1 = hi, x2 = c2[i], x3 = c3;
    philox_block(x0, x1, x2, x3, k0, k1);
    o0[i] = x0; o1[i] = x1; o2[i] = x2; o3[i] = x3;
  }
}

}  // namespace sc
