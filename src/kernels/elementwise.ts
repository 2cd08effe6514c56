/**
 * What the layer kernels share (activation, add, maxpool2d, global_avgpool): the launch shape of their elementwise
 * shaders and the checks of their input tensors, with one wording for the errors.
 */
import { invalidArgument } from '../errors.js';
import { sizeOf, type TensorInfo } from './types.js';

/** Workgroup size and elements per thread of the elementwise shaders (their `override` constants). */
export const ELEMENTWISE = { WG: 256, EPT: 4 } as const;

/** Checks that `t` is an f32 tensor of `count` elements (when given); `what` names it in the error. */
export function checkF32(kernel: string, what: string, t: TensorInfo, count?: number, expected?: string): number {
  const size = sizeOf(t.shape);
  if (t.dtype !== 'f32') throw invalidArgument(`${kernel} ${what}`, `a ${t.dtype} tensor`, 'an f32 tensor');
  if (count !== undefined && size !== count) throw invalidArgument(`${kernel} ${what}`, `${size} elements`, expected ?? `${count} elements`);
  return size;
}

/** Checks the number of input tensors. */
export function checkInputs(kernel: string, inputs: readonly TensorInfo[], names: readonly string[]): void {
  if (!Array.isArray(inputs) || inputs.length !== names.length) {
    const want = names.length === 1 ? 'one tensor' : `${names.length} tensors`;
    throw invalidArgument(`${kernel} inputs`, `${inputs?.length} tensors`, `${want}: ${names.join(', ')}`);
  }
}
