// Tensor-level timings of the native GEMM under each instruction-set family: matmul 512³ and 2048³, and the three
// conv2d passes of the 64→64 3×3 layer on 32×32 images at batch 64 (bench/results/train.md's second row). Run it
// once per family, e.g.
//   npm run build && node bench/gemm-isa.mjs && SC_NATIVE_ISA=avx2 node bench/gemm-isa.mjs
// `--set training` times bench/results/matmul.md's training shapes instead (`--set all`: both).
// One sample = `inner` × (engine.run + engine.flush) on resident inputs with the outputs reused, inner chosen so a
// sample lasts ≥ 30 ms; prints the best and the median GFLOP/s of `--repeat` samples (default 7) per case and thread
// count (`--threads 1,2`), by wall-clock time and by the process's CPU time (user + system: on a shared machine the
// 1-thread rate per CPU-second leaves out the time spent waiting for a core; at 2 threads it is a per-core rate).
// Keep it short on a shared machine: the whole run takes about half a minute.
import { createRequire } from 'node:module';
import { createEngine } from '../dist/index.js';
import { operand } from './lib.mjs';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const threadCounts = opt('threads', '1,2').split(',').map(Number);
const repeat = Number(opt('repeat', '7'));
const only = opt('only', '');
const set = opt('set', 'main');

const N = 64, C = 64, H = 32, W = 32, O = 64, K = 3;
const conv = { shape: { batch: N, inChannels: C, height: H, width: W, outChannels: O, kernelHeight: K, kernelWidth: K }, stride: 1, padding: 1 };
const convFlop = 2 * N * O * H * W * C * K * K;
const matmulCase = (e, m, n, k, transposeA) => ({
  kernel: 'matmul', params: { m, n, k, transposeA },
  inputs: [e.tensor('f32', [m * k], operand(m * k, 1)), e.tensor('f32', [k * n], operand(k * n, 2))],
});
const sets = {
  main: [
    { name: 'matmul 512³', flop: 2 * 512 ** 3, setup: (e) => matmulCase(e, 512, 512, 512, false) },
    { name: 'matmul 2048³', flop: 2 * 2048 ** 3, setup: (e) => matmulCase(e, 2048, 2048, 2048, false) },
    { name: 'conv 64→64@32² fwd', flop: convFlop, setup: (e) => ({ kernel: 'conv2d_forward', params: conv, inputs: [e.tensor('f32', [N, C, H, W], operand(N * C * H * W, 3)), e.tensor('f32', [O, C, K, K], operand(O * C * K * K, 4)), e.tensor('f32', [O], operand(O, 5))] }) },
    { name: 'conv 64→64@32² gradX', flop: convFlop, setup: (e) => ({ kernel: 'conv2d_backward_input', params: conv, inputs: [e.tensor('f32', [N, O, H, W], operand(N * O * H * W, 6)), e.tensor('f32', [O, C, K, K], operand(O * C * K * K, 4))] }) },
    { name: 'conv 64→64@32² gradW', flop: convFlop, setup: (e) => ({ kernel: 'conv2d_backward_weight', params: conv, inputs: [e.tensor('f32', [N, C, H, W], operand(N * C * H * W, 3)), e.tensor('f32', [N, O, H, W], operand(N * O * H * W, 6))] }) },
  ],
  // bench/results/matmul.md's training shapes
  training: [
    { name: 'linear 128×10×3136', flop: 2 * 128 * 10 * 3136, setup: (e) => matmulCase(e, 128, 10, 3136, false) },
    { name: 'lin grad 10×3136×128 Aᵀ', flop: 2 * 10 * 3136 * 128, setup: (e) => matmulCase(e, 10, 3136, 128, true) },
    { name: '6272×32×288', flop: 2 * 6272 * 32 * 288, setup: (e) => matmulCase(e, 6272, 32, 288, false) },
    { name: '3136×64×288', flop: 2 * 3136 * 64 * 288, setup: (e) => matmulCase(e, 3136, 64, 288, false) },
  ],
};
const cases = (set === 'all' ? [...sets.main, ...sets.training] : sets[set]).filter((c) => !only || c.name.includes(only));

const addon = createRequire(import.meta.url)('../build/Release/stochastic_collapse.node');
const isa = typeof addon.gemmIsa === 'function' ? addon.gemmIsa() : 'avx2 (no gemmIsa export)';
console.log(`GEMM family: ${isa}; samples: ${repeat}; GFLOP/s best / median`);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };

for (const threads of threadCounts) {
  const engine = await createEngine({ backend: 'native', threads });
  for (const c of cases) {
    const { kernel, params, inputs } = c.setup(engine);
    let outputs = engine.run(kernel, params, inputs);
    await engine.flush();
    const once = async () => { engine.run(kernel, params, inputs, outputs); await engine.flush(); };
    let t0 = performance.now();
    await once();
    const inner = Math.max(1, Math.ceil(30 / Math.max(performance.now() - t0, 1e-3)));
    const rates = [], cpuRates = [];
    for (let r = 0; r < repeat; r++) {
      const c0 = process.cpuUsage();
      t0 = performance.now();
      for (let i = 0; i < inner; i++) await once();
      rates.push((c.flop * inner) / ((performance.now() - t0) / 1e3) / 1e9);
      const used = process.cpuUsage(c0);
      cpuRates.push((c.flop * inner) / ((used.user + used.system) / 1e6) / 1e9);
    }
    const f = (x) => x.toFixed(1).padStart(6);
    console.log(`${isa.padEnd(6)} ${threads}t  ${c.name.padEnd(22)} ${f(Math.max(...rates))} / ${f(median(rates))}   per CPU-second ${f(Math.max(...cpuRates))} / ${f(median(cpuRates))}`);
    engine.release(...inputs, ...outputs);
  }
  engine.close();
}
