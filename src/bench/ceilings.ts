/**
 * The machine's ceilings, measured on the spot with the registered ceiling kernels (src/kernels/fma_peak.ts,
 * src/kernels/stream_copy.ts) on the backend whose rows they judge: the FMA peak (FLOP/s) and the streaming copy
 * bandwidth (bytes/s, read + write) of the CPU (per core and with the benchmark's threads) and of the GPU. A
 * ceiling is what the device can do, so it is taken from the fastest sample (as STREAM reports its best time):
 * other programs on a shared machine slow samples down, never up.
 */
import type { Backend } from '../backends/types.js';
import { measure, type Timing } from './measure.js';
import { lcgArray, tensorCall } from './problems.js';

export interface Ceiling {
  /** FLOP/s or bytes/s. */
  readonly rate: number;
  readonly unit: 'FLOP' | 'bytes';
  /** How it was measured, in words. */
  readonly how: string;
  readonly timing: Timing;
}

export interface DeviceCeilings {
  readonly flop: Ceiling;
  readonly bytes: Ceiling;
}

export interface CeilingOptions {
  readonly quick: boolean;
  /** Smaller problems (a software adapter, the js backend). */
  readonly small?: boolean;
  readonly stop?: () => boolean;
}

const budget = (o: CeilingOptions) => ({ budgetSeconds: o.quick ? 0.25 : 1, minSamples: o.quick ? 3 : 5, minSampleSeconds: 0.01, stop: o.stop });

/** FMA peak: `n` independent chains, the iteration count doubled until one call lasts ≥ 5 ms (20 ms in full runs). */
export async function fmaCeiling(backend: Backend, n: number, options: CeilingOptions): Promise<Ceiling> {
  const target = options.quick ? 0.005 : 0.02;
  let iterations = 64;
  for (;;) {
    const call = await tensorCall(backend, 'fma_peak', { n, iterations }, []);
    try {
      const t0 = performance.now();
      await call.run(1);
      const seconds = (performance.now() - t0) / 1000;
      if (seconds >= target || iterations >= 2 ** 24) {
        const timing = await measure((inner) => call.run(inner), budget(options));
        const flop = 2 * n * iterations;
        return { rate: flop / timing.minSeconds, unit: 'FLOP', how: `fma_peak: ${n} chains × ${iterations} FMA`, timing };
      }
      iterations *= Math.max(2, Math.min(64, 2 ** Math.ceil(Math.log2(target / Math.max(seconds, 1e-6)))));
    } finally {
      call.dispose();
    }
  }
}

/** Copy bandwidth: `n` f32 elements copied, 8 bytes per element counted (one read, one write). */
export async function copyCeiling(backend: Backend, n: number, options: CeilingOptions): Promise<Ceiling> {
  const call = await tensorCall(backend, 'stream_copy', { n }, [lcgArray(n, 3)]);
  try {
    const timing = await measure((inner) => call.run(inner), budget(options));
    return { rate: (8 * n) / timing.minSeconds, unit: 'bytes', how: `stream_copy: ${(4 * n / 2 ** 20).toFixed(0)} MiB → ${(4 * n / 2 ** 20).toFixed(0)} MiB`, timing };
  } finally {
    call.dispose();
  }
}

/** Both ceilings of one backend at its thread count. */
export async function deviceCeilings(backend: Backend, kind: 'cpu' | 'gpu', options: CeilingOptions): Promise<DeviceCeilings> {
  const threads = backend.info.threads ?? 1;
  if (kind === 'cpu') {
    // 8 AVX2 tasks of 96 chains (4 AVX-512 tasks of 192) per thread; the copy far past the last-level cache.
    const flop = await fmaCeiling(backend, options.small ? 96 * 8 : 96 * 8 * threads, options);
    const bytes = await copyCeiling(backend, options.small ? 2 ** 20 : 2 ** 24, options);
    return { flop, bytes };
  }
  // Enough threads (n / 16) to fill a large GPU; a software adapter gets fewer.
  const flop = await fmaCeiling(backend, options.small ? 2 ** 16 : 2 ** 22, options);
  const bytes = await copyCeiling(backend, options.small ? 2 ** 21 : 2 ** 24, options);
  return { flop, bytes };
}
