// The AVX-512 family of native/sde_simd.h (16 floats per vector), compiled for AVX-512 by a target pragma
// that follows every shared header: only this file's own functions (namespace sc::avx512) get AVX-512
// code, so no inline function shared with the baseline build can carry it. Run only where the processor
// has it (sde_use_avx512).
// The generic lane math of fastmath.h / models.h returns 64-byte vectors from always_inline functions that
// are only ever inlined into this file's AVX-512 code: no call crosses the ABI the warning is about.
#pragma GCC diagnostic ignored "-Wpsabi"
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "fastmath.h"
#include "matmul.h"
#include "models.h"
#include "philox.h"

#if defined(__GNUC__) && defined(__x86_64__) && defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#pragma GCC push_options
#pragma GCC target("avx512f,avx512vl,avx512bw,avx512dq")
#include "sde_isa.h"
namespace sc {
namespace avx512 {
#define SC_SIMD_NS avx512
#define SC_SIMD_W 16
#include "sde_simd.h"
#undef SC_SIMD_W
#undef SC_SIMD_NS
}  // namespace avx512
}  // namespace sc
#pragma GCC pop_options

namespace sc {
bool sde_use_avx512() {
  static const bool use = gemm_isa() == GemmIsa::kAvx512;
  return use;
}
}  // namespace sc
#endif
