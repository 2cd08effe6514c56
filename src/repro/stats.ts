/** Small statistics and formatting helpers of the reproductions (plain f64). */
import { fmt } from '../plot/render.js';
import type { Claim, Verdict } from './types.js';

/** Where `ys` first crosses `level` going up, by linear interpolation in x (undefined if it never does). */
export function crossing(xs: readonly number[], ys: readonly number[], level = 0.5): number | undefined {
  for (let k = 1; k < xs.length; k++) {
    const a = ys[k - 1], b = ys[k];
    if (Number.isFinite(a) && Number.isFinite(b) && a < level && b >= level) return xs[k - 1] + ((level - a) / (b - a)) * (xs[k] - xs[k - 1]);
  }
  if (ys.length > 0 && ys[0] >= level) return xs[0];
  return undefined;
}

/**
 * Standard error of a binomial proportion over n trials at the predicted p, floored at one path's worth
 * (so that p = 0 or 1 exactly still allows one stray path per ~√n of deviation).
 */
export function binomialSe(p: number, n: number): number {
  const q = Math.min(Math.max(p, 1 / n), 1 - 1 / n);
  return Math.sqrt((q * (1 - q)) / n);
}

export function mean(xs: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += xs[i];
  return xs.length > 0 ? s / xs.length : NaN;
}

/** Population standard deviation (ddof = 0, as the paper's plots). */
export function std(xs: ArrayLike<number>): number {
  const m = mean(xs);
  let s = 0;
  for (let i = 0; i < xs.length; i++) s += (xs[i] - m) ** 2;
  return xs.length > 0 ? Math.sqrt(s / xs.length) : NaN;
}

/** Standard error of the mean (sample standard deviation / √n). */
export function sem(xs: ArrayLike<number>): number {
  const n = xs.length;
  if (n < 2) return NaN;
  return std(xs) * Math.sqrt(n / (n - 1)) / Math.sqrt(n);
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Least-squares slope of y on x. */
export function slope(xs: readonly number[], ys: readonly number[]): number {
  const mx = mean(xs), my = mean(ys);
  let sxy = 0, sxx = 0;
  for (let i = 0; i < xs.length; i++) { sxy += (xs[i] - mx) * (ys[i] - my); sxx += (xs[i] - mx) ** 2; }
  return sxx > 0 ? sxy / sxx : NaN;
}

/** `a:b:n` as numpy.linspace (both ends included). */
export function linspace(a: number, b: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (n === 1 ? a : i === n - 1 ? b : a + ((b - a) * i) / (n - 1)));
}

/** A number for a report: 4 significant digits by default, '—' for undefined or non-finite. */
export function num(x: number | undefined | null, digits = 4): string {
  return typeof x === 'number' && Number.isFinite(x) ? fmt(x, digits) : '—';
}

/** A list of numbers: "2.354, 2.054, 1.887". */
export function nums(xs: readonly (number | undefined)[], digits = 4): string {
  return xs.map((x) => num(x, digits)).join(', ');
}

/** A markdown table. Pipes inside cells are escaped. */
export function table(head: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cell = (v: string | number) => String(typeof v === 'number' ? (Number.isInteger(v) ? String(v) : num(v)) : v).replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [`| ${head.map(cell).join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)].join('\n');
}

/** A verdict from the fraction of sub-checks that pass: all → reproduced, ≥ `partly` → partly, else not. */
export function verdictOf(passed: number, total: number, partly = 0.75): Verdict {
  if (total === 0) return 'inconclusive';
  if (passed === total) return 'reproduced';
  return passed / total >= partly ? 'partly reproduced' : 'not reproduced';
}

/** A claim, with '—' where a column has nothing. */
export function claim(c: Omit<Claim, 'theory' | 'paper'> & { theory?: string; paper?: string }): Claim {
  return { ...c, theory: c.theory ?? '—', paper: c.paper ?? '—' };
}

/** CSV from rows of values (numbers written in full precision; undefined, null and NaN as empty). */
export function csv(head: readonly string[], rows: readonly (readonly (string | number | undefined | null)[])[]): string {
  const cell = (v: string | number | undefined | null) => (typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v == null ? '' : /[",\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return [head.join(','), ...rows.map((r) => r.map(cell).join(','))].join('\n') + '\n';
}
