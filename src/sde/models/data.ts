import { fillDraws } from '../../rng/philox.js';
import { STREAM } from '../job.js';
import { invalidArgument } from '../../errors.js';
import type { BuildContext } from '../model.js';

/** `count` standard normals from the run's data stream (seed, STREAM.data), as plain numbers. */
export function dataNormals(seed: number, count: number): number[] {
  const out = new Float32Array(count);
  fillDraws('normal', out, seed, STREAM.data, 0);
  return Array.from(out);
}

/** The user's data if given (checked: equal, nonzero lengths of finite numbers), else `generate()`. */
export function givenOrGenerated(context: BuildContext, model: string, generate: () => { x: number[]; y: number[] }): { x: number[]; y: number[] } {
  const given = context.data;
  if (!given) return generate();
  const { x, y } = given;
  if (!Array.isArray(x) || !Array.isArray(y) || x.length === 0 || x.length !== y.length || ![...x, ...y].every(Number.isFinite)) {
    throw invalidArgument(`data for model '${model}'`, given, '{ x: number[], y: number[] } of equal, nonzero length with finite entries');
  }
  return { x: [...x], y: [...y] };
}

/** x then y, as the kernels read them. */
export function packData(x: readonly number[], y: readonly number[]): Float32Array {
  return Float32Array.from([...x, ...y]);
}
