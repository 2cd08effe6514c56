// The SIMD families of the noise-bound kernels (the Euler-Maruyama driver of em_collapse.cc and the normals
// of philox_fill.cc): native/sde_simd.h compiled twice, in native/sde_avx2.cc (x86-64-v3, 8 floats per
// vector) and native/sde_avx512.cc (AVX-512 by a target pragma, 16 floats per vector). The family is the
// GEMM's (matmul.h: AVX-512 where the processor has it, SC_NATIVE_ISA=avx2 forces AVX2), chosen once at
// load; both give the same Philox words and the same normals (identical operations per lane).
#pragma once
#include <cstddef>
#include <cstdint>

#include "models.h"

#if defined(__GNUC__) && defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
#define SC_SDE_SIMD 1
#endif

namespace sc {

// The noise addressing of one tile of paths: lane l is global path path0 + l (counter word c2), c3 the
// global grid index, key (k0, k1) = (seed, stream).
struct TileKey {
  uint32_t path0, c3, k0, k1;
};

#define SC_SDE_ISA_API(ns)                                                                                        \
  namespace ns {                                                                                                  \
  constexpr int kWidth = ns##_width;                                                                              \
  /* Advances lanes [0, a.n) (a multiple of kWidth) of the state x[component][lane] from step t0 to t1: the */    \
  /* normals of draws t m .. t m + m - 1 of each path, generated in registers and consumed by M::Lanes. */       \
  template <class M>                                                                                              \
  void advance(float* const* x, const StepArgs& a, const TileKey& key, uint32_t t0, uint32_t t1);                 \
  /* The 4 normals of block `block` for lanes [0, n) (n a multiple of kWidth): z[q][l] = draw 4 block + q. */     \
  void normals_paths(uint64_t block, const TileKey& key, int n, float* const* z);                                \
  /* Blocks first .. first + nb - 1 of counter (block, 0, 0), key (k0, k1), as 4 nb interleaved normals */        \
  /* (nb a multiple of kWidth). */                                                                                \
  void normals_consecutive(float* out, uint64_t first, size_t nb, uint32_t k0, uint32_t k1);                      \
  }

#if SC_SDE_SIMD
constexpr int avx2_width = 8;
constexpr int avx512_width = 16;
SC_SDE_ISA_API(avx2)
SC_SDE_ISA_API(avx512)

// Whether this process runs the AVX-512 family (the GEMM's choice: matmul.h).
bool sde_use_avx512();
#endif

}  // namespace sc
