import { CollapseError, invalidArgument } from '../errors.js';
import { integerIn, plainObject } from '../validate.js';
import type { ModelDefinition, ParamSpec } from './model.js';

/** A user-defined model: drift and diffusion as JS functions (backend `js`) and/or WGSL (backend `webgpu`). */
export interface CustomModelSpec {
  readonly name: string;
  readonly summary?: string;
  /** Names of the state components; d = state.length (1..16). */
  readonly state: readonly string[];
  /** Number of independent Brownian motions m (1..4096). */
  readonly noiseDim: number;
  readonly params: Readonly<Record<string, ParamSpec>>;
  /** The parameter a noise grid sweeps. */
  readonly noiseParam: string;
  readonly init: { readonly mean: readonly number[]; readonly std: readonly number[]; readonly shared?: boolean };
  readonly distanceLabel?: string;
  readonly defaults?: ModelDefinition['defaults'];
  /** Plain-JS drift f(x) → out, column k of the diffusion G(x) → out, and the distance to the invariant set. */
  readonly js?: {
    drift(x: Float64Array, p: Readonly<Record<string, number>>, out: Float64Array): void;
    diffusion(x: Float64Array, p: Readonly<Record<string, number>>, k: number, out: Float64Array): void;
    distance(x: Float64Array, p: Readonly<Record<string, number>>): number;
  };
  /**
   * WGSL defining `fn drift(x: State, p: Params) -> State`, `fn diffusion(x: State, p: Params, k: u32) -> State`,
   * `fn distance(x: State, p: Params) -> f32`; `p.<name>` reads a parameter.
   */
  readonly wgsl?: string;
}

const missing = (name: string, what: string) => (): never => {
  throw new CollapseError('BACKEND_UNAVAILABLE', `model '${name}' has no ${what}; give it one in defineModel, or choose another backend`, { model: name });
};

/**
 * Defines a custom SDE model that `engine.collapse` can run on the `js` backend (with `js` functions) and the
 * `webgpu` backend (with `wgsl`). The native addon runs only the built-in models.
 * @example
 * const ou = defineModel({
 *   name: 'ou', state: ['x'], noiseDim: 1, noiseParam: 'sigma', init: { mean: [1], std: [0] },
 *   params: { theta: { default: 1, description: 'mean reversion' }, sigma: { default: 0.5, description: 'noise' } },
 *   js: { drift: (x, p, out) => { out[0] = -p.theta * x[0]; }, diffusion: (x, p, k, out) => { out[0] = p.sigma * x[0]; },
 *         distance: (x) => Math.abs(x[0]) },
 *   wgsl: `fn drift(x: State, p: Params) -> State { return State(-p.theta * x[0]); }
 *          fn diffusion(x: State, p: Params, k: u32) -> State { return State(p.sigma * x[0]); }
 *          fn distance(x: State, p: Params) -> f32 { return abs(x[0]); }`,
 * });
 */
export function defineModel(spec: CustomModelSpec): ModelDefinition {
  plainObject('model spec', spec);
  if (typeof spec.name !== 'string' || !/^[A-Za-z][\w-]*$/.test(spec.name)) throw invalidArgument('model name', spec.name, 'a name of letters, digits, _ or -');
  if (!Array.isArray(spec.state)) throw invalidArgument('state', spec.state, 'an array of component names');
  const d = integerIn('state.length', spec.state.length, 1, 16);
  const m = integerIn('noiseDim', spec.noiseDim, 1, 4096);
  const names = Object.keys(plainObject('params', spec.params));
  for (const n of names) if (!/^[A-Za-z_]\w*$/.test(n)) throw invalidArgument('parameter name', n, 'a WGSL identifier');
  if (!names.includes(spec.noiseParam)) throw invalidArgument('noiseParam', spec.noiseParam, `one of the params (${names.join(', ')})`);
  for (const key of ['mean', 'std'] as const) {
    const v = spec.init?.[key];
    if (!Array.isArray(v) || v.length !== d || !v.every(Number.isFinite)) throw invalidArgument(`init.${key}`, v, `${d} finite numbers`);
  }
  if (!spec.js && !spec.wgsl) throw invalidArgument(`model '${spec.name}'`, 'no code', 'given `js` functions and/or `wgsl` source');
  const named = new WeakMap<Float32Array, Record<string, number>>();
  const byName = (p: Float32Array): Record<string, number> => {
    let o = named.get(p);
    if (!o) {
      o = Object.fromEntries(names.map((n, i) => [n, p[i]]));
      named.set(p, o);
    }
    return o;
  };
  const js = spec.js;
  // Mistakes in user code that would otherwise give silently wrong counts: a function that returns its result
  // instead of writing `out` (which then stays zero), and a distance that is not a number ≥ 0.
  const filled = (returned: unknown, what: string): void => {
    if (returned !== undefined) {
      throw new CollapseError('INVALID_ARGUMENT', `model '${spec.name}': js.${what} must write its result into \`out\` and return nothing; it returned ${Array.isArray(returned) || ArrayBuffer.isView(returned) ? 'an array' : typeof returned}`, { model: spec.name });
    }
  };
  const checkedDistance = (v: unknown): number => {
    if (typeof v !== 'number' || v < 0) {
      throw new CollapseError('INVALID_ARGUMENT', `model '${spec.name}': js.distance must return a number ≥ 0 (NaN counts the path as diverged); it returned ${String(v)}`, { model: spec.name });
    }
    return v;
  };
  if (js) for (const f of ['drift', 'diffusion', 'distance'] as const) if (typeof js[f] !== 'function') throw invalidArgument(`js.${f}`, js[f], 'a function');
  return {
    name: spec.name,
    summary: spec.summary ?? `custom model '${spec.name}'`,
    params: spec.params,
    noiseParam: spec.noiseParam,
    noiseLabel: spec.noiseParam,
    distanceLabel: spec.distanceLabel ?? 'distance',
    defaults: spec.defaults ?? { dt: 1e-2, steps: 1000, record: [1000], epsilon: 1e-6 },
    build() {
      return {
        kernel: {
          name: spec.name,
          d,
          m,
          paramNames: names,
          data: new Float32Array(0),
          native: false,
          js: js
            ? {
                drift: (x, p, _data, out) => filled(js.drift(x, byName(p), out), 'drift'),
                diffusion: (x, p, _data, k, out) => filled(js.diffusion(x, byName(p), k, out), 'diffusion'),
                distance: (x, p) => checkedDistance(js.distance(x, byName(p))),
              }
            : { drift: missing(spec.name, 'js drift'), diffusion: missing(spec.name, 'js diffusion'), distance: missing(spec.name, 'js distance') },
          wgsl: spec.wgsl ?? '',
        },
        pack: (v) => names.map((n) => v[n]),
        init: { mean: [...spec.init.mean], std: [...spec.init.std], shared: spec.init.shared ?? true },
        theory: (grid) => ({ points: grid.map(() => ({})) }),
      };
    },
  };
}
