import { createRequire } from 'node:module';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { FontMetrics } from './font-metrics.js';
import { compile, type TopLevelSpec } from 'vega-lite';

/** The one font every figure uses: shipped by the `dejavu-fonts-ttf` npm package, so no system font is needed. */
export const FONT_FAMILY = 'DejaVu Sans';

/** Path of a DejaVu Sans file inside the `dejavu-fonts-ttf` package (regular, or bold for titles). */
export function dejavuFontFile(bold = false): string {
  return createRequire(import.meta.url).resolve(`dejavu-fonts-ttf/ttf/DejaVuSans${bold ? '-Bold' : ''}.ttf`);
}

let metrics: { regular: FontMetrics; bold: FontMetrics } | undefined;

interface TextItem { text?: unknown; fontSize?: number; fontWeight?: string | number }

/**
 * Makes vega measure text with DejaVu Sans' real advance widths (process-wide: vega keeps one text-metrics
 * object), so bounds, legends and truncation match what resvg draws.
 */
export function useDejavuMetrics(): void {
  if (metrics) return;
  metrics = { regular: new FontMetrics(dejavuFontFile()), bold: new FontMetrics(dejavuFontFile(true)) };
  const m = metrics;
  const tm = (vega as unknown as { textMetrics: { width: (item: TextItem, text?: unknown) => number } }).textMetrics;
  tm.width = (item, text) => {
    const value = text ?? item.text;
    const size = item.fontSize != null ? +item.fontSize || 0 : 11;
    const w = item.fontWeight;
    const font = w === 'bold' || w === 'bolder' || (typeof w === 'number' && w >= 600) || (typeof w === 'string' && +w >= 600) ? m.bold : m.regular;
    const lines = Array.isArray(value) ? value : [value];
    return lines.reduce<number>((max, line) => Math.max(max, line == null ? 0 : font.width(String(line), size)), 0);
  };
}

/** Shared look: white background, DejaVu Sans, text ≥ 12 px, so every figure reads at a glance. */
export const BASE_CONFIG = {
  background: 'white',
  font: FONT_FAMILY,
  padding: 12,
  title: { fontSize: 16, subtitleFontSize: 13, anchor: 'start', offset: 10, subtitleColor: '#444' },
  axis: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: 'normal', gridColor: '#e6e6e6' },
  legend: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: 'normal', symbolStrokeWidth: 3 },
  header: { labelFontSize: 13, titleFontSize: 13 },
  text: { fontSize: 12 },
  view: { stroke: '#bbb' },
} as const;

export interface RenderOptions {
  /** PNG pixels per SVG pixel (default 1). */
  readonly scale?: number;
}

export interface Figure {
  /** The SVG document (vector; text in DejaVu Sans). */
  readonly svg: string;
  /** The same figure as a PNG (rasterized by resvg with the bundled font). */
  readonly png: Buffer;
  /** PNG size in pixels. */
  readonly width: number;
  readonly height: number;
}

/**
 * Renders a vega-lite spec to SVG (vega, headless) and PNG (resvg). The spec's `config` is merged over
 * {@link BASE_CONFIG}.
 * @example
 * const { svg, png } = await renderFigure({ data: { values: [{ x: 1, y: 2 }] }, mark: 'point',
 *   encoding: { x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' } } });
 */
export async function renderFigure(spec: TopLevelSpec, options: RenderOptions = {}): Promise<Figure> {
  const svg = await renderSvg(spec);
  const png = svgToPng(svg, options.scale ?? 1);
  return { svg, png: png.data, width: png.width, height: png.height };
}

/** vega-lite → vega → SVG string, without a browser or canvas. */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  const userConfig = (spec as { config?: Record<string, unknown> }).config ?? {};
  const merged = { ...spec, config: mergeDeep(BASE_CONFIG as unknown as Record<string, unknown>, userConfig) } as TopLevelSpec;
  const { spec: vgSpec } = compile(merged, { logger: quietLogger });
  useDejavuMetrics();
  const view = new vega.View(vega.parse(vgSpec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Rasterizes an SVG with resvg, using only the bundled DejaVu Sans (deterministic across machines). */
export function svgToPng(svg: string, scale = 1): { data: Buffer; width: number; height: number } {
  const resvg = new Resvg(svg, {
    fitTo: scale === 1 ? { mode: 'original' } : { mode: 'zoom', value: scale },
    font: { fontFiles: [dejavuFontFile(), dejavuFontFile(true)], loadSystemFonts: false, defaultFontFamily: FONT_FAMILY },
    background: 'white',
  });
  const image = resvg.render();
  return { data: image.asPng(), width: image.width, height: image.height };
}

/** vega-lite's warnings (e.g. merged legends) go nowhere: a CLI's stdout is for its own output. */
const quietLogger = {
  level(): never { return quietLogger as never; },
  error(...args: unknown[]) { throw new Error(args.map(String).join(' ')); },
  warn() { return quietLogger; },
  info() { return quietLogger; },
  debug() { return quietLogger; },
};

function mergeDeep(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] = isObject(prev) && isObject(value) ? mergeDeep(prev, value) : value;
  }
  return out;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** Compact number for labels: 1.732, 0.0025, 1e-30, 80000. */
export function fmt(x: number, digits = 4): string {
  if (!Number.isFinite(x)) return String(x);
  if (x === 0) return '0';
  const a = Math.abs(x);
  if (a >= 1e6 || a < 1e-3) return x.toExponential(Math.max(0, digits - 3)).replace(/\.?0+e/, 'e').replace('e+', 'e');
  return String(Number(x.toPrecision(digits)));
}
