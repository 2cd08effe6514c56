import { fillDraws } from '../../rng/philox.js';
import { finiteNumber, integerIn, MAX_U32 } from '../../validate.js';
import { invalidArgument } from '../../errors.js';
import type { Dataset, Split } from './dataset.js';
import { DATA_STREAMS } from './streams.js';

export interface SyntheticOptions {
  classes: number;
  channels: number;
  height: number;
  width: number;
  trainCount: number;
  testCount: number;
  seed: number;
  /** Standard deviation of the per-pixel noise relative to the templates' (1); default 1. */
  noise?: number;
}

/** The most values one split may hold (a Float32Array of this many is 4 GiB). */
const MAX_VALUES = 2 ** 30;

/**
 * A seeded classification set that is identical on every machine: one standard-normal template per
 * class (Philox normals, stream `syntheticTemplates`), and example i of a split has label i mod classes
 * (balanced) and image (template[label] + noise·ξ) / √(1 + noise²), ξ standard normal from the split's own
 * stream, addressed by the example's index. Every pixel then has unit variance, like normalised data; the
 * classes are separable, and `noise` controls how hard they are to tell apart.
 *
 * @example
 * const ds = syntheticDataset({ classes: 10, channels: 3, height: 32, width: 32, trainCount: 2560, testCount: 512, seed: 1 });
 */
export function syntheticDataset(options: SyntheticOptions): Dataset {
  const classes = integerIn('synthetic classes', options.classes, 2, 256);
  const channels = integerIn('synthetic channels', options.channels, 1, 4096);
  const height = integerIn('synthetic height', options.height, 1, 4096);
  const width = integerIn('synthetic width', options.width, 1, 4096);
  const trainCount = integerIn('synthetic trainCount', options.trainCount, 1, MAX_U32);
  const testCount = integerIn('synthetic testCount', options.testCount, 0, MAX_U32);
  const seed = integerIn('synthetic seed', options.seed, 0, MAX_U32);
  const noise = finiteNumber('synthetic noise', options.noise ?? 1);
  if (noise < 0) throw invalidArgument('synthetic noise', noise, 'a finite number ≥ 0');
  const size = channels * height * width;
  for (const [name, count] of [['trainCount', trainCount], ['testCount', testCount]] as const) {
    if (count * size > MAX_VALUES) throw invalidArgument(`synthetic ${name}`, count, `at most ${Math.floor(MAX_VALUES / size)} examples of ${channels}×${height}×${width}`);
  }
  const templates = new Float32Array(classes * size);
  fillDraws('normal', templates, seed, DATA_STREAMS.syntheticTemplates, 0);
  const scale = 1 / Math.sqrt(1 + noise * noise);
  const split = (count: number, stream: number): Split => {
    const images = new Float32Array(count * size);
    const labels = new Uint8Array(count);
    fillDraws('normal', images, seed, stream, 0);
    for (let n = 0; n < count; n++) {
      const label = n % classes;
      labels[n] = label;
      const t = label * size, d = n * size;
      for (let i = 0; i < size; i++) images[d + i] = (templates[t + i] + noise * images[d + i]) * scale;
    }
    return { count, images, labels };
  };
  return {
    name: 'synthetic', channels, height, width, classes,
    train: split(trainCount, DATA_STREAMS.syntheticTrain), test: split(testCount, DATA_STREAMS.syntheticTest),
  };
}
