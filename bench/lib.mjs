// Shared helpers of the benchmark suites: machine description, the timing wrapper over dist/bench/measure.js (the shipped harness), peer processes, tables.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
// The timing core `collapse bench` ships (run.mjs needs the built package anyway).
import { measure as time, median, summarize } from '../dist/bench/measure.js';

export { median };

export const BENCH_DIR = dirname(fileURLToPath(import.meta.url));
export const ROOT = dirname(BENCH_DIR);
const require = createRequire(import.meta.url);

/** Debian's python3 sees python3-numpy; the python3 first on PATH may not. Override with $PYTHON. */
export const PYTHON = process.env.PYTHON ?? (existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3');

const SOFTWARE_LABEL = 'software adapter, not a GPU result';

function packageVersion(name, from = ROOT) {
  try {
    return JSON.parse(readFileSync(join(from, 'node_modules', name, 'package.json'), 'utf8')).version;
  } catch {
    return null;
  }
}

let gpuRoot; // the object from create([]): must stay referenced while any adapter/device lives
/** Dawn's navigator.gpu (webgpu package), created once; null when the package does not load. */
export function dawn() {
  if (gpuRoot === undefined) {
    try {
      const { create } = require('webgpu');
      gpuRoot = create([]);
    } catch {
      gpuRoot = null;
    }
  }
  return gpuRoot;
}

/** Adapter info, or { error } when there is none. `software` is true for lavapipe / any CPU adapter. */
async function adapterInfo() {
  const gpu = dawn();
  if (!gpu) return { error: 'the webgpu package did not load' };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { error: 'requestAdapter() returned null (no Vulkan/Metal/D3D adapter)' };
    const i = adapter.info ?? {};
    const info = { vendor: i.vendor, architecture: i.architecture, device: i.device, description: i.description, isFallbackAdapter: adapter.isFallbackAdapter ?? i.isFallbackAdapter };
    const text = `${i.vendor} ${i.architecture} ${i.device} ${i.description}`.toLowerCase();
    info.software = Boolean(info.isFallbackAdapter) || /software|llvmpipe|lavapipe|swiftshader|\bcpu\b/.test(text);
    if (info.software) info.note = SOFTWARE_LABEL;
    return info;
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

function pythonInfo() {
  try {
    const out = execFileSync(PYTHON, ['-c', 'import sys, numpy; print(sys.version.split()[0], numpy.__version__)'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    const [python, numpy] = out.trim().split(/\s+/);
    return { interpreter: PYTHON, python, numpy };
  } catch (error) {
    return { interpreter: PYTHON, error: `numpy not importable: ${String(error.stderr ?? error.message).trim().split('\n').pop()}` };
  }
}

function gitInfo() {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() !== '';
    return { commit, dirty };
  } catch {
    return null;
  }
}

/** A short file-name-safe tag: the CPU model and core count, e.g. `amd-epyc-2c`. */
export function machineTag(machine) {
  const cpu = machine.cpu.model.toLowerCase().replace(/\(r\)|\(tm\)|cpu|processor|@.*$/g, ' ').replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  return `${cpu || 'cpu'}-${machine.cpu.cores}c`;
}

export async function describeMachine() {
  const cpus = os.cpus();
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  return {
    hostname: os.hostname(),
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpu: {
      model: cpus[0]?.model?.trim() ?? 'unknown',
      cores: os.availableParallelism?.() ?? cpus.length,
      mhz: cpus[0]?.speed ?? null,
      flags: cpuFlags(),
    },
    memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    package: { name: pkg.name, version: pkg.version },
    git: gitInfo(),
    webgpu: { package: packageVersion('webgpu'), adapter: await adapterInfo() },
    numpy: pythonInfo(),
    versions: { benchmark: packageVersion('benchmark'), 'gpu.js': packageVersion('gpu.js') },
  };
}

function cpuFlags() {
  try {
    const flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:\s*(.*)$/m)?.[1].split(' ') ?? [];
    return ['avx2', 'fma', 'avx512f', 'avx512dq', 'avx512vl'].filter((f) => flags.includes(f));
  } catch {
    return [];
  }
}

export function printMachine(m) {
  const a = m.webgpu.adapter;
  const adapter = a.error
    ? `none (${a.error})`
    : `vendor=${a.vendor} architecture=${a.architecture} description="${a.description}"${a.device ? ` device="${a.device}"` : ''}${a.software ? `  [${SOFTWARE_LABEL}]` : ''}`;
  console.log(`machine  ${m.cpu.model}, ${m.cpu.cores} cores${m.cpu.flags.length ? ` (${m.cpu.flags.join(' ')})` : ''}, ${m.memoryGiB} GiB, ${m.platform}`);
  console.log(`node     ${m.node}; ${m.package.name} ${m.package.version}${m.git ? ` @ ${m.git.commit.slice(0, 10)}${m.git.dirty ? ' (dirty tree)' : ''}` : ''}`);
  console.log(`webgpu   package webgpu@${m.webgpu.package ?? 'missing'}; adapter ${adapter}`);
  console.log(`numpy    ${m.numpy.numpy ?? m.numpy.error} (python ${m.numpy.python ?? '?'} at ${m.numpy.interpreter})`);
  console.log(`tools    timing: dist/bench/measure.js (collapse bench), gpu.js ${m.versions['gpu.js']}`);
}

/** Relative margin of error (95 %, Student t) of repeated timings, in % (what benchmark.js reports as rme). */
export function rmeOf(times) {
  return 100 * summarize(times).rme;
}

const BURN = `
const { parentPort, workerData } = require('node:worker_threads');
let x = 0;
const t = performance.now();
for (let i = 0; i < workerData; i++) x += Math.sqrt(i + x * 1e-300);
parentPort.postMessage(performance.now() - t + (x < 0 ? 1 : 0));`;

function burn(workers, iterations) {
  const started = performance.now();
  return Promise.all(Array.from({ length: workers }, () => new Promise((res, rej) => {
    const w = new Worker(BURN, { eval: true, workerData: iterations });
    w.once('message', res);
    w.once('error', rej);
  }))).then(() => performance.now() - started);
}

/**
 * What thread scaling this machine allows at all: the same CPU-bound loop in 1 worker, then in `workers`
 * workers at once. `scaling` = workers × t(1) / t(workers): 2.0 on two real idle cores, ~1.2–1.3 on two SMT
 * siblings, less under load from other processes. The ceiling for any native(2)/native(1) ratio.
 */
export async function parallelCeiling(workers, iterations = 2e8) {
  await burn(1, iterations / 10); // warm-up
  const one = [];
  const many = [];
  for (let r = 0; r < 3; r++) {
    one.push(await burn(1, iterations));
    many.push(await burn(workers, iterations));
  }
  const t1 = median(one);
  const tn = median(many);
  return { workers, oneWorkerSeconds: t1 / 1000, allWorkersSeconds: tn / 1000, scaling: (workers * t1) / tn };
}

/**
 * Times `call` (sync or promise-returning) with the package's own timing core (src/bench/measure.ts, the one
 * `collapse bench` uses): an untimed warm-up, calls repeated so a sample lasts ≥ 10 ms, samples until the time
 * budget. `work` is the number of units (normals, path-steps) one call does. Returns a measurement with the rate
 * from the median sample (the peers report medians too), the relative margin of error (%) and every sample.
 * `maxTime` (seconds of samples) defaults to 4 (1 with `quick`); suites that time many things give less.
 */
export async function measure(name, call, { work, unit, quick, meta = {}, maxTime }) {
  try {
    const t = await time(async (inner) => { for (let i = 0; i < inner; i++) await call(); },
      { budgetSeconds: maxTime ?? (quick ? 1 : 4), minSamples: quick ? 3 : 5, minSampleSeconds: 0.01 });
    return {
      name, ...meta, unit, work, source: 'src/bench/measure.ts (collapse bench)',
      perSecond: work / t.medianSeconds, medianSeconds: t.medianSeconds, meanSeconds: t.meanSeconds,
      hz: 1 / t.medianSeconds, opsPerSecond: 1 / t.medianSeconds, rme: 100 * t.rme, relativeMad: t.relativeMad, samples: t.samples,
      callsPerSample: t.inner, sampleSeconds: t.sampleSeconds,
    };
  } catch (error) {
    return { name, ...meta, error: String(error?.message ?? error) };
  }
}

/**
 * Runs a peer script (python) in its own process; its stdout's last line is one JSON object. `env` is added to this
 * process's environment (default: one thread for OpenMP and the BLAS; scripts that take --threads set their own).
 */
export function runPeer(args, { timeoutMs = 30 * 60_000, env = { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' } } = {}) {
  return new Promise((resolve) => {
    const child = spawn(PYTHON, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
    let out = '';
    let err = '';
    const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
    child.stdout.on('data', (d) => { out += d; });
    child.stderr.on('data', (d) => { err += d; });
    child.on('error', (e) => { clearTimeout(timer); resolve({ error: `${PYTHON}: ${e.message}` }); });
    child.on('close', (code) => {
      clearTimeout(timer);
      if (code !== 0) return resolve({ error: `${PYTHON} ${args[0]} exited ${code}: ${err.trim().split('\n').slice(-2).join(' | ')}` });
      try {
        resolve(JSON.parse(out.trim().split('\n').pop()));
      } catch (e) {
        resolve({ error: `could not parse the peer's JSON: ${e.message}` });
      }
    });
  });
}

/** Creates an engine or returns { error } (a backend that fails to load is skipped with its reason). */
export async function tryEngine(lib, options) {
  try {
    return { engine: await lib.createEngine(options) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}

export function fmtRate(x) {
  if (!Number.isFinite(x)) return 'n/a';
  if (x >= 1e9) return `${(x / 1e9).toFixed(2)} G`;
  if (x >= 1e6) return `${(x / 1e6).toFixed(1)} M`;
  if (x >= 1e3) return `${(x / 1e3).toFixed(1)} k`;
  return x.toFixed(1);
}

export function fmtSeconds(s) {
  if (!Number.isFinite(s)) return 'n/a';
  if (s >= 86400) return `${(s / 86400).toFixed(1)} d`;
  if (s >= 3600) return `${(s / 3600).toFixed(1)} h`;
  if (s >= 60) return `${(s / 60).toFixed(1)} min`;
  return `${s.toFixed(1)} s`;
}

export function fmtRatio(x) {
  return Number.isFinite(x) ? `${x >= 10 ? x.toFixed(1) : x.toFixed(2)}×` : 'n/a';
}

/** A markdown table from a header row and rows of strings. */
export function mdTable(header, rows) {
  const line = (cells) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Prints one measurement as it completes. */
export function printMeasurement(m) {
  if (m.error) {
    console.log(`  skip  ${m.name}: ${m.error}`);
    return;
  }
  const rme = Number.isFinite(m.rme) ? ` ±${m.rme.toFixed(1)}%` : '';
  const tag = m.softwareAdapter ? `  [${SOFTWARE_LABEL}]` : '';
  console.log(`  ${m.name.padEnd(46)} ${fmtRate(m.perSecond).padStart(9)} ${m.unit}/s${rme}  (median ${m.medianSeconds.toFixed(3)} s of ${m.samples}, ${m.source})${tag}`);
}

export { SOFTWARE_LABEL };

/** Deterministic operands in [-1, 1) (an LCG: no allocation-heavy RNG, the same data on every backend and run). */
export function operand(length, seed) {
  const x = new Float32Array(length);
  let s = seed >>> 0;
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    x[i] = s / 2 ** 31 - 1;
  }
  return x;
}
