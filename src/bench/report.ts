/**
 * What a benchmark run shows: a text table for the terminal, markdown for READMEs, JSON rows for machines and a
 * chart (rate against size per kernel and backend, with each device's ceiling as a line), rendered by the
 * project's one plotting path (src/plot/render.ts: vega-lite → SVG → resvg PNG).
 */
import type { TopLevelSpec } from 'vega-lite';
import { EM_FLOP_PER_PATH_STEP, kernelBenches } from './problems.js';
import type { BenchResult, BenchRow, CeilingRecord } from './run.js';

const PREFIXES: [number, string][] = [[1e15, 'P'], [1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];

/** 1.23e11 FLOP → "123 GFLOP/s"; 4.5e8 normals → "450 M normals/s". */
export function formatRate(rate: number, unit: string): string {
  if (!Number.isFinite(rate)) return 'n/a';
  const [scale, prefix] = PREFIXES.find(([s]) => Math.abs(rate) >= s) ?? [1, ''];
  const v = rate / scale;
  const text = v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  const glued = unit === 'FLOP' || unit === 'bytes' || unit === 'B';
  return glued ? `${text} ${prefix}${unit === 'bytes' ? 'B' : unit}/s` : `${text} ${prefix}${prefix ? ' ' : ''}${unit}/s`.replace('  ', ' ');
}

/** Seconds → "412 µs", "3.2 ms", "1.25 s". */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return 'n/a';
  if (s < 1e-3) return `${(s * 1e6).toFixed(s < 1e-5 ? 2 : 0)} µs`;
  if (s < 1) return `${(s * 1e3).toFixed(s < 1e-2 ? 2 : 1)} ms`;
  return `${s.toFixed(2)} s`;
}

const percent = (f: number | null) => (f === null || !Number.isFinite(f) ? 'n/a' : `${(100 * f).toFixed(f < 0.01 ? 2 : 1)}%`);

/** The backend column: "native (2 thr)", "webgpu [software]", "numpy (1 thr)". */
export function backendLabel(r: BenchRow): string {
  if (r.backend === 'webgpu') return r.softwareAdapter ? 'webgpu [software adapter]' : 'webgpu';
  if (r.backend === 'native' || r.kind === 'peer') return `${r.backend} (${r.threads} thr)`;
  return r.backend;
}

/** Engine rate / peer rate on the same kernel and size, for every peer row. */
export function peerRatios(result: BenchResult, row: BenchRow): { peer: string; ratio: number }[] {
  if (row.kind !== 'engine') return [];
  return result.rows.filter((p) => p.kind === 'peer' && p.kernel === row.kernel && p.size === row.size)
    .map((p) => ({ peer: p.backend, ratio: row.rate / p.rate }));
}

function tableRows(result: BenchResult): string[][] {
  return result.rows.map((r) => [
    r.kernel, backendLabel(r), r.problem, formatSeconds(r.medianSeconds), formatRate(r.rate, r.unit),
    Number.isFinite(r.relativeMad) ? `±${(100 * r.relativeMad).toFixed(1)}%` : '', String(r.samples), percent(r.ceilingFraction),
    peerRatios(result, r).map((x) => `${x.ratio >= 10 ? x.ratio.toFixed(1) : x.ratio.toFixed(2)}× ${x.peer}`).join(', '),
  ]);
}

const HEADER = ['kernel', 'backend', 'problem', 'median', 'rate', 'spread', 'n', 'of ceiling', 'vs peers'];

function ceilingLine(c: CeilingRecord, width = 14): string {
  return `${c.name.padEnd(width)} ${formatRate(c.flopPerSecond, 'FLOP').padStart(14)} FMA peak, ${formatRate(c.bytesPerSecond, 'bytes').padStart(11)} copy` +
    `  (${c.device}${c.softwareAdapter ? '; software adapter' : ''})`;
}

/** The header lines: machine, adapter, ceilings. */
export function formatMachine(result: BenchResult): string[] {
  const m = result.machine;
  const a = m.adapter;
  const adapter = 'error' in a ? `none (${a.error})` : `${a.vendor} ${a.description} (architecture '${a.architecture}')${a.software ? ' — a SOFTWARE adapter (lavapipe/llvmpipe): webgpu rows are not a GPU result' : ''}`;
  return [
    `cpu      ${m.cpu.model}, ${m.cpu.cores} cores${m.cpu.flags.length ? ` (${m.cpu.flags.join(' ')})` : ''}, ${m.memoryGiB} GiB`,
    `webgpu   ${adapter}`,
    `runtime  Node ${m.node}, ${m.package}, ${m.platform}`,
    'ceilings (measured now, fastest sample):',
    ...result.ceilings.map((c) => `  ${ceilingLine(c, Math.max(...result.ceilings.map((x) => x.name.length)))}`),
  ];
}

function pad(rows: string[][]): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const right = new Set([3, 4, 5, 6, 7]);
  return rows.map((r) => r.map((c, i) => (right.has(i) ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join('  ').trimEnd());
}

/** Footnotes: how to read the ceiling column, missing peers, skipped backends, notes. */
export function footnotes(result: BenchResult): string[] {
  const kernels = [...new Set(result.rows.map((r) => r.kernel))];
  const lines = [
    'median: seconds per call (warm-up excluded); spread: median absolute deviation / median; n: samples',
    `of ceiling: ${kernels.map((k) => kernelBenches[k]?.roofNote).filter(Boolean).join('; ')}; measured on the device of the row (js and 1-thread peers: one core)`,
  ];
  const py = result.peers.python;
  if (py?.python) {
    const found = (['numpy', 'scipy', 'torch'] as const).filter((l) => py.libraries[l].version).map((l) => `${l} ${py.libraries[l].version}`);
    lines.push(`peers: ${py.interpreter} (Python ${py.python})${found.length ? `: ${found.join(', ')}` : ''}`);
  }
  for (const m of result.peers.missing) lines.push(`peer missing: ${m.library} (${m.reason})`);
  for (const f of result.peers.failed) lines.push(`peer failed: ${f.peer}: ${f.reason}`);
  for (const s of result.skipped) lines.push(`backend skipped: ${s.backend} (${s.reason})`);
  for (const n of result.notes) lines.push(`note: ${n}`);
  return lines;
}

/** The whole report as text for a terminal. */
export function formatTable(result: BenchResult): string {
  return [...formatMachine(result), '', ...pad([HEADER, ...tableRows(result)]), '', ...footnotes(result)].join('\n') + '\n';
}

/** The report as markdown (the README's table). */
export function formatMarkdown(result: BenchResult, command: string): string {
  const line = (cells: string[]) => `| ${cells.map((c) => c.replace(/\|/g, '/')).join(' | ')} |`;
  return [
    `\`${command}\` — ${result.date.slice(0, 10)}`,
    '',
    '```text',
    ...formatMachine(result),
    '```',
    '',
    line(HEADER), line(HEADER.map(() => '---')), ...tableRows(result).map(line),
    '',
    ...footnotes(result).map((l) => `- ${l}`),
    '',
  ].join('\n');
}

/** The JSON rows (`--json`): every measured row, with the ceiling it is judged against. */
export function jsonRows(result: BenchResult): object[] {
  return result.rows.map((r) => ({ ...r, date: result.date, cpu: result.machine.cpu.model }));
}

/** Ceiling of a device in a kernel's own unit: FLOP/s as is; bytes/s into normals; FLOP/s into path-steps. */
function ceilingIn(kernel: string, c: CeilingRecord): number | undefined {
  if (kernel === 'matmul') return c.flopPerSecond;
  if (kernel === 'philox_fill') return c.bytesPerSecond / 4;
  if (kernel === 'em_collapse') return c.flopPerSecond / EM_FLOP_PER_PATH_STEP;
  return undefined;
}

/** vega-lite: one panel per kernel, rate (log) against size (log), one line per backend, ceilings dashed. */
export function chartSpec(result: BenchResult): TopLevelSpec {
  const series = (r: BenchRow) => backendLabel(r);
  const points = result.rows.map((r) => ({ kernel: `${r.kernel} (${r.unit}/s)`, size: r.size, rate: r.rate, series: series(r), layer: 'rate' }));
  const ceilings = [...new Set(result.rows.map((r) => r.kernel))].flatMap((kernel) => {
    const unit = result.rows.find((r) => r.kernel === kernel)?.unit;
    const sizes = result.rows.filter((r) => r.kernel === kernel).map((r) => r.size);
    return result.ceilings.flatMap((c) => {
      const v = ceilingIn(kernel, c);
      if (v === undefined) return [];
      const label = `ceiling: ${c.name}`;
      return [Math.min(...sizes), Math.max(...sizes)].map((size) => ({ kernel: `${kernel} (${unit}/s)`, size, rate: v, series: label, layer: 'ceiling' }));
    });
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: { text: 'collapse bench: rate against problem size', subtitle: `${result.machine.cpu.model} (${result.machine.cpu.cores} cores); dashed: measured ceilings` },
    data: { values: [...points, ...ceilings] },
    facet: { column: { field: 'kernel', type: 'nominal', title: null } },
    resolve: { scale: { y: 'independent', x: 'independent' } },
    spec: {
      width: 260,
      height: 220,
      layer: [
        {
          transform: [{ filter: "datum.layer === 'rate'" }],
          mark: { type: 'line', point: true },
          encoding: {
            x: { field: 'size', type: 'quantitative', scale: { type: 'log' }, title: 'size' },
            y: { field: 'rate', type: 'quantitative', scale: { type: 'log' }, title: 'rate (per second)', axis: { format: '.2s' } },
            color: { field: 'series', type: 'nominal', title: null, legend: { labelLimit: 360 } },
          },
        },
        {
          transform: [{ filter: "datum.layer === 'ceiling'" }],
          mark: { type: 'line', strokeDash: [6, 4], opacity: 0.7 },
          encoding: {
            x: { field: 'size', type: 'quantitative', scale: { type: 'log' } },
            y: { field: 'rate', type: 'quantitative', scale: { type: 'log' } },
            color: { field: 'series', type: 'nominal', title: null },
          },
        },
      ],
    },
  } as unknown as TopLevelSpec;
}
