// activation_forward / activation_backward: y = f(x) and gradX = gradY * f'(x) elementwise for f = ReLU, GELU
// (exact erf form, x/2 * (1 + erf(x/sqrt2)), as PyTorch's approximate='none') and tanh, f32.
// src/kernels/activation.ts declares the fields and holds the f64 reference; shaders/activation.wgsl holds the
// same erf/tanh polynomials, evaluated in the same order (its header states their errors: erf <= 1.05 ulp,
// tanh <= 1.5 ulp, gelu <= 1.3 * 2^-24 * (|x|/2 + |gelu|), measured on a sweep of [-20, 20]).
//
// The math is written once as branch-free scalar functions (selects, no libm, no tables) that GCC vectorizes
// to 8-lane AVX2 (16-lane AVX-512 where the CPU has it) inside the loops below; every element goes through the
// same instruction sequence, so results do not depend on an element's position, its chunk or the thread count.
// Chunks of kGrain elements are spread over the pool for large tensors (native/elementwise.h).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <stdexcept>

#include "elementwise.h"
#include "kernel.h"

namespace {

#if defined(__GNUC__)
#define SC_LANE inline __attribute__((always_inline))
#else
#define SC_LANE inline
#endif

constexpr size_t kGrain = size_t{1} << 14;  // elements per chunk: 64 KiB of each array

SC_LANE float from_bits(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

// e^q for q <= 0 (Cephes expf: q = n ln2 + r, |r| <= ln2/2, degree-6 polynomial, ~1 ulp). Results below 2^-126
// flush to 0 (q is clamped to -88, where n = -127 gives a zero scale), as GPUs do; NaN propagates through r.
SC_LANE float exp_nonpos(float q) {
  const float qc = q < -88.0f ? -88.0f : q;
  const float qn = qc == qc ? qc : 0.0f;  // the exponent path must not convert a NaN
  const float magic = 12582912.0f;        // 1.5 * 2^23: adding and subtracting it rounds to the nearest integer
  const float n = (qn * 1.44269504088896341f + magic) - magic;
  float r = qc - n * 0.693359375f;
  r = r - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * (r * r) + (r + 1.0f);
  const uint32_t scale = static_cast<uint32_t>(static_cast<int32_t>(n) + 127) << 23;
  return p * from_bits(scale);
}

// Polynomials and thresholds: shaders/activation.wgsl (the same coefficients, the same order).
// erf and tanh are odd: both work on |x| and copy x's sign last, so that -0 gives -0 (as torch.tanh) whatever
// the fused multiply-adds do to the sign of a zero.
SC_LANE float erf_f32(float x) {
  const float a = std::fabs(x);
  const float s = a * a;
  float r = 7.853861462e-05f;
  r = r * s + -8.010193706e-04f;
  r = r * s + 5.188327748e-03f;
  r = r * s + -2.685381286e-02f;
  r = r * s + 1.128358543e-01f;
  r = r * s + -3.761262596e-01f;
  r = r * s + 1.283791661e-01f;
  const float small = r * a + a;
  const float t = a < 3.95f ? a : 3.95f;
  float q = 1.855761511e-04f;
  q = q * t + -2.939628204e-03f;
  q = q * t + 2.180540189e-02f;
  q = q * t + -1.030375436e-01f;
  q = q * t + -6.382254958e-01f;
  q = q * t + -1.127040148e+00f;
  q = q * t + -3.536921577e-04f;
  const float big = 1.0f - exp_nonpos(q);
  return std::copysign(a < 1.0f ? small : big, x);
}

SC_LANE float tanh_f32(float x) {
  const float a = std::fabs(x);
  const float s = a * a;
  float r = -5.704986863e-03f;
  r = r * s + 2.063908800e-02f;
  r = r * s + -5.373971537e-02f;
  r = r * s + 1.333144158e-01f;
  r = r * s + -3.333328068e-01f;
  const float small = (r * s) * a + a;
  const float e = exp_nonpos(-2.0f * a);
  const float big = (1.0f - e) / (1.0f + e);
  return std::copysign(a < 0.625f ? small : big, x);
}

SC_LANE float sech2_f32(float x) {
  const float e = exp_nonpos(-2.0f * std::fabs(x));
  const float d = 1.0f + e;
  return 4.0f * e / (d * d);
}

constexpr float kFrac1Sqrt2 = 0.70710678118654752f;
constexpr float kFrac1Sqrt2Pi = 0.39894228040143268f;

SC_LANE float gelu_f32(float x) { return 0.5f * x * (1.0f + erf_f32(x * kFrac1Sqrt2)); }

SC_LANE float gelu_grad_f32(float x) {
  return 0.5f * (1.0f + erf_f32(x * kFrac1Sqrt2)) + x * (kFrac1Sqrt2Pi * exp_nonpos(-0.5f * x * x));
}

// torch.relu: NaN < 0 is false, so NaN (and -0) pass through.
SC_LANE float relu(float x) { return x < 0.0f ? 0.0f : x; }

// AVX-512 doubles the throughput of the erf / exp polynomials where the CPU has it (measured 1.24 -> 0.59 ns per
// GELU on an AMD EPYC core): each loop is compiled twice, for x86-64-v4 and for the build's own target (x86-64-v3,
// AVX2), and the loader picks one per process (an ifunc). Every element of a run goes through the same clone.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define SC_SIMD_CLONES __attribute__((target_clones("arch=x86-64-v4", "default")))
#else
#define SC_SIMD_CLONES
#endif

SC_SIMD_CLONES void relu_span(const float* __restrict x, float* __restrict y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = relu(x[i]);
}
SC_SIMD_CLONES void gelu_span(const float* __restrict x, float* __restrict y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = gelu_f32(x[i]);
}
SC_SIMD_CLONES void tanh_span(const float* __restrict x, float* __restrict y, size_t n) {
  for (size_t i = 0; i < n; ++i) y[i] = tanh_f32(x[i]);
}
// ReLU selects (PyTorch's threshold_backward): relu'(0) = 0, a NaN x passes gradY.
SC_SIMD_CLONES void relu_grad_span(const float* __restrict x, const float* __restrict g, float* __restrict gx, size_t n) {
  for (size_t i = 0; i < n; ++i) gx[i] = x[i] <= 0.0f ? 0.0f : g[i];
}
SC_SIMD_CLONES void gelu_grad_span(const float* __restrict x, const float* __restrict g, float* __restrict gx, size_t n) {
  for (size_t i = 0; i < n; ++i) gx[i] = g[i] * gelu_grad_f32(x[i]);
}
SC_SIMD_CLONES void tanh_grad_span(const float* __restrict x, const float* __restrict g, float* __restrict gx, size_t n) {
  for (size_t i = 0; i < n; ++i) gx[i] = g[i] * sech2_f32(x[i]);
}

enum Kind : unsigned { kRelu = 0, kGelu = 1, kTanh = 2 };

unsigned kind_of(const sc::KernelCall& call) {
  const uint64_t kind = call.integer(0);
  if (kind > kTanh) throw std::invalid_argument(call.name + ": kind must be 0 (relu), 1 (gelu) or 2 (tanh)");
  return static_cast<unsigned>(kind);
}

// fields: kind, n, groups (webgpu only);  arrays: x (f32, n), y (f32, n)
void activation_forward_kernel(const sc::KernelCall& call) {
  call.expect(3, 2);
  const unsigned kind = kind_of(call);
  const size_t n = call.integer(1);
  const float* x = call.array<float>(0, sc::ArrayType::F32, "x");
  float* y = call.array<float>(1, sc::ArrayType::F32, "y");
  if (call.length(0) != n || call.length(1) != n) throw std::invalid_argument("activation_forward: x and y must hold n elements");
  sc::for_chunks(n, kGrain, n, call, [&](size_t begin, size_t end) {
    const size_t m = end - begin;
    if (kind == kRelu) relu_span(x + begin, y + begin, m);
    else if (kind == kGelu) gelu_span(x + begin, y + begin, m);
    else tanh_span(x + begin, y + begin, m);
  });
}

// fields: kind, n, groups (webgpu only);  arrays: x (f32, n), gradY (f32, n), gradX (f32, n)
void activation_backward_kernel(const sc::KernelCall& call) {
  call.expect(3, 3);
  const unsigned kind = kind_of(call);
  const size_t n = call.integer(1);
  const float* x = call.array<float>(0, sc::ArrayType::F32, "x");
  const float* gy = call.array<float>(1, sc::ArrayType::F32, "gradY");
  float* gx = call.array<float>(2, sc::ArrayType::F32, "gradX");
  if (call.length(0) != n || call.length(1) != n || call.length(2) != n)
    throw std::invalid_argument("activation_backward: x, gradY and gradX must hold n elements");
  sc::for_chunks(n, kGrain, n, call, [&](size_t begin, size_t end) {
    const size_t m = end - begin;
    if (kind == kRelu) relu_grad_span(x + begin, gy + begin, gx + begin, m);
    else if (kind == kGelu) gelu_grad_span(x + begin, gy + begin, gx + begin, m);
    else tanh_grad_span(x + begin, gy + begin, gx + begin, m);
  });
}

}  // namespace
SC_REGISTER_KERNEL("activation_forward", activation_forward_kernel);
SC_REGISTER_KERNEL("activation_backward", activation_backward_kernel);
