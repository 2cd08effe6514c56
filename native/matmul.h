// Single-precision GEMM on the CPU: C[b] = op(A[b]) * op(B[b]) (+ C[b]), row-major, batched, packed
// AVX2/FMA micro-kernel, parallel over blocks of C. See matmul.cc for the numerics and the blocking.
#pragma once
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

}  // namespace sc
