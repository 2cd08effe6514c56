// Single-precision GEMM on the CPU: C[b] = op(A[b]) * op(B[b]) (+ C[b]), row-major, batched, packed
// AVX2/FMA micro-kernel, parallel over blocks of C. See matmul.cc for the numerics and the blocking.
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

// The packed-panel building blocks of `matmul`, for kernels that pack an operand themselves (conv2d packs
// im2col columns straight from the image, with no im2col buffer). Packed A: ceil(mc / kGemmMR) panels of
// kc x kGemmMR floats (p-major: panel[p * kGemmMR + i]); packed B: ceil(nc / kGemmNR) panels of kc x kGemmNR
// (panel[p * kGemmNR + j]); both zero-padded past mc / nc.
constexpr size_t kGemmMR = 6, kGemmNR = 16;
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
