/**
 * activation_forward / activation_backward: elementwise ReLU, GELU (exact erf form) and tanh with PyTorch's
 * semantics, and their input gradients gradX = gradY · f'(x) from the forward's input x.
 * - webgpu: shaders/activation.wgsl (erf, tanh, sech² in f32) + shaders/activation_{forward,backward}.wgsl,
 *   EPT elements per thread.
 * - native: native/activation.cc, the same f32 formulas as AVX2 polynomials, chunks over the pool.
 * - js: the reference below, in f64 (an accurate erf/erfc) rounded once to f32 on store.
 *
 * Special values follow PyTorch 1.13: relu(NaN) = NaN and relu(−0) = −0 (y = x < 0 ? 0 : x); relu'(0) = 0 and
 * a NaN x passes gradY through (PyTorch's threshold_backward tests the output, NaN ≤ 0 is false);
 * gelu(−∞) = NaN, gelu'(±∞) = NaN (∞ · 0), tanh'(±∞) = 0. NaN inputs give NaN for gelu and tanh.
 */
import { oneOf, plainObject } from '../validate.js';
import { checkF32, checkInputs, ELEMENTWISE } from './elementwise.js';
import { sizeOf, type KernelSpec, type TensorInfo } from './types.js';

export type ActivationKind = 'relu' | 'gelu' | 'tanh';

export interface ActivationParams {
  readonly kind: ActivationKind;
}

/** The kinds, in the order of the `kind` field of the shaders and native/activation.cc. */
export const ACTIVATION_KINDS: readonly ActivationKind[] = ['relu', 'gelu', 'tanh'];

const TWO_OVER_SQRT_PI = 1.1283791670955126;
const INV_SQRT_PI = 0.5641895835477563;
const INV_SQRT_2PI = 0.3989422804014327;

/**
 * erf(x) in f64 (relative error ~2e-15): for |x| < 1 the series
 * erf(x) = 2x/√π · e^{−x²} · Σₙ (2x²)ⁿ / (1·3·…·(2n+1)) (all terms positive: no cancellation), above it
 * 1 − erfc(x) (erfc ≤ 0.16 there).
 * @example
 * erf(1); // 0.8427007929497149
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return x;
  const z = Math.abs(x);
  if (z >= 1) return Math.sign(x) * (1 - erfcLarge(z));
  const z2 = z * z;
  let term = 1, sum = 1;
  for (let n = 1; n < 200 && term > 1e-17 * sum; n++) {
    term *= (2 * z2) / (2 * n + 1);
    sum += term;
  }
  return TWO_OVER_SQRT_PI * x * Math.exp(-z2) * sum;
}

/**
 * erfc(x) = 1 − erf(x) in f64 with relative accuracy (~2e-15) everywhere: the continued fraction
 * erfc(z) = e^{−z²}/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))) for z ≥ 1 (modified Lentz; ≤ ~190 terms),
 * 1 − erf below (erfc > 0.15 there), 2 − erfc(−x) for negative x.
 * @example
 * erfc(5); // 1.5374597944280349e-12
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return x;
  if (x < 0) return 2 - erfc(-x);
  return x >= 1 ? erfcLarge(x) : 1 - erf(x);
}

/** erfc(z) for z ≥ 1 by the continued fraction above: b₀ = z, aₖ = k/2, bₖ = z. */
function erfcLarge(z: number): number {
  if (z === Infinity) return 0;
  const tiny = 1e-300;
  let f = z, c = z, d = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2;
    d = z + a * d;
    d = Math.abs(d) < tiny ? tiny : d;
    c = z + a / c;
    c = Math.abs(c) < tiny ? tiny : c;
    d = 1 / d;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return (Math.exp(-z * z) * INV_SQRT_PI) / f;
}

/** Φ(x), the standard normal CDF, with relative accuracy in both tails. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x * Math.SQRT1_2);
}

/** The forward functions in f64 (exactly the reference's math). */
export const activations: { readonly [K in ActivationKind]: (x: number) => number } = {
  relu: (x) => (x < 0 ? 0 : x),
  gelu: (x) => x * normalCdf(x),
  tanh: (x) => Math.tanh(x),
};

/** Their derivatives in f64: relu'(0) = 0 (NaN passes through), gelu' = Φ + xφ, tanh' = 1/cosh² = 1 − tanh². */
export const derivatives: { readonly [K in ActivationKind]: (x: number) => number } = {
  relu: (x) => (x <= 0 ? 0 : 1),
  gelu: (x) => normalCdf(x) + x * INV_SQRT_2PI * Math.exp(-0.5 * x * x),
  tanh: (x) => { const c = Math.cosh(x); return 1 / (c * c); },
};

/** y[i] = f(x[i]) for i < n. Any element type: f64 arrays for gradient checks, f32 arrays round on store. */
export function activationForwardCore(kind: ActivationKind, x: ArrayLike<number>, y: { [i: number]: number }, n: number): void {
  const f = activations[kind];
  for (let i = 0; i < n; i++) y[i] = f(x[i]);
}

/** gradX[i] = gradY[i] · f'(x[i]); ReLU selects (PyTorch's threshold_backward): gradX = x ≤ 0 ? 0 : gradY. */
export function activationBackwardCore(kind: ActivationKind, x: ArrayLike<number>, gradY: ArrayLike<number>,
  gradX: { [i: number]: number }, n: number): void {
  if (kind === 'relu') {
    for (let i = 0; i < n; i++) gradX[i] = x[i] <= 0 ? 0 : gradY[i];
    return;
  }
  const d = derivatives[kind];
  for (let i = 0; i < n; i++) gradX[i] = gradY[i] * d(x[i]);
}

const groupsOf = (n: number) => Math.ceil(n / (ELEMENTWISE.WG * ELEMENTWISE.EPT));
const elements = (inputs: readonly TensorInfo[]) => sizeOf(inputs[0].shape);

function checkKind(name: string, p: ActivationParams): ActivationKind {
  plainObject(`${name} params`, p);
  return oneOf(`${name} kind`, p.kind, ACTIVATION_KINDS);
}

const elementwiseLaunch = (shader: string) => ({
  shaders: ['activation.wgsl', shader],
  overrides: () => ({ ...ELEMENTWISE }),
  workgroups: (_p: unknown, inputs: readonly TensorInfo[]) => groupsOf(elements(inputs)),
});

// Calls shorter than ~0.5 ms stay inline (the libuv hop and promise cost more than blocking): GELU and tanh cost
// ~0.6 ns an element on a core, ReLU streams 8 bytes an element at ~30 GB/s.
const isLong = (p: ActivationParams, inputs: readonly TensorInfo[]) => elements(inputs) >= (p.kind === 'relu' ? 2 ** 21 : 2 ** 20);

export const activationForward: KernelSpec<ActivationParams> = {
  name: 'activation_forward',
  summary: 'elementwise ReLU, GELU (erf) or tanh',
  fields: [
    { name: 'kind', type: 'u32', value: (p) => ACTIVATION_KINDS.indexOf(p.kind) },
    { name: 'n', type: 'u32', value: (_p, inputs) => elements(inputs) },
    { name: 'groups', type: 'u32', value: (_p, inputs) => groupsOf(elements(inputs)) },
  ],
  validate(p, inputs) {
    checkKind('activation_forward', p);
    checkInputs('activation_forward', inputs, ['x']);
    checkF32('activation_forward', 'x', inputs[0]);
    return [{ dtype: 'f32', shape: [...inputs[0].shape] }];
  },
  reference(p, [x], [y]) {
    activationForwardCore(p.kind, x, y, x.length);
  },
  webgpu: elementwiseLaunch('activation_forward.wgsl'),
  nativeAsync: isLong,
  // Memory traffic: x read, y written.
  work: (_p, inputs) => 8 * elements(inputs),
  workUnit: 'bytes',
};

export const activationBackward: KernelSpec<ActivationParams> = {
  name: 'activation_backward',
  summary: 'gradient of ReLU, GELU or tanh: gradX = gradY · f\'(x)',
  fields: activationForward.fields,
  validate(p, inputs) {
    checkKind('activation_backward', p);
    checkInputs('activation_backward', inputs, ['x', 'gradY']);
    const n = checkF32('activation_backward', 'x', inputs[0]);
    checkF32('activation_backward', 'gradY', inputs[1], n, `${n} elements (as many as x)`);
    return [{ dtype: 'f32', shape: [...inputs[0].shape] }];
  },
  reference(p, [x, gradY], [gradX]) {
    activationBackwardCore(p.kind, x, gradY, gradX, x.length);
  },
  webgpu: elementwiseLaunch('activation_backward.wgsl'),
  nativeAsync: isLong,
  // Memory traffic: x and gradY read, gradX written.
  work: (_p, inputs) => 12 * elements(inputs),
  workUnit: 'bytes',
};
