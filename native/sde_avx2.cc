// The AVX2 family of native/sde_simd.h (8 floats per vector): the x86-64-v3 baseline.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "fastmath.h"
#include "models.h"
#include "philox.h"
#include "sde_isa.h"

#if SC_SDE_SIMD
#include <immintrin.h>
namespace sc {
namespace avx2 {
#define SC_SIMD_NS avx2
#define SC_SIMD_W 8
#include "sde_simd.h"
#undef SC_SIMD_W
#undef SC_SIMD_NS
}  // namespace avx2
}  // namespace sc
#endif
