/**
 * `collapse analyze`: the collapse analysis of one network's weights (PAPER.md §4): per-layer report (JSON, CSV),
 * the distance-matrix pair of every layer (Fig. 3) and the fraction of independent neurons per layer.
 * `collapse compare`: the same fraction for several training runs, grouped by learning rate or label noise, as
 * mean ± std over replicates (Fig. 4).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { basename, join } from 'node:path';
import { analyzeWeights, ANALYSIS_DEFAULTS, openWeights, type AnalysisOptions, type LayerAnalysis, type WeightsSource } from '../analysis/analyze.js';
import { planChain } from '../analysis/vectors.js';
import type { Engine } from '../engine.js';
import { CollapseError } from '../errors.js';
import { encodeSafetensors, type NamedTensor } from '../io/safetensors.js';
import { distanceFigure } from '../plot/distances.js';
import { fractionFigure, meanStd, type FractionSeries } from '../plot/fractions.js';
import { fmt } from '../plot/render.js';
import { parseCommand, parseNumber, UsageError } from './args.js';
import { type Interrupt, packageVersion, parseRunSettings, withEngine, type Io } from './common.js';
import { commitFiles, preflightOutDir, toJson } from './files.js';
import { ANALYZE_HELP, COMPARE_HELP } from './help.js';
import { duration, ProgressBar } from './progress.js';

const SHARED = {
  layers: { type: 'string' }, tau: { type: 'string' }, vanish: { type: 'string' }, epsilon: { type: 'string' },
  backend: { type: 'string' }, threads: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' },
  quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
} as const;

interface Thresholds { tau: number; vanish: number; epsilon: number }

function parseThresholds(values: { tau?: string; vanish?: string; epsilon?: string }): Thresholds {
  const tau = values.tau === undefined ? ANALYSIS_DEFAULTS.tau : parseNumber('--tau', values.tau);
  if (!(tau > 0)) throw new UsageError(`--tau must be > 0 (a distance in (0, 4]); got '${values.tau}'`);
  const vanish = values.vanish === undefined ? ANALYSIS_DEFAULTS.vanish : parseNumber('--vanish', values.vanish);
  if (!(vanish >= 0 && vanish < 1)) throw new UsageError(`--vanish must be in [0, 1) (a fraction of the layer's largest norm); got '${values.vanish}'`);
  const epsilon = values.epsilon === undefined ? ANALYSIS_DEFAULTS.epsilon : parseNumber('--epsilon', values.epsilon);
  if (!(epsilon >= 0)) throw new UsageError(`--epsilon must be ≥ 0; got '${values.epsilon}'`);
  return { tau, vanish, epsilon };
}

function parseList(name: string, text: string | undefined): string[] | undefined {
  if (text === undefined) return undefined;
  const items = text.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new UsageError(`${name} has an empty entry in '${text}'; give comma-separated layer names, e.g. ${name} conv1,conv2`);
  return items;
}

/** Reads a file the user named, as a UsageError when it cannot be read. */
function readInput(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as { code?: string }).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'permission denied' : (error as Error).message;
    throw new UsageError(`cannot read ${what} ${path}: ${why}`);
  }
}

/** A run folder stands for its model.safetensors. */
function weightsPath(path: string): string {
  let isDir = false;
  try { isDir = statSync(path).isDirectory(); } catch { return path; }
  if (!isDir) return path;
  const model = join(path, 'model.safetensors');
  if (!existsSync(model)) throw new UsageError(`${path} is a folder without model.safetensors (a finished 'collapse train' run holds one); give the weights file, e.g. ${join(path, 'checkpoints', 'step-N.safetensors')}`);
  return model;
}

/** Layer names as file names: anything but letters, digits, '.', '_' and '-' becomes '_'. */
export function fileName(layer: string): string {
  return layer.replace(/[^A-Za-z0-9._-]/g, '_');
}

function refuseExisting(out: string, marker: string, force: boolean, what: string): void {
  if (!force && existsSync(join(out, marker))) throw new UsageError(`${out} already holds ${what} (${marker}): add --force to replace it, or pick another --out`);
}

/** Opens the engine, creates and locks --out, runs `work`; an interrupted run writes nothing. */
function withOutput(io: Io, run: ReturnType<typeof parseRunSettings>, out: string, quiet: boolean,
  work: (engine: Engine, interrupt: Interrupt, bar: ProgressBar) => Promise<number>): Promise<number> {
  return withEngine(run, io, quiet, async (engine, interrupt, folders) => {
    interrupt.message = 'stopping after this layer; nothing is written';
    const bar = new ProgressBar(io.stderr, !quiet && io.stderr.isTTY === true);
    interrupt.beforeMessage = () => bar.clear();
    try {
      folders.hold(out);
      return await work(engine, interrupt, bar);
    } catch (error) {
      bar.clear();
      if (error instanceof CollapseError && error.code === 'ABORTED' && interrupt.code) {
        io.stderr.write('interrupted: nothing was written\n');
        return interrupt.code;
      }
      throw error;
    }
  });
}

/** run.json: what ran where, and how long (kept out of the reports, which depend only on the inputs). */
function runJson(command: string, argv: string[], info: { backend: string; device: string }, started: number): string {
  return toJson({ command, argv, version: packageVersion(), node: process.version, backend: info.backend, device: info.device,
    finished: new Date().toISOString(), seconds: (performance.now() - started) / 1000 });
}

/** The per-layer CSV of a report. */
export function layersCsv(layers: readonly LayerAnalysis[]): string {
  const head = 'layer,kind,neurons,in_dim,out_dim,vanishing,independent,fraction,components,component_fraction,effective_rank,clusters\n';
  return head + layers.map((l) => [l.name, l.kind, l.neurons, l.inDim, l.outDim, l.vanishing.length, l.independent, l.fraction, l.components,
    l.componentFraction, Number.isFinite(l.effectiveRank) ? l.effectiveRank : '', l.clusters ?? ''].join(',')).join('\n') + '\n';
}

/** A layer's report entry: everything but the matrices. */
function reportLayer(l: LayerAnalysis): Omit<LayerAnalysis, 'matrices'> {
  const { matrices: _m, ...rest } = l;
  return rest;
}

export async function analyzeCommand(argv: string[], io: Io): Promise<number> {
  const parsed = parseCommand('analyze', argv, {
    ...SHARED, 'layer-map': { type: 'string' }, figures: { type: 'string' }, matrices: { type: 'boolean' },
  }, true);
  const { values } = parsed;
  const positionals = parsed.positionals as string[];
  if (values.help) {
    io.stdout.write(ANALYZE_HELP);
    return 0;
  }
  // Everything the arguments and the input files decide is checked before --out is touched.
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'give the weights to analyse: collapse analyze CHECKPOINT --out DIR (a model.safetensors, a checkpoint, or a run folder)' : `give one weights file; got ${positionals.length}: ${positionals.join(' ')} (to compare runs, use 'collapse compare')`);
  }
  const thresholds = parseThresholds(values);
  const layers = parseList('--layers', values.layers);
  const run = parseRunSettings(values);
  const path = weightsPath(positionals[0]);
  const bytes = readInput(path, 'the weights');
  let layerMap: unknown;
  if (values['layer-map'] !== undefined) {
    const text = readInput(values['layer-map'], 'the layer map').toString('utf8');
    try { layerMap = JSON.parse(text); } catch (error) { throw new UsageError(`--layer-map ${values['layer-map']} is not valid JSON (${(error as Error).message})`, `see 'collapse analyze --help' for the format`); }
  }
  const weights = openWeights(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), basename(path), layerMap === undefined ? {} : { layerMap, layerMapName: values['layer-map'] });
  const plans = planChain(weights.source, weights.chain, layers);
  const names = plans.map((p) => p.ref.name);
  const figureSpec = values.figures ?? 'all';
  const figureLayers = figureSpec === 'all' ? names : figureSpec === 'none' ? [] : (parseList('--figures', figureSpec) as string[]);
  const missing = figureLayers.find((n) => !names.includes(n));
  if (missing !== undefined) throw new UsageError(`--figures: '${missing}' is not an analysed layer; the analysed layers are ${names.join(', ')} (or give all or none)`);
  const out = values.out ?? join('out', `analysis-${basename(path).replace(/\.safetensors$/, '')}`);
  preflightOutDir(out, () => refuseExisting(out, 'report.json', values.force === true, 'an analysis'));

  return withOutput(io, run, out, values.quiet === true, async (engine, interrupt, bar) => {
    const started = performance.now();
    const files: [string, string | Uint8Array][] = [];
    const tensors: Record<string, NamedTensor> = {};
    const wanted = new Set(figureLayers);
    const needMatrices = wanted.size > 0 || values.matrices === true;
    const subtitleOf = (l: LayerAnalysis) => [
      `${l.neurons} neurons: ${l.independent} independent (${(100 * l.fraction).toFixed(1)} %, τ = ${fmt(thresholds.tau)}), ${l.vanishing.length} vanishing (norm < ${fmt(thresholds.vanish)} × the largest), ${l.components} connected components`,
      `order: ${l.clusters} average-linkage clusters of the concatenated distances, largest first (boxes: clusters of ≥ 2); colour clipped at 2.5; ${basename(path)}`,
    ];
    const options: AnalysisOptions = {
      ...thresholds, ...(layers ? { layers } : {}), keepMatrices: needMatrices, signal: interrupt.signal,
      onLayer: async (l, done, total) => {
        bar.update({ done, total, unit: 'layers', fraction: done / total, rate: 0, rateUnit: '', etaSeconds: NaN, note: l.name }, done === total);
        const m = l.matrices;
        if (!m) return;
        if (wanted.has(l.name)) {
          const figure = await distanceFigure({ layer: l.name, neurons: l.neurons, incoming: m.incoming, outgoing: m.outgoing, order: l.order ?? [], clusterSizes: l.clusterSizes ?? [], subtitle: subtitleOf(l) });
          files.push([`distances-${fileName(l.name)}.svg`, figure.svg], [`distances-${fileName(l.name)}.png`, figure.png]);
        }
        if (values.matrices) {
          for (const [key, d] of [['incoming', m.incoming], ['outgoing', m.outgoing], ['concatenated', m.concatenated]] as const) {
            tensors[`${l.name}.${key}`] = { dtype: 'F32', shape: [l.neurons, l.neurons], data: d };
          }
          tensors[`${l.name}.order`] = { dtype: 'I32', shape: [l.neurons], data: Int32Array.from(l.order ?? []) };
        }
      },
    };
    const result = await analyzeWeights(engine, weights, options);
    bar.clear();
    const report = {
      kind: 'collapse-analysis', version: 1,
      source: sourceInfo(path, bytes, weights, values['layer-map']),
      settings: { ...thresholds, vanishingNorm: 'concatenated vector', distance: '2‖a−b‖² / (‖a‖² + ‖b‖² + epsilon)' },
      layers: result.map(reportLayer),
    };
    const fractions = await fractionFigure({
      layers: result.map((l) => l.name),
      series: [{ label: 'greedy grouping (the paper)', replicates: [result.map((l) => l.fraction)] }, { label: 'connected components', replicates: [result.map((l) => l.componentFraction)] }],
      title: `Fraction of independent neurons: ${basename(path)}`,
      subtitle: `τ = ${fmt(thresholds.tau)}, vanishing below ${fmt(thresholds.vanish)} of the layer's largest norm`,
    });
    const info = engine.describe();
    files.push(['report.json', toJson(report)], ['layers.csv', layersCsv(result)], ['fractions.svg', fractions.svg], ['fractions.png', fractions.png],
      ['run.json', runJson('collapse analyze', argv, info, started)]);
    if (values.matrices) files.push(['distances.safetensors', encodeSafetensors(tensors, { format: 'stochastic-collapse/distances', source: basename(path) })]);
    // Files of an earlier analysis in --out that this one does not write (other layers' figures) go with the commit.
    const written = new Set(files.map(([n]) => n));
    const stale = readdirSync(out).filter((n) => /^distances-.*\.(svg|png)$|^distances\.safetensors$/.test(n) && !written.has(n));
    commitFiles(out, files, stale);
    if (!values.quiet) io.stdout.write(summaryTable(result, out, (performance.now() - started) / 1000, `${info.device} (${info.backend})`));
    return 0;
  });
}

function sourceInfo(path: string, bytes: Buffer, w: WeightsSource, layerMap: string | undefined) {
  return {
    file: path, bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'),
    format: w.metadata.format ?? 'safetensors',
    ...(w.model ? { model: w.model.spec } : {}),
    ...(w.metadata.step !== undefined ? { step: Number(w.metadata.step) } : {}),
    ...(layerMap ? { layerMap } : {}),
    chain: w.chain.map((l) => l.name),
  };
}

function summaryTable(layers: readonly LayerAnalysis[], out: string, seconds: number, device: string): string {
  const rows = [['layer', 'neurons', 'vanishing', 'independent', 'fraction', 'components', 'eff. rank'],
    ...layers.map((l) => [l.name, String(l.neurons), String(l.vanishing.length), String(l.independent), l.fraction.toFixed(3), String(l.components), Number.isFinite(l.effectiveRank) ? l.effectiveRank.toFixed(2).replace(/^-0\.00$/, '0.00') : '—'])];
  const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
  const lines = rows.map((r) => r.map((x, c) => (c === 0 ? x.padEnd(widths[c]) : x.padStart(widths[c]))).join('  '));
  return `analysed ${layers.length} layer${layers.length === 1 ? '' : 's'} in ${duration(seconds)} on ${device}\n${lines.map((l) => `  ${l}`).join('\n')}\n  wrote ${join(out, 'report.json')}, layers.csv, fractions.png/.svg, distances-<layer>.png/.svg\n`;
}

// ---- compare ----

interface RunInfo {
  dir: string;
  lr: number;
  labelNoise: number;
  seed: number | null;
  model: string | null;
  testAccuracy: number | null;
  weights: WeightsSource;
}

const GROUP_BY = ['auto', 'lr', 'label-noise'] as const;

function readRun(dir: string): RunInfo {
  const summaryPath = join(dir, 'summary.json');
  let summary: Record<string, unknown>;
  try {
    summary = JSON.parse(readInput(summaryPath, 'the run summary').toString('utf8')) as Record<string, unknown>;
  } catch (error) {
    if (error instanceof UsageError) throw new UsageError(`${dir} is not a finished training run: ${error.message}`, `each RUN_DIR is an --out of 'collapse train' (summary.json and model.safetensors)`);
    throw new UsageError(`${summaryPath} is not valid JSON (${(error as Error).message})`);
  }
  const num = (k: string) => (typeof summary[k] === 'number' && Number.isFinite(summary[k]) ? summary[k] : undefined);
  const lr = num('lr'), labelNoise = num('labelNoise') ?? 0;
  if (lr === undefined) throw new UsageError(`${summaryPath} has no numeric "lr": it was not written by 'collapse train'`);
  const modelPath = join(dir, 'model.safetensors');
  const bytes = readInput(modelPath, 'the trained weights');
  const weights = openWeights(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), modelPath);
  return { dir, lr, labelNoise, seed: num('seed') ?? null, model: typeof summary.model === 'string' ? summary.model : null, testAccuracy: num('testAccuracy') ?? null, weights };
}

/** How runs are grouped: by the setting that varies among them (auto), or as asked. */
function grouping(runs: readonly RunInfo[], by: (typeof GROUP_BY)[number]): { key: (r: RunInfo) => number | string; label: (r: RunInfo) => string; title: string } {
  const varies = (f: (r: RunInfo) => number) => new Set(runs.map(f)).size > 1;
  const lr = varies((r) => r.lr), noise = varies((r) => r.labelNoise);
  if (by === 'lr' || (by === 'auto' && lr && !noise)) return { key: (r) => r.lr, label: (r) => fmt(r.lr), title: 'learning rate' };
  if (by === 'label-noise' || (by === 'auto' && noise && !lr)) return { key: (r) => r.labelNoise, label: (r) => fmt(r.labelNoise), title: 'label noise' };
  return { key: (r) => `${r.lr}|${r.labelNoise}`, label: (r) => `lr ${fmt(r.lr)}, noise ${fmt(r.labelNoise)}`, title: 'setting' };
}

export async function compareCommand(argv: string[], io: Io): Promise<number> {
  const parsed = parseCommand('compare', argv, { ...SHARED, 'group-by': { type: 'string' } }, true);
  const { values } = parsed;
  const positionals = parsed.positionals as string[];
  if (values.help) {
    io.stdout.write(COMPARE_HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError('give the training runs to compare: collapse compare RUN_DIR... --out DIR (folders written by collapse train)');
  const thresholds = parseThresholds(values);
  const layers = parseList('--layers', values.layers);
  const by = (values['group-by'] ?? 'auto') as (typeof GROUP_BY)[number];
  if (!GROUP_BY.includes(by)) throw new UsageError(`--group-by must be one of ${GROUP_BY.join(', ')}; got '${values['group-by']}'`);
  const run = parseRunSettings(values);
  const dup = positionals.find((d, i) => positionals.indexOf(d) !== i);
  if (dup !== undefined) throw new UsageError(`${dup} is given twice; give each run once`);
  const runs = positionals.map(readRun);
  // Every run must have the same analysed layers (one architecture), checked before anything is computed.
  const names = runs.map((r) => planChain(r.weights.source, r.weights.chain, layers).map((p) => `${p.ref.name}:${p.neurons}`));
  const other = names.findIndex((n) => n.join(',') !== names[0].join(','));
  if (other > 0) throw new UsageError(`${runs[other].dir} has layers ${names[other].join(', ')} but ${runs[0].dir} has ${names[0].join(', ')} (name:neurons); compare runs of one architecture`);
  const layerNames = names[0].map((n) => n.slice(0, n.lastIndexOf(':')));
  const out = values.out ?? join('out', 'compare');
  preflightOutDir(out, () => refuseExisting(out, 'compare.json', values.force === true, 'a comparison'));

  return withOutput(io, run, out, values.quiet === true, async (engine, interrupt, bar) => {
    const started = performance.now();
    const total = runs.length * layerNames.length;
    const results: LayerAnalysis[][] = [];
    for (const r of runs) {
      results.push(await analyzeWeights(engine, r.weights, {
        ...thresholds, ...(layers ? { layers } : {}), figure: false, effectiveRank: false, signal: interrupt.signal,
        onLayer: (l, done) => bar.update({ done: results.length * layerNames.length + done, total, unit: 'layers', fraction: (results.length * layerNames.length + done) / total, rate: 0, rateUnit: '', etaSeconds: NaN, note: `${basename(r.dir)} ${l.name}` }),
      }));
    }
    bar.clear();
    const g = grouping(runs, by);
    const keys = [...new Set(runs.map(g.key))].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a).localeCompare(String(b))));
    const groups = keys.map((key) => {
      const members = runs.map((r, i) => ({ r, i })).filter(({ r }) => g.key(r) === key);
      const label = g.label(members[0].r);
      return {
        label, ...(typeof key === 'number' ? { value: key } : {}), runs: members.map(({ r }) => r.dir),
        layers: layerNames.map((layer, l) => {
          const fr = meanStd(members.map(({ i }) => results[i][l].fraction));
          const cc = meanStd(members.map(({ i }) => results[i][l].componentFraction));
          return { layer, mean: fr.mean, std: fr.std, n: fr.n, componentMean: cc.mean, componentStd: cc.std };
        }),
        series: { label, replicates: members.map(({ i }) => results[i].map((x) => x.fraction)) } satisfies FractionSeries,
      };
    });
    const report = {
      kind: 'collapse-comparison', version: 1, groupBy: g.title, settings: thresholds, layers: layerNames,
      runs: runs.map((r, i) => ({ dir: r.dir, lr: r.lr, labelNoise: r.labelNoise, seed: r.seed, model: r.model, testAccuracy: r.testAccuracy,
        layers: results[i].map((l) => ({ layer: l.name, neurons: l.neurons, vanishing: l.vanishing.length, independent: l.independent, fraction: l.fraction, components: l.components, componentFraction: l.componentFraction })) })),
      groups: groups.map(({ series: _s, ...rest }) => rest),
    };
    const csv = 'group,layer,mean,std,replicates,component_mean,component_std\n' +
      groups.flatMap((gr) => gr.layers.map((l) => [JSON.stringify(gr.label), l.layer, l.mean, l.std, l.n, l.componentMean, l.componentStd].join(','))).join('\n') + '\n';
    const model = runs[0].model ?? 'network';
    const figure = await fractionFigure({
      layers: layerNames, series: groups.map((gr) => gr.series), legendTitle: g.title,
      title: `Fraction of independent neurons: ${model}, ${runs.length} run${runs.length === 1 ? '' : 's'}`,
      subtitle: `greedy grouping at τ = ${fmt(thresholds.tau)}, vanishing below ${fmt(thresholds.vanish)} of the largest norm`,
    });
    const info = engine.describe();
    commitFiles(out, [['compare.json', toJson(report)], ['compare.csv', csv], ['fractions.svg', figure.svg], ['fractions.png', figure.png],
      ['run.json', runJson('collapse compare', argv, info, started)]]);
    if (!values.quiet) {
      const lines = groups.map((gr) => `  ${g.title} ${gr.label} (${gr.runs.length} run${gr.runs.length === 1 ? '' : 's'}): ${gr.layers.map((l) => `${l.layer} ${l.mean.toFixed(2)}${l.n > 1 ? `±${l.std.toFixed(2)}` : ''}`).join(', ')}`);
      io.stdout.write(`compared ${runs.length} runs (${layerNames.length} layers each) in ${duration((performance.now() - started) / 1000)} on ${info.device} (${info.backend}); fraction of independent neurons:\n${lines.join('\n')}\n  wrote ${join(out, 'compare.json')}, compare.csv, fractions.png/.svg\n`);
    }
    return 0;
  });
}
