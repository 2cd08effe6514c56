/** 1.23e9 → "1.2 G", 850e6 → "850 M", 12000 → "12 k". */
export function human(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  const units: [number, string][] = [[1e12, 'T'], [1e9, 'G'], [1e6, 'M'], [1e3, 'k']];
  for (const [scale, unit] of units) {
    if (Math.abs(x) >= scale) {
      const v = x / scale;
      return `${v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1).replace(/\.0$/, '') : v.toFixed(2).replace(/\.?0+$/, '')} ${unit}`;
    }
  }
  return x >= 100 ? x.toFixed(0) : String(Number(x.toPrecision(3)));
}

/** Seconds → "0.42 s", "12.3 s", "4m05s", "2h03m". */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  if (seconds < 10) return `${seconds.toFixed(2)} s`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

export interface ProgressState {
  /** Units of work done and in all ("12/100 grid points", "300/600 steps"). */
  readonly done: number;
  readonly total: number;
  readonly unit: string;
  /** Fraction of all the work done, in [0, 1]. */
  readonly fraction: number;
  /** Throughput in `rateUnit` per second in this process (0 while unknown). */
  readonly rate: number;
  readonly rateUnit: string;
  /** Seconds left (NaN while unknown). */
  readonly etaSeconds: number;
  /** Appended after the rate (e.g. "loss 0.231 acc 94.1%"). */
  readonly note?: string;
}

/** One line: `[#####-----]  12/100 grid points  12%  ETA 1m03s  1.2 G path-steps/s`. */
export function progressLine(p: ProgressState, width = 24): string {
  const frac = Math.max(0, Math.min(1, p.fraction));
  const filled = Math.round(frac * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${p.done}/${p.total} ${p.unit}  ${(100 * frac).toFixed(0).padStart(3)}%` +
    `  ETA ${Number.isFinite(p.etaSeconds) ? duration(p.etaSeconds) : '?'}` + (p.rate > 0 ? `  ${human(p.rate)} ${p.rateUnit}/s` : '') + (p.note ? `  ${p.note}` : '');
}

/** A progress bar on a TTY stream, redrawn at most 10 times a second; a no-op when disabled. */
export class ProgressBar {
  readonly #stream: NodeJS.WriteStream;
  readonly #enabled: boolean;
  #last = 0;
  #shown = false;

  constructor(stream: NodeJS.WriteStream, enabled: boolean) {
    this.#stream = stream;
    this.#enabled = enabled;
  }

  update(p: ProgressState, force = false): void {
    if (!this.#enabled) return;
    const now = performance.now();
    if (!force && now - this.#last < 100) return;
    this.#last = now;
    const cols = this.#stream.columns || 100;
    this.#stream.write(`\r${progressLine(p).slice(0, cols - 1)}\x1b[K`);
    this.#shown = true;
  }

  /** Erases the bar so the next line starts clean. */
  clear(): void {
    if (this.#enabled && this.#shown) this.#stream.write('\r\x1b[K');
    this.#shown = false;
  }
}
