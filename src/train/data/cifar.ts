import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { invalidArgument } from '../../errors.js';
import { dataError, normalisationTable, plainBytes, type Dataset, type Normalization, type Split } from './dataset.js';

/**
 * CIFAR-10 / CIFAR-100 from the official binary version (the `*-binary.tar.gz` archives, unpacked by the
 * user; nothing here downloads). Each file is a run of fixed-size records: the label byte(s), then 3072
 * pixel bytes, 1024 red, 1024 green, 1024 blue, each plane row-major 32×32 (so a record is already CHW).
 * - CIFAR-10: data_batch_1.bin … data_batch_5.bin (train), test_batch.bin; 1 label byte per record.
 * - CIFAR-100: train.bin, test.bin; 2 label bytes per record (coarse, then fine: the fine label is used).
 */

/** PAPER.md §5.3 (the usual per-channel statistics of the training set). */
export const CIFAR10_NORMALIZATION: Normalization = { mean: [0.4914, 0.4822, 0.4465], std: [0.247, 0.243, 0.261] };
export const CIFAR100_NORMALIZATION: Normalization = { mean: [0.5071, 0.4867, 0.4408], std: [0.2675, 0.2565, 0.2761] };

const PIXELS = 3 * 32 * 32;
const PLANE = 32 * 32;

interface Layout {
  name: 'cifar10' | 'cifar100';
  train: string[];
  test: string[];
  labelBytes: number;
  /** The folder the official archive unpacks to. */
  subdir: string;
  normalization: Normalization;
}

const LAYOUTS: Record<10 | 100, Layout> = {
  10: {
    name: 'cifar10', labelBytes: 1, subdir: 'cifar-10-batches-bin', normalization: CIFAR10_NORMALIZATION,
    train: [1, 2, 3, 4, 5].map((i) => `data_batch_${i}.bin`), test: ['test_batch.bin'],
  },
  100: {
    name: 'cifar100', labelBytes: 2, subdir: 'cifar-100-binary', normalization: CIFAR100_NORMALIZATION,
    train: ['train.bin'], test: ['test.bin'],
  },
};

const isDir = (path: string) => existsSync(path) && statSync(path).isDirectory();

/** `dir` itself when it holds every file, else the archive's own subfolder inside it when that does. */
function resolveDir(dir: string, layout: Layout): string {
  if (!isDir(dir)) throw invalidArgument(`${layout.name} folder`, dir, `an existing folder with ${[...layout.train, ...layout.test].join(', ')}`);
  const files = [...layout.train, ...layout.test];
  const inner = join(dir, layout.subdir);
  if (!files.every((f) => existsSync(join(dir, f))) && isDir(inner) && files.every((f) => existsSync(join(inner, f)))) return inner;
  const missing = files.find((f) => !existsSync(join(dir, f)));
  if (missing !== undefined) {
    throw dataError(`${join(dir, missing)} is missing: a ${layout.name} folder (or its ${layout.subdir}/ subfolder) holds ${files.join(', ')}`,
      { dir, missing, expected: files });
  }
  return dir;
}

/** Reads the record files of one split, checks sizes and labels, and normalises them into one Split. */
async function loadSplit(dir: string, names: string[], layout: Layout, classes: number): Promise<Split> {
  const record = layout.labelBytes + PIXELS;
  const files = await Promise.all(names.map(async (name) => {
    const file = join(dir, name);
    const bytes = plainBytes(await readFile(file));
    if (bytes.length === 0 || bytes.length % record !== 0) {
      throw dataError(`${file}: ${bytes.length} bytes is not a positive whole number of ${record}-byte records `
        + `(${layout.labelBytes} label byte${layout.labelBytes > 1 ? 's' : ''} + ${PIXELS} pixels)`, { file });
    }
    const fine = layout.labelBytes - 1;
    for (let at = 0; at < bytes.length; at += record) {
      if (layout.labelBytes === 2 && bytes[at] >= 20) {
        throw dataError(`${file}: coarse label ${bytes[at]} at byte offset ${at} (record ${at / record}) is not a superclass 0…19`, { file, offset: at });
      }
      if (bytes[at + fine] >= classes) {
        throw dataError(`${file}: label ${bytes[at + fine]} at byte offset ${at + fine} (record ${at / record}) is not a class 0…${classes - 1}`,
          { file, offset: at + fine });
      }
    }
    return bytes;
  }));
  const count = files.reduce((sum, b) => sum + b.length / record, 0);
  const images = new Float32Array(count * PIXELS);
  const labels = new Uint8Array(count);
  const tables = layout.normalization.mean.map((m, c) => normalisationTable(m, layout.normalization.std[c]));
  let n = 0;
  for (const bytes of files) {
    for (let at = 0; at < bytes.length; at += record, n++) {
      labels[n] = bytes[at + layout.labelBytes - 1];
      for (let c = 0; c < 3; c++) {
        const table = tables[c];
        const src = at + layout.labelBytes + c * PLANE;
        const dst = n * PIXELS + c * PLANE;
        for (let i = 0; i < PLANE; i++) images[dst + i] = table[bytes[src + i]];
      }
    }
  }
  return { count, images, labels };
}

/**
 * CIFAR-10 (`classes` 10) or CIFAR-100 (100, fine labels) from the binary files in `dir` (or in the
 * archive's `cifar-10-batches-bin/` / `cifar-100-binary/` folder inside it): 3×32×32 images scaled to
 * [0, 1], normalised per channel with PAPER.md §5.3's mean and std. Errors name the file, and for a bad
 * label its byte offset.
 *
 * @example
 * const cifar = await loadCifar('data', 10); // data/cifar-10-batches-bin/data_batch_1.bin …
 * cifar.train.count; // 50000
 */
export async function loadCifar(dir: string, classes: 10 | 100): Promise<Dataset> {
  if (classes !== 10 && classes !== 100) throw invalidArgument('CIFAR classes', classes, '10 or 100');
  if (typeof dir !== 'string' || dir === '') throw invalidArgument('CIFAR folder', dir, 'a folder path');
  const layout = LAYOUTS[classes];
  const root = resolveDir(dir, layout);
  const [train, test] = await Promise.all([loadSplit(root, layout.train, layout, classes), loadSplit(root, layout.test, layout, classes)]);
  return { name: layout.name, channels: 3, height: 32, width: 32, classes, normalization: layout.normalization, train, test };
}
