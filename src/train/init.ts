/**
 * Initial weights from the engine's generator (Philox4x32-10), drawn on the host with the reference
 * implementation so that the same seed gives the same bits on every backend. Parameter i of the model draws
 * from key (seed, INIT_STREAM) with counter word c2 = i: adding a layer never shifts another layer's draws.
 */
import { fillDraws } from '../rng/philox.js';
import type { Model, ParamSpec } from './graph.js';

/** Philox stream of initial weights (data order and label noise use other streams). */
export const INIT_STREAM = 0x1417;

const sizeOf = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/** The initial values of parameter `index` of a model. */
export function initialValues(param: ParamSpec, index: number, seed: number): Float32Array {
  const out = new Float32Array(sizeOf(param.shape));
  const init = param.init;
  switch (init.kind) {
    case 'constant':
      out.fill(init.value);
      break;
    case 'normal':
      fillDraws('normal', out, seed, INIT_STREAM, 0, index);
      for (let i = 0; i < out.length; i++) out[i] *= init.std;
      break;
    case 'uniform':
      fillDraws('uniform', out, seed, INIT_STREAM, 0, index);
      for (let i = 0; i < out.length; i++) out[i] = (2 * out[i] - 1) * init.bound;
      break;
  }
  return out;
}

/** Every parameter's initial values, by name. */
export function initialParameters(model: Model, seed: number): Map<string, Float32Array> {
  return new Map(model.params.map((p, i) => [p.name, initialValues(p, i, seed)]));
}
