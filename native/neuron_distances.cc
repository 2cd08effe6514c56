// neuron_distances: normalized squared distances between neuron vectors (src/kernels/neuron_distances.ts declares
// the fields; shaders/neuron_distances.wgsl is the webgpu twin):
//   out[i][j] = 2 * sum_k (a[i][k] - b[j][k])^2 / (|a_i|^2 + |b_j|^2 + epsilon),   0 when the denominator is 0.
// The squared distance is summed from the differences, so near-identical rows keep full relative accuracy (the
// expanded |a|^2 + |b|^2 - 2 a.b cancels in f32). Symmetric (B = A): only pairs i < j are summed and mirrored.
//
// Blocking: tasks own a BM x BN block of pairs; dim is walked in chunks of KC floats (1 KB per row), and inside
// a chunk a 2 x 4 register block (two rows of A against four of B, 8 AVX2 accumulators) sweeps the block's A
// rows for each group of four B rows, whose chunks (4 KB) stay in L1 while the A chunks come from L2. Processors
// with AVX-512 take a 4 x 4 block of 16-lane accumulators over 2 KB chunks instead (chosen at run time; the
// environment variable SC_NATIVE_AVX512=0 forces the AVX2 family).
// Numerics: per pair and chunk, 8 (16) lanes of f32 fma chains over k, summed in a fixed order, then the
// chunk's tail entries one by one; the chunk sums are added in chunk order into an f32 accumulator. Norms are
// f64 sums; the quotient is formed in f64 and rounded once. Every pair is computed by the same code whatever the
// block, the edge or the thread count, so the output is bit-identical for any number of threads.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <vector>

#include "kernel.h"
#include "thread_pool.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define SC_DIST_AVX2 1
#endif

namespace {

constexpr size_t BM = 64, BN = 64, KC = 256;
constexpr double kSerialEntries = 1 << 20;  // pair-entries below which helpers cost more than they save

struct Problem {
  const float* a;
  const float* b;
  float* out;
  size_t m, n, dim;
  bool sym;
  double eps;
  std::vector<double> na, nb;
};

// The tail of one chunk after the 8-wide part: entries k .. kc-1 of one pair, added one by one to s.
inline float tail(const float* x, const float* y, size_t k, size_t kc, float s) {
  for (; k < kc; ++k) {
    const float d = x[k] - y[k];
    s += d * d;
  }
  return s;
}

#ifdef SC_DIST_AVX2
// A vector's lanes summed as ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)): the order block24's reduction of
// eight accumulators at once produces for each of them.
inline float hsum(__m256 v) {
  __m256 h = _mm256_hadd_ps(v, v);
  h = _mm256_hadd_ps(h, h);
  return _mm_cvtss_f32(_mm_add_ss(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
}

// One pair over one chunk (the edges of a block).
inline float pair_chunk(const float* x, const float* y, size_t kc) {
  __m256 c = _mm256_setzero_ps();
  size_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    const __m256 d = _mm256_sub_ps(_mm256_loadu_ps(x + k), _mm256_loadu_ps(y + k));
    c = _mm256_fmadd_ps(d, d, c);
  }
  return tail(x, y, k, kc, hsum(c));
}

// Rows x0, x1 against y0..y3 over one chunk: s[r][c] (rows pitch `pitch`) += sum of (x_r - y_c)^2. Pair by pair
// the same arithmetic as pair_chunk, so a pair's value never depends on whether it fell in a full register block.
inline void block24(const float* x0, const float* x1, const float* y0, const float* y1, const float* y2,
                    const float* y3, size_t kc, float* s, size_t pitch, bool first) {
  __m256 c00 = _mm256_setzero_ps(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  size_t k = 0;
  for (; k + 8 <= kc; k += 8) {
    const __m256 u = _mm256_loadu_ps(x0 + k), v = _mm256_loadu_ps(x1 + k);
    __m256 y = _mm256_loadu_ps(y0 + k), d;
    d = _mm256_sub_ps(u, y); c00 = _mm256_fmadd_ps(d, d, c00);
    d = _mm256_sub_ps(v, y); c10 = _mm256_fmadd_ps(d, d, c10);
    y = _mm256_loadu_ps(y1 + k);
    d = _mm256_sub_ps(u, y); c01 = _mm256_fmadd_ps(d, d, c01);
    d = _mm256_sub_ps(v, y); c11 = _mm256_fmadd_ps(d, d, c11);
    y = _mm256_loadu_ps(y2 + k);
    d = _mm256_sub_ps(u, y); c02 = _mm256_fmadd_ps(d, d, c02);
    d = _mm256_sub_ps(v, y); c12 = _mm256_fmadd_ps(d, d, c12);
    y = _mm256_loadu_ps(y3 + k);
    d = _mm256_sub_ps(u, y); c03 = _mm256_fmadd_ps(d, d, c03);
    d = _mm256_sub_ps(v, y); c13 = _mm256_fmadd_ps(d, d, c13);
  }
  // Eight lane sums at once: after two rounds of hadd each 128-bit half holds a partial of four pairs.
  const __m256 r0 = _mm256_hadd_ps(_mm256_hadd_ps(c00, c01), _mm256_hadd_ps(c02, c03));
  const __m256 r1 = _mm256_hadd_ps(_mm256_hadd_ps(c10, c11), _mm256_hadd_ps(c12, c13));
  const __m256 sums = _mm256_add_ps(_mm256_permute2f128_ps(r0, r1, 0x20), _mm256_permute2f128_ps(r0, r1, 0x31));
  if (k == kc) {
    const __m128 lo = _mm256_castps256_ps128(sums), hi = _mm256_extractf128_ps(sums, 1);
    _mm_storeu_ps(s, first ? lo : _mm_add_ps(_mm_loadu_ps(s), lo));
    _mm_storeu_ps(s + pitch, first ? hi : _mm_add_ps(_mm_loadu_ps(s + pitch), hi));
    return;
  }
  alignas(32) float t[8];
  _mm256_store_ps(t, sums);
  const float* xs[2] = {x0, x1};
  const float* ys[4] = {y0, y1, y2, y3};
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 4; ++c) {
      const float v = tail(xs[r], ys[c], k, kc, t[r * 4 + c]);
      s[r * pitch + c] = first ? v : s[r * pitch + c] + v;
    }
}
#else
// Portable fallback: the same lane structure and order in plain C++ (the compiler may vectorize it).
inline float pair_chunk(const float* x, const float* y, size_t kc) {
  float c[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  size_t k = 0;
  for (; k + 8 <= kc; k += 8)
    for (int l = 0; l < 8; ++l) {
      const float d = x[k + l] - y[k + l];
      c[l] += d * d;
    }
  return tail(x, y, k, kc, ((c[0] + c[1]) + (c[2] + c[3])) + ((c[4] + c[5]) + (c[6] + c[7])));
}
inline void block24(const float* x0, const float* x1, const float* y0, const float* y1, const float* y2,
                    const float* y3, size_t kc, float* s, size_t pitch, bool first) {
  const float* xs[2] = {x0, x1};
  const float* ys[4] = {y0, y1, y2, y3};
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 4; ++c) {
      const float v = pair_chunk(xs[r], ys[c], kc);
      s[r * pitch + c] = first ? v : s[r * pitch + c] + v;
    }
}
#endif

#if defined(__GNUC__) && defined(__x86_64__)
#include <immintrin.h>  // (also when the build's baseline has no AVX2: the functions below carry their own target)
// The AVX-512 family, chosen at run time on processors that have it (the build targets x86-64-v3): 16 lanes, a
// 4 x 4 register block (16 of the 32 zmm registers) and 512-entry chunks. Within the family every pair is summed
// the same way (lanes folded 16 -> 8 as l + l+8, then hsum's order), so its output is as deterministic as the
// AVX2 family's; the two families round differently, within the same bound.
#define SC_DIST_AVX512 1
#define SC_TARGET512 __attribute__((target("avx512f,avx2,fma")))
constexpr size_t KC512 = 512;

SC_TARGET512 inline float hsum16(__m512 v) {
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1)));
  __m256 t = _mm256_hadd_ps(h, h);
  t = _mm256_hadd_ps(t, t);
  return _mm_cvtss_f32(_mm_add_ss(_mm256_castps256_ps128(t), _mm256_extractf128_ps(t, 1)));
}

SC_TARGET512 inline float pair_chunk16(const float* x, const float* y, size_t kc) {
  __m512 c = _mm512_setzero_ps();
  size_t k = 0;
  for (; k + 16 <= kc; k += 16) {
    const __m512 d = _mm512_sub_ps(_mm512_loadu_ps(x + k), _mm512_loadu_ps(y + k));
    c = _mm512_fmadd_ps(d, d, c);
  }
  return tail(x, y, k, kc, hsum16(c));
}

// Eight 16-lane sums folded to 8 lanes and reduced at once: one ymm of the eight pair sums, hsum16's order each.
SC_TARGET512 inline __m256 fold8(__m512 a, __m512 b, __m512 c, __m512 d, __m512 e, __m512 f, __m512 g, __m512 h) {
  auto half = [](__m512 v) SC_TARGET512 { return _mm256_add_ps(_mm512_castps512_ps256(v), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(v), 1))); };
  const __m256 r0 = _mm256_hadd_ps(_mm256_hadd_ps(half(a), half(b)), _mm256_hadd_ps(half(c), half(d)));
  const __m256 r1 = _mm256_hadd_ps(_mm256_hadd_ps(half(e), half(f)), _mm256_hadd_ps(half(g), half(h)));
  return _mm256_add_ps(_mm256_permute2f128_ps(r0, r1, 0x20), _mm256_permute2f128_ps(r0, r1, 0x31));
}

// Rows x[0..3] (pitch dim) against y[0..3] over one chunk: s[r * pitch + c] += the pair's sum.
SC_TARGET512 inline void block44(const float* x, const float* y, size_t dim, size_t kc, float* s, size_t pitch, bool first) {
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c02 = c00, c03 = c00, c10 = c00, c11 = c00, c12 = c00, c13 = c00;
  __m512 c20 = c00, c21 = c00, c22 = c00, c23 = c00, c30 = c00, c31 = c00, c32 = c00, c33 = c00;
  const float *x0 = x, *x1 = x + dim, *x2 = x + 2 * dim, *x3 = x + 3 * dim;
  const float *y0 = y, *y1 = y + dim, *y2 = y + 2 * dim, *y3 = y + 3 * dim;
  size_t k = 0;
  for (; k + 16 <= kc; k += 16) {
    const __m512 u0 = _mm512_loadu_ps(x0 + k), u1 = _mm512_loadu_ps(x1 + k), u2 = _mm512_loadu_ps(x2 + k), u3 = _mm512_loadu_ps(x3 + k);
    __m512 v, d;
#define SC_COL(col, yc)                                                        \
    v = _mm512_loadu_ps(yc + k);                                               \
    d = _mm512_sub_ps(u0, v); c0##col = _mm512_fmadd_ps(d, d, c0##col);       \
    d = _mm512_sub_ps(u1, v); c1##col = _mm512_fmadd_ps(d, d, c1##col);       \
    d = _mm512_sub_ps(u2, v); c2##col = _mm512_fmadd_ps(d, d, c2##col);       \
    d = _mm512_sub_ps(u3, v); c3##col = _mm512_fmadd_ps(d, d, c3##col);
    SC_COL(0, y0) SC_COL(1, y1) SC_COL(2, y2) SC_COL(3, y3)
#undef SC_COL
  }
  alignas(32) float t[16];
  _mm256_store_ps(t, fold8(c00, c01, c02, c03, c10, c11, c12, c13));
  _mm256_store_ps(t + 8, fold8(c20, c21, c22, c23, c30, c31, c32, c33));
  if (k == kc) {
    for (int r = 0; r < 4; ++r) {
      const __m128 v = _mm_load_ps(t + 4 * r);
      _mm_storeu_ps(s + r * pitch, first ? v : _mm_add_ps(_mm_loadu_ps(s + r * pitch), v));
    }
    return;
  }
  const float* xs[4] = {x0, x1, x2, x3};
  const float* ys[4] = {y0, y1, y2, y3};
  for (int r = 0; r < 4; ++r)
    for (int c = 0; c < 4; ++c) {
      const float v = tail(xs[r], ys[c], k, kc, t[r * 4 + c]);
      s[r * pitch + c] = first ? v : s[r * pitch + c] + v;
    }
}

SC_TARGET512 void block_sums16(const Problem& p, size_t i0, size_t mb, size_t j0, size_t nb, float* acc) {
  // The first chunk stores its sums, later ones add (no zero fill); without entries every sum is 0.
  if (p.dim == 0) std::fill(acc, acc + BM * BN, 0.0f);
  const size_t dim = p.dim;
  const float* b = p.sym ? p.a : p.b;
  for (size_t k0 = 0; k0 < dim; k0 += KC512) {
    const size_t kc = std::min(KC512, dim - k0);
    for (size_t j = 0; j < nb; j += 4) {
      const size_t cj = std::min<size_t>(4, nb - j);
      const float* y = b + (j0 + j) * dim + k0;
      for (size_t i = 0; i < mb; i += 4) {
        const size_t ri = std::min<size_t>(4, mb - i);
        if (p.sym && i0 + i >= j0 + j + cj - 1) continue;  // every pair on or below the diagonal
        const float* x = p.a + (i0 + i) * dim + k0;
        if (ri == 4 && cj == 4) {
          block44(x, y, dim, kc, acc + i * BN + j, BN, k0 == 0);
        } else {
          for (size_t r = 0; r < ri; ++r)
            for (size_t c = 0; c < cj; ++c) {
              float& a = acc[(i + r) * BN + j + c];
              const float v = pair_chunk16(x + r * dim, y + c * dim, kc);
              a = k0 == 0 ? v : a + v;
            }
        }
      }
    }
  }
}

bool use_avx512() {
  static const bool yes = [] {
    const char* off = std::getenv("SC_NATIVE_AVX512");
    return !(off != nullptr && off[0] == '0') && __builtin_cpu_supports("avx512f");
  }();
  return yes;
}
#endif

// Sums of squared differences for rows [i0, i0+mb) x [j0, j0+nb) into acc (mb x nb, row pitch BN); with sym,
// only pairs i < j are needed (the caller mirrors them).
void block_sums(const Problem& p, size_t i0, size_t mb, size_t j0, size_t nb, float* acc) {
  // The first chunk stores its sums, later ones add (no zero fill); without entries every sum is 0.
  if (p.dim == 0) std::fill(acc, acc + BM * BN, 0.0f);
  const size_t dim = p.dim;
  const float* b = p.sym ? p.a : p.b;
  for (size_t k0 = 0; k0 < dim; k0 += KC) {
    const size_t kc = std::min(KC, dim - k0);
    for (size_t j = 0; j < nb; j += 4) {
      const size_t cj = std::min<size_t>(4, nb - j);
      const float* y = b + (j0 + j) * dim + k0;
      for (size_t i = 0; i < mb; i += 2) {
        const size_t ri = std::min<size_t>(2, mb - i);
        // Symmetric: skip register blocks whose every pair lies on or below the diagonal.
        if (p.sym && i0 + i >= j0 + j + cj - 1) continue;
        const float* x = p.a + (i0 + i) * dim + k0;
        if (ri == 2 && cj == 4) {
          block24(x, x + dim, y, y + dim, y + 2 * dim, y + 3 * dim, kc, acc + i * BN + j, BN, k0 == 0);
        } else {
          for (size_t r = 0; r < ri; ++r)
            for (size_t c = 0; c < cj; ++c) {
              float& a = acc[(i + r) * BN + j + c];
              const float v = pair_chunk(x + r * dim, y + c * dim, kc);
              a = k0 == 0 ? v : a + v;
            }
        }
      }
    }
  }
}

void run_block(const Problem& p, size_t bi, size_t bj) {
  alignas(64) float acc[BM * BN];
  const size_t i0 = bi * BM, j0 = bj * BN;
  const size_t mb = std::min(BM, p.m - i0), nb = std::min(BN, p.n - j0);
#ifdef SC_DIST_AVX512
  if (use_avx512()) block_sums16(p, i0, mb, j0, nb, acc);
  else
#endif
    block_sums(p, i0, mb, j0, nb, acc);
  const double* na = p.na.data() + i0;
  const double* nbn = (p.sym ? p.na.data() : p.nb.data()) + j0;
  const bool diagonal = p.sym && bi == bj;
  // The quotient in f64, in place; a diagonal block keeps only pairs i < j (the diagonal itself is 0).
  for (size_t i = 0; i < mb; ++i) {
    float* row = acc + i * BN;
    for (size_t j = diagonal ? i + 1 : 0; j < nb; ++j) {
      const double den = na[i] + nbn[j] + p.eps;
      row[j] = den == 0.0 ? 0.0f : static_cast<float>(2.0 * static_cast<double>(row[j]) / den);
    }
    if (diagonal) row[i] = 0.0f;
  }
  for (size_t i = 0; i < mb; ++i) {
    float* dst = p.out + (i0 + i) * p.n + j0;
    for (size_t j = diagonal ? i : 0; j < nb; ++j) dst[j] = acc[i * BN + j];
  }
  if (!p.sym) return;
  // The mirror, row by row of the output (contiguous stores, strided reads of the small block).
  for (size_t j = 0; j < nb; ++j) {
    float* dst = p.out + (j0 + j) * p.n + i0;
    const size_t rows = diagonal ? j : mb;
    for (size_t i = 0; i < rows; ++i) dst[i] = acc[i * BN + j];
  }
}

// Squared norms in f64, eight independent partial sums per row (a single chain would wait on every add).
std::vector<double> norms(const float* x, size_t rows, size_t dim) {
  std::vector<double> out(rows);
  for (size_t i = 0; i < rows; ++i) {
    const float* r = x + i * dim;
    double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    size_t k = 0;
    for (; k + 8 <= dim; k += 8)
      for (int l = 0; l < 8; ++l) s[l] += static_cast<double>(r[k + l]) * r[k + l];
    double total = ((s[0] + s[4]) + (s[2] + s[6])) + ((s[1] + s[5]) + (s[3] + s[7]));
    for (; k < dim; ++k) total += static_cast<double>(r[k]) * r[k];
    out[i] = total;
  }
  return out;
}

// fields: count, count_b, dim, symmetric, epsilon, tiles_m, tiles_n, groups (the last three are the webgpu
// tiling, unused here);  arrays: a (count x dim), b (count_b x dim; not read when symmetric), out (count x count_b)
void neuron_distances_kernel(const sc::KernelCall& call) {
  using sc::ArrayType;
  call.expect(8, 3);
  Problem p;
  p.m = call.integer(0);
  p.n = call.integer(1);
  p.dim = call.integer(2);
  p.sym = call.integer(3) != 0;
  p.eps = call.fields[4];
  p.a = call.array<float>(0, ArrayType::F32, "A");
  p.b = call.array<float>(1, ArrayType::F32, "B");
  p.out = call.array<float>(2, ArrayType::F32, "out");
  if ((p.sym && p.n != p.m) || call.length(0) < p.m * p.dim || (!p.sym && call.length(1) < p.n * p.dim) || call.length(2) < p.m * p.n)
    throw std::invalid_argument("neuron_distances: an operand is smaller than its shape needs");
  if (p.m == 0 || p.n == 0) return;
  p.na = norms(p.a, p.m, p.dim);
  if (!p.sym) p.nb = norms(p.b, p.n, p.dim);

  const size_t tm = (p.m + BM - 1) / BM, tn = (p.n + BN - 1) / BN;
  std::vector<std::pair<uint32_t, uint32_t>> tasks;
  for (size_t i = 0; i < tm; ++i)
    for (size_t j = p.sym ? i : 0; j < tn; ++j) tasks.emplace_back(static_cast<uint32_t>(i), static_cast<uint32_t>(j));
  const double entries = static_cast<double>(p.m) * static_cast<double>(p.n) * static_cast<double>(p.dim) / (p.sym ? 2 : 1);
  auto task = [&](size_t t) { run_block(p, tasks[t].first, tasks[t].second); };
  if (call.pool != nullptr && call.threads > 1 && tasks.size() > 1 && entries >= kSerialEntries) {
    call.pool->parallel_for(tasks.size(), call.threads, task);
  } else {
    for (size_t t = 0; t < tasks.size(); ++t) task(t);
  }
}

}  // namespace
SC_REGISTER_KERNEL("neuron_distances", neuron_distances_kernel);
