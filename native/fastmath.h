// Branch-free float elementary functions that auto-vectorize inside lane loops (no libm calls, no
// tables). They assume ordinary finite arguments in the ranges the kernels use; each states its accuracy.
//   logf_fast      x > 0 normal:          < 2 ulp (musl's logf reduction and polynomial)
//   sincos_turns   sin/cos(2 pi u):       ~1e-7 absolute (reduction in turns is exact)
//   expf_fast      any x (clamped):       ~2 ulp on [-87, 88]; underflows to ~1e-38, never to 0
//   tanhf_fast     any x:                 ~2e-7 relative (Cephes tanhf: polynomial below 0.625)
//   erf_as         Abramowitz-Stegun 7.1.26 (|error| < 1.5e-7), the formula every backend uses
//   box_muller     the normals of every native path (its own comment states the bound)
#pragma once
#include <cmath>
#include <cstdint>
#include <cstring>

namespace sc {

#if defined(__GNUC__)
#define SC_INLINE inline __attribute__((always_inline))
#else
#define SC_INLINE inline
#endif

SC_INLINE float bits_to_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
SC_INLINE uint32_t float_to_bits(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }

// u32 -> uniform in (0, 1): ((u >> 9) + 0.5) * 2^-23, exact in f32 (the contract of src/rng/philox.ts).
SC_INLINE float uniform_from_u32(uint32_t u) {
  return (static_cast<float>(static_cast<int32_t>(u >> 9)) + 0.5f) * 1.1920928955078125e-7f;
}

// Natural log for positive normal floats (musl logf: reduce to m in [sqrt(1/2), sqrt(2)), then a
// degree-8 odd polynomial in s = f / (2 + f)).
SC_INLINE float logf_fast(float x) {
  uint32_t ix = float_to_bits(x);
  ix += 0x3f800000u - 0x3f3504f3u;
  const int32_t k = static_cast<int32_t>(ix >> 23) - 0x7f;
  ix = (ix & 0x007fffffu) + 0x3f3504f3u;
  const float f = bits_to_float(ix) - 1.0f;
  const float s = f / (2.0f + f);
  const float z = s * s;
  const float w = z * z;
  const float t1 = w * (0.40000972152f + w * 0.24279078841f);
  const float t2 = z * (0.66666662693f + w * 0.28498786688f);
  const float R = t2 + t1;
  const float hfsq = 0.5f * f * f;
  const float dk = static_cast<float>(k);
  return s * (hfsq + R) + dk * 9.0580006145e-06f - hfsq + f + dk * 6.9313812256e-01f;
}

// sin(2 pi u) and cos(2 pi u). u - q/4 is exact, so the reduction adds no error; Cephes sinf/cosf
// minimax polynomials on [-pi/4, pi/4], then the quadrant rotation by selects.
SC_INLINE void sincos_turns(float u, float& s, float& c) {
  const float q = std::floor(4.0f * u + 0.5f);
  const float a = (u - 0.25f * q) * 6.28318530717958647692f;
  const int32_t iq = static_cast<int32_t>(q) & 3;
  const float z = a * a;
  const float sp = a + a * z * ((-1.9515295891e-4f * z + 8.3321608736e-3f) * z - 1.6666654611e-1f);
  const float cp = 1.0f - 0.5f * z + z * z * ((2.443315711809948e-5f * z - 1.388731625493765e-3f) * z + 4.166664568298827e-2f);
  // quadrant q: (sin, cos) = (sp, cp), (cp, -sp), (-sp, -cp), (-cp, sp)
  const float ss = (iq & 1) ? cp : sp;
  const float cc = (iq & 1) ? sp : cp;
  s = (iq & 2) ? -ss : ss;
  c = ((iq + 1) & 2) ? -cc : cc;
}

// Lane<F>: the operations the generic math below needs, for F = float (one lane) and for GCC vector types
// of floats (any width: the SIMD paths of native/sde_simd.h). Everything is always_inline, so a vector
// instantiation becomes code of whatever target its caller was compiled for (AVX2 or AVX-512).
template <class F>
struct Lane;
#if defined(__GNUC__)
template <class F>
struct Lane {
  typedef int32_t I __attribute__((vector_size(sizeof(F))));
  typedef uint32_t U __attribute__((vector_size(sizeof(F))));
  static SC_INLINE U bits(F x) { return reinterpret_cast<U&>(x); }
  static SC_INLINE F from_bits(U x) { return reinterpret_cast<F&>(x); }
  static SC_INLINE F to_float(I x) { return __builtin_convertvector(x, F); }
  static SC_INLINE I to_int(F x) { return __builtin_convertvector(x, I); }  // truncates
};
#endif
template <>
struct Lane<float> {
  typedef int32_t I;
  typedef uint32_t U;
  static SC_INLINE U bits(float x) { return float_to_bits(x); }
  static SC_INLINE float from_bits(U x) { return bits_to_float(x); }
  static SC_INLINE float to_float(I x) { return static_cast<float>(x); }
  static SC_INLINE I to_int(float x) { return static_cast<I>(x); }
};

// Box-Muller on two u32 draws ua, ub: (r cos t, r sin t), r = sqrt(-2 ln u(ua)), t = 2 pi u(ub), u(w) =
// ((w >> 9) + 0.5) 2^-23 (src/rng/philox.ts). One definition for every native path (box_muller.inc: the
// scalar code here and each SIMD family), free of divisions, floors, selects and tables:
// - radius: u(ua) = (2k + 1) 2^-24 with 2k + 1 = (ua >> 8) | 1 exact in f32; ln by the exponent and
//   f = m - 1 exact on [sqrt(1/2) - 1, sqrt(2) - 1) (musl's reduction: relative accuracy as u -> 1, where r
//   -> 0), then -2 ln(1 + f) = f R(f), R a degree-8 minimax fit (relative error 4e-8) as two short chains.
// - angle: t = pi (h + x), h = round(2 u(ub)), |x| <= 1/2 in half-turns, exactly in integers: x = (rem +
//   0.5) 2^-22 where rem is the signed integer in bits 30..9 of ub, and h is odd iff bits 31 and 30 of ub
//   differ. (-1)^h goes into the sign of r once; sin(pi x), cos(pi x) by minimax polynomials (absolute
//   error 8e-9 and 3e-10).
// Against the f64 formula on the same u32s: |error| <= 3e-7 max(1, r), r the pair's radius: about 2.5 f32 ulps
// of r, from the f32 angle's and radius's own roundings (test/native.random.test.ts
// checks 1e8 draws, tails included, through the sde_probe kernel).
#if defined(__GNUC__)
SC_INLINE float fmadd(float a, float b, float c) { return __builtin_fmaf(a, b, c); }
#else
SC_INLINE float fmadd(float a, float b, float c) { return std::fma(a, b, c); }
#endif
#include "box_muller.inc"

// Box-Muller on two u32 draws: (r cos t, r sin t), r = sqrt(-2 ln ua), t = 2 pi ub (box_muller_r2, box_muller_rotate).
SC_INLINE void box_muller(uint32_t ua, uint32_t ub, float& z0, float& z1) {
  const uint32_t a[1] = {ua}, b[1] = {ub};
  float r2[1], r[1], zc[1], zs[1];
  box_muller_r2<float, 1>(a, r2);
  r[0] = std::sqrt(r2[0]);
  box_muller_rotate<float, 1>(r, b, zc, zs);
  z0 = zc[0];
  z1 = zs[0];
}

// e^x (Cephes expf), argument clamped so the result stays a finite normal float.
SC_INLINE float expf_fast(float x) {
  x = x < -87.0f ? -87.0f : x;
  x = x > 88.0f ? 88.0f : x;
  const float fx = std::floor(x * 1.44269504088896341f + 0.5f);
  float r = x - fx * 0.693359375f;
  r = r - fx * -2.12194440e-4f;
  const float z = r * r;
  const float y = ((((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
                     1.6666665459e-1f) * r + 5.0000001201e-1f) * z) + r + 1.0f;
  const uint32_t scale = static_cast<uint32_t>(static_cast<int32_t>(fx) + 127) << 23;
  return y * bits_to_float(scale);
}

// tanh (Cephes tanhf): odd polynomial for |x| < 0.625 (keeps relative accuracy near 0, where the
// neuron model collapses), 1 - 2 / (e^{2|x|} + 1) above.
SC_INLINE float tanhf_fast(float x) {
  const float ax = std::fabs(x);
  const float z = x * x;
  const float small = x + x * z * ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                                    1.33314422036e-1f) * z - 3.33332819422e-1f);
  const float e = expf_fast(2.0f * (ax > 9.0f ? 9.0f : ax));
  float big = 1.0f - 2.0f / (e + 1.0f);
  big = x < 0.0f ? -big : big;
  return ax < 0.625f ? small : big;
}

// The same three functions for Lane<F> (one float or a GCC vector of floats): the SIMD model steps of
// native/sde_simd.h. Same formulas and constants as the scalar ones above (floor by truncation and a
// correction, fabs and the sign by bit operations), so the results agree to rounding.
template <class F>
SC_INLINE F expf_lanes(F x) {
  using L = Lane<F>;
  const F lo = F{} + -87.0f, hi = F{} + 88.0f;
  x = x < lo ? lo : x;
  x = x > hi ? hi : x;
  const F y = x * 1.44269504088896341f + 0.5f;
  F fx = L::to_float(L::to_int(y));
  fx = fx > y ? fx - 1.0f : fx;
  F r = x - fx * 0.693359375f;
  r = r - fx * -2.12194440e-4f;
  const F z = r * r;
  const F p = ((((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
                 1.6666665459e-1f) * r + 5.0000001201e-1f) * z) + r + 1.0f;
  const typename L::U scale = (typename L::U)(L::to_int(fx) + 127) << 23;
  return p * L::from_bits(scale);
}

template <class F>
SC_INLINE F tanhf_lanes(F x) {
  using L = Lane<F>;
  const typename L::U sign = L::bits(x) & 0x80000000u;
  const F ax = L::from_bits(L::bits(x) & 0x7fffffffu);
  const F z = x * x;
  const F small = x + x * z * ((((-5.70498872745e-3f * z + 2.06390887954e-2f) * z - 5.37397155531e-2f) * z +
                                1.33314422036e-1f) * z - 3.33332819422e-1f);
  const F nine = F{} + 9.0f;
  const F e = expf_lanes<F>(2.0f * (ax > nine ? nine : ax));
  const F big = L::from_bits(L::bits(1.0f - 2.0f / (e + 1.0f)) ^ sign);
  return ax < 0.625f ? small : big;
}

template <class F>
SC_INLINE F erf_lanes(F x) {
  using L = Lane<F>;
  const F z = L::from_bits(L::bits(x) & 0x7fffffffu);
  const F t = 1.0f / (1.0f + 0.3275911f * z);
  const F y = 1.0f - (((((1.061405429f * t - 1.453152027f) * t) + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) *
                         t * expf_lanes<F>(-z * z);
  return x >= 0.0f ? y : -y;
}

// erf by Abramowitz-Stegun 7.1.26, the formula of the TS and WGSL kernels.
SC_INLINE float erf_as(float x) {
  const float z = std::fabs(x);
  const float t = 1.0f / (1.0f + 0.3275911f * z);
  const float y = 1.0f - (((((1.061405429f * t - 1.453152027f) * t) + 1.421413741f) * t - 0.284496736f) * t + 0.254829592f) *
                             t * expf_fast(-z * z);
  return x >= 0.0f ? y : -y;
}

}  // namespace sc
