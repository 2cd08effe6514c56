// Single-precision GEMM: C[b] = op(A[b]) * op(B[b]) (+ C[b]) for row-major f32 matrices.
//
// Structure (GotoBLAS/BLIS): op(A) is packed into MR-row panels (p-major: a[p*MR + i]) and op(B) into
// NR-column panels (b[p*NR + j]), zero-padded at the m and n edges, so a single micro-kernel handles
// every transpose combination and every edge; edge tiles of C go through a small temporary. The kernel
// family is chosen once per process (gemm_isa): an 8x32 AVX-512 kernel (16 zmm accumulators) where the
// processor has AVX-512, else the build's 6x16 AVX2/FMA kernel (12 ymm accumulators); the driver below
// takes MR and NR from the family. Blocking (sizes in floats):
//   KC = 256: depth of a block; the k range is split into equal blocks of at most KC. One KC x NR
//             B micro-panel (16 KB for AVX2, 32 KB for AVX-512) stays in L1 (or streams from L2 fast
//             enough) while the kernel sweeps A.
//   MC = 96:  rows of a packed A block (MC x KC, 96 KB, stays in L2); a multiple of both MRs.
//   NC = 2048: at most this many columns of B are packed per task (KC x NC, 2 MB, L2/L3).
// Skinny products (a task with at most kDirectPanels column panels, or row panels) let the kernel read
// the big operand in place through strides instead of packing it: each of its panels is used by one
// or two kernel calls, too few to pay for a packing pass. Partial edge panels are still packed.
//
// Numerics: every C element is an f32 FMA chain over p within each k block (in increasing p), and the
// block sums are added to C in increasing block order (the first block stores unless accumulating).
// The order depends only on k, never on the thread count, the task split, packed-vs-in-place reads or
// the tile: so results are bit-identical for any number of threads, and the AVX-512 and AVX2 families
// give the same bits too (each lane of either kernel is the same FMA chain; test/native.isa.test.ts
// checks it). Only the portable kernel (non-x86 builds) may differ, where the compiler contracts differently.
//
// Parallelism: each task owns a rectangle of one C[b] and runs the whole k loop for it, packing its
// own A rows and B columns into thread-local scratch (no shared mutable state). Tasks are split until
// there are two per thread, always halving the longer side so that the repacking stays small;
// problems under kSerialFlops run on the calling thread.
#include "matmul.h"

#include <algorithm>
#include <cstddef>
#include <cstring>
#include <new>

#include "kernel.h"
#include "thread_pool.h"

#include <cstdlib>

#if defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define SC_MATMUL_AVX2 1
// The AVX-512 family is compiled into the x86-64-v3 build through a target attribute and used only where
// the processor reports AVX512F (and VL/BW/DQ, which every AVX-512 server core since Skylake-SP has).
#if defined(__GNUC__) && defined(__x86_64__)
#define SC_MATMUL_AVX512 1
#define SC_TARGET_AVX512 __attribute__((target("avx512f,avx512vl,avx512bw,avx512dq")))
#endif
#endif

namespace sc {
namespace {

constexpr size_t KC = 256, MC = 96, NC = 2048;  // see the header comment
constexpr double kSerialFlops = 2e6;            // below this, waking a helper costs more than it saves
constexpr size_t kDirectPanels = 2;

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

#ifdef SC_MATMUL_AVX2
// In-register 8x8 transpose: on return r[j] holds column j of the rows passed in.
inline void transpose8(__m256 r[8]) {
  __m256 t[8], u[8];
  for (int i = 0; i < 8; i += 2) {
    t[i] = _mm256_unpacklo_ps(r[i], r[i + 1]);
    t[i + 1] = _mm256_unpackhi_ps(r[i], r[i + 1]);
  }
  for (int i = 0; i < 8; i += 4) {
    u[i] = _mm256_shuffle_ps(t[i], t[i + 2], 0x44);
    u[i + 1] = _mm256_shuffle_ps(t[i], t[i + 2], 0xEE);
    u[i + 2] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0x44);
    u[i + 3] = _mm256_shuffle_ps(t[i + 1], t[i + 3], 0xEE);
  }
  for (int i = 0; i < 4; ++i) {
    r[i] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x20);
    r[i + 4] = _mm256_permute2f128_ps(u[i], u[i + 4], 0x31);
  }
}
#endif

// Packs rows [i0, i0+mc) and depth [p0, p0+kc) of op(A) into ceil(mc/MR) panels of MR x kc.
// A is m x k with leading dimension lda (trans: stored k x m).
template <size_t MR>
void pack_a(const float* a, size_t lda, bool trans, size_t i0, size_t mc, size_t p0, size_t kc, float* dst) {
  static_assert(MR == 6 || MR == 8, "the vectorized transposes below handle 6 or 8 rows");
  for (size_t ip = 0; ip < mc; ip += MR, dst += MR * kc) {
    const size_t mr = std::min(MR, mc - ip);
    size_t p = 0;
    if (trans) {  // op(A)[i][p] = a[p*lda + i]: MR consecutive floats per p
      for (; p < kc; ++p) {
        const float* src = a + (p0 + p) * lda + i0 + ip;
        for (size_t r = 0; r < MR; ++r) dst[p * MR + r] = r < mr ? src[r] : 0.0f;
      }
      continue;
    }
    // op(A)[i][p] = a[i*lda + p]: MR row streams, transposed 8 columns at a time.
    const float* src = a + (i0 + ip) * lda + p0;
#ifdef SC_MATMUL_AVX2
    if (mr == MR) {
      for (; p + 8 <= kc; p += 8) {
        __m256 r[8];
        for (size_t i = 0; i < MR; ++i) r[i] = _mm256_loadu_ps(src + i * lda + p);
        for (size_t i = MR; i < 8; ++i) r[i] = _mm256_setzero_ps();
        transpose8(r);
        float* d = dst + p * MR;
        if (MR == 8) {
          for (int j = 0; j < 8; ++j) _mm256_storeu_ps(d + j * 8, r[j]);
          continue;
        }
        // Each store writes MR useful floats plus 2 that the next store overwrites; the last one is cut.
        for (int j = 0; j < 7; ++j) _mm256_storeu_ps(d + j * MR, r[j]);
        _mm_storeu_ps(d + 7 * MR, _mm256_castps256_ps128(r[7]));
        _mm_storel_pi(reinterpret_cast<__m64*>(d + 7 * MR + 4), _mm256_extractf128_ps(r[7], 1));
      }
    }
#endif
    for (; p < kc; ++p)
      for (size_t r = 0; r < MR; ++r) dst[p * MR + r] = r < mr ? src[r * lda + p] : 0.0f;
  }
}

// Packs columns [j0, j0+nc) and depth [p0, p0+kc) of op(B) into ceil(nc/NR) panels of kc x NR.
// B is k x n with leading dimension ldb (trans: stored n x k).
template <size_t NR>
void pack_b(const float* b, size_t ldb, bool trans, size_t p0, size_t kc, size_t j0, size_t nc, float* dst) {
  for (size_t jp = 0; jp < nc; jp += NR, dst += NR * kc) {
    const size_t nr = std::min(NR, nc - jp);
    if (!trans) {  // op(B)[p][j] = b[p*ldb + j]: NR consecutive floats per p
      const float* src = b + p0 * ldb + j0 + jp;
      if (nr == NR) {
        for (size_t p = 0; p < kc; ++p) std::memcpy(dst + p * NR, src + p * ldb, NR * sizeof(float));
      } else {
#ifdef SC_MATMUL_AVX2
        // Masked loads (masked-off lanes read as 0 and never fault): for n < 16, e.g. a 10-class output
        // layer, this edge panel is the whole of B and is repacked for every k block.
        // (Lanes past the n edge: whole 8-lane groups past it are stored as zeros without a load.)
        const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        const size_t groups = (nr + 7) / 8;
        const __m256i last = _mm256_cmpgt_epi32(_mm256_set1_epi32(int(nr - (groups - 1) * 8)), lane);
        for (size_t p = 0; p < kc; ++p) {
          float* d = dst + p * NR;
          const float* row = src + p * ldb;
          size_t h = 0;
          for (; h + 1 < groups; ++h) _mm256_store_ps(d + h * 8, _mm256_loadu_ps(row + h * 8));
          _mm256_store_ps(d + h * 8, _mm256_maskload_ps(row + h * 8, last));
          for (++h; h < NR / 8; ++h) _mm256_store_ps(d + h * 8, _mm256_setzero_ps());
        }
#else
        for (size_t p = 0; p < kc; ++p)
          for (size_t j = 0; j < NR; ++j) dst[p * NR + j] = j < nr ? src[p * ldb + j] : 0.0f;
#endif
      }
      continue;
    }
    // op(B)[p][j] = b[j*ldb + p]: stored rows are columns of op(B); transpose 8x8 blocks.
    const float* src = b + (j0 + jp) * ldb + p0;
    size_t p = 0;
#ifdef SC_MATMUL_AVX2
    if (nr == NR) {
      for (; p + 8 <= kc; p += 8) {
        for (size_t h = 0; h < NR; h += 8) {
          __m256 r[8];
          for (size_t j = 0; j < 8; ++j) r[j] = _mm256_loadu_ps(src + (h + j) * ldb + p);
          transpose8(r);
          for (size_t q = 0; q < 8; ++q) _mm256_store_ps(dst + (p + q) * NR + h, r[q]);
        }
      }
    }
#endif
    for (; p < kc; ++p)
      for (size_t j = 0; j < NR; ++j) dst[p * NR + j] = j < nr ? src[j * ldb + p] : 0.0f;
  }
}

// c[0:MR, 0:NR] (leading dimension ldc) = (load_c ? c : 0) + sum_p op(A)[i][p] * op(B)[p][j], where
// op(A)[i][p] = a[i*rsa + p*csa] and op(B)[p][j] = b[p*rsb + j]. Packed panels have rsa = 1, csa = MR,
// rsb = NR; the strides also let skinny products read A or B in place (see `direct_a`). Every kernel keeps
// one accumulator lane per C element, starts it at 0 and FMAs p in increasing order, then adds it to C
// once: the same arithmetic whatever the tile, so the families agree bit for bit.
using KernelFn = void (*)(size_t kc, const float* a, size_t rsa, size_t csa, const float* b, size_t rsb, float* c,
                          size_t ldc, bool load_c);
#ifdef SC_MATMUL_AVX2
// The 12 accumulators are separate variables: as an array gcc spills them to the stack.
void kernel_avx2(size_t kc, const float* a, size_t rsa, size_t csa, const float* b, size_t rsb, float* c, size_t ldc,
            bool load_c) {
  __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps(), c10 = _mm256_setzero_ps(),
         c11 = _mm256_setzero_ps(), c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps(),
         c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps(), c40 = _mm256_setzero_ps(),
         c41 = _mm256_setzero_ps(), c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
  for (size_t r = 0; r < 6; ++r) _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
  const float* a3 = a + 3 * rsa;
#pragma GCC unroll 4
  for (size_t p = 0; p < kc; ++p) {
    const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
    __m256 ai;
    ai = _mm256_broadcast_ss(a);           c00 = _mm256_fmadd_ps(ai, b0, c00); c01 = _mm256_fmadd_ps(ai, b1, c01);
    ai = _mm256_broadcast_ss(a + rsa);     c10 = _mm256_fmadd_ps(ai, b0, c10); c11 = _mm256_fmadd_ps(ai, b1, c11);
    ai = _mm256_broadcast_ss(a + 2 * rsa); c20 = _mm256_fmadd_ps(ai, b0, c20); c21 = _mm256_fmadd_ps(ai, b1, c21);
    ai = _mm256_broadcast_ss(a3);          c30 = _mm256_fmadd_ps(ai, b0, c30); c31 = _mm256_fmadd_ps(ai, b1, c31);
    ai = _mm256_broadcast_ss(a3 + rsa);    c40 = _mm256_fmadd_ps(ai, b0, c40); c41 = _mm256_fmadd_ps(ai, b1, c41);
    ai = _mm256_broadcast_ss(a3 + 2 * rsa); c50 = _mm256_fmadd_ps(ai, b0, c50); c51 = _mm256_fmadd_ps(ai, b1, c51);
    a += csa;
    a3 += csa;
    b += rsb;
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
#endif

#ifdef SC_MATMUL_AVX512
// 8 x 32: 16 zmm accumulators (separate variables, as above), 2 B loads and 8 broadcasts per p. Measured on
// an AMD EPYC (Zen 5) core against 6/10/12/14 x 32 and 6/8 x 48: all reach the same ~2x of the AVX2 kernel in
// a cache-resident loop, and 8 rows divide the channel counts of the networks (16 ... 512) with no padding.
SC_TARGET_AVX512 void kernel_avx512(size_t kc, const float* a, size_t rsa, size_t csa, const float* b, size_t rsb,
                                    float* c, size_t ldc, bool load_c) {
  __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00,
         c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
  for (size_t r = 0; r < 8; ++r) {
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc + 31), _MM_HINT_T0);
  }
  const float* a4 = a + 4 * rsa;
  const size_t rsa3 = 3 * rsa;
#pragma GCC unroll 4
  for (size_t p = 0; p < kc; ++p) {
    const __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
    __m512 ai;
    ai = _mm512_set1_ps(a[0]);        c00 = _mm512_fmadd_ps(ai, b0, c00); c01 = _mm512_fmadd_ps(ai, b1, c01);
    ai = _mm512_set1_ps(a[rsa]);      c10 = _mm512_fmadd_ps(ai, b0, c10); c11 = _mm512_fmadd_ps(ai, b1, c11);
    ai = _mm512_set1_ps(a[2 * rsa]);  c20 = _mm512_fmadd_ps(ai, b0, c20); c21 = _mm512_fmadd_ps(ai, b1, c21);
    ai = _mm512_set1_ps(a[rsa3]);     c30 = _mm512_fmadd_ps(ai, b0, c30); c31 = _mm512_fmadd_ps(ai, b1, c31);
    ai = _mm512_set1_ps(a4[0]);       c40 = _mm512_fmadd_ps(ai, b0, c40); c41 = _mm512_fmadd_ps(ai, b1, c41);
    ai = _mm512_set1_ps(a4[rsa]);     c50 = _mm512_fmadd_ps(ai, b0, c50); c51 = _mm512_fmadd_ps(ai, b1, c51);
    ai = _mm512_set1_ps(a4[2 * rsa]); c60 = _mm512_fmadd_ps(ai, b0, c60); c61 = _mm512_fmadd_ps(ai, b1, c61);
    ai = _mm512_set1_ps(a4[rsa3]);    c70 = _mm512_fmadd_ps(ai, b0, c70); c71 = _mm512_fmadd_ps(ai, b1, c71);
    a += csa;
    a4 += csa;
    b += rsb;
  }
  auto store = [&](float* row, __m512 lo, __m512 hi) SC_TARGET_AVX512 {
    if (load_c) {
      lo = _mm512_add_ps(_mm512_loadu_ps(row), lo);
      hi = _mm512_add_ps(_mm512_loadu_ps(row + 16), hi);
    }
    _mm512_storeu_ps(row, lo);
    _mm512_storeu_ps(row + 16, hi);
  };
  store(c, c00, c01);
  store(c + ldc, c10, c11);
  store(c + 2 * ldc, c20, c21);
  store(c + 3 * ldc, c30, c31);
  store(c + 4 * ldc, c40, c41);
  store(c + 5 * ldc, c50, c51);
  store(c + 6 * ldc, c60, c61);
  store(c + 7 * ldc, c70, c71);
}
#endif

#ifndef SC_MATMUL_AVX2
// Portable fallback (non-x86 or a -march without AVX2/FMA); the compiler vectorizes the j loop.
constexpr size_t MR = 6, NR = 16;
void kernel_portable(size_t kc, const float* a, size_t rsa, size_t csa, const float* b, size_t rsb, float* c, size_t ldc,
            bool load_c) {
  float acc[MR][NR] = {};
  for (size_t p = 0; p < kc; ++p, a += csa, b += rsb)
    for (size_t i = 0; i < MR; ++i)
      for (size_t j = 0; j < NR; ++j) acc[i][j] += a[i * rsa] * b[j];
  for (size_t i = 0; i < MR; ++i)
    for (size_t j = 0; j < NR; ++j) c[i * ldc + j] = (load_c ? c[i * ldc + j] : 0.0f) + acc[i][j];
}
#endif

// One instruction-set family: its tile, its packing routines (matching the tile) and its micro-kernel.
struct Family {
  GemmIsa isa;
  const char* name;
  size_t mr, nr;
  void (*pack_a)(const float*, size_t, bool, size_t, size_t, size_t, size_t, float*);
  void (*pack_b)(const float*, size_t, bool, size_t, size_t, size_t, size_t, float*);
  KernelFn kernel;
};

#ifdef SC_MATMUL_AVX2
constexpr Family kAvx2{GemmIsa::kAvx2, "avx2", 6, 16, pack_a<6>, pack_b<16>, kernel_avx2};
#else
constexpr Family kPortable{GemmIsa::kPortable, "portable", MR, NR, pack_a<MR>, pack_b<NR>, kernel_portable};
#endif
#ifdef SC_MATMUL_AVX512
constexpr Family kAvx512{GemmIsa::kAvx512, "avx512", 8, 32, pack_a<8>, pack_b<32>, kernel_avx512};
#endif

// The environment is read once; SC_NATIVE_ISA=avx2 (or SC_NATIVE_AVX512=0, the switch of the other AVX-512
// kernels) keeps the AVX2 family on an AVX-512 host. Any other value, or none, takes the widest available.
const Family& choose_family() {
#ifdef SC_MATMUL_AVX512
  const char* isa = std::getenv("SC_NATIVE_ISA");
  const char* avx512 = std::getenv("SC_NATIVE_AVX512");
  const bool forced_avx2 = (isa && std::strcmp(isa, "avx2") == 0) || (avx512 && std::strcmp(avx512, "0") == 0);
  __builtin_cpu_init();
  if (!forced_avx2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq"))
    return kAvx512;
#endif
#ifdef SC_MATMUL_AVX2
  return kAvx2;
#else
  return kPortable;
#endif
}

const Family& family() {
  static const Family& chosen = choose_family();
  return chosen;
}
// Chosen while the addon loads, so every call of the process uses one family.
[[maybe_unused]] const Family& chosen_at_load = family();

// Where the micro-kernel reads one operand block from: packed panels (`direct` null), or in place at
// `direct` with strides rs (across rows of A / p of B) and cs; partial edge panels are always packed.
struct Operand {
  const float* packed;
  const float* direct;
  size_t rs, cs;
};

// C[0:mc, 0:nc] (+)= A block (mc x kc) * B block (kc x nc). The B micro-panel is the outer loop so it
// stays in L1 while the A block streams from L2.
void macro_kernel(const Family& f, size_t mc, size_t nc, size_t kc, const Operand& A, const Operand& B, float* c,
                  size_t ldc, bool load_c) {
  const size_t MR = f.mr, NR = f.nr;
  for (size_t jr = 0; jr < nc; jr += NR) {
    const size_t nr = std::min(NR, nc - jr);
    const bool b_packed = !B.direct || nr < NR;
    const float* bp = b_packed ? B.packed + jr * kc : B.direct + jr;
    const size_t rsb = b_packed ? NR : B.rs;
    for (size_t ir = 0; ir < mc; ir += MR) {
      const size_t mr = std::min(MR, mc - ir);
      const bool a_packed = !A.direct || mr < MR;
      const float* ap = a_packed ? A.packed + ir * kc : A.direct + ir * A.rs;
      const size_t rsa = a_packed ? 1 : A.rs, csa = a_packed ? MR : A.cs;
      float* ct = c + ir * ldc + jr;
      if (mr == MR && nr == NR) {
        f.kernel(kc, ap, rsa, csa, bp, rsb, ct, ldc, load_c);
        continue;
      }
      alignas(64) float tmp[kGemmMaxMR * kGemmMaxNR];
      if (load_c)
        for (size_t i = 0; i < mr; ++i) std::memcpy(tmp + i * NR, ct + i * ldc, nr * sizeof(float));
      f.kernel(kc, ap, rsa, csa, bp, rsb, tmp, NR, load_c);
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
  const Family& f = family();
  const size_t MR = f.mr, NR = f.nr;

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

  // Skinny products read the big operand in place: packing costs a pass over it, and an A panel is
  // used by only ceil(cols/NR) kernel calls (a B panel by ceil(rows/MR)), too few to pay that back.
  const bool direct_a = task_np <= kDirectPanels;
  const bool direct_b = !s.trans_b && task_mp <= kDirectPanels;

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
      Operand B{pb, nullptr, 0, 0};
      if (direct_b) {
        B.direct = bb + p0 * ldb + j0;
        B.rs = ldb;
        if (cols % NR) f.pack_b(bb, ldb, false, p0, kc, j0 + cols / NR * NR, cols % NR, pb + cols / NR * NR * kc);
      } else {
        f.pack_b(bb, ldb, s.trans_b, p0, kc, j0, cols, pb);
      }
      for (size_t ic = 0; ic < rows; ic += mc_max) {
        const size_t mc = std::min(mc_max, rows - ic);
        Operand A{pa, nullptr, 0, 0};
        if (direct_a) {
          A.direct = s.trans_a ? ab + p0 * lda + i0 + ic : ab + (i0 + ic) * lda + p0;
          A.rs = s.trans_a ? 1 : lda;
          A.cs = s.trans_a ? lda : 1;
          if (mc % MR) f.pack_a(ab, lda, s.trans_a, i0 + ic + mc / MR * MR, mc % MR, p0, kc, pa + mc / MR * MR * kc);
        } else {
          f.pack_a(ab, lda, s.trans_a, i0 + ic, mc, p0, kc, pa);
        }
        macro_kernel(f, mc, cols, kc, A, B, cb + (i0 + ic) * n + j0, n, load_c);
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

GemmIsa gemm_isa() { return family().isa; }
const char* gemm_isa_name() { return family().name; }
size_t gemm_mr() { return family().mr; }
size_t gemm_nr() { return family().nr; }

void gemm_pack_a(const float* a, size_t lda, bool trans, size_t i0, size_t mc, size_t p0, size_t kc, float* dst) {
  family().pack_a(a, lda, trans, i0, mc, p0, kc, dst);
}

void gemm_pack_b(const float* b, size_t ldb, bool trans, size_t p0, size_t kc, size_t j0, size_t nc, float* dst) {
  family().pack_b(b, ldb, trans, p0, kc, j0, nc, dst);
}

void gemm_packed(size_t mc, size_t nc, size_t kc, const float* pa, const float* pb, float* c, size_t ldc, bool load_c) {
  macro_kernel(family(), mc, nc, kc, Operand{pa, nullptr, 0, 0}, Operand{pb, nullptr, 0, 0}, c, ldc, load_c);
}

}  // namespace sc

// ---- registry entry (src/kernels/matmul.ts declares the fields, in the order of shaders/matmul.wgsl) ----
namespace {
// fields: batch, m, n, k, trans_a, trans_b, accumulate, stride_a, stride_b, tiles_m, tiles_n, groups
// (the last three are the webgpu tiling, unused here);  arrays: a, b, c (out)
void matmul_kernel(const sc::KernelCall& call) {
  using sc::ArrayType;
  call.expect(12, 3);
  sc::MatmulShape s;
  s.batch = static_cast<uint32_t>(call.integer(0));
  s.m = static_cast<uint32_t>(call.integer(1));
  s.n = static_cast<uint32_t>(call.integer(2));
  s.k = static_cast<uint32_t>(call.integer(3));
  s.trans_a = call.integer(4) != 0;
  s.trans_b = call.integer(5) != 0;
  s.accumulate = call.integer(6) != 0;
  s.stride_a = call.integer(7);
  s.stride_b = call.integer(8);
  const float* a = call.array<float>(0, ArrayType::F32, "A");
  const float* b = call.array<float>(1, ArrayType::F32, "B");
  float* c = call.array<float>(2, ArrayType::F32, "C");
  // The TS layer validated the sizes; a short array here would be a bug there, so refuse rather than overrun.
  const uint64_t batches = s.batch == 0 ? 0 : s.batch - 1;
  if ((s.batch > 0 && call.length(0) < batches * s.stride_a + uint64_t(s.m) * s.k) ||
      (s.batch > 0 && call.length(1) < batches * s.stride_b + uint64_t(s.k) * s.n) || call.length(2) < uint64_t(s.batch) * s.m * s.n)
    throw std::invalid_argument("matmul: an operand is smaller than its shape needs");
  sc::matmul(s, a, b, c, call.pool, call.threads);
}
}  // namespace
SC_REGISTER_KERNEL("matmul", matmul_kernel);
