/**
 * `collapse train`: SGD on a preset network and a dataset, with metrics, curves, checkpoints and the final
 * weights in --out. Ctrl-C writes a checkpoint of the current step; `--resume DIR` continues from the newest
 * checkpoint to the same final weights as an uninterrupted run.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { CollapseError } from '../errors.js';
import { trainingFigure } from '../plot/training.js';
import { loadDataset } from '../train/data/datasets.js';
import type { ActivationKind } from '../train/graph.js';
import { buildModel, PRESETS } from '../train/presets.js';
import type { MetricsRow, TrainResult } from '../train/train.js';
import { parseCommand, parseInteger, parseIntegerList, parseNumber, UsageError } from './args.js';
import { parseRunSettings, withEngine, type Io } from './common.js';
import { commitFiles, fsError, preflightOutDir, toJson, writeAtomic } from './files.js';
import { TRAIN_HELP } from './help.js';
import { duration, ProgressBar } from './progress.js';

const DATASETS = ['mnist', 'cifar10', 'cifar100', 'synthetic'] as const;
const OUTPUTS = ['metrics.csv', 'summary.json', 'training.svg', 'training.png', 'model.safetensors'];

export async function trainCommand(argv: string[], io: Io): Promise<number> {
  const { values } = parseCommand('train', argv, {
    model: { type: 'string' }, data: { type: 'string' }, 'data-dir': { type: 'string' }, pad: { type: 'string' },
    width: { type: 'string' }, widths: { type: 'string' }, activation: { type: 'string' },
    lr: { type: 'string' }, momentum: { type: 'string' }, 'weight-decay': { type: 'string' }, batch: { type: 'string' },
    steps: { type: 'string' }, warmup: { type: 'string' }, drops: { type: 'string' }, gamma: { type: 'string' },
    'label-noise': { type: 'string' }, augment: { type: 'string' }, seed: { type: 'string' }, backend: { type: 'string' },
    threads: { type: 'string' }, 'evaluate-every': { type: 'string' }, 'eval-batch': { type: 'string' },
    'checkpoint-every': { type: 'string' }, out: { type: 'string' }, resume: { type: 'string' }, force: { type: 'boolean' },
    quiet: { type: 'boolean' }, help: { type: 'boolean', short: 'h' },
  });
  if (values.help) {
    io.stdout.write(TRAIN_HELP);
    return 0;
  }
  // Everything the arguments alone decide is checked before anything is loaded or written.
  const preset = values.model ?? 'mnist-cnn';
  if (!(PRESETS as readonly string[]).includes(preset)) throw new UsageError(`--model must be one of ${PRESETS.join(', ')}; got '${preset}'`);
  const dataName = values.data ?? 'mnist';
  if (!(DATASETS as readonly string[]).includes(dataName)) throw new UsageError(`--data must be one of ${DATASETS.join(', ')}; got '${dataName}'`);
  if (dataName.startsWith('cifar') && values['data-dir'] === undefined) {
    throw new UsageError(`--data ${dataName} needs --data-dir: the folder holding the CIFAR binary batches (e.g. cifar-10-batches-bin); nothing is downloaded`);
  }
  const run = parseRunSettings(values);
  const num = (name: string, text: string | undefined, fallback: number, min = 0, below = Infinity) => {
    if (text === undefined) return fallback;
    const v = parseNumber(name, text);
    if (!(v >= min && v < below)) throw new UsageError(`${name} must be in [${min}, ${below === Infinity ? '∞' : below}); got ${text}`);
    return v;
  };
  const steps = values.steps === undefined ? 600 : parseInteger('--steps', values.steps, 1, 0xffff_ffff);
  const settings = {
    lr: num('--lr', values.lr, 0.05),
    momentum: num('--momentum', values.momentum, 0.9, 0, 1),
    weightDecay: num('--weight-decay', values['weight-decay'], 0),
    batchSize: values.batch === undefined ? 128 : parseInteger('--batch', values.batch, 1, 1 << 16),
    steps,
    labelNoise: num('--label-noise', values['label-noise'], 0, 0, 1),
    seed: run.seed,
    evaluateEvery: values['evaluate-every'] === undefined ? Math.max(1, Math.floor(steps / 10)) : parseInteger('--evaluate-every', values['evaluate-every'], 1, 0xffff_ffff),
    evalBatchSize: values['eval-batch'] === undefined ? 1000 : parseInteger('--eval-batch', values['eval-batch'], 1, 1 << 16),
    checkpointEvery: values['checkpoint-every'] === undefined ? Math.max(1, Math.floor(steps / 4)) : parseInteger('--checkpoint-every', values['checkpoint-every'], 0, 0xffff_ffff),
    schedule: {
      warmupSteps: values.warmup === undefined ? 0 : parseInteger('--warmup', values.warmup, 0, 0xffff_ffff),
      drops: values.drops === undefined ? [] : parseIntegerList('--drops', values.drops, 1, 0xffff_ffff),
      gamma: num('--gamma', values.gamma, 0.1),
    },
  };
  const augment = values.augment ?? (dataName.startsWith('cifar') ? 'crop-flip' : 'none');
  if (augment !== 'none' && augment !== 'crop-flip') throw new UsageError(`--augment must be none or crop-flip; got '${augment}'`);
  const width = values.width === undefined ? undefined : num('--width', values.width, 1, 1e-9, 16.000001);
  const widths = values.widths === undefined ? undefined : parseIntegerList('--widths', values.widths, 1, 1 << 20);
  const activation = values.activation as ActivationKind | undefined;
  if (activation !== undefined && !['relu', 'gelu', 'tanh'].includes(activation)) throw new UsageError(`--activation must be relu, gelu or tanh; got '${activation}'`);
  // Deep presets halve 32×32 five times: MNIST's 28×28 is zero-padded to 32×32 for them unless --pad says otherwise.
  const pad = values.pad === undefined ? (dataName === 'mnist' && (preset === 'vgg16' || preset === 'resnet18') ? 2 : 0) : parseInteger('--pad', values.pad, 0, 64);

  if (values.resume !== undefined && values.out !== undefined && values.resume !== values.out) {
    throw new UsageError(`--resume ${values.resume} and --out ${values.out} differ: --resume DIR continues the run in DIR (leave out --out)`);
  }
  if (values.resume !== undefined && values.force) throw new UsageError('--resume and --force contradict each other: --resume continues the run, --force starts it over');
  const out = values.resume ?? values.out ?? join('out', `train-${preset}`);
  const resume = values.resume !== undefined;
  const { exists } = preflightOutDir(out, () => inspectOut(out, resume, values.force === true));
  if (resume && !exists) throw new UsageError(`--resume ${out}: no such folder`);

  const data = await loadDataset(dataName, { ...(values['data-dir'] ? { dataDir: values['data-dir'] } : {}), pad, seed: run.seed });
  const model = buildModel(preset, { inputShape: [data.channels, data.height, data.width], classes: data.classes, ...(width ? { width } : {}), ...(widths ? { widths } : {}), ...(activation ? { activation } : {}) });
  return withEngine(run, io, values.quiet === true, async (engine, interrupt, folders) => {
    interrupt.message = 'stopping after this step; a checkpoint of it is written';
    const bar = new ProgressBar(io.stderr, !values.quiet && io.stderr.isTTY === true);
    interrupt.beforeMessage = () => bar.clear();
    const info = engine.describe();
    folders.hold(out);
    const checkpoints = join(out, 'checkpoints');
    const latest = resume ? latestCheckpoint(checkpoints) : undefined;
    if (resume && !latest) throw new UsageError(`--resume ${out}: it holds no checkpoint (checkpoints/step-N.safetensors) to continue from`);
    if (!resume && values.force) for (const name of [...OUTPUTS, 'checkpoints']) rmSync(join(out, name), { recursive: true, force: true });
    const resumeBytes = latest ? readFileSync(latest.path) : undefined;
    let note = '';
    const started = performance.now();
    let result: TrainResult;
    try {
      result = await engine.train({
        model, data, ...settings, augment: augment as 'none' | 'crop-flip', signal: interrupt.signal,
        ...(resumeBytes ? { resume: new Uint8Array(resumeBytes.buffer, resumeBytes.byteOffset, resumeBytes.byteLength) } : {}),
        onCheckpoint: ({ step, bytes }) => {
          try { mkdirSync(checkpoints, { recursive: true }); } catch (error) { throw fsError(error, checkpoints, 'create the folder'); }
          writeAtomic(join(checkpoints, `step-${step}.safetensors`), bytes);
        },
        onStep: (p) => {
          if (p.metrics) note = `loss ${p.metrics.trainLoss.toPrecision(3)}  test acc ${(100 * p.metrics.testAccuracy).toFixed(1)}%`;
          const left = p.steps - p.step;
          bar.update({ done: p.step, total: p.steps, unit: 'steps', fraction: p.step / p.steps, rate: p.stepsPerSecond, rateUnit: 'steps', etaSeconds: left / p.stepsPerSecond, note }, p.step === p.steps);
        },
      });
    } catch (error) {
      bar.clear();
      if (error instanceof CollapseError && error.code === 'DIVERGED') {
        const last = latestCheckpoint(checkpoints);
        throw new CollapseError('DIVERGED', `${error.message}${last ? ` (${last.path}, step ${last.step})` : ' (none was written)'}`, error.details);
      }
      throw error;
    }
    bar.clear();
    const summary = {
      model: preset, data: dataName, spec: model.spec, ...settings, augment, backend: result.backend, device: info.device, seed: result.seed,
      steps: result.steps, trainLoss: result.trainLoss, trainAccuracy: result.trainAccuracy, testLoss: result.testLoss, testAccuracy: result.testAccuracy,
      stepsPerSecond: result.stepsPerSecond, seconds: (performance.now() - started) / 1000, resumedFrom: result.resumedFrom,
    };
    const figure = await trainingFigure(result.history, {
      title: `${preset} on ${dataName}`,
      subtitle: `lr ${settings.lr}, momentum ${settings.momentum}, batch ${settings.batchSize}, label noise ${settings.labelNoise}, seed ${run.seed}, ${result.backend}`,
    });
    commitFiles(out, [['metrics.csv', metricsCsv(result.history)], ['summary.json', toJson(summary)], ['training.svg', figure.svg], ['training.png', figure.png], ['model.safetensors', result.model]]);
    if (!values.quiet) {
      io.stdout.write(`trained ${preset} on ${dataName} for ${result.steps} steps on ${info.device} (${info.backend}) in ${duration(summary.seconds)}` +
        ` (${result.stepsPerSecond.toFixed(1)} steps/s)${result.resumedFrom ? `, resumed at step ${result.resumedFrom}` : ''}\n` +
        `  test accuracy ${(100 * result.testAccuracy).toFixed(2)}%, test loss ${result.testLoss.toFixed(4)}, train loss ${result.trainLoss.toFixed(4)}\n` +
        `  wrote ${join(out, 'model.safetensors')}, metrics.csv, summary.json, training.png/.svg, checkpoints/\n`);
    }
    return 0;
  });
}

/** Refuses to start over a finished or unfinished run unless told what to do with it. */
function inspectOut(out: string, resume: boolean, force: boolean): void {
  const finished = existsSync(join(out, 'model.safetensors'));
  const started = latestCheckpoint(join(out, 'checkpoints')) !== undefined;
  if (resume || force) return;
  if (finished) throw new UsageError(`${out} already holds a finished training run (model.safetensors): add --force to replace it, or pick another --out`);
  if (started) throw new UsageError(`${out} holds an unfinished training run (checkpoints/): continue it with --resume ${out}, or add --force to start over`);
}

/** The checkpoint with the highest step in `dir`, if any. */
function latestCheckpoint(dir: string): { path: string; step: number } | undefined {
  let names: string[];
  try { names = readdirSync(dir); } catch { return undefined; }
  let best: { path: string; step: number } | undefined;
  for (const name of names) {
    const m = /^step-(\d+)\.safetensors$/.exec(name);
    if (m && (!best || Number(m[1]) > best.step)) best = { path: join(dir, name), step: Number(m[1]) };
  }
  return best;
}

export function metricsCsv(history: readonly MetricsRow[]): string {
  const head = 'step,lr,train_loss,train_accuracy,test_loss,test_accuracy\n';
  return head + history.map((r) => [r.step, r.lr, r.trainLoss, r.trainAccuracy, r.testLoss, r.testAccuracy].join(',')).join('\n') + '\n';
}
