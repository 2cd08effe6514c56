import type { TopLevelSpec } from 'vega-lite';
import { builtinModels } from '../sde/models/index.js';
import type { CollapseResult } from '../sde/types.js';
import { fmt, renderFigure, type Figure, type RenderOptions } from './render.js';

/** Distinct, colour-blind-friendly-ish series colours (Tableau 10), in record order. */
export const SERIES_COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

export interface CollapseFigureOptions extends RenderOptions {
  /** x-axis title (default: the model's noise label when the sweep is over its noise parameter, else the parameter name). */
  readonly xTitle?: string;
  /** Draw the closed-form threshold rule (default: when the result has one and the sweep is over the noise parameter). */
  readonly threshold?: boolean;
  /** Draw the closed-form probabilities as thin dashed curves when the model has them (default true). */
  readonly theory?: boolean;
  readonly width?: number;
  readonly height?: number;
  /** Dotted vertical lines with an optional label (e.g. the noise levels of other panels). */
  readonly markers?: readonly { readonly x: number; readonly label?: string }[];
  /** Replaces the title. */
  readonly title?: string;
}

/** "step 10000 (t = 25)" */
export function stepLabel(step: number, dt: number): string {
  return `step ${step} (t = ${fmt(step * dt, 4)})`;
}

/** "mu = 1.5, zeta swept": the fixed parameters of a result, for titles. */
export function paramsText(result: Pick<CollapseResult, 'params' | 'sweep'>): string {
  return Object.entries(result.params).filter(([k]) => k !== result.sweep).map(([k, v]) => `${k} = ${fmt(v)}`).join(', ');
}

/**
 * The vega-lite spec of the collapse-probability figure (Fig. 1, right panel): probability against noise,
 * one curve per recorded step with its 95 % Wilson band, the predicted threshold as a labelled vertical rule.
 * @example
 * const spec = collapseSpec(await engine.collapse({ model: 'quartic', noise: [1, 2, 3], paths: 100, steps: 1000, dt: 0.0025, epsilon: 1e-30 }));
 */
export function collapseSpec(result: CollapseResult, options: CollapseFigureOptions = {}): TopLevelSpec {
  const model = Object.hasOwn(builtinModels, result.model) ? builtinModels[result.model] : undefined;
  const overNoise = model !== undefined && model.noiseParam === result.sweep;
  const xTitle = options.xTitle ?? (overNoise ? model.noiseLabel : result.sweep);
  const labels = result.record.map((s) => stepLabel(s, result.dt));
  const rows: Record<string, number | string | null>[] = [];
  let hasTheory = false;
  result.noise.forEach((x, k) => {
    result.record.forEach((step, r) => {
      // The finite-time theory is valid on both sides of the threshold (src/sde/theory.ts): drawn everywhere.
      const t = result.theory.points[k]?.probability?.[r];
      const theory = typeof t === 'number' && Number.isFinite(t) ? t : null;
      if (theory !== null) hasTheory = true;
      rows.push({ noise: x, step, series: labels[r], probability: result.probability[k][r], lower: result.lower[k][r], upper: result.upper[k][r], theory });
    });
  });
  const showTheory = (options.theory ?? true) && hasTheory;
  const threshold = result.theory.threshold;
  const showThreshold = (options.threshold ?? overNoise) && typeof threshold === 'number' && Number.isFinite(threshold);
  const color = {
    field: 'series', type: 'nominal', title: 'recorded step',
    scale: { domain: labels, range: labels.map((_, i) => SERIES_COLORS[i % SERIES_COLORS.length]) },
    legend: { orient: 'right', symbolType: 'stroke', symbolOpacity: 1, symbolStrokeWidth: 3, labelLimit: 260 },
  };
  const x = { field: 'noise', type: 'quantitative', title: xTitle, scale: { zero: false, nice: false }, axis: { tickCount: 10, labelFlush: false } };
  const yTitle = `collapse probability P(${result.distance} < ε = ${fmt(result.epsilon)})`;
  const layers: unknown[] = [
    { mark: { type: 'area', opacity: 0.18 }, encoding: { x, y: { field: 'lower', type: 'quantitative' }, y2: { field: 'upper' }, color } },
    { mark: { type: 'line', strokeWidth: 2, point: result.noise.length <= 40 ? { size: 20 } : false }, encoding: { x, y: { field: 'probability', type: 'quantitative', title: yTitle, scale: { domain: [0, 1] } }, color } },
  ];
  if (showTheory) {
    layers.push({
      transform: [{ filter: 'isValid(datum.theory)' }],
      mark: { type: 'line', strokeWidth: 1.2, strokeDash: [4, 3], opacity: 0.9 },
      encoding: { x, y: { field: 'theory', type: 'quantitative' }, color },
    });
  }
  if (showThreshold) {
    const label = `${result.theory.thresholdLabel ?? 'threshold'} ≈ ${fmt(threshold, 4)}`;
    layers.push({
      data: { values: [{ x: threshold, label }] },
      layer: [
        { mark: { type: 'rule', color: 'black', strokeWidth: 1.5, strokeDash: [6, 4] }, encoding: { x: { field: 'x', type: 'quantitative' } } },
        { mark: { type: 'text', align: 'right', baseline: 'top', dx: -6, dy: 6, fontSize: 13 }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { value: 0 }, text: { field: 'label' } } },
      ],
    });
  }
  if (options.markers && options.markers.length > 0) {
    layers.push({
      data: { values: options.markers.map((m) => ({ x: m.x, label: m.label ?? '' })) },
      layer: [
        { mark: { type: 'rule', color: '#555', strokeWidth: 1, strokeDash: [2, 3] }, encoding: { x: { field: 'x', type: 'quantitative' } } },
        { mark: { type: 'text', align: 'left', baseline: 'bottom', dx: 3, dy: -4, fontSize: 11, color: '#555' }, encoding: { x: { field: 'x', type: 'quantitative' }, y: { value: options.height ?? 370 }, text: { field: 'label' } } },
      ],
    });
  }
  const subtitle = [
    `${result.paths} paths per point, dt = ${fmt(result.dt)}, seed ${result.seed}; bands: 95 % Wilson interval` + (showTheory ? '; dashed: finite-time theory' : ''),
  ];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: options.title ?? `Collapse probability: ${result.model}${paramsText(result) ? ` (${paramsText(result)})` : ''}`, subtitle },
    width: options.width ?? 580,
    height: options.height ?? 370,
    data: { values: rows },
    layer: layers,
  } as TopLevelSpec;
}

/** {@link collapseSpec} rendered: `{ svg, png }`. */
export async function collapseFigure(result: CollapseResult, options: CollapseFigureOptions = {}): Promise<Figure> {
  return renderFigure(collapseSpec(result, options), options);
}
