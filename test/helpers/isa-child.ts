import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { packageRoot } from '../../src/package-root.js';

/**
 * The native SIMD families in child processes: the default one (AVX-512 where the processor has it) and the
 * AVX2 one forced by SC_NATIVE_ISA=avx2, the switch of native/matmul.h that the SDE core follows too.
 */
export const addonPath = (createRequire(import.meta.url)('node-gyp-build') as { resolve(dir: string): string }).resolve(packageRoot());

export function cpuHasAvx512(): boolean {
  if (process.arch !== 'x64') return false;
  try {
    const flags = new Set((/^flags\s*:(.*)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '').trim().split(/\s+/));
    return ['avx512f', 'avx512vl', 'avx512bw', 'avx512dq'].every((f) => flags.has(f));
  } catch {
    return false;
  }
}

const { SC_NATIVE_ISA: _isa, SC_NATIVE_AVX512: _avx512, ...baseEnv } = process.env;
export const families = [
  { name: 'default', env: baseEnv as NodeJS.ProcessEnv },
  { name: 'SC_NATIVE_ISA=avx2', env: { ...baseEnv, SC_NATIVE_ISA: 'avx2' } as NodeJS.ProcessEnv },
];

/** One call of the addon's generic `run` (inline): kernel, variant, fields, arrays (typed arrays by kind). */
export interface ChildCall {
  kernel: string;
  variant?: string;
  fields: number[];
  arrays: { type: 'f32' | 'f64' | 'u32'; values?: number[]; length?: number }[];
  threads: number;
}

const CHILD = `
  const addon = require(process.argv[1]);
  const job = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
  const make = { f32: Float32Array, f64: Float64Array, u32: Uint32Array };
  const results = job.map((c) => {
    const arrays = c.arrays.map((a) => a.values ? make[a.type].from(a.values) : new make[a.type](a.length));
    addon.run(c.kernel, c.variant ?? '', Float64Array.from(c.fields), arrays, c.threads, null, false);
    return arrays.map((a) => Buffer.from(a.buffer).toString('base64'));
  });
  process.stdout.write(JSON.stringify({ isa: addon.gemmIsa(), results }));`;

/** Runs the calls in a fresh process with `env`; returns every array after its call (inputs included), as bytes. */
export function runInChild(calls: ChildCall[], env: NodeJS.ProcessEnv): { isa: string; results: Buffer[][] } {
  const run = spawnSync(process.execPath, ['-e', CHILD, addonPath], { input: JSON.stringify(calls), encoding: 'utf8', env, maxBuffer: 1 << 30 });
  if (run.status !== 0) throw new Error(`child exited ${run.status}: ${run.stderr}`);
  const out = JSON.parse(run.stdout) as { isa: string; results: string[][] };
  return { isa: out.isa, results: out.results.map((arrays) => arrays.map((s) => Buffer.from(s, 'base64'))) };
}

export const f64 = (b: Buffer): Float64Array => new Float64Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
