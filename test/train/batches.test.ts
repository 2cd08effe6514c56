// Training minibatches (src/train/data/batches.ts): seeded shuffles, drop_last, exact resume, dynamic label
// noise (PAPER.md §5.3) with statistical checks, crop-flip checked against an independent padded-image
// construction, and evaluation batches.
import { describe, expect, it } from 'vitest';
import { CollapseError } from '../../src/errors.js';
import { Batches, evalBatches, type BatchOptions, type BatchShape } from '../../src/train/data/batches.js';
import type { Split } from '../../src/train/data/dataset.js';

/** A split whose pixel (n, c, y, x) holds n·1000 + c·100 + y·10 + x, so any output pixel names its source; labels n mod classes. */
function indexSplit(count: number, shape: { channels: number; height: number; width: number; classes: number }): Split {
  const { channels: C, height: H, width: W } = shape;
  const images = new Float32Array(count * C * H * W);
  for (let n = 0; n < count; n++) {
    for (let c = 0; c < C; c++) for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) images[((n * C + c) * H + y) * W + x] = n * 1000 + c * 100 + y * 10 + x;
  }
  const labels = new Uint8Array(count);
  for (let n = 0; n < count; n++) labels[n] = n % shape.classes;
  return { count, images, labels };
}

/** Draws `batches` batches; returns each batch's images and labels (copied). */
function draw(b: Batches, size: number, batches: number): { images: Float32Array; labels: Uint32Array }[] {
  const out = [];
  const images = new Float32Array(b.batchSize * size), labels = new Uint32Array(b.batchSize);
  for (let i = 0; i < batches; i++) {
    b.next(images, labels);
    out.push({ images: images.slice(), labels: labels.slice() });
  }
  return out;
}

/** The chi-square statistic of observed counts against expected counts (cells with expected 0 must be empty). */
function chiSquare(observed: number[], expected: number[]): number {
  let chi = 0;
  observed.forEach((o, i) => {
    if (expected[i] === 0) expect(o).toBe(0);
    else chi += (o - expected[i]) ** 2 / expected[i];
  });
  return chi;
}

const scalar = { channels: 1, height: 1, width: 1, classes: 10 };

describe('Batches: epochs, shuffling, drop_last', () => {
  it('each epoch is a permutation; ⌊count/batch⌋ batches, the rest dropped; position advances', () => {
    const split = indexSplit(10, scalar);
    const b = new Batches(split, scalar, { batchSize: 3, seed: 1 });
    expect(b.batchesPerEpoch).toBe(3);
    expect(b.position).toEqual({ epoch: 0, index: 0 });
    const epochs: number[][] = [];
    for (let e = 0; e < 4; e++) {
      const seen = draw(b, 1, 3).flatMap((batch) => Array.from(batch.images, (v) => v / 1000));
      expect(new Set(seen).size).toBe(9);
      for (const v of seen) expect(Number.isInteger(v) && v >= 0 && v < 10).toBe(true);
      epochs.push(seen);
      expect(b.position).toEqual({ epoch: e + 1, index: 0 });
    }
    expect(new Set(epochs.map((e) => e.join())).size).toBe(4); // a new order every epoch
    const full = new Batches(indexSplit(12, scalar), scalar, { batchSize: 4, seed: 1 });
    expect(draw(full, 1, 3).flatMap((x) => Array.from(x.images, (v) => v / 1000)).sort((p, q) => p - q)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  });

  it('labels follow their images', () => {
    const split = indexSplit(50, scalar);
    for (const batch of draw(new Batches(split, scalar, { batchSize: 7, seed: 9 }), 1, 20)) {
      batch.labels.forEach((l, i) => expect(l).toBe((batch.images[i] / 1000) % 10));
    }
  });

  it('the order depends only on the seed: same seed same stream, another seed another', () => {
    const split = indexSplit(40, scalar);
    const run = (seed: number) => draw(new Batches(split, scalar, { batchSize: 8, seed }), 1, 15).map((x) => Array.from(x.images).join()).join('|');
    expect(run(5)).toBe(run(5));
    expect(run(5)).not.toBe(run(6));
  });

  it('Fisher–Yates is uniform: all 24 orders of 4 items equally likely over 4800 epochs (chi-square, df 23)', () => {
    const split = indexSplit(4, scalar);
    const b = new Batches(split, scalar, { batchSize: 4, seed: 2024 });
    const counts = new Map<string, number>();
    for (let e = 0; e < 4800; e++) {
      const key = Array.from(draw(b, 1, 1)[0].images).join();
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    expect(counts.size).toBe(24);
    expect(chiSquare([...counts.values()], Array(24).fill(200))).toBeLessThan(49.73); // p = 0.001
  });
});

describe('Batches: exact resume', () => {
  const shape = { channels: 3, height: 8, width: 8, classes: 5, normalization: { mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 0.125] } };
  const options: BatchOptions = { batchSize: 8, seed: 6174, labelNoise: 0.4, augment: 'crop-flip', cropPadding: 2 };

  it('seek(position) then next() gives the batches of an uninterrupted run (noise and augmentation included)', () => {
    const split = indexSplit(50, shape);
    const size = 3 * 64;
    const whole = new Batches(split, shape, options);
    expect(whole.batchesPerEpoch).toBe(6);
    const reference = draw(whole, size, 20);
    expect(whole.position).toEqual({ epoch: 3, index: 2 });

    const resumed = new Batches(split, shape, options);
    resumed.seek({ epoch: 1, index: 2 }); // batch 8 of the run
    const rest = draw(resumed, size, 12);
    rest.forEach((batch, i) => {
      expect(batch.images).toEqual(reference[8 + i].images);
      expect(batch.labels).toEqual(reference[8 + i].labels);
    });
    // Backwards on the same object, into an epoch whose permutation it has already replaced.
    resumed.seek({ epoch: 0, index: 5 });
    expect(draw(resumed, size, 1)[0].labels).toEqual(reference[5].labels);
    expect(resumed.position).toEqual({ epoch: 1, index: 0 });
  });

  it('rejects positions outside the stream', () => {
    const b = new Batches(indexSplit(50, shape), shape, options);
    expect(() => b.seek({ epoch: 0, index: 6 })).toThrow(/position.index/);
    expect(() => b.seek({ epoch: -1, index: 0 })).toThrow(/position.epoch/);
    expect(() => b.seek({ epoch: 0.5, index: 0 })).toThrow(CollapseError);
    // The epoch is one Philox counter word: the stream ends after epoch 2^32 − 1 rather than repeating.
    b.seek({ epoch: 2 ** 32 - 1, index: 5 });
    draw(b, 3 * 64, 1);
    expect(b.position).toEqual({ epoch: 2 ** 32, index: 0 });
    expect(() => draw(b, 3 * 64, 1)).toThrow(/epoch/);
  });
});

describe('Batches: dynamic label noise (PAPER.md §5.3)', () => {
  const classes = 10;
  const shape = { ...scalar, classes };

  /** 200 000 draws at probability p: per draw, the true label (from the image) and the label given. */
  function noisy(p: number, count = 1000, batches = 200) {
    const split = indexSplit(count, shape);
    const b = new Batches(split, shape, { batchSize: 100, seed: 31337, labelNoise: p });
    const truth: number[] = [], given: number[] = [], example: number[] = [];
    for (const batch of draw(b, 1, batches)) {
      batch.labels.forEach((l, i) => {
        truth.push((batch.images[i] / 1000) % classes);
        given.push(l);
        example.push(batch.images[i] / 1000);
      });
    }
    return { truth, given, example };
  }

  it('flips with probability p (within 4 standard errors), never to the true class, uniformly over the other C − 1', () => {
    const p = 0.3;
    const { truth, given } = noisy(p);
    const N = truth.length;
    let flips = 0;
    const table = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
    const perTrue = new Array<number>(classes).fill(0);
    for (let i = 0; i < N; i++) {
      if (given[i] !== truth[i]) {
        flips++;
        table[truth[i]][given[i]]++;
        perTrue[truth[i]]++;
      }
      expect(given[i]).toBeLessThan(classes);
    }
    expect(Math.abs(flips / N - p)).toBeLessThan(4 * Math.sqrt((p * (1 - p)) / N));
    // Replacement class given the true class: uniform over the 9 others (diagonal empty), 90 cells, df 80.
    const observed = table.flat();
    const expected = table.flatMap((row, t) => row.map((_, g) => (g === t ? 0 : perTrue[t] / (classes - 1))));
    expect(chiSquare(observed, expected)).toBeLessThan(124.84); // p = 0.001
  });

  it('is resampled at every access: an example flipped in one epoch is flipped in the next with probability p, not 1', () => {
    const p = 0.3;
    const { truth, given, example } = noisy(p, 1000, 20); // epochs 0 and 1, 1000 draws each
    const flipped = [new Set<number>(), new Set<number>()];
    for (let i = 0; i < truth.length; i++) if (given[i] !== truth[i]) flipped[Math.floor(i / 1000)].add(example[i]);
    const both = [...flipped[0]].filter((e) => flipped[1].has(e)).length;
    // Expected p²·1000 = 90 (sd ≈ 9); a fixed corruption would give ≈ 300.
    expect(both).toBeGreaterThan(50);
    expect(both).toBeLessThan(130);
  });

  it('p = 0 leaves every label alone; with 2 classes a flip is always to the other one', () => {
    const { truth, given } = noisy(0, 1000, 30);
    expect(given).toEqual(truth);
    const two = { ...scalar, classes: 2 };
    const b = new Batches(indexSplit(100, two), two, { batchSize: 50, seed: 4, labelNoise: 0.5 });
    let flips = 0;
    for (const batch of draw(b, 1, 40)) batch.labels.forEach((l, i) => { const t = (batch.images[i] / 1000) % 2; if (l !== t) { flips++; expect(l).toBe(1 - t); } });
    expect(Math.abs(flips / 2000 - 0.5)).toBeLessThan(4 * Math.sqrt(0.25 / 2000));
  });

  it('rejects p outside [0, 1) and noise with a single class', () => {
    const split = indexSplit(10, shape);
    expect(() => new Batches(split, shape, { batchSize: 2, seed: 1, labelNoise: 1 })).toThrow(/labelNoise/);
    expect(() => new Batches(split, shape, { batchSize: 2, seed: 1, labelNoise: -0.1 })).toThrow(/labelNoise/);
    expect(() => new Batches(split, shape, { batchSize: 2, seed: 1, labelNoise: Number.NaN })).toThrow(/labelNoise/);
    const one = { ...scalar, classes: 1 };
    const zeros = { count: 10, images: new Float32Array(10), labels: new Uint8Array(10) };
    expect(() => new Batches(zeros, one, { batchSize: 2, seed: 1, labelNoise: 0.1 })).toThrow(/only one class/);
  });
});

/**
 * torchvision's RandomCrop(size, padding=pad) then RandomHorizontalFlip, built the long way: pad the image
 * with `fill`, cut the window at (dy, dx), mirror it.
 */
function cropFlipReference(src: Float32Array, shape: BatchShape, fill: number[], pad: number, dy: number, dx: number, flip: boolean): Float32Array {
  const { channels: C, height: H, width: W } = shape;
  const PH = H + 2 * pad, PW = W + 2 * pad;
  const padded = new Float32Array(C * PH * PW);
  for (let c = 0; c < C; c++) {
    padded.fill(fill[c], c * PH * PW, (c + 1) * PH * PW);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) padded[(c * PH + y + pad) * PW + x + pad] = src[(c * H + y) * W + x];
  }
  const out = new Float32Array(C * H * W);
  for (let c = 0; c < C; c++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const cropped = (xx: number) => padded[(c * PH + y + dy) * PW + xx + dx];
        out[(c * H + y) * W + x] = cropped(flip ? W - 1 - x : x);
      }
    }
  }
  return out;
}

describe('Batches: crop-flip augmentation', () => {
  const normalization = { mean: [0.1, 0.2, 0.3], std: [0.5, 0.25, 0.125] };
  const fill = [-0.2, -0.8, -2.4].map(Math.fround);

  /** For each output image, the (dy, dx, flip) whose reference crop matches it exactly; fails if none does. */
  function decode(shape: BatchShape, pad: number, count: number, batchSize: number, batches: number, seed = 11) {
    const split = indexSplit(count, shape);
    const size = shape.channels * shape.height * shape.width;
    const b = new Batches(split, shape, { batchSize, seed, augment: 'crop-flip', cropPadding: pad });
    const found: number[] = [];
    let blank = 0;
    for (const batch of draw(b, size, batches)) {
      for (let i = 0; i < batchSize; i++) {
        const out = batch.images.subarray(i * size, (i + 1) * size);
        // The source example: any pixel that is not padding names it. A padding of at least the image size
        // can cut a window of padding only.
        const inside = Array.from(out).find((v) => v >= 0);
        if (inside === undefined) {
          for (let c = 0; c < shape.channels; c++) for (let k = 0; k < size / shape.channels; k++) expect(out[c * (size / shape.channels) + k]).toBe(fill[c]);
          blank++;
          continue;
        }
        const n = Math.floor(inside / 1000);
        expect(batch.labels[i]).toBe(n % shape.classes);
        const src = split.images.subarray(n * size, (n + 1) * size);
        let match = -1;
        for (let dy = 0; dy <= 2 * pad && match < 0; dy++) {
          for (let dx = 0; dx <= 2 * pad && match < 0; dx++) {
            for (const flip of [false, true]) {
              const ref = cropFlipReference(src, shape, fill, pad, dy, dx, flip);
              if (ref.every((v, k) => v === out[k])) { match = (dy * (2 * pad + 1) + dx) * 2 + Number(flip); break; }
            }
          }
        }
        expect(match).toBeGreaterThanOrEqual(0);
        found.push(match);
      }
    }
    return Object.assign(found, { blank });
  }

  it('every output is one crop of the image padded with raw black (−mean/std), maybe mirrored; all 50 choices uniform', () => {
    const shape = { channels: 3, height: 6, width: 5, classes: 7, normalization };
    const found = decode(shape, 2, 40, 20, 150); // 3000 draws over 5 × 5 offsets × 2 flips
    const counts = new Array<number>(50).fill(0);
    for (const m of found) counts[m]++;
    expect(chiSquare(counts, new Array(50).fill(found.length / 50))).toBeLessThan(85.35); // df 49, p = 0.001
  });

  it('a padding as large as the image: some windows are all padding, the rest still exact crops', () => {
    const shape = { channels: 3, height: 3, width: 4, classes: 7, normalization };
    const found = decode(shape, 4, 12, 6, 60);
    expect(found.blank).toBeGreaterThan(0);
    expect(found.length).toBeGreaterThan(100);
  });

  it('CIFAR size with the default padding 4', () => {
    const shape = { channels: 3, height: 32, width: 32, classes: 10, normalization };
    const found = decode(shape, 4, 16, 8, 4);
    expect(new Set(found).size).toBeGreaterThan(20); // 32 draws, 162 choices: nearly all distinct
  });

  it('pads with 0 when the shape carries no normalisation; augment none copies the images', () => {
    const shape = { channels: 1, height: 2, width: 2, classes: 2 };
    const b = new Batches(indexSplit(4, shape), shape, { batchSize: 4, seed: 1, augment: 'crop-flip', cropPadding: 2 });
    const images = draw(b, 4, 50).flatMap((x) => Array.from(x.images));
    expect(images.includes(0) && images.every((v) => v >= 0)).toBe(true);
    const plain = new Batches(indexSplit(4, shape), shape, { batchSize: 2, seed: 1 });
    for (const batch of draw(plain, 4, 6)) {
      for (let i = 0; i < 2; i++) {
        const n = batch.images[i * 4] / 1000;
        expect(Array.from(batch.images.subarray(i * 4, i * 4 + 4))).toEqual([0, 1, 10, 11].map((v) => n * 1000 + v));
      }
    }
  });

  it('augmentation does not change the shuffle or the label noise', () => {
    const shape = { channels: 3, height: 6, width: 5, classes: 7, normalization };
    const split = indexSplit(30, shape);
    const base = { batchSize: 6, seed: 8, labelNoise: 0.5 };
    const a = draw(new Batches(split, shape, { ...base, augment: 'none' }), 90, 12);
    const c = draw(new Batches(split, shape, { ...base, augment: 'crop-flip' }), 90, 12);
    a.forEach((batch, i) => expect(batch.labels).toEqual(c[i].labels));
  });
});

describe('Batches: arguments', () => {
  it('checks the split, the batch size, and the arrays it fills', () => {
    const split = indexSplit(10, scalar);
    expect(() => new Batches(split, scalar, { batchSize: 11, seed: 1 })).toThrow(/batchSize/);
    expect(() => new Batches(split, scalar, { batchSize: 0, seed: 1 })).toThrow(/batchSize/);
    expect(() => new Batches(split, scalar, { batchSize: 2, seed: 2 ** 32 })).toThrow(/seed/);
    expect(() => new Batches(split, scalar, { batchSize: 2, seed: 1, augment: 'mixup' as 'none' })).toThrow(/augment/);
    expect(() => new Batches(split, { ...scalar, channels: 2 }, { batchSize: 2, seed: 1 })).toThrow(/split.images/);
    expect(() => new Batches({ ...split, labels: new Uint8Array(9) }, scalar, { batchSize: 2, seed: 1 })).toThrow(/split.labels/);
    expect(() => new Batches(split, { ...scalar, classes: 5 }, { batchSize: 2, seed: 1 })).toThrow(/split.labels\[5\]/);
    expect(() => new Batches({ count: 0, images: new Float32Array(0), labels: new Uint8Array(0) }, scalar, { batchSize: 1, seed: 1 })).toThrow(/empty split/);
    expect(() => new Batches(split, { ...scalar, normalization: { mean: [0, 0], std: [1, 1] } }, { batchSize: 2, seed: 1 })).toThrow(/normalization/);
    const b = new Batches(split, scalar, { batchSize: 2, seed: 1 });
    expect(() => b.next(new Float32Array(3), new Uint32Array(2))).toThrow(/images/);
    expect(() => b.next(new Float32Array(2), new Uint32Array(3))).toThrow(/labels/);
    expect(() => b.next(new Float32Array(2), new Int32Array(2) as unknown as Uint32Array)).toThrow(/labels/);
    expect(b.position).toEqual({ epoch: 0, index: 0 }); // a rejected call does not advance
  });
});

describe('evalBatches', () => {
  it('walks the split in order in fixed-size batches, the last partial one zero-padded, full ones zero-copy', () => {
    const shape = { channels: 1, height: 1, width: 2, classes: 10 };
    const split = indexSplit(10, shape);
    const seen = [...evalBatches(split, 4)].map(({ images, labels, count }) => ({
      images: Array.from(images), labels: Array.from(labels), count, view: images.buffer === split.images.buffer,
    }));
    expect(seen).toEqual([
      { images: [0, 1, 1000, 1001, 2000, 2001, 3000, 3001], labels: [0, 1, 2, 3], count: 4, view: true },
      { images: [4000, 4001, 5000, 5001, 6000, 6001, 7000, 7001], labels: [4, 5, 6, 7], count: 4, view: true },
      { images: [8000, 8001, 9000, 9001, 0, 0, 0, 0], labels: [8, 9, 0, 0], count: 2, view: false },
    ]);
    expect([...evalBatches(split, 10)].map((b) => b.count)).toEqual([10]);
    expect([...evalBatches(split, 64)].map((b) => [b.count, b.images.length])).toEqual([[10, 128]]);
    expect([...evalBatches({ count: 0, images: new Float32Array(0), labels: new Uint8Array(0) }, 4)]).toEqual([]);
    expect(() => [...evalBatches(split, 0)]).toThrow(/batchSize/);
  });
});
