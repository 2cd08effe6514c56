// `collapse analyze` and `collapse compare`, spawned as users run them, on weights with planted collapse: identical
// neurons (copies), near-identical ones (d ≈ 1e-8) and a vanishing one, in engine files and in a file "trained
// elsewhere" read through a layer map.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from '../src/io/safetensors.js';
import { encodeModel } from '../src/train/checkpoint.js';
import { initialParameters } from '../src/train/init.js';
import { buildModel } from '../src/train/presets.js';
import { ensureBuilt, MAIN } from './helpers/cli.js';

const TMP = mkdtempSync(join(tmpdir(), 'collapse-analyze-'));
beforeAll(ensureBuilt);
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

interface Run { code: number | null; stdout: string; stderr: string; seconds: number }
function cli(args: string[]): Run {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [MAIN, ...args], { cwd: TMP, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, seconds: (performance.now() - t0) / 1000 };
}
const path = (...p: string[]) => join(TMP, ...p);
const json = (p: string) => JSON.parse(readFileSync(p, 'utf8'));

/** mlp 16 → 12 → 10 → 3; `copies` units of fc1 duplicate unit 0; fc1 unit 7 is zero; fc2 units 3, 4 nearly equal. */
function plantedMlp(seed: number, copies: number) {
  const model = buildModel('mlp', { inputShape: [1, 4, 4], classes: 3, widths: [12, 10] });
  const p = initialParameters(model, seed);
  const w1 = p.get('fc1.weight') as Float32Array, b1 = p.get('fc1.bias') as Float32Array;
  const w2 = p.get('fc2.weight') as Float32Array, b2 = p.get('fc2.bias') as Float32Array, w3 = p.get('fc3.weight') as Float32Array;
  for (let c = 1; c <= copies; c++) {
    w1.copyWithin(c * 16, 0, 16);
    b1[c] = b1[0];
    for (let o = 0; o < 10; o++) w2[o * 12 + c] = w2[o * 12];
  }
  w1.fill(0, 7 * 16, 8 * 16);
  b1[7] = 0;
  for (let o = 0; o < 10; o++) w2[o * 12 + 7] = 0;
  for (let k = 0; k < 12; k++) w2[4 * 12 + k] = w2[3 * 12 + k] * (1 + 1e-4 * Math.sin(k + 1));
  b2[4] = b2[3];
  for (let o = 0; o < 3; o++) w3[o * 10 + 4] = w3[o * 10 + 3] * (1 - 1e-4);
  return { model, params: p };
}

function writeRun(name: string, seed: number, copies: number, lr: number, labelNoise = 0): string {
  const { model, params } = plantedMlp(seed, copies);
  const d = path(name);
  mkdirSync(d, { recursive: true });
  writeFileSync(join(d, 'model.safetensors'), encodeModel(model, { params, buffers: new Map(), batchesTracked: 0 }, 500));
  writeFileSync(join(d, 'summary.json'), JSON.stringify({ model: 'mlp', lr, labelNoise, seed, testAccuracy: 0.5 }));
  return d;
}

describe('collapse analyze', () => {
  it('finds the planted duplicates, the vanishing neuron and the near-identical pair; writes every file', () => {
    const run = writeRun('run-a', 1, 2, 0.1);
    const out = path('analysis-a');
    const r = cli(['analyze', run, '--backend', 'native', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.seconds).toBeLessThan(30);
    expect(r.stdout).toMatch(/analysed 2 layers[\s\S]*fc1\s+12\s+1\s+9\s+0\.750/);
    expect(readdirSync(out).sort()).toEqual(['distances-fc1.png', 'distances-fc1.svg', 'distances-fc2.png', 'distances-fc2.svg', 'fractions.png', 'fractions.svg', 'layers.csv', 'report.json', 'run.json']);
    const report = json(join(out, 'report.json'));
    expect(report.source).toMatchObject({ format: 'stochastic-collapse/model', step: 500, chain: ['fc1', 'fc2', 'fc3'], model: { name: 'mlp' } });
    expect(report.settings).toMatchObject({ tau: 0.1, vanish: 0.1, epsilon: 1e-8 });
    const [fc1, fc2] = report.layers;
    expect(fc1).toMatchObject({ name: 'fc1', kind: 'linear', neurons: 12, inDim: 17, outDim: 10, next: 'fc2', vanishing: [7], independent: 9, fraction: 0.75, components: 9, groups: [[0, 1, 2]] });
    expect(fc2).toMatchObject({ name: 'fc2', neurons: 10, inDim: 13, outDim: 3, vanishing: [], independent: 9, fraction: 0.9, groups: [[3, 4]] });
    // §4.6: 12 − 2 copies = 10 clusters (the zero neuron is kept there), the triple first.
    expect(fc1.clusters).toBe(10);
    expect(fc1.clusterSizes[0]).toBe(3);
    expect(fc1.order.slice(0, 3)).toEqual([0, 1, 2]);
    expect(fc1.effectiveRank).toBeGreaterThan(1);
    expect(readFileSync(join(out, 'layers.csv'), 'utf8').split('\n')[1]).toMatch(/^fc1,linear,12,17,10,1,9,0\.75,9,0\.75,[0-9.]+,10$/);
    expect(readFileSync(join(out, 'distances-fc1.png')).subarray(1, 4).toString()).toBe('PNG');
    const svg = readFileSync(join(out, 'distances-fc1.svg'), 'utf8');
    for (const s of ['<svg', 'incoming weights', 'outgoing weights', 'data:image/png;base64', "Gradient legend titled 'distance'"]) expect(svg).toContain(s);
    expect(json(join(out, 'run.json')).backend).toBe('native');
  });

  it('the js backend gives the same report; --layers and --figures narrow it; --matrices writes the matrices', () => {
    const run = path('run-a', 'model.safetensors');
    const native = json(path('analysis-a', 'report.json'));
    const js = cli(['analyze', run, '--backend', 'js', '--quiet', '--out', path('analysis-js')]);
    expect(js.code).toBe(0);
    expect(js.stdout).toBe('');
    expect(json(path('analysis-js', 'report.json')).layers.map((l: { fraction: number; order: number[] }) => [l.fraction, l.order]))
      .toEqual(native.layers.map((l: { fraction: number; order: number[] }) => [l.fraction, l.order]));

    const one = cli(['analyze', run, '--layers', 'fc2', '--figures', 'none', '--matrices', '--out', path('analysis-fc2')]);
    expect(one.code).toBe(0);
    expect(readdirSync(path('analysis-fc2')).sort()).toEqual(['distances.safetensors', 'fractions.png', 'fractions.svg', 'layers.csv', 'report.json', 'run.json']);
    expect(json(path('analysis-fc2', 'report.json')).layers.map((l: { name: string }) => l.name)).toEqual(['fc2']);
    const { tensors } = decodeSafetensors(readFileSync(path('analysis-fc2', 'distances.safetensors')), 'distances');
    expect(Object.keys(tensors).sort()).toEqual(['fc2.concatenated', 'fc2.incoming', 'fc2.order', 'fc2.outgoing']);
    const d = tensors['fc2.concatenated'].data as Float32Array;
    expect(tensors['fc2.concatenated'].shape).toEqual([10, 10]);
    expect(d[3 * 10 + 4]).toBeGreaterThan(1e-10); // near-identical, not equal: resolved, not rounded to 0
    expect(d[3 * 10 + 4]).toBeLessThan(1e-7);
  });

  it('refuses to overwrite without --force; --force replaces and drops figures of layers no longer drawn', () => {
    const run = path('run-a');
    const again = cli(['analyze', run, '--out', path('analysis-a')]);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already holds an analysis \(report\.json\): add --force/);
    const forced = cli(['analyze', run, '--figures', 'fc1', '--force', '--out', path('analysis-a')]);
    expect(forced.code).toBe(0);
    expect(readdirSync(path('analysis-a')).filter((n) => n.startsWith('distances-')).sort()).toEqual(['distances-fc1.png', 'distances-fc1.svg']);
  });

  it('weights trained elsewhere: a layer map by module prefixes and by objects gives the same analysis', () => {
    const { params } = plantedMlp(1, 2);
    const rename: Record<string, string> = { fc1: 'net.0', fc2: 'net.2', fc3: 'net.4' };
    const tensors: Record<string, NamedTensor> = {};
    for (const [name, data] of params) {
      const [layer, kind] = name.split('.');
      tensors[`${rename[layer]}.${kind}`] = { dtype: 'F32', shape: kind === 'bias' ? [data.length] : [data.length / (layer === 'fc1' ? 16 : layer === 'fc2' ? 12 : 10), layer === 'fc1' ? 16 : layer === 'fc2' ? 12 : 10], data };
    }
    writeFileSync(path('torch.safetensors'), encodeSafetensors(tensors));
    writeFileSync(path('map.json'), JSON.stringify({ layers: ['net.0', 'net.2', 'net.4'] }));
    writeFileSync(path('map-objects.json'), JSON.stringify({ layers: [{ name: 'fc1', weight: 'net.0.weight', bias: 'net.0.bias' }, { name: 'fc2', weight: 'net.2.weight', bias: 'net.2.bias' }, { weight: 'net.4.weight' }] }));
    const a = cli(['analyze', path('torch.safetensors'), '--layer-map', path('map.json'), '--figures', 'none', '--out', path('foreign')]);
    expect(a.code).toBe(0);
    const b = cli(['analyze', path('torch.safetensors'), '--layer-map', path('map-objects.json'), '--figures', 'none', '--out', path('foreign-objects')]);
    expect(b.code).toBe(0);
    const ours = json(path('analysis-a', 'report.json')).layers.map((l: { fraction: number }) => l.fraction);
    expect(json(path('foreign', 'report.json')).layers.map((l: { name: string; fraction: number }) => [l.name, l.fraction])).toEqual([['net.0', ours[0]], ['net.2', ours[1]]]);
    expect(json(path('foreign-objects', 'report.json')).layers.map((l: { name: string }) => l.name)).toEqual(['fc1', 'fc2']);
  });

  it('bad input: clear errors, exit 2, nothing written', () => {
    const out = path('never');
    const cases: [string[], RegExp][] = [
      [['analyze', path('missing.safetensors')], /cannot read the weights .*missing\.safetensors: no such file/],
      [['analyze'], /give the weights to analyse/],
      [['analyze', path('torch.safetensors')], /was not written by stochastic-collapse .*give a layer map naming its layers' tensors \(--layer-map\)/],
      [['analyze', path('torch.safetensors'), '--layer-map', path('map.json'), '--layers', 'net.4'], /layer 'net\.4' is the last of the chain/],
      [['analyze', path('run-a'), '--tau', '0'], /--tau must be > 0/],
      [['analyze', path('run-a'), '--vanish', '1'], /--vanish must be in \[0, 1\)/],
      [['analyze', path('run-a'), '--figures', 'fc9'], /--figures: 'fc9' is not an analysed layer; the analysed layers are fc1, fc2/],
      [['analyze', path('run-a'), path('run-a')], /give one weights file; got 2/],
      [['analyze', TMP], /is a folder without model\.safetensors/],
    ];
    writeFileSync(path('bad.json'), '{"layers": [');
    cases.push([['analyze', path('torch.safetensors'), '--layer-map', path('bad.json')], /--layer-map .*bad\.json is not valid JSON/]);
    writeFileSync(path('swapped.json'), JSON.stringify({ layers: ['net.2', 'net.0', 'net.4'] }));
    cases.push([['analyze', path('torch.safetensors'), '--layer-map', path('swapped.json')], /layer 'net\.2' \(net\.2\.weight, 10×12\) has 10 outputs but the next layer 'net\.0' \(net\.0\.weight, 12×16\) reads 16 inputs, not a multiple of 10/]);
    writeFileSync(path('absent.json'), JSON.stringify({ layers: ['net.0', 'net.3'] }));
    cases.push([['analyze', path('torch.safetensors'), '--layer-map', path('absent.json')], /layer 'net\.3': no tensor 'net\.3\.weight' in the weights/]);
    for (const [args, message] of cases) {
      const r = cli([...args, '--out', out]);
      expect(r.stderr, args.join(' ')).toMatch(message);
      expect(r.code, args.join(' ')).toBe(2);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('NaN weights name the layer and the neuron; an all-zero layer is well defined', () => {
    const { model, params } = plantedMlp(2, 0);
    (params.get('fc2.weight') as Float32Array)[5 * 12 + 3] = NaN;
    mkdirSync(path('nan'));
    writeFileSync(path('nan', 'model.safetensors'), encodeModel(model, { params, buffers: new Map(), batchesTracked: 0 }, 1));
    const r = cli(['analyze', path('nan'), '--out', path('nan-out')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/layer 'fc1': neuron 3's outgoing vector \(fc2\.weight\) holds NaN at entry 5/);
    expect(existsSync(path('nan-out'))).toBe(false);

    const zero = plantedMlp(3, 0);
    (zero.params.get('fc1.weight') as Float32Array).fill(0);
    (zero.params.get('fc1.bias') as Float32Array).fill(0);
    (zero.params.get('fc2.weight') as Float32Array).fill(0);
    mkdirSync(path('zero'));
    writeFileSync(path('zero', 'model.safetensors'), encodeModel(zero.model, { params: zero.params, buffers: new Map(), batchesTracked: 0 }, 1));
    const z = cli(['analyze', path('zero'), '--layers', 'fc1', '--out', path('zero-out')]);
    expect(z.code).toBe(0);
    expect(json(path('zero-out', 'report.json')).layers[0]).toMatchObject({ vanishing: Array.from({ length: 12 }, (_, i) => i), independent: 0, fraction: 0, effectiveRank: 0, clusters: 1 });
  });
});

describe('collapse compare', () => {
  it('groups runs by learning rate: mean ± std (ddof 0) over seeds, fewer independent neurons where more were copied', () => {
    const runs = [writeRun('lr01-s1', 11, 1, 0.01), writeRun('lr01-s2', 12, 1, 0.01), writeRun('lr1-s1', 13, 3, 0.1), writeRun('lr1-s2', 14, 5, 0.1)];
    const out = path('compare');
    const r = cli(['compare', ...runs, '--backend', 'native', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/learning rate 0\.01 \(2 runs\): fc1 0\.83±0\.00, fc2 0\.90±0\.00/);
    expect(readdirSync(out).sort()).toEqual(['compare.csv', 'compare.json', 'fractions.png', 'fractions.svg', 'run.json']);
    const report = json(join(out, 'compare.json'));
    expect(report.groupBy).toBe('learning rate');
    expect(report.groups.map((g: { label: string; runs: string[] }) => [g.label, g.runs.length])).toEqual([['0.01', 2], ['0.1', 2]]);
    // fc1: 12 neurons, 1 vanishing, `copies` absorbed → (11 − copies) / 12; lr 0.1 runs have 3 and 5 copies.
    const fc1 = report.groups[1].layers[0];
    expect(fc1.mean).toBeCloseTo((8 / 12 + 6 / 12) / 2, 12);
    expect(fc1.std).toBeCloseTo(1 / 12, 12);
    expect(fc1.n).toBe(2);
    expect(report.runs[2]).toMatchObject({ lr: 0.1, seed: 13, layers: [{ layer: 'fc1', independent: 8 }, { layer: 'fc2', independent: 9 }] });
    expect(readFileSync(join(out, 'compare.csv'), 'utf8')).toMatch(/^"0\.1",fc1,0\.58333333333333\d*,0\.08333333333333\d*,2,/m);
  });

  it('groups by label noise when that is what varies; refuses mixed architectures and folders that are not runs', () => {
    const runs = [writeRun('n0', 21, 1, 0.05, 0), writeRun('n5', 22, 4, 0.05, 0.5)];
    const r = cli(['compare', ...runs, '--out', path('compare-noise')]);
    expect(r.code).toBe(0);
    expect(json(path('compare-noise', 'compare.json')).groups.map((g: { label: string }) => g.label)).toEqual(['0', '0.5']);
    expect(r.stdout).toMatch(/label noise 0\.5 \(1 run\)/);

    mkdirSync(path('cnn'));
    const cnn = buildModel('mnist-cnn', { inputShape: [1, 28, 28], classes: 10 });
    writeFileSync(path('cnn', 'model.safetensors'), encodeModel(cnn, { params: initialParameters(cnn, 1), buffers: new Map(), batchesTracked: 0 }, 1));
    writeFileSync(path('cnn', 'summary.json'), JSON.stringify({ lr: 0.1, labelNoise: 0 }));
    const mixed = cli(['compare', runs[0], path('cnn'), '--out', path('never2')]);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/cnn has layers conv1:32, conv2:64 but .*n0 has fc1:12, fc2:10/);
    const notRun = cli(['compare', path('foreign'), '--out', path('never2')]);
    expect(notRun.code).toBe(2);
    expect(notRun.stderr).toMatch(/is not a finished training run: cannot read the run summary/);
    expect(cli(['compare', '--out', path('never2')]).stderr).toMatch(/give the training runs to compare/);
    expect(cli(['compare', runs[0], '--group-by', 'seed']).stderr).toMatch(/--group-by must be one of auto, lr, label-noise/);
    expect(existsSync(path('never2'))).toBe(false);
  });
});

describe('help', () => {
  it('analyze --help and compare --help describe the inputs, the layer map and the files; main help lists both', () => {
    const a = cli(['analyze', '--help']);
    expect(a.code).toBe(0);
    for (const s of ['--layer-map', 'features.0', '--tau', '--vanish', '--figures', '--matrices', 'report.json', 'layers.csv', 'distances-<layer>.png', 'PAPER.md §6']) expect(a.stdout).toContain(s);
    const c = cli(['help', 'compare']);
    for (const s of ['RUN_DIR', '--group-by', 'compare.json', 'ddof = 0']) expect(c.stdout).toContain(s);
    expect(cli(['--help']).stdout).toMatch(/analyze[\s\S]*compare/);
  });
});
