/**
 * Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC 2011), the one
 * counter-based generator of every backend. This file is the reference: `native/philox.h` and
 * `shaders/philox.wgsl` compute the same bits.
 *
 * Addressing (the contract every backend follows):
 * - key   = (seed, stream), two u32 words.
 * - counter = (blockLo, blockHi, c2, c3): a 64-bit block index and two free words. The random API uses
 *   c2 = c3 = 0; the SDE kernels use c2 = global path index, c3 = global grid index.
 * - Each block yields 4 u32 values. Draw j (u32, uniform or normal) lives in block floor(j / 4), lane j % 4.
 * - uniform(u) = ((u >>> 9) + 0.5) * 2^-23: exact in f32, strictly inside (0, 1).
 * - normals by Box–Muller on lane pairs (0,1) and (2,3): r = sqrt(-2 ln u_a), t = 2π u_b,
 *   lanes 0/2 get r cos t, lanes 1/3 get r sin t.
 */

const M0 = 0xd2511f53;
const M1 = 0xcd9e8d57;
const W0 = 0x9e3779b9;
const W1 = 0xbb67ae85;

/** High 32 bits of the 64-bit product of two u32 (exact, via 16-bit halves). */
function mulhi(a: number, b: number): number {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const mid = aHi * bLo + aLo * bHi + Math.floor((aLo * bLo) / 65536);
  return (aHi * bHi + Math.floor(mid / 65536)) >>> 0;
}

/** Writes the 4 u32 outputs of Philox4x32-10 for (counter, key) into out[at..at+3]. */
export function philox4x32(
  c0: number, c1: number, c2: number, c3: number,
  k0: number, k1: number,
  out: Uint32Array | number[], at = 0,
): void {
  let x0 = c0 >>> 0, x1 = c1 >>> 0, x2 = c2 >>> 0, x3 = c3 >>> 0;
  let key0 = k0 >>> 0, key1 = k1 >>> 0;
  for (let round = 0; round < 10; round++) {
    if (round > 0) {
      key0 = (key0 + W0) >>> 0;
      key1 = (key1 + W1) >>> 0;
    }
    const hi0 = mulhi(M0, x0);
    const lo0 = Math.imul(M0, x0) >>> 0;
    const hi1 = mulhi(M1, x2);
    const lo1 = Math.imul(M1, x2) >>> 0;
    x0 = (hi1 ^ x1 ^ key0) >>> 0;
    x1 = lo1;
    x2 = (hi0 ^ x3 ^ key1) >>> 0;
    x3 = lo0;
  }
  out[at] = x0; out[at + 1] = x1; out[at + 2] = x2; out[at + 3] = x3;
}

/** u32 → uniform in (0, 1); the same f32 value on every backend. */
export function uniformFromU32(u: number): number {
  return ((u >>> 9) + 0.5) * 1.1920928955078125e-7; // 2^-23
}

const TWO_PI = 2 * Math.PI;

/** Box–Muller on two u32 draws; writes the pair (r cos t, r sin t). Computed in f64, stored by the caller. */
export function boxMuller(ua: number, ub: number, out: Float32Array | Float64Array | number[], at: number): void {
  const r = Math.sqrt(-2 * Math.log(uniformFromU32(ua)));
  const t = TWO_PI * uniformFromU32(ub);
  out[at] = r * Math.cos(t);
  out[at + 1] = r * Math.sin(t);
}

/** The 4 normals of one block, in lane order. */
export function normalsOfBlock(c0: number, c1: number, c2: number, c3: number, k0: number, k1: number,
  scratch: Uint32Array, out: Float32Array | Float64Array, at = 0): void {
  philox4x32(c0, c1, c2, c3, k0, k1, scratch, 0);
  boxMuller(scratch[0], scratch[1], out, at);
  boxMuller(scratch[2], scratch[3], out, at + 2);
}

export type Distribution = 'uint32' | 'uniform' | 'normal';

/**
 * Fills `out` with draws offset .. offset + out.length - 1 of (seed, stream), counter words c2, c3.
 * The reference for every backend's `random` kernel.
 */
export function fillDraws(kind: Distribution, out: Uint32Array | Float32Array, seed: number, stream: number, offset: number, c2 = 0, c3 = 0): void {
  const block = new Uint32Array(4);
  const normals = new Float64Array(4);
  const n = out.length;
  let i = 0;
  while (i < n) {
    const j = offset + i;
    const b = Math.floor(j / 4);
    const lane = j - b * 4;
    const bLo = b % 0x1_0000_0000;
    const bHi = Math.floor(b / 0x1_0000_0000);
    philox4x32(bLo, bHi, c2, c3, seed, stream, block, 0);
    if (kind === 'normal') {
      boxMuller(block[0], block[1], normals, 0);
      boxMuller(block[2], block[3], normals, 2);
    }
    for (let l = lane; l < 4 && i < n; l++, i++) {
      out[i] = kind === 'uint32' ? block[l] : kind === 'uniform' ? uniformFromU32(block[l]) : normals[l];
    }
  }
}
