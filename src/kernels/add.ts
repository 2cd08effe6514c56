/**
 * add: y = a + b elementwise (f32, any shapes of equal element count; y takes a's shape). The residual connection
 * of ResNet blocks and the sum of two gradient branches.
 * - webgpu: shaders/add.wgsl, EPT elements per thread.
 * - native: native/add.cc, a vectorized loop, chunks over the pool for large tensors.
 * - js: the reference below (an f64 sum of two f32 values rounded to f32 is the correctly rounded f32 sum,
 *   so every backend agrees to the bit).
 */
import { invalidArgument } from '../errors.js';
import { checkF32, checkInputs, ELEMENTWISE } from './elementwise.js';
import { sizeOf, type KernelSpec, type TensorInfo } from './types.js';

/** add takes no parameters: its size is its inputs' (pass `{}`). */
export type AddParams = Readonly<Record<string, never>>;

const elements = (inputs: readonly TensorInfo[]) => sizeOf(inputs[0].shape);
const groupsOf = (n: number) => Math.ceil(n / (ELEMENTWISE.WG * ELEMENTWISE.EPT));

/** y[i] = a[i] + b[i] for i < n, over any element type (f64 arrays for gradient checks). */
export function addCore(a: ArrayLike<number>, b: ArrayLike<number>, y: { [i: number]: number }, n: number): void {
  for (let i = 0; i < n; i++) y[i] = a[i] + b[i];
}

export const add: KernelSpec<AddParams> = {
  name: 'add',
  summary: 'elementwise y = a + b (residual connections, gradient sums)',
  fields: [
    { name: 'n', type: 'u32', value: (_p, inputs) => elements(inputs) },
    { name: 'groups', type: 'u32', value: (_p, inputs) => groupsOf(elements(inputs)) },
  ],
  validate(p, inputs) {
    if (p !== undefined && (p === null || typeof p !== 'object' || Array.isArray(p) || Object.keys(p).length > 0)) {
      throw invalidArgument('add params', p, 'an empty object {} (add takes its size from its inputs)');
    }
    checkInputs('add', inputs, ['a', 'b']);
    const n = checkF32('add', 'a', inputs[0]);
    checkF32('add', 'b', inputs[1], n, `${n} elements (as many as a)`);
    return [{ dtype: 'f32', shape: [...inputs[0].shape] }];
  },
  reference(_p, [a, b], [y]) {
    addCore(a, b, y, a.length);
  },
  webgpu: {
    shaders: ['add.wgsl'],
    overrides: () => ({ ...ELEMENTWISE }),
    workgroups: (_p, inputs) => groupsOf(elements(inputs)),
  },
  // ~0.5 ms of streaming 12 bytes an element at ~40 GB/s.
  nativeAsync: (_p, inputs) => elements(inputs) >= 2 ** 21,
  work: (_p, inputs) => 12 * elements(inputs),
  workUnit: 'bytes',
};
