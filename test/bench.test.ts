// `collapse bench`: the registry-driven harness (src/bench/), spawned as users run it. Structure and sanity only:
// no timing assertions (the machine is shared; numbers vary from run to run).
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { median, summarize } from '../src/bench/measure.js';
import { CEILING_KERNELS, kernelBenches } from '../src/bench/problems.js';
import { chartSpec, formatRate, formatTable, jsonRows } from '../src/bench/report.js';
import type { BenchResult } from '../src/bench/run.js';
import { jobKernels, tensorKernels } from '../src/kernels/registry.js';
import { renderSvg } from '../src/plot/render.js';
import { ensureBuilt, MAIN } from './helpers/cli.js';

const TMP = mkdtempSync(join(tmpdir(), 'collapse-bench-'));


beforeAll(ensureBuilt);
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

interface Run { code: number | null; stdout: string; stderr: string }

/** Spawns the CLI asynchronously (a long bench must not block vitest's worker). */
function cli(args: string[], timeoutMs = 170_000): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { cwd: TMP, env: { ...process.env } });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

interface Row {
  kernel: string; backend: string; kind: string; size: number; unit: string; rate: number; medianSeconds: number;
  ceilingFraction: number | null; samples: number; work: number; softwareAdapter?: boolean;
}

const hasPython = (lib: string) => spawnSync(existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3', ['-c', `import ${lib}`]).status === 0;

describe('benchmark problems come from the kernel registry', () => {
  it('every registered kernel has benchmark problems or is a ceiling kernel', () => {
    const registered = [...Object.keys(tensorKernels), ...Object.keys(jobKernels)];
    const missing = registered.filter((k) => !Object.hasOwn(kernelBenches, k) && !CEILING_KERNELS.includes(k));
    expect(missing).toEqual([]);
    for (const k of CEILING_KERNELS) expect(registered).toContain(k);
  });

  it('each problem does the work the registry counts for it', () => {
    for (const [name, bench] of Object.entries(kernelBenches)) {
      const spec = (tensorKernels as Record<string, { work(p: unknown, inputs: unknown): number; workUnit: string }>)[name]
        ?? (jobKernels as Record<string, { work(p: unknown, inputs: unknown): number; workUnit: string }>)[name];
      for (const size of [...bench.quickSizes, ...bench.smallSizes]) {
        const p = bench.problem(size);
        expect(p.work, `${name} ${size}`).toBeGreaterThan(0);
        if (name !== 'em_collapse') expect(spec.work(p.params, p.inputs ?? []), `${name} ${size}`).toBe(p.work);
        expect((p.roof.flop ?? 0) + (p.roof.bytes ?? 0)).toBeGreaterThan(0);
      }
      expect(bench.sizes.every((s) => s <= bench.maxSize)).toBe(true);
    }
  });
});

describe('timing statistics', () => {
  it('median, spread and margin of error of samples', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 2, 3])).toBe(2.5);
    const t = summarize([1, 2, 3, 4, 100], 7);
    expect(t.medianSeconds).toBe(3);
    expect(t.minSeconds).toBe(1);
    expect(t.maxSeconds).toBe(100);
    expect(t.relativeMad).toBeCloseTo(1 / 3, 12);
    expect(t.inner).toBe(7);
    expect(t.samples).toBe(5);
    expect(Number.isNaN(summarize([2]).rme)).toBe(true);
  });

  it('rates print in the kernel unit with SI prefixes', () => {
    expect(formatRate(1.234e11, 'FLOP')).toBe('123 GFLOP/s');
    expect(formatRate(4.5e8, 'normals')).toBe('450 M normals/s');
    expect(formatRate(2.1e10, 'bytes')).toBe('21.0 GB/s');
  });
});

describe('report rendering', () => {
  const result: BenchResult = {
    date: '2026-01-01T00:00:00.000Z', quick: true,
    machine: { cpu: { model: 'Test CPU', cores: 2, flags: [] }, memoryGiB: 1, platform: 'test', node: 'v20', package: 'x 0', adapter: { error: 'none' } },
    ceilings: [{ name: 'cpu, 2 threads', backend: 'native', threads: 2, device: 'Test CPU', flopPerSecond: 1e11, bytesPerSecond: 2e10, how: 'test' }],
    rows: [
      { kernel: 'matmul', backend: 'native', kind: 'engine', device: 'd', threads: 2, size: 128, problem: '128³', unit: 'FLOP', work: 4e6, rate: 4e10, medianSeconds: 1e-4, minSeconds: 1e-4, maxSeconds: 1e-4, relativeMad: 0, samples: 3, ceilingFraction: 0.4, ceilingUnit: 'FLOP' },
      { kernel: 'matmul', backend: 'numpy', kind: 'peer', device: 'd', threads: 2, size: 128, problem: '128³', unit: 'FLOP', work: 4e6, rate: 2e10, medianSeconds: 2e-4, minSeconds: 2e-4, maxSeconds: 2e-4, relativeMad: 0, samples: 3, ceilingFraction: 0.2, ceilingUnit: 'FLOP' },
    ],
    skipped: [{ backend: 'webgpu', reason: 'no adapter' }],
    peers: { missing: [{ library: 'scipy', reason: 'No module named scipy' }], failed: [] },
    notes: [],
  };

  it('the table names the ceilings, the ratios to peers, the missing peers and skipped backends', () => {
    const text = formatTable(result);
    expect(text).toContain('100 GFLOP/s FMA peak');
    expect(text).toContain('2.00× numpy');
    expect(text).toContain('40.0%');
    expect(text).toContain('peer missing: scipy');
    expect(text).toContain('backend skipped: webgpu (no adapter)');
    expect(jsonRows(result)).toHaveLength(2);
  });

  it('the chart compiles and renders to SVG with the ceiling line', async () => {
    const svg = await renderSvg(chartSpec(result));
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('ceiling: cpu, 2 threads');
  });
});

describe('collapse bench', () => {
  it('--quick runs every kernel on every available backend: JSON rows with positive finite rates, a table, a chart', async () => {
    const file = join(TMP, 'rows.json');
    const out = join(TMP, 'out');
    const r = await cli(['bench', '--quick', '--no-peers', '--json', file, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    const rows = JSON.parse(readFileSync(file, 'utf8')) as Row[];
    const kernels = Object.keys(kernelBenches);
    const backends = [...new Set(rows.map((x) => x.backend))];
    expect(backends).toContain('js');
    expect(backends).toContain('native'); // the addon is built for the test suite
    for (const k of kernels) for (const b of backends) expect(rows.some((x) => x.kernel === k && x.backend === b), `${k} on ${b}`).toBe(true);
    for (const row of rows) {
      for (const key of ['kernel', 'backend', 'size', 'unit', 'rate', 'medianSeconds', 'ceilingFraction'] as const) expect(row, key).toHaveProperty(key);
      expect(Number.isFinite(row.rate) && row.rate > 0, `${row.kernel} ${row.backend} rate ${row.rate}`).toBe(true);
      expect(Number.isFinite(row.medianSeconds) && row.medianSeconds > 0).toBe(true);
      expect(row.rate * row.medianSeconds).toBeCloseTo(row.work, -Math.log10(row.work) + 6);
      expect(row.ceilingFraction !== null && Number.isFinite(row.ceilingFraction) && row.ceilingFraction > 0, `${row.kernel} ${row.backend} ceiling`).toBe(true);
      expect(row.samples).toBeGreaterThanOrEqual(2);
    }
    expect(rows.find((x) => x.kernel === 'matmul')?.unit).toBe('FLOP');
    expect(rows.find((x) => x.kernel === 'em_collapse')?.unit).toBe('path-steps');
    // the table
    expect(r.stdout).toMatch(/^cpu {6}.+cores/m);
    expect(r.stdout).toMatch(/cpu, 1 thread .*FMA peak/);
    expect(r.stdout).toMatch(/GFLOP\/s/);
    expect(r.stdout).toContain('path-steps/s');
    if (backends.includes('webgpu')) {
      expect(r.stdout).toMatch(/^webgpu {3}\S/m);
      const full = JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8')) as BenchResult;
      const a = full.machine.adapter;
      if (!('error' in a) && a.software) {
        expect(r.stdout).toContain('webgpu [software adapter]');
        expect(rows.filter((x) => x.backend === 'webgpu').every((x) => x.softwareAdapter === true)).toBe(true);
      }
    }
    // --out: everything, the markdown table and the chart
    const full = JSON.parse(readFileSync(join(out, 'bench.json'), 'utf8')) as BenchResult;
    expect(full.ceilings.length).toBeGreaterThan(0);
    expect(full.ceilings.every((c) => c.flopPerSecond > 0 && c.bytesPerSecond > 0)).toBe(true);
    expect(readFileSync(join(out, 'bench.md'), 'utf8')).toContain('| kernel | backend |');
    expect(readFileSync(join(out, 'bench.svg'), 'utf8')).toContain('<svg');
    expect(readFileSync(join(out, 'bench.png')).subarray(1, 4).toString()).toBe('PNG');
  }, 180_000);

  it.runIf(hasPython('numpy'))('runs NumPy on the same problem when present and prints the ratio; names missing peers', async () => {
    const r = await cli(['bench', 'philox_fill', '--backend', 'native', '--quick', '--sizes', '2^16', '--json', '-']);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Row[];
    const peer = rows.find((x) => x.backend === 'numpy');
    expect(peer?.kind).toBe('peer');
    expect(peer?.size).toBe(2 ** 16);
    expect(Number.isFinite(peer?.rate) && (peer?.rate ?? 0) > 0).toBe(true);
    const table = await cli(['bench', 'philox_fill', '--backend', 'native', '--quick', '--sizes', '2^16']);
    expect(table.code).toBe(0);
    expect(table.stdout).toMatch(/× numpy/);
    expect(table.stdout).toMatch(/^peers: /m);
    if (!hasPython('scipy')) expect(table.stdout).toMatch(/peer missing: scipy/);
  }, 120_000);

  it('one kernel, one backend, chosen sizes', async () => {
    const r = await cli(['bench', 'matmul', '--backend', 'js', '--sizes', '8,16', '--quick', '--no-peers', '--json', '-']);
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as Row[];
    expect(rows.map((x) => [x.kernel, x.backend, x.size])).toEqual([['matmul', 'js', 8], ['matmul', 'js', 16]]);
  }, 60_000);

  it.each([
    [['bench', 'nosuch'], /unknown kernel 'nosuch'; the kernels with benchmarks are matmul, philox_fill, conv2d_forward, .*activation_forward, .*batchnorm2d_forward, .*em_collapse/],
    [['bench', '--backend', 'cuda'], /--backend must be all, webgpu, native or js/],
    [['bench', '--sizes', '0'], /--sizes must be an integer in \[1, /],
    [['bench', '--sizes', 'abc'], /--sizes must be a number/],
    [['bench', 'matmul', '--sizes', '100000'], /--sizes 100000 is too large for matmul/],
    [['bench', '--threads', '0'], /--threads must be an integer in \[1, 256\]/],
    [['bench', '--frobnicate'], /unknown option '--frobnicate' for 'collapse bench'/],
    [['bench', '--quick', '--quick'], /given twice/],
    [['bench', '--json'], /option '--json' needs a value/],
  ])('bad input %j: one error line, exit 2, no stack trace', async (args, message) => {
    const r = await cli(args, 30_000);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^collapse: error: /);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.stdout).toBe('');
  });

  it('--help teaches: usage, kernels, options, what the ceilings are, an example', async () => {
    const r = await cli(['bench', '--help']);
    expect(r.code).toBe(0);
    for (const s of ['Usage: collapse bench', '--backend', '--sizes', '--quick', '--json', '--out', 'ceiling', 'software', 'Examples:']) expect(r.stdout).toContain(s);
    const main = await cli(['--help']);
    expect(main.stdout).toMatch(/bench +measure the kernels/);
  });
});
