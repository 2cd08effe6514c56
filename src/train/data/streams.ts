/**
 * Philox stream words (the second key word, beside the user's seed) of the data pipeline. Each purpose
 * has its own stream so that, e.g., turning augmentation on never changes the shuffle or the label noise.
 * The values are arbitrary but fixed forever: changing one changes every seeded data stream.
 */
export const DATA_STREAMS = {
  /** Synthetic data: the class templates. */
  syntheticTemplates: 0xda7a_0001,
  /** Synthetic data: per-example noise of the training split. */
  syntheticTrain: 0xda7a_0002,
  /** Synthetic data: per-example noise of the test split. */
  syntheticTest: 0xda7a_0003,
  /** Batches: the Fisher–Yates draws of each epoch's permutation (counter word c2 = epoch). */
  shuffle: 0xda7a_0010,
  /** Batches: one Philox block per drawn example (label noise, crop, flip), block = slot in the epoch, c2 = epoch. */
  example: 0xda7a_0011,
} as const;
