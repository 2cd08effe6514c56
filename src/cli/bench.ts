/**
 * `collapse bench`: the kernel benchmarks on the user's machine (src/bench/: the same harness as the
 * repository's `npm run bench`).
 */
import { mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { BackendName } from '../backends/types.js';
import { MAX_THREADS } from '../validate.js';
import { parseInteger, UsageError } from './args.js';
import { BENCH_HELP } from './bench-help.js';
import type { Io } from './common.js';
import { writeAtomic } from './files.js';

const OPTIONS = {
  backend: { type: 'string' },
  threads: { type: 'string' },
  sizes: { type: 'string' },
  quick: { type: 'boolean' },
  json: { type: 'string' },
  out: { type: 'string' },
  'no-peers': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const HINT = `see 'collapse bench --help'`;

function parse(argv: string[]) {
  try {
    const parsed = parseArgs({ args: argv, options: OPTIONS, strict: true, allowPositionals: true, tokens: true });
    const seen = new Set<string>();
    for (const t of parsed.tokens ?? []) {
      if (t.kind !== 'option') continue;
      if (seen.has(t.name)) throw new UsageError(`option '--${t.name}' is given twice; give it once`, HINT);
      seen.add(t.name);
    }
    return parsed;
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const code = (error as { code?: string }).code;
    let message = error instanceof Error ? error.message : String(error);
    const unknown = /Unknown option '([^']+)'/.exec(message);
    const missing = /Option '(--[^ ']+)[^']*' argument missing/.exec(message);
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown) message = `unknown option '${unknown[1]}' for 'collapse bench'`;
    else if (missing) message = `option '${missing[1]}' needs a value`;
    else message = message.replace(/^Option /, 'option ');
    throw new UsageError(message, HINT);
  }
}

/** `--sizes 256,512,2^20`. */
export function parseSizes(text: string): number[] {
  if (text.trim() === '') throw new UsageError(`--sizes is empty; give comma-separated integers like 256,512 or powers like 2^20`, HINT);
  return text.split(',').map((part) => {
    const p = part.trim();
    const power = /^2\^(\d+)$/.exec(p);
    if (power) {
      const k = Number(power[1]);
      if (k > 40) throw new UsageError(`--sizes: '${p}' is too large`, HINT);
      return 2 ** k;
    }
    return parseInteger('--sizes', p, 1, Number.MAX_SAFE_INTEGER);
  });
}

function parseBackends(text: string | undefined): { backends: BackendName[]; explicit: boolean } {
  const all: BackendName[] = ['native', 'webgpu', 'js'];
  if (text === undefined || text.trim() === 'all') return { backends: all, explicit: false };
  const list = text.split(',').map((s) => s.trim());
  for (const b of list) {
    if (!all.includes(b as BackendName)) throw new UsageError(`--backend must be all, webgpu, native or js (or a comma-separated list of them); got '${b}'`, HINT);
  }
  if (new Set(list).size !== list.length) throw new UsageError(`--backend lists '${text}' with a repeat; name each backend once`, HINT);
  return { backends: list as BackendName[], explicit: true };
}

export async function benchCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parse(argv);
  if (values.help) {
    io.stdout.write(BENCH_HELP);
    return 0;
  }
  const { benchKernelNames, runBench } = await import('../bench/run.js');
  const { kernelBenches } = await import('../bench/problems.js');
  const known = await benchKernelNames();
  const kernels = positionals.length ? positionals : known;
  for (const k of kernels) {
    if (!known.includes(k)) throw new UsageError(`unknown kernel '${k}'; the kernels with benchmarks are ${known.join(', ')}`, HINT);
  }
  if (new Set(kernels).size !== kernels.length) throw new UsageError(`a kernel is named twice in '${kernels.join(' ')}'`, HINT);
  const { backends, explicit } = parseBackends(values.backend);
  const threads = values.threads === undefined ? undefined : parseInteger('--threads', values.threads, 1, MAX_THREADS);
  const sizes = values.sizes === undefined ? undefined : parseSizes(values.sizes);
  if (sizes) {
    for (const k of kernels) {
      const b = kernelBenches[k];
      const over = sizes.find((s) => s > b.maxSize);
      if (over !== undefined) throw new UsageError(`--sizes ${over} is too large for ${k} (its size is ${b.sizeName}; at most ${b.maxSize})`, HINT);
    }
  }
  if (values.json !== undefined && values.json.trim() === '') throw new UsageError(`--json needs a file name (or '-' for stdout)`, HINT);
  if (values.out !== undefined && values.out.trim() === '') throw new UsageError(`--out needs a folder`, HINT);
  const jsonPath = values.json !== undefined && values.json !== '-' ? resolve(values.json) : undefined;
  const outDir = values.out !== undefined ? resolve(values.out) : undefined;
  // Make the outputs' folders before measuring, so a bad path fails in a second, not after the run.
  try {
    if (outDir) mkdirSync(outDir, { recursive: true });
    if (jsonPath) mkdirSync(resolve(jsonPath, '..'), { recursive: true });
  } catch (error) {
    throw new UsageError(`cannot create the output folder (${(error as NodeJS.ErrnoException).code ?? String(error)})`, HINT);
  }

  const tty = io.stderr.isTTY === true;
  let shown = false;
  const started = performance.now();
  const result = await runBench({
    kernels, backends, requireBackends: explicit, threads, sizes, quick: values.quick === true, peers: values['no-peers'] !== true,
    onProgress: tty ? (done, total, what) => {
      const line = `[${done + 1}/${total}] ${what}  ${((performance.now() - started) / 1000).toFixed(0)} s`;
      io.stderr.write(`\r${line.slice(0, (io.stderr.columns || 100) - 1)}\x1b[K`);
      shown = true;
    } : undefined,
  });
  if (shown) io.stderr.write('\r\x1b[K');

  const report = await import('../bench/report.js');
  const command = `collapse bench ${argv.join(' ')}`.trim();
  const rowsJson = `${JSON.stringify(report.jsonRows(result), null, 2)}\n`;
  if (values.json === '-') io.stdout.write(rowsJson);
  else io.stdout.write(report.formatTable(result));
  if (jsonPath) writeAtomic(jsonPath, rowsJson);
  if (outDir) {
    const { renderFigure } = await import('../plot/render.js');
    const figure = await renderFigure(report.chartSpec(result), { scale: 2 });
    writeAtomic(join(outDir, 'bench.json'), `${JSON.stringify({ command, ...result }, null, 2)}\n`);
    writeAtomic(join(outDir, 'bench.md'), report.formatMarkdown(result, command));
    writeAtomic(join(outDir, 'bench.svg'), figure.svg);
    writeAtomic(join(outDir, 'bench.png'), figure.png);
  }
  const wrote = [jsonPath, outDir && join(outDir, 'bench.{json,md,svg,png}')].filter(Boolean);
  if (wrote.length && values.json !== '-') io.stdout.write(`wrote ${wrote.join(' and ')}\n`);
  return 0;
}
