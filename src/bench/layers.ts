/**
 * Benchmark problems of the layer kernels at the shapes of the paper's networks (PAPER.md §5): GELU and add over
 * activation tensors (2^24 elements is VGG-16's first block at batch 256: 256 × 64 × 32 × 32), VGG's 2 × 2 max-pool
 * over [batch, 64, 32, 32], ResNet-18's global average pool over [batch, 512, 4, 4]. All are memory-bound: the
 * rate is bytes moved per second (inputs read once, outputs written once) against the copy bandwidth. PyTorch
 * (bench/peers/torch_layers.py) runs the same problems.
 */
import type { Backend } from '../backends/types.js';
import { activationBackward, activationForward } from '../kernels/activation.js';
import { add } from '../kernels/add.js';
import { globalAvgpoolBackward, globalAvgpoolForward, type GlobalAvgpoolParams } from '../kernels/global_avgpool.js';
import { maxpool2dBackward, maxpool2dForward, maxpool2dForwardCore, poolGeometry, type Maxpool2dParams } from '../kernels/maxpool2d.js';
import type { HostArray, KernelSpec, TensorInfo } from '../kernels/types.js';
import type { BenchProblem, KernelBench, PeerPlan, PreparedCall } from './problems.js';

/** Deterministic uniform(−1, 1) values (the LCG of src/bench/problems.ts, repeated to avoid an import cycle). */
function lcg(n: number, seed: number, scale = 1): Float32Array {
  const a = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    a[i] = (s / 2 ** 31 - 1) * scale;
  }
  return a;
}

const label = (n: number) => (Number.isInteger(Math.log2(n)) && n >= 1024 ? `2^${Math.log2(n)}` : String(n));

/** A tensor kernel's prepared call (src/bench/problems.ts `tensorCall`, loaded lazily: problems.ts imports this file). */
function prepared(backend: Backend, name: string, params: unknown, inputs: () => HostArray[]): PreparedCall {
  const setup = import('./problems.js').then((m) => m.tensorCall(backend, name, params, inputs()));
  let ready: PreparedCall | undefined;
  setup.then((c) => { ready = c; }, () => {});
  return {
    async run(inner) { await (await setup).run(inner); },
    dispose() { if (ready) ready.dispose(); else setup.then((c) => c.dispose(), () => {}); },
  };
}

const torchPeer = (op: string): PeerPlan => ({
  library: 'torch', label: `torch ${op.replace(/_/g, ' ')} (cpu)`, script: 'torch_layers.py', threads: 'all',
  args: (sizes, { threads, quick }) => [['--op', op, '--threads', String(threads), '--repeat', quick ? '5' : '9', '--budget', quick ? '0.3' : '1.5',
    ...sizes.flatMap((s) => ['--size', String(s)])]],
  parse: (out, sizes) => ((out as { results?: { size: number; median: number; times: number[] }[] }).results ?? [])
    .filter((r) => sizes.includes(r.size)).map((r) => ({ size: r.size, medianSeconds: r.median, samples: r.times })),
});

const info = (n: number): TensorInfo => ({ dtype: 'f32', shape: [n] });

/** An elementwise kernel over `size` elements (activation_forward/backward with GELU, add). */
function elementwise(kernel: KernelSpec<never>, params: unknown, arity: number, what: string): KernelBench {
  const inputs = (n: number) => Array.from({ length: arity }, () => info(n));
  return {
    kernel: kernel.name,
    unit: 'bytes',
    sizeName: `elements (${what})`,
    sizes: [2 ** 20, 2 ** 22, 2 ** 24],
    quickSizes: [2 ** 20, 2 ** 22],
    smallSizes: [2 ** 14, 2 ** 16],
    maxSize: 2 ** 28,
    problem(size): BenchProblem {
      const work = kernel.work(params as never, inputs(size));
      return { label: `${what} ${label(size)}`, params, inputs: inputs(size), work, roof: { bytes: work } };
    },
    prepare: (backend, p) => prepared(backend, kernel.name, p.params, () => Array.from({ length: arity }, (_, k) => lcg((p.inputs as TensorInfo[])[0].shape[0], 7 + k, k === 0 ? 4 : 1))),
    roofNote: `${kernel.name}: bytes moved against the copy bandwidth`,
    peers: [torchPeer(kernel.name)],
  };
}

const vggPool = (batch: number): Maxpool2dParams => ({ batch, channels: 64, height: 32, width: 32, kernel: 2, stride: 2 });
const resnetPool = (batch: number): GlobalAvgpoolParams => ({ batch, channels: 512, height: 4, width: 4 });

/** maxpool2d (VGG-16's 2 × 2 pool after its first block) and the global average pool (ResNet-18's head), by batch. */
function pooling<P extends Maxpool2dParams | GlobalAvgpoolParams>(kernel: KernelSpec<P>, shape: (batch: number) => P, what: string,
  inputs: (p: P) => HostArray[], sizes: { sizes: number[]; quick: number[]; small: number[] }): KernelBench {
  return {
    kernel: kernel.name,
    unit: 'bytes',
    sizeName: `batch (× ${what})`,
    sizes: sizes.sizes,
    quickSizes: sizes.quick,
    smallSizes: sizes.small,
    maxSize: 4096,
    problem(size): BenchProblem {
      const params = shape(size);
      const work = kernel.work(params, []);
      return { label: `${size}×${what}`, params, work, roof: { bytes: work } };
    },
    prepare: (backend, p) => prepared(backend, kernel.name, p.params, () => inputs(p.params as P)),
    roofNote: `${kernel.name}: bytes moved against the copy bandwidth`,
    peers: [torchPeer(kernel.name)],
  };
}

const planeSize = (p: Maxpool2dParams | GlobalAvgpoolParams) => p.batch * p.channels * p.height * p.width;

/** gradY and the argmax the forward picks (the backward's real input). */
function maxpoolBackwardInputs(p: Maxpool2dParams): HostArray[] {
  const g = poolGeometry('maxpool2d_backward', p);
  const outputs = g.planes * g.outH * g.outW;
  const argmax = new Int32Array(outputs);
  maxpool2dForwardCore(g, lcg(planeSize(p), 11), new Float32Array(outputs), argmax);
  return [lcg(outputs, 12), argmax];
}

const POOL_SIZES = { sizes: [16, 64, 256], quick: [16, 64], small: [1] };
const AVG_SIZES = { sizes: [64, 256], quick: [64], small: [1] };

/** The layer kernels' benchmarks, by registry name. */
export const layerBenches: Readonly<Record<string, KernelBench>> = {
  activation_forward: elementwise(activationForward as KernelSpec<never>, { kind: 'gelu' }, 1, 'gelu'),
  activation_backward: elementwise(activationBackward as KernelSpec<never>, { kind: 'gelu' }, 2, 'gelu\''),
  maxpool2d_forward: pooling(maxpool2dForward, vggPool, '64×32×32, k2 s2', (p) => [lcg(planeSize(p), 10)], POOL_SIZES),
  maxpool2d_backward: pooling(maxpool2dBackward, vggPool, '64×32×32, k2 s2', maxpoolBackwardInputs, POOL_SIZES),
  global_avgpool_forward: pooling(globalAvgpoolForward, resnetPool, '512×4×4', (p) => [lcg(planeSize(p), 13)], AVG_SIZES),
  global_avgpool_backward: pooling(globalAvgpoolBackward, resnetPool, '512×4×4', (p) => [lcg(p.batch * p.channels, 14)], AVG_SIZES),
  add: elementwise(add as KernelSpec<never>, {}, 2, 'a + b'),
};
