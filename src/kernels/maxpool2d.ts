/**
 * maxpool2d_forward / maxpool2d_backward: 2-D max pooling over NCHW f32 tensors with PyTorch's semantics
 * (torch.nn.functional.max_pool2d with return_indices, dilation 1, ceil_mode false) and its gradient.
 * - Forward: y[n,c,oh,ow] = max of the k×k window at (oh·s − p, ow·s − p), padding acting as −∞, and
 *   argmax = h·W + w of the chosen element in its input plane (i32). Ties go to the first element in row-major
 *   window order (strictly greater replaces); a NaN replaces whatever is held, so a window with NaNs gives NaN and
 *   the index of its LAST NaN (PyTorch's `val > max || isnan(val)`).
 * - Backward: gradX[n,c,h,w] = Σ gradY over the windows (in row-major (oh, ow) order) that contain (h, w) and
 *   whose argmax is h·W + w. An argmax entry that does not lie in its own window (never produced by the forward)
 *   is ignored on every backend. Every backend sums in that order in f32, so they agree to the bit.
 * - webgpu: shaders/maxpool2d_forward.wgsl (one thread per output), shaders/maxpool2d_backward.wgsl (one
 *   thread per input element gathering from the windows that contain it: no atomics).
 * - native: native/maxpool2d.cc, planes over the pool; the backward scatters per plane in the same order.
 * - js: the reference below.
 */
import { invalidArgument } from '../errors.js';
import { integerIn, plainObject } from '../validate.js';
import { checkF32, checkInputs } from './elementwise.js';
import { MAX_ELEMENTS } from './tensor.js';
import { sizeOf, type KernelSpec, type TensorInfo } from './types.js';

export interface Maxpool2dParams {
  readonly batch: number;
  readonly channels: number;
  readonly height: number;
  readonly width: number;
  /** Window side k (square windows). */
  readonly kernel: number;
  /** Step between windows (default: kernel). */
  readonly stride?: number;
  /** Implicit −∞ border on each side, at most kernel / 2 (default 0). */
  readonly padding?: number;
}

/** A checked pooling geometry. */
export interface Pool2d {
  readonly planes: number;
  readonly height: number;
  readonly width: number;
  readonly kernel: number;
  readonly stride: number;
  readonly padding: number;
  readonly outH: number;
  readonly outW: number;
}

/** Threads per workgroup of both maxpool shaders. */
const WG = 256;

/** Checks the parameters (PyTorch's rules) and derives OH = ⌊(H + 2p − k)/s⌋ + 1 and OW. */
export function poolGeometry(name: string, p: Maxpool2dParams): Pool2d {
  plainObject(`${name} params`, p);
  const batch = integerIn(`${name} batch`, p.batch, 0, MAX_ELEMENTS);
  const channels = integerIn(`${name} channels`, p.channels, 0, MAX_ELEMENTS);
  const height = integerIn(`${name} height`, p.height, 1, MAX_ELEMENTS);
  const width = integerIn(`${name} width`, p.width, 1, MAX_ELEMENTS);
  const kernel = integerIn(`${name} kernel`, p.kernel, 1, 65_535);
  const stride = integerIn(`${name} stride`, p.stride ?? kernel, 1, 65_535);
  const padding = integerIn(`${name} padding`, p.padding ?? 0, 0, 65_535);
  if (2 * padding > kernel) {
    throw invalidArgument(`${name} padding`, padding, `at most half the kernel (${Math.floor(kernel / 2)} for kernel ${kernel}), as PyTorch requires`);
  }
  if (kernel > height + 2 * padding || kernel > width + 2 * padding) {
    throw invalidArgument(`${name} kernel`, kernel, `at most the padded input (${height + 2 * padding}×${width + 2 * padding} for ${height}×${width} and padding ${padding})`);
  }
  if (height * width > 2 ** 31 - 1) throw invalidArgument(`${name} height × width`, height * width, 'at most 2^31 − 1 (argmax is an i32 index in the plane)');
  const planes = batch * channels;
  if (planes * height * width > MAX_ELEMENTS) throw invalidArgument(`${name} input`, `${batch}×${channels}×${height}×${width}`, `at most ${MAX_ELEMENTS} elements`);
  const outH = Math.floor((height + 2 * padding - kernel) / stride) + 1;
  const outW = Math.floor((width + 2 * padding - kernel) / stride) + 1;
  return { planes, height, width, kernel, stride, padding, outH, outW };
}

const dims = (p: Maxpool2dParams, h: number, w: number) => `${p.batch}×${p.channels}×${h}×${w}`;

/**
 * The forward pass over `planes` planes of any element type (f64 arrays for gradient checks; f32 arrays round
 * on store, exactly, since max only selects).
 */
export function maxpool2dForwardCore(g: Pool2d, x: ArrayLike<number>, y: { [i: number]: number }, argmax: { [i: number]: number }): void {
  const { planes, height: H, width: W, kernel: k, stride: s, padding: pad, outH, outW } = g;
  for (let q = 0; q < planes; q++) {
    const xq = q * H * W, yq = q * outH * outW;
    for (let oh = 0; oh < outH; oh++) {
      const h0 = Math.max(oh * s - pad, 0), h1 = Math.min(oh * s - pad + k, H);
      for (let ow = 0; ow < outW; ow++) {
        const w0 = Math.max(ow * s - pad, 0), w1 = Math.min(ow * s - pad + k, W);
        // Padding is −∞; a window of −∞ keeps the index of its first in-bounds element, as PyTorch's does.
        let best = -Infinity, at = h0 * W + w0;
        for (let h = h0; h < h1; h++) {
          for (let w = w0; w < w1; w++) {
            const v = x[xq + h * W + w];
            if (v > best || Number.isNaN(v)) { best = v; at = h * W + w; }
          }
        }
        y[yq + oh * outW + ow] = best;
        argmax[yq + oh * outW + ow] = at;
      }
    }
  }
}

/** The backward pass: gradX = 0, then each gradY added to its argmax when that lies in its window, in (oh, ow) order. */
export function maxpool2dBackwardCore(g: Pool2d, gradY: ArrayLike<number>, argmax: ArrayLike<number>, gradX: { [i: number]: number }): void {
  const { planes, height: H, width: W, kernel: k, stride: s, padding: pad, outH, outW } = g;
  for (let i = 0; i < planes * H * W; i++) gradX[i] = 0;
  for (let q = 0; q < planes; q++) {
    const xq = q * H * W, yq = q * outH * outW;
    for (let oh = 0; oh < outH; oh++) {
      const h0 = Math.max(oh * s - pad, 0), h1 = Math.min(oh * s - pad + k, H);
      for (let ow = 0; ow < outW; ow++) {
        const w0 = Math.max(ow * s - pad, 0), w1 = Math.min(ow * s - pad + k, W);
        const at = argmax[yq + oh * outW + ow];
        const h = Math.floor(at / W), w = at - h * W;
        if (at >= 0 && h >= h0 && h < h1 && w >= w0 && w < w1) gradX[xq + at] += gradY[yq + oh * outW + ow];
      }
    }
  }
}

const fields = [
  { name: 'planes', type: 'u32', value: (p: Maxpool2dParams) => poolGeometry('maxpool2d', p).planes },
  { name: 'height', type: 'u32', value: (p: Maxpool2dParams) => p.height },
  { name: 'width', type: 'u32', value: (p: Maxpool2dParams) => p.width },
  { name: 'out_h', type: 'u32', value: (p: Maxpool2dParams) => poolGeometry('maxpool2d', p).outH },
  { name: 'out_w', type: 'u32', value: (p: Maxpool2dParams) => poolGeometry('maxpool2d', p).outW },
  { name: 'kernel', type: 'u32', value: (p: Maxpool2dParams) => p.kernel },
  { name: 'stride', type: 'u32', value: (p: Maxpool2dParams) => p.stride ?? p.kernel },
  { name: 'padding', type: 'u32', value: (p: Maxpool2dParams) => p.padding ?? 0 },
] as const;

const outputs = (g: Pool2d) => g.planes * g.outH * g.outW;
const inputs = (g: Pool2d) => g.planes * g.height * g.width;
const forwardGroups = (p: Maxpool2dParams) => Math.ceil(outputs(poolGeometry('maxpool2d_forward', p)) / WG);
const backwardGroups = (p: Maxpool2dParams) => Math.ceil(inputs(poolGeometry('maxpool2d_backward', p)) / WG);
// ~0.5 ms: about 6 bytes move per input element, at ~25 GB/s (k = 2 streams; larger windows are slower).
const LONG = 2 ** 21;

export const maxpool2dForward: KernelSpec<Maxpool2dParams> = {
  name: 'maxpool2d_forward',
  summary: '2-D max pooling (NCHW) with argmax indices',
  fields: [...fields, { name: 'groups', type: 'u32', value: forwardGroups }],
  validate(p, ins: readonly TensorInfo[]): TensorInfo[] {
    const g = poolGeometry('maxpool2d_forward', p);
    checkInputs('maxpool2d_forward', ins, ['x']);
    checkF32('maxpool2d_forward', 'x', ins[0], inputs(g), `${dims(p, g.height, g.width)} (${inputs(g)} elements)`);
    const shape = [p.batch, p.channels, g.outH, g.outW];
    return [{ dtype: 'f32', shape }, { dtype: 'i32', shape }];
  },
  reference(p, [x], [y, argmax]) {
    maxpool2dForwardCore(poolGeometry('maxpool2d_forward', p), x, y, argmax);
  },
  webgpu: {
    shaders: ['maxpool2d_params.wgsl', 'maxpool2d_forward.wgsl'],
    overrides: () => ({ WG }),
    workgroups: forwardGroups,
  },
  nativeAsync: (p) => inputs(poolGeometry('maxpool2d_forward', p)) >= LONG,
  // Memory traffic: x read, y and argmax written.
  work: (p) => { const g = poolGeometry('maxpool2d_forward', p); return 4 * inputs(g) + 8 * outputs(g); },
  workUnit: 'bytes',
};

export const maxpool2dBackward: KernelSpec<Maxpool2dParams> = {
  name: 'maxpool2d_backward',
  summary: 'gradient of 2-D max pooling from its argmax (no atomics)',
  fields: [...fields, { name: 'groups', type: 'u32', value: backwardGroups }],
  validate(p, ins: readonly TensorInfo[]): TensorInfo[] {
    const g = poolGeometry('maxpool2d_backward', p);
    checkInputs('maxpool2d_backward', ins, ['gradY', 'argmax']);
    const want = `${dims(p, g.outH, g.outW)} (${outputs(g)} elements)`;
    checkF32('maxpool2d_backward', 'gradY', ins[0], outputs(g), want);
    const size = sizeOf(ins[1].shape);
    if (ins[1].dtype !== 'i32') throw invalidArgument('maxpool2d_backward argmax', `a ${ins[1].dtype} tensor`, 'an i32 tensor (maxpool2d_forward\'s second output)');
    if (size !== outputs(g)) throw invalidArgument('maxpool2d_backward argmax', `${size} elements`, want);
    return [{ dtype: 'f32', shape: [p.batch, p.channels, g.height, g.width] }];
  },
  reference(p, [gradY, argmax], [gradX]) {
    maxpool2dBackwardCore(poolGeometry('maxpool2d_backward', p), gradY, argmax, gradX);
  },
  webgpu: {
    shaders: ['maxpool2d_params.wgsl', 'maxpool2d_backward.wgsl'],
    overrides: () => ({ WG }),
    workgroups: backwardGroups,
  },
  nativeAsync: (p) => inputs(poolGeometry('maxpool2d_backward', p)) >= LONG,
  // Memory traffic: gradY and argmax read, gradX written.
  work: (p) => { const g = poolGeometry('maxpool2d_backward', p); return 8 * outputs(g) + 4 * inputs(g); },
  workUnit: 'bytes',
};
