// philox.wgsl: Philox4x32-10 (Salmon et al., SC 2011) and the draws built on it, shared by every
// kernel that needs random numbers. A helper file, not a kernel: no bindings, no entry point, no
// override constants; the TS layer prepends it to random.wgsl and em_collapse.wgsl.
//
// Reference: src/rng/philox.ts (bit-identical contract, addressing documented there):
//   key = (seed, stream); counter = (block lo, block hi, c2, c3); draw j is lane j % 4 of block j / 4.
//
// Numerics:
// - philox4x32 is exact integer arithmetic: bit-identical to the reference. WGSL has no 64-bit
//   integers, so the high word of each 32x32 product is assembled from 16-bit halves.
// - uniform_from_u32 is exact: ((u >> 9) + 0.5) * 2^-23 is representable in f32, as in the reference.
// - normals (Box–Muller, lanes 0/2 get r cos t, lanes 1/3 get r sin t) differ from the f64 reference
//   only by f32 rounding and the GPU's transcendentals: within 2e-5 absolute on lavapipe. Two guards
//   keep them accurate on GPUs whose log/sin/cos only meet Vulkan's minimum precision:
//   ln(u) for u in [0.5, 1) uses an atanh series (a hardware log has only 2^-21 absolute error there,
//   which near u = 1 could make -2 ln u negative and r NaN), and the angle is taken in [-pi, pi),
//   the range where sin/cos precision is specified.

const PHILOX_M0: u32 = 0xd2511f53u;
const PHILOX_M1: u32 = 0xcd9e8d57u;
const PHILOX_W0: u32 = 0x9e3779b9u;
const PHILOX_W1: u32 = 0xbb67ae85u;

/// High 32 bits of the 64-bit product a * b, from 16-bit halves (no intermediate overflows).
fn philox_mulhi(a: u32, b: u32) -> u32 {
  let a_lo = a & 0xffffu;
  let a_hi = a >> 16u;
  let b_lo = b & 0xffffu;
  let b_hi = b >> 16u;
  let t = a_lo * b_lo;
  let m1 = a_hi * b_lo + (t >> 16u);
  let m2 = a_lo * b_hi + (m1 & 0xffffu);
  return a_hi * b_hi + (m1 >> 16u) + (m2 >> 16u);
}

/// The 4 u32 outputs of Philox4x32-10 for counter c and key (k0, k1).
fn philox4x32(c: vec4u, k0: u32, k1: u32) -> vec4u {
  var x = c;
  var key0 = k0;
  var key1 = k1;
  for (var round = 0u; round < 10u; round++) {
    if (round > 0u) {
      key0 += PHILOX_W0;
      key1 += PHILOX_W1;
    }
    let hi0 = philox_mulhi(PHILOX_M0, x.x);
    let lo0 = PHILOX_M0 * x.x;
    let hi1 = philox_mulhi(PHILOX_M1, x.z);
    let lo1 = PHILOX_M1 * x.z;
    x = vec4u(hi1 ^ x.y ^ key0, lo1, hi0 ^ x.w ^ key1, lo0);
  }
  return x;
}

/// u32 -> uniform in (0, 1), exactly the reference's f32 value.
fn uniform_from_u32(u: u32) -> f32 {
  return (f32(u >> 9u) + 0.5) * 1.1920928955078125e-7;
}

/// ln(u) for a uniform u in (0, 1), accurate to a few ulp relative over the whole range.
fn philox_ln_uniform(u: f32) -> f32 {
  if (u < 0.5) {
    return log(u);
  }
  // ln u = 2 atanh(s), s = (u - 1) / (u + 1) in (-1/3, 0]; u - 1 is exact (Sterbenz).
  let s = (u - 1.0) / (u + 1.0);
  let s2 = s * s;
  var poly = 1.0 / 15.0;
  poly = poly * s2 + 1.0 / 13.0;
  poly = poly * s2 + 1.0 / 11.0;
  poly = poly * s2 + 1.0 / 9.0;
  poly = poly * s2 + 1.0 / 7.0;
  poly = poly * s2 + 1.0 / 5.0;
  poly = poly * s2 + 1.0 / 3.0;
  poly = poly * s2 + 1.0;
  return 2.0 * s * poly;
}

/// Box–Muller on two u32 draws: (r cos t, r sin t).
fn box_muller(ua: u32, ub: u32) -> vec2f {
  let r = sqrt(max(-2.0 * philox_ln_uniform(uniform_from_u32(ua)), 0.0));
  // t = 2 pi u, shifted by -2 pi when u >= 0.5 (u - 1 is exact) so that t lies in [-pi, pi).
  let v = uniform_from_u32(ub);
  let t = 6.283185307179586 * select(v, v - 1.0, v >= 0.5);
  return vec2f(r * cos(t), r * sin(t));
}

/// The 4 normals of one block, in lane order.
fn philox_normals(c: vec4u, k0: u32, k1: u32) -> vec4f {
  let u = philox4x32(c, k0, k1);
  return vec4f(box_muller(u.x, u.y), box_muller(u.z, u.w));
}

/// Block index (lo, hi) of 64-bit draw index (j_lo, j_hi): j / 4.
fn philox_block_of(j_lo: u32, j_hi: u32) -> vec2u {
  return vec2u((j_lo >> 2u) | (j_hi << 30u), j_hi >> 2u);
}

/// 64-bit (lo, hi) + a u32, with carry.
fn add_u64(v: vec2u, a: u32) -> vec2u {
  let lo = v.x + a;
  return vec2u(lo, v.y + select(0u, 1u, lo < a));
}
