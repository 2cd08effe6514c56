/**
 * conv2d: a 2-D convolution with PyTorch semantics (f32, NCHW, cross-correlation, zero padding, square stride and
 * padding, floor output size OH = ⌊(H + 2·padding − KH)/stride⌋ + 1, weight [O, C, KH, KW]) as three kernels:
 * - `conv2d_forward`:         x [N,C,H,W], weight [O,C,KH,KW], bias [O]  →  y [N,O,OH,OW]
 * - `conv2d_backward_input`:  gradY [N,O,OH,OW], weight                 →  gradX [N,C,H,W]
 * - `conv2d_backward_weight`: x, gradY                                  →  gradWeight [O,C,KH,KW], gradBias [O]
 * A linear layer is the 1×1 case (H = W = KH = KW = 1: x [N, in], weight [out, in]): native then runs its packed
 * GEMM directly, and the webgpu tiles shrink to the channel count (16 rows for a 10-class head). A convolution
 * without bias is called with a zero bias.
 * - webgpu: shaders/conv2d_{forward,backward_input,backward_weight}.wgsl, implicit GEMMs (no im2col buffer) tiled
 *   through workgroup memory.
 * - native: native/conv2d.cc, the packed GEMM of native/matmul.cc (AVX-512 or AVX2, chosen at load) with im2col
 *   panels packed straight from the image; deterministic, independent of the thread count and of the family.
 * - js: the reference cores below (f64 sums, one rounding per output), also used in f64 for gradient checks.
 *
 * Shapes: every field a positive integer except `batch`, which may be 0 (empty outputs; zero gradients). Each
 * dimension and the padding are at most 2^24, every tensor at most 2^32 − 1 elements, and the kernel must fit
 * the padded input (kernelHeight ≤ height + 2·padding).
 */
import { invalidArgument } from '../errors.js';
import { integerIn, plainObject } from '../validate.js';
import type { Backend } from '../backends/types.js';
import { hostRuns, type HostKernel } from './run.js';
import { MAX_ELEMENTS } from './tensor.js';
import { sizeOf, type Field, type KernelSpec, type TensorInfo } from './types.js';

export interface Conv2dShape {
  /** Images per call (0 is allowed: empty outputs, zero gradients). */
  readonly batch: number;
  readonly inChannels: number;
  readonly height: number;
  readonly width: number;
  readonly outChannels: number;
  readonly kernelHeight: number;
  readonly kernelWidth: number;
}

export interface Conv2dParams {
  readonly shape: Conv2dShape;
  /** Step between output positions, both axes (default 1). */
  readonly stride?: number;
  /** Zeros added on every side, both axes (default 0). */
  readonly padding?: number;
}

/** A validated convolution: the shape, stride, padding and output size, as plain numbers. */
export interface Conv2dGeometry {
  readonly n: number; readonly c: number; readonly h: number; readonly w: number;
  readonly o: number; readonly kh: number; readonly kw: number;
  readonly stride: number; readonly pad: number;
  readonly oh: number; readonly ow: number;
}

/** Largest dimension, stride and padding: keeps every index of the shaders inside i32 arithmetic. */
export const MAX_CONV_DIM = 2 ** 24;

const SHAPE_FIELDS = ['batch', 'inChannels', 'height', 'width', 'outChannels', 'kernelHeight', 'kernelWidth'] as const;

/** Checks a convolution's parameters; throws INVALID_ARGUMENT naming the field and its allowed range. */
export function conv2dGeometry(p: Conv2dParams, what = 'conv2d'): Conv2dGeometry {
  plainObject(`${what} params`, p);
  const shape = plainObject(`${what} shape`, p.shape) as unknown as Conv2dShape;
  for (const f of SHAPE_FIELDS) integerIn(`${what} shape.${f}`, shape[f], f === 'batch' ? 0 : 1, MAX_CONV_DIM);
  const stride = integerIn(`${what} stride`, p.stride ?? 1, 1, MAX_CONV_DIM);
  const pad = integerIn(`${what} padding`, p.padding ?? 0, 0, MAX_CONV_DIM);
  const { batch: n, inChannels: c, height: h, width: w, outChannels: o, kernelHeight: kh, kernelWidth: kw } = shape;
  if (kh > h + 2 * pad) throw invalidArgument(`${what} shape.kernelHeight`, kh, `an integer in [1, height + 2·padding = ${h + 2 * pad}] (the kernel must fit the padded input)`);
  if (kw > w + 2 * pad) throw invalidArgument(`${what} shape.kernelWidth`, kw, `an integer in [1, width + 2·padding = ${w + 2 * pad}] (the kernel must fit the padded input)`);
  const oh = Math.floor((h + 2 * pad - kh) / stride) + 1;
  const ow = Math.floor((w + 2 * pad - kw) / stride) + 1;
  const g = { n, c, h, w, o, kh, kw, stride, pad, oh, ow };
  for (const [name, count] of [['input', n * c * h * w], ['weight', o * c * kh * kw], ['output', n * o * oh * ow]] as const) {
    if (count > MAX_ELEMENTS) throw invalidArgument(`${what} ${name}`, `${count} elements`, `at most ${MAX_ELEMENTS} elements`);
  }
  return g;
}

/** What each tensor of a convolution holds, in words and numbers, for error messages. */
type Dims = Record<'x' | 'weight' | 'bias' | 'gradY', (g: Conv2dGeometry) => readonly [string, number]>;
const dims: Dims = {
  x: (g: Conv2dGeometry) => [`batch×inChannels×height×width = ${g.n}×${g.c}×${g.h}×${g.w}`, g.n * g.c * g.h * g.w] as const,
  weight: (g: Conv2dGeometry) => [`outChannels×inChannels×kernelHeight×kernelWidth = ${g.o}×${g.c}×${g.kh}×${g.kw}`, g.o * g.c * g.kh * g.kw] as const,
  bias: (g: Conv2dGeometry) => ['outChannels', g.o] as const,
  gradY: (g: Conv2dGeometry) => [`batch×outChannels×outHeight×outWidth = ${g.n}×${g.o}×${g.oh}×${g.ow}`, g.n * g.o * g.oh * g.ow] as const,
};
type Role = keyof Dims;

function checkInputs(kernel: string, g: Conv2dGeometry, inputs: readonly TensorInfo[], roles: readonly Role[]): void {
  if (inputs.length !== roles.length) throw invalidArgument(`${kernel} inputs`, `${inputs.length} tensors`, `${roles.length} tensors: ${roles.join(', ')}`);
  roles.forEach((role, i) => {
    const t = inputs[i];
    if (t.dtype !== 'f32') throw invalidArgument(`${kernel} ${role}`, `a ${t.dtype} tensor`, 'an f32 tensor');
    const [words, count] = dims[role](g);
    const size = sizeOf(t.shape);
    if (size !== count) throw invalidArgument(`${kernel} ${role}`, `${size} elements`, `${words} = ${count} elements`);
  });
}

type Out = { [i: number]: number };

/** y = conv(x, w) + b: each output a plain sum over (c, kh, kw) of the taps inside the image. */
export function conv2dForwardCore(g: Conv2dGeometry, x: ArrayLike<number>, w: ArrayLike<number>, b: ArrayLike<number>, y: Out): void {
  const { n: N, c: C, h: H, w: W, o: O, kh: KH, kw: KW, stride: s, pad, oh: OH, ow: OW } = g;
  for (let n = 0; n < N; n++) {
    for (let o = 0; o < O; o++) {
      for (let oy = 0; oy < OH; oy++) {
        for (let ox = 0; ox < OW; ox++) {
          let sum = b[o];
          for (let c = 0; c < C; c++) {
            for (let ky = 0; ky < KH; ky++) {
              const iy = oy * s - pad + ky;
              if (iy < 0 || iy >= H) continue;
              for (let kx = 0; kx < KW; kx++) {
                const ix = ox * s - pad + kx;
                if (ix < 0 || ix >= W) continue;
                sum += w[((o * C + c) * KH + ky) * KW + kx] * x[((n * C + c) * H + iy) * W + ix];
              }
            }
          }
          y[((n * O + o) * OH + oy) * OW + ox] = sum;
        }
      }
    }
  }
}

/** gradX[n,c,iy,ix] = Σ w[o,c,ky,kx]·gradY[n,o,oy,ox] over the outputs whose window covers (iy, ix). */
export function conv2dBackwardInputCore(g: Conv2dGeometry, gy: ArrayLike<number>, w: ArrayLike<number>, gx: Out): void {
  const { n: N, c: C, h: H, w: W, o: O, kh: KH, kw: KW, stride: s, pad, oh: OH, ow: OW } = g;
  for (let n = 0; n < N; n++) {
    for (let c = 0; c < C; c++) {
      for (let iy = 0; iy < H; iy++) {
        for (let ix = 0; ix < W; ix++) {
          let sum = 0;
          for (let o = 0; o < O; o++) {
            for (let ky = 0; ky < KH; ky++) {
              const ty = iy + pad - ky; // = oy·s
              if (ty < 0 || ty % s !== 0 || ty / s >= OH) continue;
              for (let kx = 0; kx < KW; kx++) {
                const tx = ix + pad - kx;
                if (tx < 0 || tx % s !== 0 || tx / s >= OW) continue;
                sum += w[((o * C + c) * KH + ky) * KW + kx] * gy[((n * O + o) * OH + ty / s) * OW + tx / s];
              }
            }
          }
          gx[((n * C + c) * H + iy) * W + ix] = sum;
        }
      }
    }
  }
}

/** gradWeight[o,c,ky,kx] = Σ over n, oy, ox of gradY[n,o,oy,ox]·x[n,c,iy,ix]; gradBias[o] = Σ gradY[n,o,·,·]. */
export function conv2dBackwardWeightCore(g: Conv2dGeometry, x: ArrayLike<number>, gy: ArrayLike<number>, gw: Out, gb: Out): void {
  const { n: N, c: C, h: H, w: W, o: O, kh: KH, kw: KW, stride: s, pad, oh: OH, ow: OW } = g;
  for (let o = 0; o < O; o++) {
    for (let c = 0; c < C; c++) {
      for (let ky = 0; ky < KH; ky++) {
        for (let kx = 0; kx < KW; kx++) {
          let sum = 0;
          for (let n = 0; n < N; n++) {
            for (let oy = 0; oy < OH; oy++) {
              const iy = oy * s - pad + ky;
              if (iy < 0 || iy >= H) continue;
              for (let ox = 0; ox < OW; ox++) {
                const ix = ox * s - pad + kx;
                if (ix < 0 || ix >= W) continue;
                sum += gy[((n * O + o) * OH + oy) * OW + ox] * x[((n * C + c) * H + iy) * W + ix];
              }
            }
          }
          gw[((o * C + c) * KH + ky) * KW + kx] = sum;
        }
      }
    }
    let sum = 0;
    for (let n = 0; n < N; n++) for (let q = 0; q < OH * OW; q++) sum += gy[(n * O + o) * OH * OW + q];
    gb[o] = sum;
  }
}

/**
 * Workgroup tiles of the shaders (their `override` constants). The forward and backward-input GEMMs give each
 * workgroup TILE_M output channels × 64 output positions, TILE_M shrinking with few channels (a 10-class head);
 * the backward-weight GEMM gives each a 32 × 32 tile of gradWeight and splits the depth 4 ways inside it.
 */
export function conv2dGemmTile(rows: number): { TILE_M: number; TILE_N: number; TILE_K: number; TM: number; TN: number } {
  const TILE_M = rows <= 16 ? 16 : rows <= 32 ? 32 : 64;
  return { TILE_M, TILE_N: 64, TILE_K: 16, TM: TILE_M / 16, TN: 4 };
}
export const CONV2D_WEIGHT_TILE = { TILE_M: 32, TILE_N: 32, TILE_K: 32 } as const;

const tiles = (x: number, t: number) => Math.ceil(x / t);
const FLOP = (g: Conv2dGeometry) => 2 * g.n * g.o * g.oh * g.ow * g.c * g.kh * g.kw;

/** The geometry fields every conv2d shader and the native kernels read first, in order. */
function geometryFields<P extends Conv2dParams>(): Field<P>[] {
  const f = (name: string, value: (g: Conv2dGeometry) => number): Field<P> => ({ name, type: 'u32', value: (p) => value(conv2dGeometry(p)) });
  return [
    f('batch', (g) => g.n), f('in_channels', (g) => g.c), f('height', (g) => g.h), f('width', (g) => g.w),
    f('out_channels', (g) => g.o), f('kernel_h', (g) => g.kh), f('kernel_w', (g) => g.kw),
    f('stride', (g) => g.stride), f('padding', (g) => g.pad), f('out_h', (g) => g.oh), f('out_w', (g) => g.ow),
  ];
}

/** An implicit GEMM's sizes: rows × cols outputs over `depth`, tiled by `conv2dGemmTile(rows)`. */
interface Gemm { rows: number; cols: number; depth: number }
function gemmFields<P extends Conv2dParams>(gemm: (g: Conv2dGeometry) => Gemm): Field<P>[] {
  const at = (p: P) => {
    const s = gemm(conv2dGeometry(p));
    const t = conv2dGemmTile(s.rows);
    return { ...s, tilesM: tiles(s.rows, t.TILE_M), tilesN: tiles(s.cols, t.TILE_N) };
  };
  return [
    { name: 'depth', type: 'u32', value: (p) => at(p).depth },
    { name: 'cols', type: 'u32', value: (p) => at(p).cols },
    { name: 'tiles_m', type: 'u32', value: (p) => at(p).tilesM },
    { name: 'tiles_n', type: 'u32', value: (p) => at(p).tilesN },
    { name: 'groups', type: 'u32', value: (p) => { const s = at(p); return s.rows === 0 || s.cols === 0 ? 0 : s.tilesM * s.tilesN; } },
  ];
}

const forwardGemm = (g: Conv2dGeometry): Gemm => ({ rows: g.o, cols: g.n * g.oh * g.ow, depth: g.c * g.kh * g.kw });

// Below ~0.5 ms of work (64 MFLOP at ~130 GFLOP/s) the libuv hop and promise cost more than blocking the caller.
const LONG = 2 ** 26;

export const conv2dForward: KernelSpec<Conv2dParams> = {
  name: 'conv2d_forward',
  summary: 'conv2d forward: y = conv(x, weight) + bias (NCHW)',
  fields: [...geometryFields(), ...gemmFields(forwardGemm)],
  validate(p, inputs) {
    const g = conv2dGeometry(p, 'conv2d_forward');
    checkInputs('conv2d_forward', g, inputs, ['x', 'weight', 'bias']);
    return [{ dtype: 'f32', shape: [g.n, g.o, g.oh, g.ow] }];
  },
  reference(p, [x, w, b], [y]) {
    conv2dForwardCore(conv2dGeometry(p), x, w, b, y);
  },
  webgpu: {
    shaders: ['gemm_tile.wgsl', 'conv2d_forward.wgsl'],
    overrides: (p) => conv2dGemmTile(conv2dGeometry(p).o),
    workgroups: (p) => { const g = conv2dGeometry(p), s = forwardGemm(g), t = conv2dGemmTile(s.rows); return s.cols === 0 ? 0 : tiles(s.rows, t.TILE_M) * tiles(s.cols, t.TILE_N); },
  },
  nativeAsync: (p) => FLOP(conv2dGeometry(p)) > LONG,
  work: (p) => FLOP(conv2dGeometry(p)),
  workUnit: 'FLOP',
};

/**
 * Workgroups of the backward-input shader: for each phase (iy0, ix0) of the stride (the input positions
 * iy0 + my·stride, ix0 + mx·stride, which the same kernel taps cover), tiles of TILE_M channels × 64 positions.
 */
function inputGroups(g: Conv2dGeometry): { tilesM: number; groups: number } {
  const t = conv2dGemmTile(g.c), tilesM = tiles(g.c, t.TILE_M);
  let columnTiles = 0;
  for (let a = 0; a < Math.min(g.stride, g.h); a++) {
    for (let b = 0; b < Math.min(g.stride, g.w); b++) {
      columnTiles += tiles(g.n * Math.ceil((g.h - a) / g.stride) * Math.ceil((g.w - b) / g.stride), t.TILE_N);
    }
  }
  return { tilesM, groups: tilesM * columnTiles };
}

export const conv2dBackwardInput: KernelSpec<Conv2dParams> = {
  name: 'conv2d_backward_input',
  summary: 'conv2d backward: gradX from gradY and weight (NCHW)',
  fields: [
    ...geometryFields(),
    { name: 'tiles_m', type: 'u32', value: (p) => inputGroups(conv2dGeometry(p)).tilesM },
    { name: 'groups', type: 'u32', value: (p) => inputGroups(conv2dGeometry(p)).groups },
  ],
  validate(p, inputs) {
    const g = conv2dGeometry(p, 'conv2d_backward_input');
    checkInputs('conv2d_backward_input', g, inputs, ['gradY', 'weight']);
    return [{ dtype: 'f32', shape: [g.n, g.c, g.h, g.w] }];
  },
  reference(p, [gy, w], [gx]) {
    conv2dBackwardInputCore(conv2dGeometry(p), gy, w, gx);
  },
  webgpu: {
    shaders: ['gemm_tile.wgsl', 'conv2d_backward_input.wgsl'],
    overrides: (p) => conv2dGemmTile(conv2dGeometry(p).c),
    workgroups: (p) => inputGroups(conv2dGeometry(p)).groups,
  },
  nativeAsync: (p) => FLOP(conv2dGeometry(p)) > LONG,
  work: (p) => FLOP(conv2dGeometry(p)),
  workUnit: 'FLOP',
};

/** Workgroups of the backward-weight shader: gradWeight tiles, then one workgroup per gradBias entry. */
function weightGroups(g: Conv2dGeometry): { tilesM: number; tilesN: number; tileGroups: number; groups: number } {
  const tilesM = tiles(g.o, CONV2D_WEIGHT_TILE.TILE_M), tilesN = tiles(g.c * g.kh * g.kw, CONV2D_WEIGHT_TILE.TILE_N);
  return { tilesM, tilesN, tileGroups: tilesM * tilesN, groups: tilesM * tilesN + g.o };
}

export const conv2dBackwardWeight: KernelSpec<Conv2dParams> = {
  name: 'conv2d_backward_weight',
  summary: 'conv2d backward: gradWeight and gradBias from x and gradY (NCHW)',
  fields: [
    ...geometryFields(),
    { name: 'depth', type: 'u32', value: (p) => { const g = conv2dGeometry(p); return g.n * g.oh * g.ow; } },
    { name: 'cols', type: 'u32', value: (p) => { const g = conv2dGeometry(p); return g.c * g.kh * g.kw; } },
    { name: 'tiles_m', type: 'u32', value: (p) => weightGroups(conv2dGeometry(p)).tilesM },
    { name: 'tiles_n', type: 'u32', value: (p) => weightGroups(conv2dGeometry(p)).tilesN },
    { name: 'tile_groups', type: 'u32', value: (p) => weightGroups(conv2dGeometry(p)).tileGroups },
    { name: 'groups', type: 'u32', value: (p) => weightGroups(conv2dGeometry(p)).groups },
  ],
  validate(p, inputs) {
    const g = conv2dGeometry(p, 'conv2d_backward_weight');
    checkInputs('conv2d_backward_weight', g, inputs, ['x', 'gradY']);
    return [{ dtype: 'f32', shape: [g.o, g.c, g.kh, g.kw] }, { dtype: 'f32', shape: [g.o] }];
  },
  reference(p, [x, gy], [gw, gb]) {
    conv2dBackwardWeightCore(conv2dGeometry(p), x, gy, gw, gb);
  },
  webgpu: {
    shaders: ['conv2d_backward_weight.wgsl'],
    overrides: () => ({ ...CONV2D_WEIGHT_TILE }),
    workgroups: (p) => weightGroups(conv2dGeometry(p)).groups,
  },
  nativeAsync: (p) => FLOP(conv2dGeometry(p)) > LONG,
  work: (p) => FLOP(conv2dGeometry(p)),
  workUnit: 'FLOP',
};

// ---- host-array API: engine.kernels.conv2dForward / conv2dBackward / linearForward / linearBackward ----

/** Arguments of `engine.kernels.conv2dForward`. */
export interface Conv2dForwardArgs extends Conv2dParams {
  /** x, batch×inChannels×height×width. */
  readonly input: Float32Array;
  /** outChannels×inChannels×kernelHeight×kernelWidth. */
  readonly weight: Float32Array;
  /** outChannels; zeros when absent. */
  readonly bias?: Float32Array;
}

/** Arguments of `engine.kernels.conv2dBackward`: the forward's input and weight, and the gradient of its output. */
export interface Conv2dBackwardArgs extends Conv2dParams {
  readonly input: Float32Array;
  readonly weight: Float32Array;
  /** batch×outChannels×outHeight×outWidth. */
  readonly gradOutput: Float32Array;
}

/** The three gradients of a convolution or linear layer. */
export interface Conv2dGradients {
  readonly gradInput: Float32Array;
  readonly gradWeight: Float32Array;
  readonly gradBias: Float32Array;
}

/** Arguments of `engine.kernels.linearForward`: y [batch, outFeatures] = input·weightᵀ + bias. */
export interface LinearForwardArgs {
  /** batch×inFeatures. */
  readonly input: Float32Array;
  /** outFeatures×inFeatures (PyTorch's layout). */
  readonly weight: Float32Array;
  /** outFeatures; zeros when absent. */
  readonly bias?: Float32Array;
  readonly batch: number;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

/** Arguments of `engine.kernels.linearBackward`. */
export interface LinearBackwardArgs {
  readonly input: Float32Array;
  readonly weight: Float32Array;
  /** batch×outFeatures. */
  readonly gradOutput: Float32Array;
  readonly batch: number;
  readonly inFeatures: number;
  readonly outFeatures: number;
}

/** A host argument: a Float32Array of exactly the tensor's element count. */
function hostArray(api: string, name: string, value: unknown, [words, count]: readonly [string, number]): Float32Array {
  if (!(value instanceof Float32Array) || value.length !== count) throw invalidArgument(`${api} ${name}`, value, `a Float32Array of ${words} = ${count} elements`);
  return value;
}

function linearParams(api: string, args: { batch: number; inFeatures: number; outFeatures: number }): Conv2dParams {
  const batch = integerIn(`${api} batch`, args.batch, 0, MAX_CONV_DIM);
  const inChannels = integerIn(`${api} inFeatures`, args.inFeatures, 1, MAX_CONV_DIM);
  const outChannels = integerIn(`${api} outFeatures`, args.outFeatures, 1, MAX_CONV_DIM);
  return { shape: { batch, inChannels, height: 1, width: 1, outChannels, kernelHeight: 1, kernelWidth: 1 } };
}

const linearDims: Dims = {
  x: (g: Conv2dGeometry) => [`batch×inFeatures = ${g.n}×${g.c}`, g.n * g.c] as const,
  weight: (g: Conv2dGeometry) => [`outFeatures×inFeatures = ${g.o}×${g.c}`, g.o * g.c] as const,
  bias: (g: Conv2dGeometry) => ['outFeatures', g.o] as const,
  gradY: (g: Conv2dGeometry) => [`batch×outFeatures = ${g.n}×${g.o}`, g.n * g.o] as const,
};

async function forwardOnHost(backend: Backend, api: string, params: Conv2dParams, names: Dims, args: { input: unknown; weight: unknown; bias?: unknown }): Promise<Float32Array> {
  const g = conv2dGeometry(params, api);
  const x = hostArray(api, 'input', args.input, names.x(g));
  const w = hostArray(api, 'weight', args.weight, names.weight(g));
  const b = args.bias === undefined ? new Float32Array(g.o) : hostArray(api, 'bias', args.bias, names.bias(g));
  return hostRuns(backend, async (io) => {
    const [y] = io.run(conv2dForward, params, [io.upload(x), io.upload(w), io.upload(b)]);
    return (await io.read(y)) as Float32Array;
  });
}

async function backwardOnHost(backend: Backend, api: string, params: Conv2dParams, names: Dims, args: { input: unknown; weight: unknown; gradOutput: unknown }): Promise<Conv2dGradients> {
  const g = conv2dGeometry(params, api);
  const x = hostArray(api, 'input', args.input, names.x(g));
  const w = hostArray(api, 'weight', args.weight, names.weight(g));
  const gy = hostArray(api, 'gradOutput', args.gradOutput, names.gradY(g));
  return hostRuns(backend, async (io) => {
    const [tx, tw, tgy] = [io.upload(x), io.upload(w), io.upload(gy)];
    const [gx] = io.run(conv2dBackwardInput, params, [tgy, tw]);
    const [gw, gb] = io.run(conv2dBackwardWeight, params, [tx, tgy]);
    const [gradInput, gradWeight, gradBias] = (await Promise.all([io.read(gx), io.read(gw), io.read(gb)])) as Float32Array[];
    return { gradInput, gradWeight, gradBias };
  });
}

function convParams(api: string, args: Conv2dParams): Conv2dParams {
  plainObject(`${api} arguments`, args);
  return { shape: args.shape, stride: args.stride, padding: args.padding };
}

/**
 * `engine.kernels.conv2dForward`: y [N,O,OH,OW] from host arrays.
 * @example
 * const y = await engine.kernels.conv2dForward({ input, weight, bias, padding: 1,
 *   shape: { batch: 2, inChannels: 3, height: 8, width: 8, outChannels: 4, kernelHeight: 3, kernelWidth: 3 } });
 */
export const conv2dForwardHost: HostKernel<Conv2dForwardArgs, Float32Array> = {
  call: (backend, args) => forwardOnHost(backend, 'conv2dForward', convParams('conv2dForward', args), dims, args),
};

/**
 * `engine.kernels.conv2dBackward`: the gradients of the input, weight and bias from the gradient of the output.
 * @example
 * const { gradInput, gradWeight, gradBias } = await engine.kernels.conv2dBackward({ input, weight, gradOutput, shape, padding: 1 });
 */
export const conv2dBackwardHost: HostKernel<Conv2dBackwardArgs, Conv2dGradients> = {
  call: (backend, args) => backwardOnHost(backend, 'conv2dBackward', convParams('conv2dBackward', args), dims, args),
};

/**
 * `engine.kernels.linearForward`: y = input·weightᵀ + bias, weight [outFeatures, inFeatures] as in PyTorch.
 * @example
 * const y = await engine.kernels.linearForward({ input, weight, bias, batch: 128, inFeatures: 3136, outFeatures: 10 });
 */
export const linearForwardHost: HostKernel<LinearForwardArgs, Float32Array> = {
  call: (backend, args) => {
    plainObject('linearForward arguments', args);
    return forwardOnHost(backend, 'linearForward', linearParams('linearForward', args), linearDims, args);
  },
};

/**
 * `engine.kernels.linearBackward`: gradInput = gradOutput·weight, gradWeight = gradOutputᵀ·input, gradBias = Σ gradOutput.
 * @example
 * const { gradInput, gradWeight, gradBias } = await engine.kernels.linearBackward({ input, weight, gradOutput, batch: 128, inFeatures: 512, outFeatures: 512 });
 */
export const linearBackwardHost: HostKernel<LinearBackwardArgs, Conv2dGradients> = {
  call: (backend, args) => {
    plainObject('linearBackward arguments', args);
    return backwardOnHost(backend, 'linearBackward', linearParams('linearBackward', args), linearDims, args);
  },
};
