// Single-precision GEMM: C[b] = op(A[b]) * op(B[b]) (+ C[b]) for row-major f32 matrices.
//
// Structure (GotoBLAS/BLIS): op(A) is packed into MR-row panels (p-major: a[p*MR + i]) and op(B) into
// NR-column panels (b[p*NR + j]), zero-padded at the m and n edges, so a single 6x16 micro-kernel
// handles every transpose combination and every edge; edge tiles go through a small temporary.
//   KC: depth of a packed block; one 16 x KC B micro-panel (16 KB) stays in L1 while the kernel
//       sweeps the A block.  The k range is split into equal blocks of at most KC.
//   MC: rows of a packed A block (MC x KC floats, 96 KB, lives in L2).
//   NC: at most this many columns of B are packed per task (KC x NC floats, in L2/L3).
//
// Numerics: every C element is an f32 FMA chain over p within each k block (in increasing p), and the
// block sums are added to C in increasing k order (the first block stores unless accumulating). The
// order depends only on k, never on the thread count or the task split, so results are bit-identical
// for any number of threads.
//
// Parallelism: each task owns a rectangle of one C[b] and runs the whole k loop for it, packing its
// own A rows and B columns into thread-local scratch. Tasks are split until there are a couple per
// thread, always halving the longer side so that the repacking stays small; problems under
// kSerialFlops run on the calling thread.
#include "matmul.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>

#include "thread_pool.h"

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define SC_MATMUL_AVX2 1
#endif

namespace sc {
namespace {

constexpr size_t MR = 6, NR = 16;  // micro-tile: 6 x 2 AVX registers = 12 accumulators
constexpr size_t KC = 256;
constexpr size_t MC = 96;
constexpr size_t NC = 2048;
constexpr double kSerialFlops = 2e6;

size_t ceil_div(size_t a, size_t b) { return (a + b - 1) / b; }

// Grow-only 64-byte-aligned scratch, one per thread: pool threads are long-lived, so after the first
// call of a given size there are no allocations (and no page faults) per call.
class Scratch {
 public:
  ~Scratch() { release(); }
  float* get(size_t n) {
    if (n > cap_) {
      release();
      p_ = static_cast<float*>(::operator new(n * sizeof(float), std::align_val_t(64)));
      cap_ = n;
    }
    return p_;
  }

 private:
  void release() {
    if (p_) ::operator delete(p_, std::align_val_t(64));
    p_ = nullptr;
    cap_ = 0;
  }
  float* p_ = nullptr;
  size_t cap_ = 0;
};

// Packs rows [i0, i0+mc) and depth [p0, p0+kc) of op(A) into ceil(mc/MR) panels of MR x kc.
// A is m x k with leading dimension lda (trans: stored k x m).
void pack_a(const float* a, size_t lda, bool trans, size_t i0, size_t mc, size_t p0, size_t kc, float* dst) {
  for (size_t ip = 0; ip < mc; ip += MR, dst += MR * kc) {
    const size_t mr = std::min(MR, mc - ip);
    if (trans) {  // op(A)[i][p] = a[p*lda + i]: MR consecutive floats per p
      for (size_t p = 0; p < kc; ++p) {
        const float* src = a + (p0 + p) * lda + i0 + ip;
        for (size_t r = 0; r < MR; ++r) dst[p * MR + r] = r < mr ? src[r] : 0.0f;
      }
    } else if (mr == MR) {  // op(A)[i][p] = a[i*lda + p]: MR row streams read in step
      const float* src = a + (i0 + ip) * lda + p0;
      for (size_t p = 0; p < kc; ++p)
        for (size_t r = 0; r < MR; ++r) dst[p * MR + r] = src[r * lda + p];
    } else {
      const float* src = a + (i0 + ip) * lda + p0;
      for (size_t p = 0; p < kc; ++p)
        for (size_t r = 0; r < MR; ++r) dst[p * MR + r] = r < mr ? src[r * lda + p] : 0.0f;
    }
  }
}

// Packs columns [j0, j0+nc) and depth [p0, p0+kc) of op(B) into ceil(nc/NR) panels of kc x NR.
// B is k x n with leading dimension ldb (trans: stored n x k).
void pack_b(const float* b, size_t ldb, bool trans, size_t p0, size_t kc, size_t j0, size_t nc, float* dst) {
  for (size_t jp = 0; jp < nc; jp += NR, dst += NR * kc) {
    const size_t nr = std::min(NR, nc - jp);
    if (trans) {  // op(B)[p][j] = b[j*ldb + p]: read each stored row contiguously, scatter by NR
      for (size_t j = 0; j < nr; ++j) {
        const float* src = b + (j0 + jp + j) * ldb + p0;
        for (size_t p = 0; p < kc; ++p) dst[p * NR + j] = src[p];
      }
      for (size_t j = nr; j < NR; ++j)
        for (size_t p = 0; p < kc; ++p) dst[p * NR + j] = 0.0f;
    } else {  // op(B)[p][j] = b[p*ldb + j]: NR consecutive floats per p
      for (size_t p = 0; p < kc; ++p) {
        const float* src = b + (p0 + p) * ldb + j0 + jp;
        std::memcpy(dst + p * NR, src, nr * sizeof(float));
        std::fill(dst + p * NR + nr, dst + p * NR + NR, 0.0f);
      }
    }
  }
}

// c[0:MR, 0:NR] (leading dimension ldc) = (load_c ? c : 0) + sum_p a[p*MR + i] * b[p*NR + j].
#ifdef SC_MATMUL_AVX2
// The 12 accumulators are separate variables: as an array gcc spills them to the stack.
void kernel(size_t kc, const float* a, const float* b, float* c, size_t ldc, bool load_c) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(),
         c11 = _mm256_setzero_ps(), c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(),
         c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps(), c40 = _mm256_setzero_ps(),
         c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (size_t r = 0; r < MR; ++r) _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
#pragma GCC unroll 4
  for (size_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_load_ps(b), b1 = _mm256_load_ps(b + 8);
    __m256 ai;
    ai = _mm256_broadcast_ss(a + 0); c00 = _mm256_fmadd_ps(ai, b0, c00); c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a + 1); c10 = _mm256_fmadd_ps(ai, b0, c10); c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a + 2); c20 = _mm256_fmadd_ps(ai, b0, c20); c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a + 3); c30 = _mm256_fmadd_ps(ai, b0, c30); c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a + 4); c40 = _mm256_fmadd_ps(ai, b0, c40); c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a + 5); c50 = _mm256_fmadd_ps(ai, b0, c50); c51 = _mm256_fmadd_ps(ai, b1, c51);
    a += MR;
    b += NR;
  }
  auto store = [&](float* row, __m256 lo, __m256 hi) {
    if (load_c) {
      lo = _mm256_add_ps(_mm256_loadu_ps(row), lo);
      hi = _mm256_add_ps(_mm256_loadu_ps(row + 8), hi);
    }
    _mm256_storeu_ps(row, lo);
    _mm256_storeu_ps(row + 8, hi);
  };
  store(c, c00, c01);
  store(c + ldc, c10, c11);
  store(c + 2 * ldc, c20, c21);
  store(c + 3 * ldc, c30, c31);
  store(c + 4 * ldc, c40, c41);
  store(c + 5 * ldc, c50, c51);
}
#else
// Portable fallback (non-x86 or a -march without AVX2/FMA); the compiler vectorizes the j loop.
void kernel(size_t kc, const float* a, const float* b, float* c, size_t ldc, bool load_c) {
  float acc[MR][NR] = {};
  for (size_t p = 0; p < kc; ++p, a += MR, b += NR)
    for (size_t i = 0; i < MR; ++i)
      for (size_t j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
  for (size_t i = 0; i < MR; ++i)
    for (size_t j = 0; j < NR; ++j) c[i * ldc + j] = (load_c ? c[i * ldc + j] : 0.0f) + acc[i][j];
}
#endif

// C[i0:i0+mc, j0:j0+nc] (+)= packed A block (mc x kc) * packed B block (kc x nc). The B micro-panel is
// the outer loop so it stays in L1 while the A block streams from L2.
void macro_kernel(size_t mc, size_t nc, size_t kc, const float* pa, const float* pb, float* c, size_t ldc,
                  bool load_c) {
  for (size_t jr = 0; jr < nc; jr += NR) {
    const size_t nr = std::min(NR, nc - jr);
    for (size_t ir = 0; ir < mc; ir += MR) {
      const size_t mr = std::min(MR, mc - ir);
      float* ct = c + ir * ldc + jr;
      if (mr == MR && nr == NR) {
        kernel(kc, pa + ir * kc, pb + jr * kc, ct, ldc, load_c);
        continue;
      }
      alignas(32) float tmp[MR * NR];
      if (load_c)
        for (size_t i = 0; i < mr; ++i) std::memcpy(tmp + i * NR, ct + i * ldc, nr * sizeof(float));
      kernel(kc, pa + ir * kc, pb + jr * kc, tmp, NR, load_c);
      for (size_t i = 0; i < mr; ++i) std::memcpy(ct + i * ldc, tmp + i * NR, nr * sizeof(float));
    }
  }
}

}  // namespace

void matmul(const MatmulShape& s, const float* a, const float* b, float* c, ThreadPool* pool, unsigned threads) {
  const size_t batch = s.batch, m = s.m, n = s.n, k = s.k;
  if (batch == 0 || m == 0 || n == 0) return;
  if (k == 0) {
    if (!s.accumulate) std::fill(c, c + batch * m * n, 0.0f);
    return;
  }
  const size_t lda = s.trans_a ? m : k, ldb = s.trans_b ? k : n;

  // k blocks of equal depth (at most KC): the summation order depends on k alone.
  const size_t k_blocks = ceil_div(k, KC), kc_max = ceil_div(k, k_blocks);

  // Task rectangles, counted in micro-panels: halve the longer side until there are 2 tasks per thread.
  const double flops = 2.0 * batch * m * n * k;
  const unsigned nt = (pool && threads > 1 && flops >= kSerialFlops) ? threads : 1;
  const size_t mp = ceil_div(m, MR), np = ceil_div(n, NR);
  size_t task_mp = mp, task_np = std::min(np, NC / NR);
  auto tasks = [&] { return batch * ceil_div(mp, task_mp) * ceil_div(np, task_np); };
  while (nt > 1 && tasks() < 2 * size_t(nt) && (task_mp > 1 || task_np > 1)) {
    if (task_mp > 1 && (task_np == 1 || task_mp * MR >= task_np * NR)) task_mp = ceil_div(task_mp, 2);
    else task_np = ceil_div(task_np, 2);
  }
  const size_t row_tasks = ceil_div(mp, task_mp), col_tasks = ceil_div(np, task_np);
  // Rows of a task are packed MC at a time, in equal blocks of whole panels.
  const size_t task_rows = task_mp * MR, task_cols = task_np * NR;
  const size_t mc_max = ceil_div(task_mp, ceil_div(task_rows, MC)) * MR;

  auto run_task = [&](size_t t) {
    static thread_local Scratch scratch;
    const size_t bi = t / (row_tasks * col_tasks), rc = t % (row_tasks * col_tasks);
    const size_t i0 = (rc / col_tasks) * task_rows, j0 = (rc % col_tasks) * task_cols;
    const size_t rows = std::min(task_rows, m - i0), cols = std::min(task_cols, n - j0);
    const float* ab = a + bi * s.stride_a;
    const float* bb = b + bi * s.stride_b;
    float* cb = c + bi * m * n;
    float* pb = scratch.get(kc_max * (task_cols + mc_max));
    float* pa = pb + kc_max * task_cols;
    for (size_t p0 = 0; p0 < k; p0 += kc_max) {
      const size_t kc = std::min(kc_max, k - p0);
      const bool load_c = s.accumulate || p0 > 0;
      pack_b(bb, ldb, s.trans_b, p0, kc, j0, cols, pb);
      for (size_t ic = 0; ic < rows; ic += mc_max) {
        const size_t mc = std::min(mc_max, rows - ic);
        pack_a(ab, lda, s.trans_a, i0 + ic, mc, p0, kc, pa);
        macro_kernel(mc, cols, kc, pa, pb, cb + (i0 + ic) * n + j0, n, load_c);
      }
    }
  };

  const size_t n_tasks = tasks();
  if (nt > 1 && n_tasks > 1) {
    pool->parallel_for(n_tasks, nt, run_task);
  } else {
    for (size_t t = 0; t < n_tasks; ++t) run_task(t);
  }
}

}  // namespace sc
