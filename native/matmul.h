// Single-precision GEMM on the CPU: C[b] = op(A[b]) * op(B[b]) (+ C[b]), row-major, batched, packed
// AVX-512 or AVX2/FMA micro-kernel (chosen at load), parallel over blocks of C. See matmul.cc for the numerics and the blocking.
#pragma once
#include <cstddef>
#include <cstdint>

namespace sc {

class ThreadPool;

struct MatmulShape {
  uint32_t batch = 1;           // number of products
  uint32_t m = 0, n = 0, k = 0; // C is m x n, op(A) is m x k, op(B) is k x n
  bool trans_a = false;         // A stored k x m (row-major) and used transposed
  bool trans_b = false;         // B stored n x k (row-major) and used transposed
  bool accumulate = false;      // C += op(A) op(B) instead of C = op(A) op(B)
  uint64_t stride_a = 0;        // elements between consecutive A matrices (0: one A shared by every batch entry)
  uint64_t stride_b = 0;        // likewise for B; C is always dense: batch x m x n, stride m*n
};

// C[b] = op(A[b]) * op(B[b]) (+ C[b] when accumulate), all row-major f32. Results do not depend on the
// thread count (the k loop is never split across threads). k == 0 gives C = 0 (or C unchanged when
// accumulating). m, n or batch == 0: nothing to do. `pool` may be nullptr (single-threaded).
void matmul(const MatmulShape& s, const float* a, const float* b, float* c, ThreadPool* pool, unsigned threads);

// The instruction-set family of the GEMM micro-kernel, chosen once per process (at load): AVX-512 (an 8 x 32
// tile of zmm accumulators) where the processor has AVX512F/VL/BW/DQ, else the build's own AVX2/FMA (6 x 16), or
// the portable C++ kernel on builds without AVX2. The environment variable SC_NATIVE_ISA=avx2 (or
// SC_NATIVE_AVX512=0) forces the AVX2 family on an AVX-512 host, so that both stay tested there. Every family
// computes each C element with the same FMA chains in the same order (see matmul.cc), so x86 results do not
// depend on the family either.
enum class GemmIsa { kPortable, kAvx2, kAvx512 };
GemmIsa gemm_isa();
const char* gemm_isa_name();  // "avx512", "avx2" or "portable"

// The packed-panel building blocks of `matmul`, for kernels that pack an operand themselves (conv2d packs
// im2col columns straight from the image, with no im2col buffer). The micro-tile is the chosen family's
// (gemm_mr() x gemm_nr(): 8 x 32 or 6 x 16); gemm_nr() is a multiple of 8 and at most kGemmMaxNR, gemm_mr() at
// most kGemmMaxMR. Packed A: ceil(mc / mr) panels of kc x mr floats (p-major: panel[p * mr + i]); packed B:
// ceil(nc / nr) panels of kc x nr (panel[p * nr + j]); both zero-padded past mc / nc.
constexpr size_t kGemmMaxMR = 8, kGemmMaxNR = 32;
size_t gemm_mr();
size_t gemm_nr();
// Packs rows [i0, i0+mc) and depth [p0, p0+kc) of op(A) (A is m x k with leading dimension lda; trans:
// stored k x m) into dst.
void gemm_pack_a(const float* a, size_t lda, bool trans, size_t i0, size_t mc, size_t p0, size_t kc, float* dst);
// Packs depth [p0, p0+kc) and columns [j0, j0+nc) of op(B) (B is k x n with leading dimension ldb; trans:
// stored n x k) into dst.
void gemm_pack_b(const float* b, size_t ldb, bool trans, size_t p0, size_t kc, size_t j0, size_t nc, float* dst);
// C[0:mc, 0:nc] (leading dimension ldc) = (load_c ? C : 0) + packed A (mc x kc) * packed B (kc x nc): one
// f32 FMA chain per element over p in increasing order, then one add to C (as in `matmul`).
void gemm_packed(size_t mc, size_t nc, size_t kc, const float* pa, const float* pb, float* c, size_t ldc, bool load_c);

}  // namespace sc
