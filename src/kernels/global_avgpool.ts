/**
 * global_avgpool_forward / global_avgpool_backward: the mean of each H×W plane of an NCHW f32 tensor
 * (PyTorch's adaptive_avg_pool2d to 1×1, then flatten: y is [N, C]) and its gradient gradX = gradY / (H·W)
 * broadcast over the plane.
 * - webgpu: shaders/global_avgpool_forward.wgsl (one workgroup per plane, a tree sum in workgroup memory),
 *   shaders/global_avgpool_backward.wgsl (EPT elements per thread).
 * - native: native/global_avgpool.cc, 8 partial sums per plane in a fixed order (thread-count independent).
 * - js: the reference below: an f64 sum divided once, rounded once to f32.
 */
import { integerIn, plainObject } from '../validate.js';
import { checkF32, checkInputs, ELEMENTWISE } from './elementwise.js';
import { MAX_ELEMENTS } from './tensor.js';
import type { KernelSpec, TensorInfo } from './types.js';

export interface GlobalAvgpoolParams {
  readonly batch: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
}

/** Threads per workgroup of the forward shader (one workgroup per plane). */
const REDUCE_WG = 64;

interface Planes { planes: number; plane: number }

function resolve(name: string, p: GlobalAvgpoolParams): Planes {
  plainObject(`${name} params`, p);
  const batch = integerIn(`${name} batch`, p.batch, 0, MAX_ELEMENTS);
  const channels = integerIn(`${name} channels`, p.channels, 0, MAX_ELEMENTS);
  const height = integerIn(`${name} height`, p.height, 1, MAX_ELEMENTS);
  const width = integerIn(`${name} width`, p.width, 1, MAX_ELEMENTS);
  const planes = batch * channels, plane = height * width;
  integerIn(`${name} element count (batch × channels × height × width)`, planes * plane, 0, MAX_ELEMENTS);
  return { planes, plane };
}

const dims = (p: GlobalAvgpoolParams) => `${p.batch}×${p.channels}×${p.height}×${p.width}`;

/** y[q] = mean of plane q, over any element type (f64 arrays for gradient checks). */
export function globalAvgpoolForwardCore(planes: number, plane: number, x: ArrayLike<number>, y: { [i: number]: number }): void {
  for (let q = 0; q < planes; q++) {
    let sum = 0;
    for (let i = 0; i < plane; i++) sum += x[q * plane + i];
    y[q] = sum / plane;
  }
}

/** gradX[q, i] = gradY[q] / plane. */
export function globalAvgpoolBackwardCore(planes: number, plane: number, gradY: ArrayLike<number>, gradX: { [i: number]: number }): void {
  for (let q = 0; q < planes; q++) {
    const g = gradY[q] / plane;
    for (let i = 0; i < plane; i++) gradX[q * plane + i] = g;
  }
}

const fields = [
  { name: 'planes', type: 'u32', value: (p: GlobalAvgpoolParams) => resolve('global_avgpool', p).planes },
  { name: 'plane', type: 'u32', value: (p: GlobalAvgpoolParams) => resolve('global_avgpool', p).plane },
] as const;

const elements = (p: GlobalAvgpoolParams) => { const r = resolve('global_avgpool', p); return r.planes * r.plane; };
const backwardGroups = (p: GlobalAvgpoolParams) => Math.ceil(elements(p) / (ELEMENTWISE.WG * ELEMENTWISE.EPT));
// ~0.5 ms of streaming 4 bytes an element at ~30 GB/s.
const LONG = 2 ** 22;

export const globalAvgpoolForward: KernelSpec<GlobalAvgpoolParams> = {
  name: 'global_avgpool_forward',
  summary: 'mean of each H×W plane (NCHW → [N, C])',
  fields: [...fields, { name: 'groups', type: 'u32', value: (p) => resolve('global_avgpool_forward', p).planes }],
  validate(p, inputs: readonly TensorInfo[]): TensorInfo[] {
    const { planes, plane } = resolve('global_avgpool_forward', p);
    checkInputs('global_avgpool_forward', inputs, ['x']);
    checkF32('global_avgpool_forward', 'x', inputs[0], planes * plane, `${dims(p)} (${planes * plane} elements)`);
    return [{ dtype: 'f32', shape: [p.batch, p.channels] }];
  },
  reference(p, [x], [y]) {
    const { planes, plane } = resolve('global_avgpool_forward', p);
    globalAvgpoolForwardCore(planes, plane, x, y);
  },
  webgpu: {
    shaders: ['global_avgpool_forward.wgsl'],
    overrides: () => ({ WG: REDUCE_WG }),
    workgroups: (p) => resolve('global_avgpool_forward', p).planes,
  },
  nativeAsync: (p) => elements(p) >= LONG,
  // Memory traffic: x read, y written.
  work: (p) => 4 * elements(p) + 4 * resolve('global_avgpool_forward', p).planes,
  workUnit: 'bytes',
};

export const globalAvgpoolBackward: KernelSpec<GlobalAvgpoolParams> = {
  name: 'global_avgpool_backward',
  summary: 'gradient of the plane mean: gradX = gradY / (H·W)',
  fields: [...fields, { name: 'groups', type: 'u32', value: backwardGroups }],
  validate(p, inputs: readonly TensorInfo[]): TensorInfo[] {
    const { planes } = resolve('global_avgpool_backward', p);
    checkInputs('global_avgpool_backward', inputs, ['gradY']);
    checkF32('global_avgpool_backward', 'gradY', inputs[0], planes, `${p.batch}×${p.channels} (${planes} elements)`);
    return [{ dtype: 'f32', shape: [p.batch, p.channels, p.height, p.width] }];
  },
  reference(p, [gradY], [gradX]) {
    const { planes, plane } = resolve('global_avgpool_backward', p);
    globalAvgpoolBackwardCore(planes, plane, gradY, gradX);
  },
  webgpu: {
    shaders: ['global_avgpool_backward.wgsl'],
    overrides: () => ({ ...ELEMENTWISE }),
    workgroups: backwardGroups,
  },
  nativeAsync: (p) => elements(p) >= LONG,
  // Memory traffic: gradY read, gradX written.
  work: (p) => 4 * elements(p) + 4 * resolve('global_avgpool_backward', p).planes,
  workUnit: 'bytes',
};
