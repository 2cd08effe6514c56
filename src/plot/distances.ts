/**
 * The paper's Fig. 3 pair for one layer: the incoming and the outgoing distance matrices side by side, both in the
 * same neuron order (average-linkage clusters of the concatenated distances, largest first: PAPER.md §4.6),
 * colour scale [0, 2.5] with a colour bar, and a box around every cluster of two or more neurons.
 * The matrices are drawn as raster images (one pixel per pair, scaled up with nearest-neighbour pixels for small
 * layers) inside a vega-lite figure, so a 512-neuron layer stays a small file; axes, boxes and text are vectors.
 */
import type { TopLevelSpec } from 'vega-lite';
import * as vega from 'vega';
import { encodePng } from './png.js';
import { renderFigure, type Figure, type RenderOptions } from './render.js';

/** The paper's colour limits. */
export const DISTANCE_DOMAIN: readonly [number, number] = [0, 2.5];
const SCHEME = 'viridis';

export interface DistanceFigureInput {
  /** Layer name, for the title. */
  readonly layer: string;
  readonly neurons: number;
  /** neurons × neurons, in original neuron order. */
  readonly incoming: Float32Array;
  readonly outgoing: Float32Array;
  /** Display order (original indices) and the sizes of its clusters in that order. */
  readonly order: readonly number[];
  readonly clusterSizes: readonly number[];
  /** Extra title line (what was measured). */
  readonly subtitle?: string | readonly string[];
}

export interface DistanceFigureOptions extends RenderOptions {
  /** Side of each matrix panel in pixels (default 360). */
  readonly size?: number;
}

let lut: Uint8Array | undefined;

/** 256 RGB entries of vega's viridis, the scheme the colour bar shows. */
function colours(): Uint8Array {
  if (lut) return lut;
  const interpolate = (vega as unknown as { scheme: (name: string) => (t: number) => string }).scheme(SCHEME);
  lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const colour = interpolate(i / 255);
    const rgb = /rgb\((\d+),\s*(\d+),\s*(\d+)\)/.exec(colour);
    const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(colour);
    if (rgb) lut.set([Number(rgb[1]), Number(rgb[2]), Number(rgb[3])], i * 3);
    else if (hex) lut.set([parseInt(hex[1], 16), parseInt(hex[2], 16), parseInt(hex[3], 16)], i * 3);
    else throw new Error(`unexpected colour '${colour}' from vega's ${SCHEME} scheme`);
  }
  return lut;
}

/** The matrix permuted by `order`, coloured, scaled up by `scale` pixels per pair: a PNG data URL. */
export function matrixImage(d: Float32Array, n: number, order: readonly number[], scale: number): string {
  const c = colours();
  const [lo, hi] = DISTANCE_DOMAIN;
  const side = n * scale;
  const rgb = new Uint8Array(side * side * 3);
  for (let r = 0; r < n; r++) {
    const row = order[r] * n;
    for (let q = 0; q < n; q++) {
      const v = d[row + order[q]];
      // NaN is grey; values beyond the domain take its end colours (the paper's clipped scale).
      const k = Number.isNaN(v) ? -1 : Math.round(255 * Math.min(1, Math.max(0, (v - lo) / (hi - lo))));
      const px = k < 0 ? [128, 128, 128] : [c[k * 3], c[k * 3 + 1], c[k * 3 + 2]];
      for (let y = 0; y < scale; y++) {
        let at = ((r * scale + y) * side + q * scale) * 3;
        for (let x = 0; x < scale; x++, at += 3) rgb.set(px, at);
      }
    }
  }
  return `data:image/png;base64,${encodePng(side, side, rgb).toString('base64')}`;
}

/**
 * The vega-lite spec of the pair.
 * @example
 * const spec = distanceSpec({ layer: 'conv5', neurons: k, incoming, outgoing, order, clusterSizes });
 */
export function distanceSpec(input: DistanceFigureInput, options: DistanceFigureOptions = {}): TopLevelSpec {
  const n = input.neurons;
  if (input.order.length !== n || input.incoming.length !== n * n || input.outgoing.length !== n * n) {
    throw new Error(`distanceSpec: ${n} neurons need ${n}×${n} matrices and an order of ${n}`);
  }
  const size = options.size ?? 360;
  const scale = Math.max(1, Math.min(64, Math.ceil(size / Math.max(n, 1))));
  const boxes: { x: number; x2: number }[] = [];
  let at = 0;
  for (const s of input.clusterSizes) {
    if (s > 1) boxes.push({ x: at, x2: at + s });
    at += s;
  }
  const axis = (title: string) => ({ field: 'x', type: 'quantitative', title, scale: { domain: [0, n], nice: false, zero: true, padding: 0 }, axis: { tickCount: 6, grid: false, labelFlush: false } });
  const yAxis = { field: 'y', type: 'quantitative', title: 'neuron (cluster order)', scale: { domain: [0, n], nice: false, reverse: true, padding: 0 }, axis: { tickCount: 6, grid: false, labelFlush: false } };
  const panel = (title: string, url: string, legend: boolean) => ({
    width: size, height: size, title: { text: title, fontSize: 14, anchor: 'middle' },
    layer: [
      {
        data: { values: [{ x: 0, x2: n, y: 0, y2: n, url }] },
        mark: { type: 'image', aspect: false, smooth: false, aria: false },
        encoding: { x: axis('neuron (cluster order)'), x2: { field: 'x2' }, y: yAxis, y2: { field: 'y2' }, url: { field: 'url', type: 'nominal' } },
      },
      ...(boxes.length > 0 ? [{
        data: { values: boxes.map((b) => ({ x: b.x, x2: b.x2, y: b.x, y2: b.x2 })) },
        mark: { type: 'rect', fill: null, stroke: 'white', strokeWidth: 1, strokeOpacity: 0.9, aria: false },
        encoding: { x: { field: 'x', type: 'quantitative' }, x2: { field: 'x2' }, y: { field: 'y', type: 'quantitative' }, y2: { field: 'y2' } },
      }] : []),
      ...(legend ? [{
        // Invisible points carrying the colour scale: its gradient legend is the colour bar.
        data: { values: [{ x: 0, y: 0, d: DISTANCE_DOMAIN[0] }, { x: 0, y: 0, d: DISTANCE_DOMAIN[1] }] },
        mark: { type: 'point', opacity: 0, size: 0 },
        encoding: {
          x: { field: 'x', type: 'quantitative' }, y: { field: 'y', type: 'quantitative' },
          color: { field: 'd', type: 'quantitative', title: 'distance', scale: { scheme: SCHEME, domain: [...DISTANCE_DOMAIN], clamp: true }, legend: { gradientLength: size - 40, tickCount: 6, orient: 'right' } },
        },
      }] : []),
    ],
  });
  const subtitle = input.subtitle === undefined ? [] : typeof input.subtitle === 'string' ? [input.subtitle] : [...input.subtitle];
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: `Normalized distances between neurons: ${input.layer}`, subtitle },
    hconcat: [
      panel('incoming weights', matrixImage(input.incoming, n, input.order, scale), false),
      panel('outgoing weights', matrixImage(input.outgoing, n, input.order, scale), true),
    ],
    spacing: 28,
  } as unknown as TopLevelSpec;
}

/** {@link distanceSpec} rendered as SVG and PNG. */
export async function distanceFigure(input: DistanceFigureInput, options: DistanceFigureOptions = {}): Promise<Figure> {
  return renderFigure(distanceSpec(input, options), options);
}
