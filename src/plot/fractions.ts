/**
 * The paper's Fig. 4: the fraction of independent neurons per layer, one line per setting (a learning rate, a
 * label-noise level...), mean ± standard deviation (ddof = 0) over replicates as error bars.
 */
import type { TopLevelSpec } from 'vega-lite';
import { SERIES_COLORS } from './collapse.js';
import { renderFigure, type Figure, type RenderOptions } from './render.js';

/** One setting: its label and, per replicate, the fraction of each layer (in `layers` order; null: not analysed). */
export interface FractionSeries {
  readonly label: string;
  readonly replicates: readonly (readonly (number | null)[])[];
}

export interface FractionFigureInput {
  /** Layer names, in network order (the x axis). */
  readonly layers: readonly string[];
  readonly series: readonly FractionSeries[];
  /** Legend title (e.g. "learning rate"). */
  readonly legendTitle?: string;
  readonly title?: string;
  readonly subtitle?: string | readonly string[];
  /** y-axis title (default "fraction of independent neurons"). */
  readonly yTitle?: string;
  /** y-axis range (default [0, 1]); the error bars are clipped to it. */
  readonly yDomain?: readonly [number, number];
}

/** Mean and population standard deviation (ddof = 0) of the finite values; n = how many. */
export function meanStd(values: readonly (number | null)[]): { mean: number; std: number; n: number } {
  const v = values.filter((x): x is number => x !== null && Number.isFinite(x));
  if (v.length === 0) return { mean: NaN, std: NaN, n: 0 };
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
  return { mean, std, n: v.length };
}

export function fractionSpec(input: FractionFigureInput, options: { width?: number; height?: number } = {}): TopLevelSpec {
  const rows = input.series.flatMap((s) => input.layers.map((layer, l) => {
    const { mean, std, n } = meanStd(s.replicates.map((r) => r[l] ?? null));
    const [lo, hi] = input.yDomain ?? [0, 1];
    return n === 0 ? undefined : { layer, series: s.label, mean, lower: Math.max(lo, mean - std), upper: Math.min(hi, mean + std), std, n };
  }).filter((r) => r !== undefined));
  const labels = input.series.map((s) => s.label);
  const color = {
    field: 'series', type: 'nominal', title: input.legendTitle ?? null,
    scale: { domain: labels, range: labels.map((_, i) => SERIES_COLORS[i % SERIES_COLORS.length]) },
    legend: { orient: 'right', symbolType: 'stroke', labelLimit: 260 },
  };
  // Rotate the layer names when the longest (≈ 7.5 px a character at 12 px) would not fit its band.
  const width = options.width ?? Math.max(420, 34 * input.layers.length);
  const longest = Math.max(0, ...input.layers.map((l) => l.length));
  const x = { field: 'layer', type: 'ordinal', title: 'layer', sort: [...input.layers], axis: { labelAngle: longest > 6 || 7.5 * longest > width / Math.max(1, input.layers.length) - 4 ? -40 : 0 } };
  const anyReplicates = rows.some((r) => r.n > 1);
  const subtitle = input.subtitle === undefined ? [] : typeof input.subtitle === 'string' ? [input.subtitle] : [...input.subtitle];
  if (anyReplicates) subtitle.push('mean ± standard deviation over replicates (ddof = 0)');
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: input.title ?? 'Fraction of independent neurons per layer', subtitle },
    width,
    height: options.height ?? 300,
    data: { values: rows },
    layer: [
      ...(anyReplicates ? [{ mark: { type: 'rule', strokeWidth: 1.5 }, encoding: { x, y: { field: 'lower', type: 'quantitative' }, y2: { field: 'upper' }, color } }] : []),
      {
        mark: { type: 'line', strokeWidth: 2, point: { size: 36, filled: true } },
        encoding: { x, y: { field: 'mean', type: 'quantitative', title: input.yTitle ?? 'fraction of independent neurons', scale: { domain: [...(input.yDomain ?? [0, 1])] } }, color },
      },
    ],
  } as unknown as TopLevelSpec;
}

/** {@link fractionSpec} rendered as SVG and PNG. */
export async function fractionFigure(input: FractionFigureInput, options: RenderOptions & { width?: number; height?: number } = {}): Promise<Figure> {
  return renderFigure(fractionSpec(input, options), options);
}
