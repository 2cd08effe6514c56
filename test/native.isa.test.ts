import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { JsBackend } from '../src/backends/js.js';
import { lcgArray } from '../src/bench/problems.js';
import { conv2dGeometry, type Conv2dParams } from '../src/kernels/conv2d.js';
import type { MatmulParams } from '../src/kernels/matmul.js';
import { tensorKernels } from '../src/kernels/registry.js';
import { callKernel } from '../src/kernels/run.js';
import type { HostArray, KernelSpec, TensorInfo } from '../src/kernels/types.js';
import { conformance, type ConformanceCase } from './kernels/cases.js';
import { conv2dParams } from './kernels/cases/conv2d.js';
import { addonPath, cpuHasAvx512, families as isaFamilies } from './helpers/isa-child.js';

/**
 * The native GEMM (matmul, conv2d and the linear layers on it) has two x86 families chosen once per process when the
 * addon loads (native/matmul.h): an 8×32 AVX-512 micro-kernel where the processor has AVX-512, else the 6×16 AVX2 one;
 * SC_NATIVE_ISA=avx2 forces the AVX2 family. The conformance tests check whichever family this process got, so
 * here every GEMM kernel's conformance cases (plus cases on the edges of both tiles), and fma_peak's, run in two
 * child processes, one per family, at 1 and 2 threads: each against the js reference with the conformance
 * tolerance, each bit-identical across thread counts, and the two families bit-identical to each other (each C
 * element is the same FMA chain in both). On a processor without AVX-512 both children run AVX2.
 */
/** The kernels whose native code follows the family: the GEMM's, and fma_peak (the ceiling the GEMM is judged by). */
const ISA_KERNELS = ['matmul', 'conv2d_forward', 'conv2d_backward_input', 'conv2d_backward_weight', 'fma_peak'] as const;
const THREADS = [1, 2];

function matmulCase(label: string, p: MatmulParams, seed: number): ConformanceCase<MatmulParams> {
  const batch = p.batch ?? 1;
  const initial = p.accumulate ? [lcgArray(batch * p.m * p.n, seed + 2)] : undefined;
  return { label, params: p, inputs: [lcgArray(batch * p.m * p.k, seed), lcgArray(batch * p.k * p.n, seed + 1)], initial };
}

/** Tile edges of 8×32 and 6×16, the in-place (skinny) paths, several depth blocks, and a product split over threads. */
function extraMatmul(): ConformanceCase<MatmulParams>[] {
  const list: ConformanceCase<MatmulParams>[] = [];
  let seed = 100;
  for (const [m, n, k] of [[8, 32, 256], [9, 33, 257], [7, 31, 5], [17, 65, 40], [200, 40, 70], [12, 300, 50], [105, 97, 513]]) {
    for (const transposeA of [false, true]) {
      for (const transposeB of [false, true]) list.push(matmulCase(`${m}×${n}×${k} tA=${+transposeA} tB=${+transposeB}`, { m, n, k, transposeA, transposeB }, seed++));
    }
  }
  list.push(matmulCase('split over threads 160×192×300, accumulate', { m: 160, n: 192, k: 300, accumulate: true }, seed++));
  list.push(matmulCase('batch 3, 24×40×33', { m: 24, n: 40, k: 33, batch: 3 }, seed++));
  return list;
}

/** Channel counts on both tiles' edges, the transposed and the col2im backward-input paths, split weight gradients. */
function extraConv(kind: 'forward' | 'input' | 'weight'): ConformanceCase<Conv2dParams>[] {
  const shapes: Parameters<typeof conv2dParams>[0][] = [
    ['64→64 3×3 on 10×10, batch 2', 2, 64, 10, 10, 64, 3, 3, 1, 1],
    ['40→24 3×3 on 9×11, batch 3', 3, 40, 9, 11, 24, 3, 3, 1, 1],
    ['48→9 stride 2 (col2im)', 2, 48, 9, 9, 9, 3, 3, 2, 1],
    ['8→33 on 17×17', 1, 8, 17, 17, 33, 3, 3, 1, 1],
    ['linear 9×100→40', 9, 100, 1, 1, 40, 1, 1, 1, 0],
  ];
  return shapes.map((shape, k) => {
    const params = conv2dParams(shape);
    const g = conv2dGeometry(params);
    const x = lcgArray(g.n * g.c * g.h * g.w, 500 + 10 * k), w = lcgArray(g.o * g.c * g.kh * g.kw, 501 + 10 * k);
    const bias = lcgArray(g.o, 502 + 10 * k), gy = lcgArray(g.n * g.o * g.oh * g.ow, 503 + 10 * k);
    return { label: shape[0], params, inputs: kind === 'forward' ? [x, w, bias] : kind === 'input' ? [gy, w] : [x, gy] };
  });
}

const b64 = (a: HostArray) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const fromB64 = (s: string) => { const b = Buffer.from(s, 'base64'); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };
const sameBits = (a: Float32Array, b: Float32Array) => Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;

/** Runs every call in a fresh process with `env`: the addon's outputs (NaN-filled unless given) per thread count. */
const CHILD = `
  const addon = require(process.argv[1]);
  const job = JSON.parse(require('node:fs').readFileSync(0, 'utf8'));
  const f32 = (s) => { const b = Buffer.from(s, 'base64'); return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)); };
  const results = job.calls.map((c) => {
    const inputs = c.inputs.map(f32);
    return job.threads.map((threads) => {
      const outputs = c.outputs.map((o) => (o.initial ? f32(o.initial) : new Float32Array(o.length).fill(NaN)));
      addon.run(c.kernel, '', Float64Array.from(c.fields), [...inputs, ...outputs], threads, null, false);
      return outputs.map((o) => Buffer.from(o.buffer).toString('base64'));
    });
  });
  process.stdout.write(JSON.stringify({ isa: addon.gemmIsa(), results }));`;

interface Call { kernel: string; label: string; spec: KernelSpec<unknown>; c: ConformanceCase<unknown>; fields: number[]; outputs: TensorInfo[] }

function runChild(addonPath: string, calls: Call[], env: NodeJS.ProcessEnv): { isa: string; results: Float32Array[][][] } {
  const job = {
    threads: THREADS,
    calls: calls.map((k) => ({
      kernel: k.kernel, fields: k.fields, inputs: k.c.inputs.map(b64),
      outputs: k.outputs.map((o, i) => ({ length: o.shape.reduce((p, q) => p * q, 1), initial: k.c.initial?.[i] ? b64(k.c.initial[i] as HostArray) : undefined })),
    })),
  };
  const run = spawnSync(process.execPath, ['-e', CHILD, addonPath], { input: JSON.stringify(job), encoding: 'utf8', env, maxBuffer: 1 << 30 });
  if (run.status !== 0) throw new Error(`child exited ${run.status}: ${run.stderr}`);
  const out = JSON.parse(run.stdout) as { isa: string; results: string[][][] };
  return { isa: out.isa, results: out.results.map((perThread) => perThread.map((outs) => outs.map(fromB64))) };
}

describe('native GEMM: both instruction-set families', () => {
  const calls: Call[] = [];
  for (const kernel of ISA_KERNELS) {
    const spec = tensorKernels[kernel] as KernelSpec<unknown>;
    const extra = kernel === 'matmul' ? extraMatmul() : kernel === 'fma_peak' ? [] : extraConv(kernel === 'conv2d_forward' ? 'forward' : kernel === 'conv2d_backward_input' ? 'input' : 'weight');
    for (const c of [...conformance[kernel].cases(), ...extra] as ConformanceCase<unknown>[]) {
      const infos = c.inputs.map((a): TensorInfo => ({ dtype: 'f32', shape: [a.length] }));
      calls.push({ kernel, label: c.label, spec, c, fields: spec.fields.map((f) => f.value(c.params, infos)), outputs: spec.validate(c.params, infos) });
    }
  }
  const families = isaFamilies.map((f) => ({ ...f, want: process.arch !== 'x64' ? undefined : f.name === 'default' && cpuHasAvx512() ? 'avx512' : 'avx2' }));
  const runs = new Map<string, ReturnType<typeof runChild>>();
  const got = (name: string) => {
    if (!runs.has(name)) runs.set(name, runChild(addonPath, calls, families.find((f) => f.name === name)!.env));
    return runs.get(name)!;
  };

  for (const family of families) {
    it(`${family.name}: the family chosen, every call within the conformance tolerance, the same bits at ${THREADS.join(' and ')} threads`, async () => {
      const run = got(family.name);
      // A build without AVX2 (SC_NATIVE_MARCH below x86-64-v3) has the portable kernel only.
      if (family.want && run.isa !== 'portable') expect(run.isa).toBe(family.want);
      const js = new JsBackend();
      for (const [n, call] of calls.entries()) {
        const want = await callKernel(js, call.spec, call.c.params, call.c.inputs, call.c.initial ?? []);
        const [first, ...others] = run.results[n];
        for (const other of others) {
          other.forEach((o, i) => expect(sameBits(o, first[i]), `${call.kernel} ${call.label} output ${i}: threads differ`).toBe(true));
        }
        want.forEach((w, o) => {
          const bound = conformance[call.kernel].tolerance(call.c as never, o, w, { dtype: 'f32', shape: [w.length] });
          const g = first[o];
          expect(g.length).toBe(w.length);
          for (let i = 0; i < w.length; i++) {
            if (!(Math.abs(g[i] - w[i]) <= bound(i))) expect.fail(`${call.kernel} ${call.label} output ${o}[${i}]: ${g[i]} vs ${w[i]} (bound ${bound(i)})`);
          }
        });
      }
    }, 120_000);
  }

  it('the two families give bit-identical results', () => {
    const [a, b] = families.map((f) => got(f.name));
    for (const [n, call] of calls.entries()) {
      a.results[n][0].forEach((o, i) => expect(sameBits(o, b.results[n][0][i]), `${call.kernel} ${call.label} output ${i}`).toBe(true));
    }
  }, 120_000);
});
