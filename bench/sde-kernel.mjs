// The native SDE kernel alone, per model: cycles per path-step and per normal, and path-steps/s on 1 and 2
// threads, in ONE process whose SIMD family is the one it loaded (run it with SC_NATIVE_ISA=avx2 to force
// AVX2 on an AVX-512 machine). Called by suite-sde.mjs in child processes; prints one JSON object.
//
// The em_collapse kernel is called through the addon's generic `run` (inline, no JS between the clock reads),
// so the times hold the simulation only (engine.collapse adds the finite-time theory, in JS, after it).
// 1 thread: the process's CPU time per call (a preempted thread on a shared machine does not count), times
// the clock; the clock is the sde_probe kernel's chain of dependent adds (1 cycle each) over this thread's CPU
// time, measured between the kernel samples in the same run. 2 threads: wall time (the rate a user sees).
// Medians of `--samples` calls. Usage: node bench/sde-kernel.mjs [--quick] [--samples 5] [--models a,b]
// `--normals`: instead, engine.random.normal's kernel (philox_fill, kind normal) into one reused array of 2^24
// floats: cycles per normal and normals/s on 1 and 2 threads (suite-random.mjs).
import { createRequire } from 'node:module';
import os from 'node:os';
import { ROOT } from './lib.mjs';

const require = createRequire(import.meta.url);
const addon = require('node-gyp-build')(ROOT);
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(`--${name}`); return i >= 0 ? args[i + 1] : dflt; };
const quick = args.includes('--quick');
const samples = Number(opt('samples', quick ? 3 : 5));

const points = (m) => Array.from({ length: 2 * m }, (_, i) => (i < m ? -1 + (2 * i) / (m - 1) : 0.5 * Math.tanh(-1 + (2 * (i - m)) / (m - 1))));
/** Problem per model: G grid points (noise levels), P paths, S steps; m noises per step. */
export const MODELS = {
  quartic: { np: 2, d: 1, m: 1, grid: (k, G) => [1.5, (3 * k) / (G - 1)], data: [], dt: 0.0025, G: 20, P: 1000, S: 8000 },
  'teacher-student': { np: 2, d: 2, m: 1, grid: (k, G) => [1, (30 * k) / (G - 1)], data: [], dt: 3 / 1024, G: 20, P: 1000, S: 8000 },
  neuron: { np: 1, d: 2, m: 32, grid: (k, G) => [(2 * k) / (G - 1)], data: points(32), dt: 0.01, G: 4, P: 1000, S: 1500 },
  'two-neuron-sgd': { np: 1, d: 4, m: 8, grid: (k, G) => [(3 * k) / (G - 1)], data: points(8), dt: 0.01, G: 4, P: 1000, S: 1000 },
  'two-neuron': { np: 3, d: 8, m: 8, grid: (k, G) => [(3 * k) / (G - 1), 0.9, 10], data: points(8), dt: 0.01, G: 4, P: 1000, S: 1000 },
};

function clockHz() {
  const out = new Float64Array(3);
  addon.run('sde_probe', '', Float64Array.from([0, 1e7, 0, 0, 0]), [out], 1, null, false);
  return out[2] / out[1];
}

function call(name, spec, threads) {
  const G = spec.G, steps = quick ? Math.max(40, spec.S / 10) : spec.S;
  const params = Float32Array.from(Array.from({ length: G }, (_, k) => spec.grid(k, G)).flat());
  const fields = Float64Array.from([0, G, spec.P, 0, steps, spec.dt, 1e-30, 1, 1, 0, 1]);
  const arrays = [params, Float32Array.from(spec.data), Uint32Array.from([steps]), Float64Array.from({ length: spec.d }, () => 1),
    Float64Array.from({ length: spec.d }, () => 0.1), new Float64Array(G * 5), new Float32Array(0)];
  return { work: G * spec.P * steps, run: () => addon.run('em_collapse', name, fields, arrays, threads, null, false) };
}

const med = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
if (args.includes('--normals')) {
  const n = quick ? 1 << 20 : 1 << 24;
  const out = new Float32Array(n);
  const fill = (threads) => addon.run('philox_fill', '', Float64Array.from([2, 0, 0, 0, n, 1, 0, 0]), [out], threads, null, false);
  fill(1);
  const cpu = [], wall1 = [], wall2 = [], clocks = [];
  for (let s = 0; s < samples + 2; s++) {
    clocks.push(clockHz());
    const c0 = process.cpuUsage(), t0 = performance.now();
    fill(1);
    const t1 = performance.now(), c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
    wall1.push((t1 - t0) / 1e3);
    const t2 = performance.now();
    fill(2);
    wall2.push((performance.now() - t2) / 1e3);
  }
  const hz = med(clocks);
  process.stdout.write(`${JSON.stringify({ isa: addon.gemmIsa(), loadavg: os.loadavg(), n, clockHz: hz, cyclesPerNormal: (med(cpu) * hz) / n,
    perCpuSecond1: n / med(cpu), perSecond1: n / med(wall1), perSecond2: n / med(wall2), samplesCpu: cpu, samplesWall1: wall1, samplesWall2: wall2 })}\n`);
  process.exit(0);
}
const wanted = opt('models', Object.keys(MODELS).join(',')).split(',');
const result = { isa: addon.gemmIsa(), loadavg: os.loadavg(), quick, samples, models: [] };
const clocks = [];
for (const name of wanted) {
  const spec = MODELS[name];
  const one = call(name, spec, 1), two = call(name, spec, 2);
  one.run(); // warm-up
  const cpu = [], wall1 = [], wall2 = [];
  for (let s = 0; s < samples; s++) {
    clocks.push(clockHz());
    const c0 = process.cpuUsage(), t0 = performance.now();
    one.run();
    const t1 = performance.now(), c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1e6);
    wall1.push((t1 - t0) / 1e3);
    const t2 = performance.now();
    two.run();
    wall2.push((performance.now() - t2) / 1e3);
  }
  const hz = med(clocks);
  const cycles = (med(cpu) * hz) / one.work;
  result.models.push({
    model: name, m: spec.m, problem: { grid: spec.G, paths: spec.P, steps: quick ? Math.max(40, spec.S / 10) : spec.S, dt: spec.dt }, work: one.work,
    cpuSeconds1: med(cpu), wallSeconds1: med(wall1), wallSeconds2: med(wall2), clockHz: hz,
    cyclesPerPathStep: cycles, cyclesPerNormal: cycles / spec.m,
    perCpuSecond1: one.work / med(cpu), perSecond1: one.work / med(wall1), perSecond2: two.work / med(wall2),
    samplesCpu: cpu, samplesWall1: wall1, samplesWall2: wall2,
  });
}
result.clockHz = med(clocks);
result.loadavgAfter = os.loadavg();
process.stdout.write(`${JSON.stringify(result)}\n`);
