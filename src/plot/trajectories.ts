import type { TopLevelSpec } from 'vega-lite';
import { builtinModels } from '../sde/models/index.js';
import type { CollapseResult } from '../sde/types.js';
import { paramsText, SERIES_COLORS } from './collapse.js';
import { fmt, renderFigure, type Figure, type RenderOptions } from './render.js';

/** The side panel of one noise level: a normalized density over θ, or a sentence saying why there is none. */
export type SidePanel =
  | { readonly theta: readonly number[]; readonly density: readonly number[] }
  | { readonly note: readonly string[] };

export interface TrajectoriesFigureOptions extends RenderOptions {
  /** y range of every panel (default: [−2, 2] for quartic, else the data's range). */
  readonly yDomain?: readonly [number, number];
  /** y tick values and their labels (e.g. −√μ, 0, √μ). */
  readonly yTicks?: readonly { readonly value: number; readonly label: string }[];
  /** y-axis title (default θ for quartic, else "state component 1"). */
  readonly yTitle?: string;
  /** Which state component to draw (default 0). */
  readonly component?: number;
  readonly panelWidth?: number;
  readonly panelHeight?: number;
}

/**
 * Fig. 1, left panels: for each noise level the sampled trajectories against time, and beside them the
 * stationary density (or a note). `sides[k]` belongs to `result.noise[k]`; pass `[]` for no side panels.
 * @example
 * const r = await engine.collapse({ model: 'quartic', noise: [0.1, 1, 2.5], paths: 50, steps: 10000, dt: 0.0025,
 *   epsilon: 1e-30, trace: { paths: 50, every: 10 } });
 * const { png } = await trajectoriesFigure(r, []);
 */
export function trajectoriesSpec(result: CollapseResult, sides: readonly (SidePanel | null | undefined)[], options: TrajectoriesFigureOptions = {}): TopLevelSpec {
  if (!result.trace) throw new Error('trajectoriesSpec needs a result computed with `trace`');
  const { steps, values } = result.trace;
  const c = options.component ?? 0;
  const model = Object.hasOwn(builtinModels, result.model) ? builtinModels[result.model] : undefined;
  const isQuartic = result.model === 'quartic';
  let domain = options.yDomain;
  if (!domain && isQuartic) domain = [-2, 2];
  if (!domain) {
    let lo = Infinity;
    let hi = -Infinity;
    for (const grid of values) for (const path of grid) for (const s of path) if (Number.isFinite(s[c])) { lo = Math.min(lo, s[c]); hi = Math.max(hi, s[c]); }
    if (!(lo <= hi)) { lo = -1; hi = 1; }
    if (lo === hi) { lo -= 1; hi += 1; }
    domain = [lo, hi];
  }
  const yTitle = options.yTitle ?? (isQuartic ? 'θ' : `state component ${c + 1}`);
  const width = options.panelWidth ?? 560;
  const height = options.panelHeight ?? 150;
  const sideWidth = 150;
  const overNoise = model !== undefined && model.noiseParam === result.sweep;
  const noiseName = overNoise ? noiseSymbol(model.noiseLabel) : result.sweep;
  const yAxis: Record<string, unknown> = { title: yTitle, grid: true };
  if (options.yTicks) {
    yAxis.values = options.yTicks.map((t) => t.value);
    yAxis.labelExpr = options.yTicks.map((t) => `abs(datum.value - (${t.value})) < 1e-9 ? ${JSON.stringify(t.label)} : `).join('') + 'datum.label';
  }
  const y = { field: 'y', type: 'quantitative', title: yTitle, scale: { domain: [...domain], nice: false }, axis: yAxis };
  const rows = result.noise.map((noise, k) => {
    const color = SERIES_COLORS[k % SERIES_COLORS.length];
    const data: { t: number; y: number; path: number }[] = [];
    values[k]?.forEach((path, p) => path.forEach((s, i) => {
      if (Number.isFinite(s[c])) data.push({ t: steps[i] * result.dt, y: s[c], path: p });
    }));
    const last = k === result.noise.length - 1;
    const traj = {
      width, height,
      title: { text: `${noiseName} = ${fmt(noise)}`, fontSize: 14, anchor: 'start', offset: 4 },
      data: { values: data },
      mark: { type: 'line', strokeWidth: 0.7, opacity: 0.35, clip: true, color },
      encoding: {
        x: { field: 't', type: 'quantitative', title: last ? 'time t' : null, scale: { domain: [0, steps[steps.length - 1] * result.dt], nice: false } },
        y,
        detail: { field: 'path', type: 'nominal' },
      },
    };
    const side = sides[k];
    if (!side) return { hconcat: [traj] };
    let panel: unknown;
    if ('note' in side) {
      panel = {
        width: sideWidth, height,
        data: { values: [{ x: 0.5, y: (domain[0] + domain[1]) / 2 }] },
        mark: { type: 'text', text: [...side.note], fontSize: 12, color: '#444', lineHeight: 16 },
        encoding: {
          x: { field: 'x', type: 'quantitative', scale: { domain: [0, 1] }, axis: null },
          y: { field: 'y', type: 'quantitative', scale: { domain: [...domain], nice: false }, axis: null },
        },
      };
    } else {
      const pts = side.theta.map((t, i) => ({ y: t, p: side.density[i] })).filter((d) => d.y >= domain[0] && d.y <= domain[1] && Number.isFinite(d.p));
      const ySide = { ...y, axis: { title: null, labels: false, ticks: false, grid: true, values: yAxis.values } };
      panel = {
        width: sideWidth, height,
        data: { values: pts },
        layer: [
          { mark: { type: 'area', orient: 'horizontal', opacity: 0.25, color, clip: true }, encoding: { y: ySide, x: { field: 'p', type: 'quantitative', title: 'p(θ)', axis: { tickCount: 3, labelOverlap: true } } } },
          { mark: { type: 'line', orient: 'horizontal', strokeWidth: 1.5, color, clip: true }, encoding: { y: ySide, x: { field: 'p', type: 'quantitative' }, order: { field: 'y', type: 'quantitative' } } },
        ],
      };
    }
    return { hconcat: [traj, panel], spacing: 8 };
  });
  const nPaths = values[0]?.length ?? 0;
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: `Sampled trajectories: ${result.model}${paramsText(result) ? ` (${paramsText(result)})` : ''}`,
      subtitle: `${nPaths} paths per noise level, dt = ${fmt(result.dt)}, ${result.steps} steps, seed ${result.seed}` + (sides.some((s) => s && 'theta' in s) ? '; right: stationary density p(θ)' : ''),
    },
    vconcat: rows,
    spacing: 14,
    config: { concat: { spacing: 8 } },
  } as TopLevelSpec;
}

/** {@link trajectoriesSpec} rendered: `{ svg, png }`. */
export async function trajectoriesFigure(result: CollapseResult, sides: readonly (SidePanel | null | undefined)[], options: TrajectoriesFigureOptions = {}): Promise<Figure> {
  return renderFigure(trajectoriesSpec(result, sides, options), options);
}

/** "noise level ζ" → "ζ", "noise level α = ηζ²σ′(0)/2" → "α", "label noise σ" → "σ". */
export function noiseSymbol(label: string): string {
  return label.replace(/^(noise level|label noise)\s+/, '').split(' = ')[0];
}
