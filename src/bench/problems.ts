/**
 * The benchmark problems of every registered kernel, typical of the paper's workloads, declared once: what
 * `collapse bench` and `npm run bench` run. A kernel added to src/kernels/registry.ts gets an entry here (a test
 * checks that every registered kernel has one, or is a ceiling); the harness (src/bench/run.ts) needs no other code.
 */
import type { Backend } from '../backends/types.js';
import { Engine } from '../engine.js';
import type { HostArray, TensorInfo } from '../kernels/types.js';
import { conv2dGeometry, type Conv2dParams } from '../kernels/conv2d.js';
import type { MatmulParams } from '../kernels/matmul.js';
import type { PhiloxFillParams } from '../kernels/philox_fill.js';
import { reproBenches, trainingBenches } from './training-problems.js';
import { layerBenches } from './layers.js';
import { analysisBenches } from './analysis-problems.js';

/** What bounds a kernel on a machine: its arithmetic (FLOP) or its memory traffic (bytes). */
export interface Roof {
  readonly flop?: number;
  readonly bytes?: number;
}

/** One problem of one kernel at one size. */
export interface BenchProblem {
  readonly label: string;
  readonly params: unknown;
  /** Work in the kernel's unit (the registry's `work(params, inputs)`). */
  readonly work: number;
  /** The input tensors, for kernels sized by them rather than by their parameters (elementwise kernels). */
  readonly inputs?: readonly TensorInfo[];
  /** The counted resource the ceiling fraction is taken of. */
  readonly roof: Roof;
}

/** A prepared call on one backend: `run(inner)` performs `inner` calls and resolves when they are done. */
export interface PreparedCall {
  run(inner: number): Promise<void>;
  /** Frees what `prepare` allocated. */
  dispose(): void;
}

/** How one peer (a Python library) runs the same problems. */
export interface PeerPlan {
  /** numpy | torch | scipy: the Python module it needs. */
  readonly library: 'numpy' | 'torch' | 'scipy';
  /** Row label, e.g. "numpy a @ b". */
  readonly label: string;
  /** Script under bench/peers/. */
  readonly script: string;
  /** Arguments for the given sizes (one process per call of `args`). */
  args(sizes: readonly number[], options: { threads: number; quick: boolean }): string[][];
  /** (size, seconds per call) pairs from the script's JSON output. */
  parse(output: unknown, sizes: readonly number[]): { size: number; medianSeconds: number; samples: number[] }[];
  /** Threads the peer computes on (for its ceiling). */
  readonly threads: 'one' | 'all';
}

export interface KernelBench {
  /** The registry name. */
  readonly kernel: string;
  /** The kernel's unit of work, plural (FLOP, draws, path-steps); the rate is this per second. */
  readonly unit: string;
  /** What `--sizes` sets, for help and tables. */
  readonly sizeName: string;
  readonly sizes: readonly number[];
  readonly quickSizes: readonly number[];
  /** Sizes for the slow backends (js, a software webgpu adapter) when --sizes is not given. */
  readonly smallSizes: readonly number[];
  /** The largest accepted size (--sizes is checked against it). */
  readonly maxSize: number;
  problem(size: number): BenchProblem;
  prepare(backend: Backend, problem: BenchProblem): PreparedCall;
  /** How the ceiling fraction is read: a note for the table's legend. */
  readonly roofNote: string;
  readonly peers: readonly PeerPlan[];
}

/** Deterministic uniform(−1, 1) f32 values (an LCG). */
export function lcgArray(n: number, seed: number): Float32Array {
  const a = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = s / 2 ** 31 - 1;
  }
  return a;
}

/**
 * A tensor kernel's prepared call: inputs uploaded once and kept resident, outputs allocated once; one call is
 * one `run`, `inner` calls are queued and flushed once (the tensor-level API's real use).
 */
export async function tensorCall(backend: Backend, name: string, params: unknown, inputs: readonly HostArray[]): Promise<PreparedCall> {
  const { tensorKernels } = await import('../kernels/registry.js');
  const { runKernel } = await import('../kernels/run.js');
  const kernel = (tensorKernels as Record<string, import('../kernels/types.js').KernelSpec<unknown>>)[name];
  const ins = inputs.map((a) => {
    const t = backend.alloc(a instanceof Float32Array ? 'f32' : a instanceof Uint32Array ? 'u32' : 'i32', [a.length]);
    backend.write(t, a);
    return t;
  });
  const outs = runKernel(backend, kernel, params, ins);
  await backend.flush();
  return {
    async run(inner) {
      for (let i = 0; i < inner; i++) runKernel(backend, kernel, params, ins, outs);
      await backend.flush();
    },
    dispose() {
      for (const t of [...ins, ...outs]) backend.release(t);
    },
  };
}

const GEMM_PEER_SHAPE = (s: number) => `${s}x${s}x${s}`;
const gemmPeer = (library: 'numpy' | 'torch' | 'scipy', label: string, script: string): PeerPlan => ({
  library, label, script, threads: 'all',
  args: (sizes, { threads, quick }) => [['--threads', String(threads), '--repeat', quick ? '5' : '9', '--budget', quick ? '0.3' : '1.5',
    ...sizes.flatMap((s) => ['--shape', GEMM_PEER_SHAPE(s)])]],
  parse: (out, sizes) => ((out as { results: { m: number; median: number; times: number[] }[] }).results ?? [])
    .filter((r) => sizes.includes(r.m)).map((r) => ({ size: r.m, medianSeconds: r.median, samples: r.times })),
});

/** matmul: square f32 GEMMs, from a small layer to the largest products of the paper's networks. */
const matmulBench: KernelBench = {
  kernel: 'matmul',
  unit: 'FLOP',
  sizeName: 'm = n = k (square C = A·B)',
  sizes: [128, 256, 512, 1024],
  quickSizes: [128, 512],
  smallSizes: [64, 128],
  maxSize: 4096,
  problem(size) {
    const params: MatmulParams = { m: size, n: size, k: size };
    const flop = 2 * size ** 3;
    return { label: `${size}³`, params, work: flop, roof: { flop } };
  },
  prepare(backend, p) {
    const { m, n, k } = p.params as MatmulParams;
    return deferred(tensorCall(backend, 'matmul', p.params, [lcgArray(m * k, 1), lcgArray(k * n, 2)]));
  },
  roofNote: 'matmul: FLOP against the FMA peak',
  peers: [
    gemmPeer('numpy', 'numpy a @ b', 'numpy_matmul.py'),
    gemmPeer('torch', 'torch.mm', 'torch_matmul.py'),
    gemmPeer('scipy', 'scipy sgemm', 'scipy_matmul.py'),
  ],
};

/** philox_fill: standard normals, the noise of every SDE step, into a resident tensor. */
const philoxBench: KernelBench = {
  kernel: 'philox_fill',
  unit: 'normals',
  sizeName: 'normals per call',
  sizes: [2 ** 20, 2 ** 22, 2 ** 24],
  quickSizes: [2 ** 20, 2 ** 22],
  smallSizes: [2 ** 16, 2 ** 18],
  maxSize: 2 ** 28,
  problem(size) {
    const params: PhiloxFillParams = { kind: 'normal', seed: 1, stream: 0, offset: 0, count: size };
    return { label: sizeLabel(size), params, work: size, roof: { bytes: 4 * size } };
  },
  prepare: (backend, p) => deferred(tensorCall(backend, 'philox_fill', p.params, [])),
  roofNote: 'philox_fill: bytes written (4 per normal) against the copy bandwidth',
  peers: [{
    library: 'numpy', label: 'numpy standard_normal f32 (out=)', script: 'numpy_random.py', threads: 'one',
    args: (sizes, { quick }) => sizes.map((s) => ['--n', String(s), '--repeat', quick ? '3' : '7', '--seed', '1']),
    parse: (out, sizes) => {
      const o = out as { results: { n: number; dtype: string; median: number; times: number[] }[] };
      return (o.results ?? []).filter((r) => r.dtype === 'float32-out' && sizes.includes(r.n)).map((r) => ({ size: r.n, medianSeconds: r.median, samples: r.times }));
    },
  }],
};

/** em_collapse: Fig. 1's quartic model, 100 noise levels × `size` paths × 1000 steps, recorded at the end. */
const EM_GRID = 100;
const EM_STEPS = 1000;
/** Counted FLOP per quartic path-step: ~9 for the Euler–Maruyama update and ~20 for its normal (Philox + Box–Muller). An estimate. */
export const EM_FLOP_PER_PATH_STEP = 30;
const linspace = (a: number, b: number, n: number) => Array.from({ length: n }, (_, i) => (n === 1 ? a : a + ((b - a) * i) / (n - 1)));
const emOptions = (paths: number) => ({
  model: 'quartic', params: { mu: 1.5 }, noise: linspace(0, 3, EM_GRID), paths, steps: EM_STEPS, dt: 0.0025,
  record: [EM_STEPS], epsilon: 1e-30, seed: 1,
});
const emPeer = (library: 'numpy' | 'torch', label: string, script: string, extra: string[]): PeerPlan => ({
  library, label, script, threads: 'one',
  args: (sizes, { quick }) => sizes.map((s) => ['--grid', String(EM_GRID), '--paths', String(s), '--steps', String(EM_STEPS), '--repeat', quick ? '2' : '3', '--seed', '1', ...extra]),
  parse: (out, sizes) => {
    const o = out as { paths: number; median: number; times: number[] };
    return sizes.includes(o.paths) ? [{ size: o.paths, medianSeconds: o.median, samples: o.times }] : [];
  },
});

const emBench: KernelBench = {
  kernel: 'em_collapse',
  unit: 'path-steps',
  sizeName: `paths per noise level (× ${EM_GRID} noise levels × ${EM_STEPS} steps, quartic μ = 1.5)`,
  sizes: [1000, 10_000],
  quickSizes: [1000],
  smallSizes: [10],
  maxSize: 1_000_000,
  problem(size) {
    const work = EM_GRID * size * EM_STEPS;
    return { label: `${EM_GRID}×${size}×${EM_STEPS}`, params: emOptions(size), work, roof: { flop: EM_FLOP_PER_PATH_STEP * work } };
  },
  prepare(backend, p) {
    const engine = new Engine(backend, 'benchmark');
    const options = p.params as ReturnType<typeof emOptions>;
    return {
      async run(inner) {
        for (let i = 0; i < inner; i++) await engine.collapse(options);
      },
      dispose() {},
    };
  },
  roofNote: `em_collapse: ~${EM_FLOP_PER_PATH_STEP} FLOP per path-step (an estimate) against the FMA peak`,
  peers: [
    emPeer('numpy', 'numpy vectorized EM f32', 'numpy_em.py', ['--model', 'quartic', '--dtype', 'float32']),
    emPeer('torch', 'torch vectorized EM f32 (cpu)', 'torch_em.py', ['--device', 'cpu', '--threads', '1']),
  ],
};

/** conv2d: VGG's and ResNet's workhorse layer on CIFAR, 64 → 64 channels, 3×3, padding 1, on 32×32 images. */
const CONV_LAYER = { inChannels: 64, height: 32, width: 32, outChannels: 64, kernelHeight: 3, kernelWidth: 3 } as const;
const CONV_STRIDE = 1;
const CONV_PADDING = 1;
const convParams = (batch: number): Conv2dParams => ({ shape: { batch, ...CONV_LAYER }, stride: CONV_STRIDE, padding: CONV_PADDING });

function convBench(kernel: 'conv2d_forward' | 'conv2d_backward_input' | 'conv2d_backward_weight', pass: 'forward' | 'input' | 'weight', what: string): KernelBench {
  return {
    kernel,
    unit: 'FLOP',
    sizeName: `batch (64→64 channels, 3×3, padding 1, 32×32 images; ${what})`,
    sizes: [16, 64],
    quickSizes: [16],
    smallSizes: [1],
    maxSize: 4096,
    problem(size) {
      const params = convParams(size);
      const g = conv2dGeometry(params);
      const flop = 2 * g.n * g.o * g.oh * g.ow * g.c * g.kh * g.kw;
      return { label: `batch ${size}`, params, work: flop, roof: { flop } };
    },
    prepare(backend, p) {
      const g = conv2dGeometry(p.params as Conv2dParams);
      const x = lcgArray(g.n * g.c * g.h * g.w, 1), w = lcgArray(g.o * g.c * g.kh * g.kw, 2);
      const gy = lcgArray(g.n * g.o * g.oh * g.ow, 3);
      const inputs = pass === 'forward' ? [x, w, lcgArray(g.o, 4)] : pass === 'input' ? [gy, w] : [x, gy];
      return deferred(tensorCall(backend, kernel, p.params, inputs));
    },
    roofNote: `${kernel}: FLOP (2·N·O·OH·OW·C·KH·KW) against the FMA peak`,
    peers: [{
      library: 'torch', label: `torch conv2d ${pass === 'forward' ? 'forward' : `backward (${pass})`} f32`, script: 'torch_conv2d.py', threads: 'all',
      args: (sizes, { threads, quick }) => [['--pass', pass, '--threads', String(threads), '--repeat', quick ? '5' : '9', '--budget', quick ? '0.3' : '1.5',
        '--layer', [CONV_LAYER.inChannels, CONV_LAYER.height, CONV_LAYER.width, CONV_LAYER.outChannels, CONV_LAYER.kernelHeight, CONV_STRIDE, CONV_PADDING].join(','),
        ...sizes.flatMap((s) => ['--batch', String(s)])]],
      parse: (out, sizes) => ((out as { results: { batch: number; median: number; times: number[] }[] }).results ?? [])
        .filter((r) => sizes.includes(r.batch)).map((r) => ({ size: r.batch, medianSeconds: r.median, samples: r.times })),
    }],
  };
}

/** A prepared call whose setup is asynchronous. */
export function deferred(setup: Promise<PreparedCall>): PreparedCall {
  let ready: PreparedCall | undefined;
  const got = setup.then((c) => { ready = c; return c; });
  got.catch(() => {});
  return {
    async run(inner) { await (await got).run(inner); },
    dispose() { if (ready) ready.dispose(); else got.then((c) => c.dispose(), () => {}); },
  };
}

export function sizeLabel(n: number): string {
  const log = Math.log2(n);
  return Number.isInteger(log) && log >= 10 ? `2^${log}` : String(n);
}

/** Every registered kernel's benchmark, by registry name. */
export const kernelBenches: Readonly<Record<string, KernelBench>> = {
  matmul: matmulBench,
  philox_fill: philoxBench,
  conv2d_forward: convBench('conv2d_forward', 'forward', 'y from x'),
  conv2d_backward_input: convBench('conv2d_backward_input', 'input', 'gradX from gradY'),
  conv2d_backward_weight: convBench('conv2d_backward_weight', 'weight', 'gradWeight and gradBias'),
  em_collapse: emBench,
  ...trainingBenches,
  ...layerBenches,
  ...reproBenches,
  ...analysisBenches,
};

/** Registered kernels that are the machine's ceilings rather than workloads (src/bench/ceilings.ts runs them). */
export const CEILING_KERNELS: readonly string[] = ['fma_peak', 'stream_copy'];
