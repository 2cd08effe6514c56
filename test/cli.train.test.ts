// `collapse train` as users run it: outputs, refusals with exit 2 and nothing written, Ctrl-C then --resume to
// the same weights, a diverging run that names its last good checkpoint.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt, MAIN } from './helpers/cli.js';

const TMP = mkdtempSync(join(tmpdir(), 'collapse-train-'));
beforeAll(ensureBuilt);
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

interface Run { code: number | null; stdout: string; stderr: string }
function cli(args: string[], env: Record<string, string> = {}): Run {
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: TMP, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}
let serial = 0;
const dir = (name: string) => join(TMP, `${name}-${++serial}`);

/** An MLP on the synthetic set: a few hundred milliseconds. */
const SMALL = ['train', '--model', 'mlp', '--widths', '32', '--data', 'synthetic', '--lr', '0.05', '--batch', '32', '--steps', '40',
  '--evaluate-every', '10', '--checkpoint-every', '10', '--label-noise', '0.2', '--seed', '4', '--backend', 'native', '--quiet'];

function refused(r: Run, message: RegExp): void {
  expect(r.stderr).toMatch(message);
  expect(r.code).toBe(2);
  expect(r.stderr).toMatch(/^collapse: error: /);
  expect(r.stderr).not.toMatch(/\n\s+at /);
}

describe('collapse train', () => {
  it('--help teaches the options and the outputs', () => {
    const r = cli(['train', '--help']);
    expect(r.code).toBe(0);
    for (const s of ['--label-noise', '--resume DIR', 'model.safetensors', 'metrics.csv', 'load_state_dict']) expect(r.stdout).toContain(s);
  });

  it('writes metrics, summary, curves, checkpoints and the final weights; the same seed gives the same model file', () => {
    const a = dir('run'), b = dir('run');
    expect(cli([...SMALL, '--out', a]).code).toBe(0);
    expect(readdirSync(a).sort()).toEqual(['checkpoints', 'metrics.csv', 'model.safetensors', 'summary.json', 'training.png', 'training.svg']);
    expect(readdirSync(join(a, 'checkpoints')).sort()).toEqual(['step-10.safetensors', 'step-20.safetensors', 'step-30.safetensors']);
    const summary = JSON.parse(readFileSync(join(a, 'summary.json'), 'utf8'));
    for (const key of ['steps', 'testAccuracy', 'testLoss', 'trainLoss', 'stepsPerSecond', 'backend', 'seed']) expect(summary).toHaveProperty(key);
    expect(summary.steps).toBe(40);
    expect(readFileSync(join(a, 'metrics.csv'), 'utf8').trim().split('\n')).toHaveLength(5);
    expect(cli([...SMALL, '--out', b]).code).toBe(0);
    expect(readFileSync(join(a, 'model.safetensors')).equals(readFileSync(join(b, 'model.safetensors')))).toBe(true);
    refused(cli([...SMALL, '--out', a]), /already holds a finished training run.*--force/);
    expect(cli([...SMALL, '--out', a, '--force']).code).toBe(0);
  });

  it('Ctrl-C writes a checkpoint of the current step; --resume ends with the weights of an uninterrupted run', () => {
    const whole = dir('whole'), cut = dir('cut');
    expect(cli([...SMALL, '--out', whole]).code).toBe(0);
    const r = cli([...SMALL, '--out', cut], { COLLAPSE_TEST_SIGNAL_AT: 'renamed:step-20.safetensors' });
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/a checkpoint of this step was written/);
    expect(existsSync(join(cut, 'model.safetensors'))).toBe(false);
    refused(cli([...SMALL, '--out', cut]), /unfinished training run.*--resume/);
    const resumed = cli([...SMALL.filter((a) => a !== '--quiet'), '--resume', cut]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/resumed at step [23]\d/);
    expect(readFileSync(join(cut, 'model.safetensors')).equals(readFileSync(join(whole, 'model.safetensors')))).toBe(true);
    refused(cli([...SMALL.map((a) => (a === '0.05' ? '0.1' : a)), '--resume', cut]), /trained with lr = 0.05, not 0.1/);
  });

  it('a diverging run stops with exit 2 and names the last good checkpoint', () => {
    const out = dir('nan');
    const r = cli([...SMALL.map((a) => (a === '0.05' ? '1e9' : a)), '--out', out]);
    refused(r, /training loss became (NaN|Infinity|-Infinity)/);
    expect(existsSync(join(out, 'model.safetensors'))).toBe(false);
  });

  it('refuses bad input before writing anything', () => {
    const out = dir('bad');
    refused(cli(['train', '--model', 'resnet', '--out', out]), /--model must be one of mnist-cnn, mlp, vgg16, resnet18/);
    refused(cli(['train', '--data', 'cifar10', '--out', out]), /--data cifar10 needs --data-dir/);
    refused(cli(['train', '--data', 'cifar10', '--data-dir', join(TMP, 'nowhere'), '--out', out]), /nowhere/);
    refused(cli(['train', '--momentum', '1.5', '--out', out]), /--momentum must be in \[0, 1\)/);
    refused(cli(['train', '--model', 'vgg16', '--data', 'mnist', '--pad', '0', '--out', out]), /maxpool2d .* at least 2/);
    expect(existsSync(out)).toBe(false);
  });

  it('trains a narrow VGG-16 on CIFAR-10 binary batches with crop-flip augmentation and weight decay', () => {
    const data = join(TMP, 'cifar-10-batches-bin');
    mkdirSync(data, { recursive: true });
    // 5 × 40 training records and 40 test records in the standard format: 1 label byte + 3072 pixel bytes.
    let s = 7;
    const record = (label: number) => Buffer.concat([Buffer.of(label), Buffer.from(Array.from({ length: 3072 }, () => (s = (s * 1103515245 + 12345) % 2 ** 31) % 256))]);
    for (let b = 1; b <= 5; b++) writeFileSync(join(data, `data_batch_${b}.bin`), Buffer.concat(Array.from({ length: 40 }, (_, i) => record((i + b) % 10))));
    writeFileSync(join(data, 'test_batch.bin'), Buffer.concat(Array.from({ length: 40 }, (_, i) => record(i % 10))));
    const out = dir('vgg');
    const r = cli(['train', '--model', 'vgg16', '--width', '0.0625', '--data', 'cifar10', '--data-dir', TMP, '--lr', '0.01', '--weight-decay', '5e-4',
      '--warmup', '2', '--batch', '16', '--steps', '4', '--seed', '1', '--backend', 'native', '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8'));
    expect(summary).toMatchObject({ model: 'vgg16', data: 'cifar10', augment: 'crop-flip', steps: 4, weightDecay: 5e-4 });
    expect(summary.spec.inputShape).toEqual([3, 32, 32]);
    expect(Number.isFinite(summary.testLoss)).toBe(true);
  });

  it('refuses a corrupt or truncated checkpoint on --resume, naming the file', () => {
    const out = dir('corrupt');
    expect(cli([...SMALL, '--out', out]).code).toBe(0);
    rmSync(join(out, 'model.safetensors'));
    const ckpt = join(out, 'checkpoints', 'step-30.safetensors');
    writeFileSync(ckpt, readFileSync(ckpt).subarray(0, 1000));
    refused(cli([...SMALL, '--resume', out]), /resume checkpoint/);
    mkdirSync(join(TMP, 'empty'), { recursive: true });
    refused(cli([...SMALL, '--resume', join(TMP, 'empty')]), /holds no checkpoint/);
  });
});
