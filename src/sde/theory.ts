/**
 * Numerical theory shared by the models: the Lyapunov exponent of the Euler–Maruyama scheme the engine
 * actually runs (exact, by quadrature), and the finite-time collapse probability of the Fig. 1 quartic from
 * its log-process (a one-dimensional Fokker–Planck equation solved on a grid). Plain f64 JS.
 */
import { normalCdf } from './special.js';

// ---------------------------------------------------------------------------------------------------------
// Gauss–Legendre quadrature
// ---------------------------------------------------------------------------------------------------------

/** Nodes and weights of n-point Gauss–Legendre on [−1, 1] (Newton on P_n; exact to rounding). */
function gaussLegendre(n: number): { x: Float64Array; w: Float64Array } {
  const x = new Float64Array(n), w = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let z = Math.cos((Math.PI * (i + 0.75)) / (n + 0.5));
    let dp = 0;
    for (let it = 0; it < 100; it++) {
      let p0 = 1, p1 = 0;
      for (let k = 1; k <= n; k++) { const p2 = p1; p1 = p0; p0 = ((2 * k - 1) * z * p1 - (k - 1) * p2) / k; }
      dp = (n * (z * p0 - p1)) / (z * z - 1);
      const dz = p0 / dp;
      z -= dz;
      if (Math.abs(dz) < 1e-16) break;
    }
    x[i] = z;
    w[i] = 2 / ((1 - z * z) * dp * dp);
  }
  return { x, w };
}

const GL = gaussLegendre(16);
const INV_SQRT_2PI = 0.3989422804014327;

/**
 * E[f(ξ)] for ξ ~ N(0, 1), by composite Gauss–Legendre on [−12, 12] (the rest weighs < 1e-32), with panels
 * graded geometrically toward `singular` so that an integrable log singularity there costs no accuracy.
 */
function gaussianExpectation(f: (xi: number) => number, singular: number): number {
  const L = 12;
  const cuts = new Set<number>();
  for (let x = -L; x <= L + 1e-12; x += 0.5) cuts.add(x);
  if (Math.abs(singular) < L) {
    cuts.add(singular);
    // down to a few hundred ulps of the root: what is left, ~δ ln δ, is far below rounding
    for (let d = 0.5; d > 1e-13 * Math.max(1, Math.abs(singular)); d *= 0.3) { cuts.add(singular - d); cuts.add(singular + d); }
  }
  const points = [...cuts].filter((x) => x >= -L && x <= L).sort((a, b) => a - b);
  let sum = 0;
  for (let k = 1; k < points.length; k++) {
    const a = points[k - 1], b = points[k];
    const half = (b - a) / 2, mid = (a + b) / 2;
    let s = 0;
    for (let i = 0; i < GL.x.length; i++) {
      const xi = mid + half * GL.x[i];
      s += GL.w[i] * f(xi) * Math.exp(-0.5 * xi * xi);
    }
    sum += s * half;
  }
  return sum * INV_SQRT_2PI;
}

// ---------------------------------------------------------------------------------------------------------
// The exponent of the scheme we run
// ---------------------------------------------------------------------------------------------------------

/** Per-unit-time mean and variance of ln|z| under the linearised Euler–Maruyama step z' = z(1 + ah + g√h ξ). */
export interface DiscreteExponent {
  /** E ln|1 + ah + g√h ξ| / h: the Lyapunov exponent of the scheme (→ a − g²/2 as h → 0). */
  readonly exponent: number;
  /** Var ln|1 + ah + g√h ξ| / h (→ g² as h → 0). */
  readonly variance: number;
}

/**
 * The exact Lyapunov exponent of the Euler–Maruyama scheme for the linear SDE dz = z(a dt + g dB) with step h,
 * E ln|1 + ah + g√h ξ| / h over ξ ~ N(0, 1), by quadrature (not by its O(h) Taylor term, which is off by
 * O(h²) and worse as g√h grows). Also the per-unit-time variance of the log-increment.
 * @example
 * discreteExponent(1.5, 2.5, 0.0025).exponent;  // ≈ −1.6807 (the continuous exponent is 1.5 − 2.5²/2 = −1.625)
 */
export function discreteExponent(a: number, g: number, h: number): DiscreteExponent {
  const c = a * h, s = g * Math.sqrt(h);
  if (s === 0) return { exponent: Math.log(Math.abs(1 + c)) / h, variance: 0 };
  // log1p keeps the relative accuracy of small increments; ln|·| past the root ξ* = −(1 + c)/s
  const logStep = (xi: number) => { const u = c + s * xi; return u > -1 ? Math.log1p(u) : Math.log(Math.abs(1 + u)); };
  const root = -(1 + c) / s;
  const m1 = gaussianExpectation(logStep, root);
  const m2 = gaussianExpectation((xi) => logStep(xi) ** 2, root);
  return { exponent: m1 / h, variance: Math.max(0, m2 - m1 * m1) / h };
}

/**
 * The noise level at which a discrete exponent `exponentAt(x)` changes sign, by bisection on [lo, hi]
 * (undefined when it does not change sign there).
 * @example
 * const zc = signChange((z) => discreteExponent(1.5, z, 0.0025).exponent, 0, 3);  // a bit below √3
 */
export function signChange(exponentAt: (x: number) => number, lo: number, hi: number): number | undefined {
  let flo = exponentAt(lo);
  if (Math.sign(flo) === Math.sign(exponentAt(hi))) return undefined;
  for (let i = 0; i < 60; i++) {
    const mid = (lo + hi) / 2, fm = exponentAt(mid);
    if (Math.sign(fm) === Math.sign(flo)) { lo = mid; flo = fm; } else hi = mid;
  }
  return (lo + hi) / 2;
}

// ---------------------------------------------------------------------------------------------------------
// The quartic's collapse probability at finite time
// ---------------------------------------------------------------------------------------------------------

/** What `quarticCollapseProbability` needs. */
export interface QuarticLogProcess {
  readonly mu: number;
  /** Drift of ln|θ| near 0 per unit time: the scheme's exponent (μ − ζ²/2 in continuous time). */
  readonly exponent: number;
  /** Variance of ln|θ| per unit time near 0 (ζ² in continuous time). */
  readonly variance: number;
  /** θ₀ ~ N(mean, std²). */
  readonly init: { readonly mean: number; readonly std: number };
  readonly epsilon: number;
  /** Times (sorted, ≥ 0) at which P(θ_t² < ε) is wanted. */
  readonly times: readonly number[];
}

/**
 * P(θ_t² < ε) for dθ = (μθ − θ³)dt + ζθ dB at each of `times`, valid on both sides of ζ_c = √(2μ).
 *
 * Why this form: x = ln|θ| is itself a diffusion, dx = (μ − ζ²/2 − e^{2x}) dt + ζ dB (θ never changes sign),
 * and collapse is x < ½ ln ε. Its Fokker–Planck equation is solved by finite volumes (Scharfetter–Gummel
 * fluxes, implicit Euler: positive and mass-conserving at any Péclet number) from the law of ln|θ₀|. The
 * near-zero drift and variance are the scheme's (`exponent`, `variance`) so that the answer is for the
 * Euler–Maruyama run, not the continuous SDE. One formula for every ζ and t: no switch at the threshold, no
 * reflecting-wall approximation of the cubic term, and the initial spread of θ₀ included.
 * @example
 * const { exponent, variance } = discreteExponent(1.5, 2.4, 0.0025);
 * quarticCollapseProbability({ mu: 1.5, exponent, variance, init: { mean: 0, std: 2 }, epsilon: 1e-30, times: [25, 50] });
 */
export function quarticCollapseProbability(q: QuarticLogProcess): number[] {
  const { exponent, variance, init, epsilon, times } = q;
  const tMax = times.length > 0 ? Math.max(...times) : 0;
  const xEps = 0.5 * Math.log(epsilon);
  const grid = logGrid(q, xEps, tMax);
  const n = grid.centres.length;
  // initial law of ln|θ₀| by cell (what lies below the grid goes to the lowest cell: already collapsed)
  const p = new Float64Array(n);
  const absCdf = (r: number) => (init.std > 0
    ? normalCdf((r - init.mean) / init.std) - normalCdf((-r - init.mean) / init.std)
    : Number(Math.abs(init.mean) < r));
  for (let i = 0; i < n; i++) {
    const lo = i === 0 ? 0 : absCdf(Math.exp(grid.faces[i]));
    const hi = i === n - 1 ? 1 : absCdf(Math.exp(grid.faces[i + 1]));
    p[i] = Math.max(0, hi - lo) / grid.widths[i];
  }
  const D = variance / 2;
  const drift = (x: number) => exponent - Math.exp(2 * x);
  // flux between cells i and i+1: F = A_i p_i − C_i p_{i+1}
  const A = new Float64Array(n), C = new Float64Array(n);
  for (let i = 0; i + 1 < n; i++) {
    const delta = grid.centres[i + 1] - grid.centres[i];
    const b = drift(grid.faces[i + 1]);
    if (D === 0) { A[i] = Math.max(b, 0); C[i] = Math.max(-b, 0); continue; }
    const peclet = (b * delta) / D;
    A[i] = (D / delta) * bernoulli(-peclet);
    C[i] = (D / delta) * bernoulli(peclet);
  }
  const collapsedMass = () => { let s = 0; for (let i = 0; i < grid.below; i++) s += p[i] * grid.widths[i]; return Math.min(1, s); };
  const out: number[] = [];
  let now = 0;
  for (const t of times) {
    while (t - now > 1e-12 * t) {
      // steps ∝ t: the density spreads like √t, so the relative error of implicit Euler stays put as they grow
      const tau = Math.min(t - now, Math.max(TAU_MIN, now / STEPS_PER_UNIT_LOG_TIME));
      const steps = Math.max(1, Math.min(16, Math.floor((t - now) / tau)));
      advance(p, grid.widths, A, C, tau, steps);
      now += steps * tau;
    }
    now = t;
    out.push(collapsedMass());
  }
  return out;
}

/** Smallest time step of the Fokker–Planck solver, and steps per e-fold of time past it (grid-converged to < 0.003). */
const TAU_MIN = 0.02;
const STEPS_PER_UNIT_LOG_TIME = 200;

/** z/(eᶻ − 1), the Scharfetter–Gummel weight, without cancellation near 0. */
function bernoulli(z: number): number {
  if (Math.abs(z) < 1e-6) return 1 - z / 2;
  if (z > 700) return 0;
  return z / Math.expm1(z);
}

/**
 * Cells of ln|θ| for the solver: a face exactly at ½ ln ε (`below` cells lie under it), 0.05 wide where the
 * cubic term acts (x > −4), wider below, where the density is a drifting Gaussian of width √(variance·t).
 */
function logGrid(q: QuarticLogProcess, xEps: number, tMax: number) {
  const { init, mu, variance } = q;
  const spread = Math.sqrt(variance * Math.max(tMax, 1));
  const coarse = Math.min(1, Math.max(0.1, Math.sqrt(variance * Math.max(q.times.find((t) => t > 0) ?? 1, 1)) / 25));
  const width = (x: number) => (x > -4 ? 0.05 : coarse);
  const top = Math.max(Math.log(Math.abs(init.mean) + 8 * init.std), 0.5 * Math.log(Math.max(mu, 0) + 4 * variance + 1e-300));
  const xHi = Math.max(top + 1, xEps + 5);
  const xLo = xEps - 6 * spread - 10;
  const up: number[] = [];
  for (let x = xEps; x < xHi; x += width(x)) up.push(x);
  up.push(xHi);
  const down: number[] = [];
  for (let x = xEps - width(xEps - 1e-9); x > xLo; x -= width(x - 1e-9)) down.push(x);
  const faces = [...down.reverse(), ...up];
  const n = faces.length - 1;
  const centres = new Float64Array(n), widths = new Float64Array(n);
  for (let i = 0; i < n; i++) { centres[i] = (faces[i] + faces[i + 1]) / 2; widths[i] = faces[i + 1] - faces[i]; }
  return { faces, centres, widths, below: down.length };
}

/** `steps` implicit Euler steps of size tau, in place: V pᵢ' + τ(Fᵢ₊½ − Fᵢ₋½)(p') = V pᵢ, zero flux at both ends (Thomas). */
function advance(p: Float64Array, V: Float64Array, A: Float64Array, C: Float64Array, tau: number, steps: number): void {
  const n = p.length;
  const lower = new Float64Array(n), diag = new Float64Array(n), upper = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    lower[i] = i > 0 ? -tau * A[i - 1] : 0;
    upper[i] = i + 1 < n ? -tau * C[i] : 0;
    diag[i] = V[i] + tau * ((i + 1 < n ? A[i] : 0) + (i > 0 ? C[i - 1] : 0));
  }
  // factor once: the matrix does not change between steps
  const cPrime = new Float64Array(n), denom = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    denom[i] = diag[i] - (i > 0 ? lower[i] * cPrime[i - 1] : 0);
    cPrime[i] = upper[i] / denom[i];
  }
  const d = new Float64Array(n);
  for (let s = 0; s < steps; s++) {
    for (let i = 0; i < n; i++) d[i] = (V[i] * p[i] - (i > 0 ? lower[i] * d[i - 1] : 0)) / denom[i];
    for (let i = n - 2; i >= 0; i--) d[i] -= cPrime[i] * d[i + 1];
    p.set(d);
  }
}
