// activation.wgsl: f32 helpers of the activation kernels (prepended to activation_forward.wgsl and
// activation_backward.wgsl by the generic launcher): erf, tanh and sech^2 = 1 - tanh^2, and GELU and its
// derivative on top of erf. native/activation.cc evaluates the same polynomials in the same order; the f64
// reference is src/kernels/activation.ts.
//
// No bindings, no entry point; the Params struct and the override constants of both kernels:
//   WG    workgroup size (default 256)
//   EPT   elements per thread (default 4)
//
// Numerics (u = 2^-24; errors measured over every 97th f32 in [1e-8, 20] and its negative against the f64
// reference, with native's ~1-ulp exp; this device's exp() replaces it here and enters only through the exp terms):
//   erf_f32      <= 1.05 ulp. |x| < 1: erf = x + x * P(x^2), P of degree 6; |x| >= 1: erf = 1 - exp(Q(t)),
//                t = min(|x|, 3.95), Q of degree 6 ~ log erfc(t) (erfc(3.95) < 2^-25, so erf rounds to 1 past
//                it; the clamp keeps Q bounded for huge and infinite x). Coefficients: minimax fits (linear
//                programming on 4000 Chebyshev nodes against mpmath), relative error 0.02 ulp for P, absolute
//                0.02 ulp of erf for Q (weight erfc(t)), rounded to f32. An exp error d moves erf by <= 0.16 d.
//   tanh_f32     <= 1.5 ulp (2.5u relative). |x| < 0.625: x + x * x^2 * R(x^2), R of degree 4 (minimax, 0.07 ulp);
//                above, (1 - e) / (1 + e) with e = exp(-2|x|) <= 0.29 (no cancellation; an exp error d moves it
//                by <= 0.35 d).
//   sech2_f32    4e / (1 + e)^2, e = exp(-2|x|): <= 4.7u relative plus the exp error.
//   gelu_f32     x/2 * (1 + erf(x/sqrt2)) (PyTorch's form): |error| <= 1.3u (|x|/2 + |gelu|).
//   gelu_grad    Phi(x) + x * phi(x): |error| <= 1.75u (1 + |x phi(x)| (1 + x^2/2)); the x^2/2 term is the
//                rounding of the exponent -x^2/2.
// On lavapipe (llvmpipe's exp, whose error grows with |argument| * u) the same sweep gives gelu 1.9, gelu' 2.1,
// tanh 4.5u relative, sech^2 34u relative at x = 19.4. Exp results below 2^-126 may flush to zero.
// NaN inputs give NaN through gelu (the final product with x), tanh and sech^2 (through exp); erf and tanh take
// the sign of x last, so tanh(-0) = -0 as in PyTorch.

override WG: u32 = 256u;
override EPT: u32 = 4u;

struct Params {
  kind: u32,       // 0 = relu, 1 = gelu, 2 = tanh
  n: u32,          // elements
  groups: u32,     // workgroups that carry work
}

const ERF_T: f32 = 3.95;
const FRAC_1_SQRT_2: f32 = 0.70710678118654752;
const FRAC_1_SQRT_2PI: f32 = 0.39894228040143268;

// |v| with the sign of `sign_of` (WGSL has no copysign): erf and tanh are odd and work on |x|, so -0 gives -0
// whatever fused multiply-adds do to the sign of a zero.
fn copysign_f32(v: f32, sign_of: f32) -> f32 {
  return bitcast<f32>((bitcast<u32>(v) & 0x7fffffffu) | (bitcast<u32>(sign_of) & 0x80000000u));
}

fn erf_f32(x: f32) -> f32 {
  let a = abs(x);
  let s = a * a;
  var r = 7.853861462e-05;
  r = fma(r, s, -8.010193706e-04);
  r = fma(r, s, 5.188327748e-03);
  r = fma(r, s, -2.685381286e-02);
  r = fma(r, s, 1.128358543e-01);
  r = fma(r, s, -3.761262596e-01);
  r = fma(r, s, 1.283791661e-01);
  let small = fma(r, a, a);
  let t = select(ERF_T, a, a < ERF_T);
  var q = 1.855761511e-04;
  q = fma(q, t, -2.939628204e-03);
  q = fma(q, t, 2.180540189e-02);
  q = fma(q, t, -1.030375436e-01);
  q = fma(q, t, -6.382254958e-01);
  q = fma(q, t, -1.127040148e+00);
  q = fma(q, t, -3.536921577e-04);
  let big = 1.0 - exp(q);
  return copysign_f32(select(big, small, a < 1.0), x);
}

fn tanh_f32(x: f32) -> f32 {
  let a = abs(x);
  let s = a * a;
  var r = -5.704986863e-03;
  r = fma(r, s, 2.063908800e-02);
  r = fma(r, s, -5.373971537e-02);
  r = fma(r, s, 1.333144158e-01);
  r = fma(r, s, -3.333328068e-01);
  let small = fma(r * s, a, a);
  let e = exp(-2.0 * a);
  let big = (1.0 - e) / (1.0 + e);
  return copysign_f32(select(big, small, a < 0.625), x);
}

fn sech2_f32(x: f32) -> f32 {
  let e = exp(-2.0 * abs(x));
  let d = 1.0 + e;
  return 4.0 * e / (d * d);
}

fn gelu_f32(x: f32) -> f32 {
  return 0.5 * x * (1.0 + erf_f32(x * FRAC_1_SQRT_2));
}

fn gelu_grad_f32(x: f32) -> f32 {
  return 0.5 * (1.0 + erf_f32(x * FRAC_1_SQRT_2)) + x * (FRAC_1_SQRT_2PI * exp(-0.5 * x * x));
}
