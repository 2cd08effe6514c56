/**
 * The benchmark harness: every registered kernel's problems (src/bench/problems.ts) on every backend available
 * here, the machine's ceilings measured on the spot (src/bench/ceilings.ts), and the same problems in NumPy /
 * SciPy / PyTorch when present (src/bench/peers.ts). `collapse bench` and the repository's `npm run bench` both
 * call `runBench`; src/bench/report.ts turns its result into a table, JSON and a chart.
 */
import { readFileSync } from 'node:fs';
import os from 'node:os';
import type { Backend, BackendName } from '../backends/types.js';
import { CollapseError } from '../errors.js';
import { packageRoot } from '../package-root.js';
import { deviceCeilings, type DeviceCeilings } from './ceilings.js';
import { measure, summarize, type Timing } from './measure.js';
import { probePython, runPeerScript, type PeerLibrary, type PythonInfo } from './peers.js';
import { CEILING_KERNELS, kernelBenches, type KernelBench, type PeerPlan } from './problems.js';

export const BENCH_BACKENDS: readonly BackendName[] = ['native', 'webgpu', 'js'];

export interface BenchOptions {
  /** Kernels to run (default: every kernel with benchmark problems). */
  readonly kernels?: readonly string[];
  /** Backends to try (default all); those that cannot open here are skipped with the reason. */
  readonly backends?: readonly BackendName[];
  /** Fail instead of skipping a backend that cannot open (the user named it). */
  readonly requireBackends?: boolean;
  /** Threads of the native backend (default: all cores). */
  readonly threads?: number;
  /** Sizes for every kernel (default: each kernel's own list). */
  readonly sizes?: readonly number[];
  /** Smaller problem lists and shorter measurements: a run in well under a minute. */
  readonly quick?: boolean;
  /** Run the Python peers when present (default true). */
  readonly peers?: boolean;
  /** One line per step, for a progress display. */
  readonly onProgress?: (done: number, total: number, what: string) => void;
}

/** One measured row: a kernel at one size on one backend, or a peer on the same problem. */
export interface BenchRow {
  readonly kernel: string;
  /** native | webgpu | js, or the peer: numpy | scipy | torch. */
  readonly backend: string;
  /** Engine row or peer row. */
  readonly kind: 'engine' | 'peer';
  /** What computed it: the CPU and threads, the adapter, the peer's call. */
  readonly device: string;
  readonly threads: number;
  /** The size parameter (--sizes). */
  readonly size: number;
  /** The problem in words (512³, 2^22, 100×1000×1000). */
  readonly problem: string;
  /** Unit of `rate` per second: FLOP, normals, path-steps. */
  readonly unit: string;
  /** Work of one call in `unit`. */
  readonly work: number;
  /** Work per second (median). */
  readonly rate: number;
  readonly medianSeconds: number;
  readonly minSeconds: number;
  readonly maxSeconds: number;
  /** Median absolute deviation / median of the samples. */
  readonly relativeMad: number;
  readonly samples: number;
  /** Fraction of the measured ceiling of the device that ran it (FMA peak or copy bandwidth); null when unknown. */
  readonly ceilingFraction: number | null;
  /** Which ceiling: FLOP or bytes. */
  readonly ceilingUnit: 'FLOP' | 'bytes';
  /** Ran on a software WebGPU adapter (lavapipe / llvmpipe): not a GPU result. */
  readonly softwareAdapter?: boolean;
}

export interface CeilingRecord {
  /** cpu (per core), cpu (N threads), gpu. */
  readonly name: string;
  readonly backend: BackendName;
  readonly threads: number;
  readonly device: string;
  readonly flopPerSecond: number;
  readonly bytesPerSecond: number;
  readonly how: string;
  readonly softwareAdapter?: boolean;
}

export interface MachineInfo {
  readonly cpu: { readonly model: string; readonly cores: number; readonly flags: string[] };
  readonly memoryGiB: number;
  readonly platform: string;
  readonly node: string;
  readonly package: string;
  readonly adapter: { vendor: string; architecture: string; description: string; software: boolean } | { error: string };
}

export interface BenchResult {
  readonly date: string;
  readonly quick: boolean;
  readonly machine: MachineInfo;
  readonly ceilings: CeilingRecord[];
  readonly rows: BenchRow[];
  /** Backends not run, and why. */
  readonly skipped: { backend: string; reason: string }[];
  /** Peers: the interpreter, which libraries were found, which were missing and why. */
  readonly peers: { python?: PythonInfo; missing: { library: string; reason: string }[]; failed: { peer: string; reason: string }[] };
  readonly notes: string[];
}

function cpuFlags(): string[] {
  try {
    const flags = readFileSync('/proc/cpuinfo', 'utf8').match(/^flags\s*:\s*(.*)$/m)?.[1].split(' ') ?? [];
    return ['avx2', 'fma', 'avx512f'].filter((f) => flags.includes(f));
  } catch {
    return [];
  }
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(`${packageRoot()}/package.json`, 'utf8')) as { name: string; version: string };
    return `${pkg.name} ${pkg.version}`;
  } catch {
    return 'stochastic-collapse';
  }
}

/** The kernels with benchmark problems, in registry order. */
export async function benchKernelNames(): Promise<string[]> {
  const { tensorKernels, jobKernels } = await import('../kernels/registry.js');
  return [...Object.keys(tensorKernels), ...Object.keys(jobKernels)].filter((k) => !CEILING_KERNELS.includes(k) && Object.hasOwn(kernelBenches, k));
}

interface Target {
  readonly name: BackendName;
  readonly backend: Backend;
  readonly software: boolean;
  ceiling?: DeviceCeilings;
}

async function open(name: BackendName, threads: number | undefined): Promise<Backend & { isSoftware?: boolean }> {
  switch (name) {
    case 'native': {
      const { NativeBackend } = await import('../backends/native.js');
      return NativeBackend.load(threads === undefined ? {} : { threads });
    }
    case 'webgpu': {
      const { WebgpuBackend } = await import('../backends/webgpu.js');
      return WebgpuBackend.create({ allowSoftware: true });
    }
    case 'js': {
      const { JsBackend } = await import('../backends/js.js');
      return new JsBackend();
    }
  }
}

const reasonOf = (e: unknown) => (e instanceof Error ? e.message : String(e)).split('\n')[0];

/**
 * Runs the benchmarks. Never throws for a backend or peer that is missing (it is reported in `skipped` /
 * `peers`), unless `requireBackends` is set.
 * @example
 * const result = await runBench({ quick: true });
 * console.log(formatTable(result));
 */
export async function runBench(options: BenchOptions = {}): Promise<BenchResult> {
  const quick = options.quick ?? false;
  const names = options.kernels ?? await benchKernelNames();
  const benches = names.map((k) => {
    if (!Object.hasOwn(kernelBenches, k)) throw new CollapseError('INVALID_ARGUMENT', `kernel '${k}' has no benchmark problems (src/bench/problems.ts)`, { kernel: k });
    return kernelBenches[k];
  });
  const skipped: { backend: string; reason: string }[] = [];
  const notes: string[] = [];
  const targets: Target[] = [];
  const cleanup: Backend[] = [];
  const cores = os.availableParallelism?.() ?? os.cpus().length;
  const progress = options.onProgress ?? (() => {});
  let perCore: Backend | undefined;

  try {
    for (const name of options.backends ?? BENCH_BACKENDS) {
      try {
        const backend = await open(name, options.threads);
        cleanup.push(backend);
        targets.push({ name, backend, software: backend.isSoftware === true });
      } catch (error) {
        if (options.requireBackends) throw error;
        skipped.push({ backend: name, reason: reasonOf(error) });
      }
    }
    // The CPU's per-core ceiling (for js rows and one-thread peers) comes from the addon on one thread when it loads.
    try {
      perCore = await open('native', 1);
      cleanup.push(perCore);
    } catch {
      perCore = undefined;
    }
    const webgpu = targets.find((t) => t.name === 'webgpu');
    const adapter: MachineInfo['adapter'] = webgpu && 'adapterInfo' in webgpu.backend
      ? (() => {
          const a = (webgpu.backend as unknown as { adapterInfo: { vendor: string; architecture: string; description: string; device: string } }).adapterInfo;
          return { vendor: a.vendor, architecture: a.architecture, description: a.description || a.device, software: webgpu.software };
        })()
      : { error: skipped.find((s) => s.backend === 'webgpu')?.reason ?? 'not requested' };
    const machine: MachineInfo = {
      cpu: { model: os.cpus()[0]?.model?.trim() || 'unknown CPU', cores, flags: cpuFlags() },
      memoryGiB: +(os.totalmem() / 2 ** 30).toFixed(1),
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      node: process.version,
      package: packageVersion(),
      adapter,
    };
    if (webgpu?.software) notes.push('webgpu rows ran on a software adapter (lavapipe / llvmpipe, the CPU): they show the kernels run, they are not a GPU result');

    const python = options.peers === false ? undefined : await probePython();
    const sizesFor = (bench: KernelBench, t: { software: boolean; name: string }) => {
      if (options.sizes) return [...options.sizes];
      if (t.name === 'js' || t.software) return quick ? bench.smallSizes.slice(0, 1) : [...bench.smallSizes];
      return [...(quick ? bench.quickSizes : bench.sizes)];
    };
    const peerPlans = python ? benches.flatMap((b) => b.peers.map((p) => ({ bench: b, plan: p }))).filter(({ plan }) => python.libraries[plan.library].version) : [];
    const total = 1 + targets.length + benches.reduce((a, b) => a + targets.reduce((c, t) => c + sizesFor(b, t).length, 0), 0) + peerPlans.length;
    let done = 0;
    const step = (what: string) => progress(done++, total, what);

    // Ceilings first, on every device that has rows.
    const ceilings: CeilingRecord[] = [];
    const record = (name: string, t: { backend: Backend; name: BackendName; software?: boolean }, c: DeviceCeilings) => {
      ceilings.push({
        name, backend: t.name, threads: t.backend.info.threads ?? 1, device: t.backend.info.device, flopPerSecond: c.flop.rate, bytesPerSecond: c.bytes.rate,
        how: `${c.flop.how}; ${c.bytes.how}`, ...(t.software ? { softwareAdapter: true } : {}),
      });
      return c;
    };
    const ceilingOptions = { quick };
    step('ceilings: CPU per core');
    let cpuOne: DeviceCeilings | undefined;
    if (perCore) cpuOne = record('cpu, 1 thread', { backend: perCore, name: 'native' }, await deviceCeilings(perCore, 'cpu', ceilingOptions));
    for (const t of targets) {
      step(`ceilings: ${t.name}`);
      if (t.name === 'native') {
        t.ceiling = (t.backend.info.threads ?? 1) === 1 && cpuOne ? cpuOne : record(`cpu, ${t.backend.info.threads} threads`, t, await deviceCeilings(t.backend, 'cpu', ceilingOptions));
      } else if (t.name === 'webgpu') {
        t.ceiling = record(t.software ? 'gpu (software adapter)' : 'gpu', t, await deviceCeilings(t.backend, 'gpu', { quick, small: t.software }));
      } else {
        if (!cpuOne) {
          cpuOne = record('cpu, 1 thread (measured with the js backend: no addon)', t, await deviceCeilings(t.backend, 'cpu', { quick, small: true }));
          notes.push('the CPU ceilings were measured with the js backend (the addon did not load): they are plain-JS, not the hardware peak');
        }
        t.ceiling = cpuOne;
      }
    }
    const cpuAll = targets.find((t) => t.name === 'native')?.ceiling ?? cpuOne;

    const fraction = (roof: { flop?: number; bytes?: number }, seconds: number, c: DeviceCeilings | undefined): [number | null, 'FLOP' | 'bytes'] => {
      if (roof.flop !== undefined) return [c ? roof.flop / seconds / c.flop.rate : null, 'FLOP'];
      return [c && roof.bytes !== undefined ? roof.bytes / seconds / c.bytes.rate : null, 'bytes'];
    };
    const timingBudget = quick ? { budgetSeconds: 0.3, minSamples: 3 } : { budgetSeconds: 1.5, minSamples: 5 };

    const rows: BenchRow[] = [];
    const rowOf = (bench: KernelBench, size: number, base: Pick<BenchRow, 'backend' | 'kind' | 'device' | 'threads'> & { softwareAdapter?: boolean }, timing: Timing, c: DeviceCeilings | undefined): BenchRow => {
      const p = bench.problem(size);
      const [ceilingFraction, ceilingUnit] = fraction(p.roof, timing.medianSeconds, c);
      return {
        kernel: bench.kernel, ...base, size, problem: p.label, unit: bench.unit, work: p.work, rate: p.work / timing.medianSeconds,
        medianSeconds: timing.medianSeconds, minSeconds: timing.minSeconds, maxSeconds: timing.maxSeconds, relativeMad: timing.relativeMad,
        samples: timing.samples, ceilingFraction, ceilingUnit,
      };
    };

    for (const bench of benches) {
      for (const t of targets) {
        for (const size of sizesFor(bench, t)) {
          const p = bench.problem(size);
          step(`${bench.kernel} ${t.name} ${p.label}`);
          const call = bench.prepare(t.backend, p);
          try {
            const timing = await measure((inner) => call.run(inner), { ...timingBudget, maxInner: 200 });
            rows.push(rowOf(bench, size, { backend: t.name, kind: 'engine', device: t.backend.info.device, threads: t.backend.info.threads ?? 1, ...(t.software ? { softwareAdapter: true } : {}) }, timing, t.ceiling));
          } finally {
            call.dispose();
          }
        }
      }
    }

    // Peers, one process per script call, after every engine row (never at the same time).
    const missing: { library: string; reason: string }[] = [];
    const failed: { peer: string; reason: string }[] = [];
    if (python) {
      for (const lib of ['numpy', 'scipy', 'torch'] as PeerLibrary[]) {
        const l = python.libraries[lib];
        if (!l.version) missing.push({ library: lib, reason: l.missing ?? 'not importable' });
      }
      const threads = targets.find((t) => t.name === 'native')?.backend.info.threads ?? options.threads ?? cores;
      const native = targets.find((t) => t.name === 'native');
      for (const { bench, plan } of peerPlans) {
        step(`peer ${plan.label}`);
        const sizes = sizesFor(bench, native ?? { software: false, name: 'native' });
        const peerThreads = plan.threads === 'one' ? 1 : threads;
        for (const args of plan.args(sizes, { threads: peerThreads, quick })) {
          const got = await runPeerScript(python.interpreter, plan.script, args, peerThreads, 10 * 60_000);
          if (got.error !== undefined) {
            failed.push({ peer: plan.label, reason: got.error });
            break;
          }
          for (const r of plan.parse(got.output, sizes)) {
            const timing = summarize(r.samples.length ? r.samples : [r.medianSeconds]);
            rows.push(rowOf(bench, r.size, {
              backend: plan.library, kind: 'peer', device: `${plan.label} (${python.libraries[plan.library].version}), ${peerThreads} thread${peerThreads === 1 ? '' : 's'}`, threads: peerThreads,
            }, { ...timing, medianSeconds: r.medianSeconds }, peerCeiling(plan, cpuOne, cpuAll)));
          }
        }
      }
    } else {
      missing.push({ library: 'numpy, scipy, torch', reason: 'peers not run (--no-peers)' });
    }
    step('done');
    // Each kernel's rows together: engine rows (in backend order), then its peers.
    const order = (r: BenchRow) => [names.indexOf(r.kernel), r.kind === 'engine' ? 0 : 1];
    const sorted = rows.map((r, i) => ({ r, i })).sort((x, y) => {
      const [a, b] = [order(x.r), order(y.r)];
      return a[0] - b[0] || a[1] - b[1] || x.i - y.i;
    }).map((x) => x.r);
    return { date: new Date().toISOString(), quick, machine, ceilings, rows: sorted, skipped, peers: { python, missing, failed }, notes };
  } finally {
    for (const b of cleanup) {
      try { b.close(); } catch { /* closing is best effort */ }
    }
  }
}

function peerCeiling(plan: PeerPlan, one: DeviceCeilings | undefined, all: DeviceCeilings | undefined): DeviceCeilings | undefined {
  return plan.threads === 'one' ? one : all;
}
