/**
 * The timing core of every benchmark in the project (`collapse bench`, `npm run bench`): an untimed warm-up,
 * a calibration of how many calls make one sample long enough for the clock, then samples until a time budget
 * is spent (with a minimum and a maximum count). Rates come from the median sample; the spread is reported as
 * the relative median absolute deviation and the 95 % relative margin of error of the mean.
 */

export interface MeasureOptions {
  /** Seconds of samples to take after the minimum count is reached (default 1). */
  readonly budgetSeconds?: number;
  /** Samples at least (default 5). */
  readonly minSamples?: number;
  /** Samples at most (default 50). */
  readonly maxSamples?: number;
  /** A sample lasts at least this long: short calls are repeated `inner` times per sample (default 0.01 s). */
  readonly minSampleSeconds?: number;
  /** Most calls per sample (default 1000). */
  readonly maxInner?: number;
  /** Checked between samples: a long measurement stops early when it returns true. */
  readonly stop?: () => boolean;
}

/** Timings of one thing: seconds per call. */
export interface Timing {
  readonly medianSeconds: number;
  readonly minSeconds: number;
  readonly maxSeconds: number;
  readonly meanSeconds: number;
  /** Median absolute deviation / median. */
  readonly relativeMad: number;
  /** 95 % relative margin of error of the mean (Student t), as a fraction; NaN below 2 samples. */
  readonly rme: number;
  readonly samples: number;
  /** Calls per sample. */
  readonly inner: number;
  /** Every sample's seconds per call. */
  readonly sampleSeconds: number[];
}

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2;
}

const T95 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228];

/** Summary statistics of seconds-per-call samples. */
export function summarize(sampleSeconds: number[], inner = 1): Timing {
  const k = sampleSeconds.length;
  const med = median(sampleSeconds);
  const mean = sampleSeconds.reduce((a, b) => a + b, 0) / k;
  const sd = k > 1 ? Math.sqrt(sampleSeconds.reduce((a, b) => a + (b - mean) ** 2, 0) / (k - 1)) : NaN;
  const t = T95[k - 2] ?? 1.96;
  return {
    medianSeconds: med,
    minSeconds: Math.min(...sampleSeconds),
    maxSeconds: Math.max(...sampleSeconds),
    meanSeconds: mean,
    relativeMad: median(sampleSeconds.map((x) => Math.abs(x - med))) / med,
    rme: k > 1 ? (t * sd) / Math.sqrt(k) / mean : NaN,
    samples: k,
    inner,
    sampleSeconds,
  };
}

const now = () => performance.now() / 1000;

/**
 * Times `call(inner)`, which must perform `inner` calls of the thing measured and resolve when they are done
 * (for a device: queued, then one flush). Returns seconds per single call.
 * @example
 * const t = await measure(async (inner) => { for (let i = 0; i < inner; i++) work(); });
 */
export async function measure(call: (inner: number) => Promise<void> | void, options: MeasureOptions = {}): Promise<Timing> {
  const budget = options.budgetSeconds ?? 1;
  const minSamples = options.minSamples ?? 5;
  const maxSamples = Math.max(minSamples, options.maxSamples ?? 50);
  const minSample = options.minSampleSeconds ?? 0.01;
  await call(1); // warm-up: pipelines, thread pools, page faults
  let t0 = now();
  await call(1);
  const first = Math.max(now() - t0, 1e-7);
  const inner = Math.max(1, Math.min(options.maxInner ?? 1000, Math.ceil(minSample / first)));
  const samples: number[] = inner === 1 ? [first] : [];
  const started = now();
  while (samples.length < maxSamples && (samples.length < minSamples || now() - started < budget)) {
    if (options.stop?.()) break;
    t0 = now();
    await call(inner);
    samples.push((now() - t0) / inner);
  }
  return summarize(samples, inner);
}
