// Figures: vega-lite → SVG → PNG with the bundled DejaVu Sans; the stationary density drawn beside trajectories.
import { beforeAll, describe, expect, it } from 'vitest';
import { quarticSidePanel } from '../src/cli/trajectories.js';
import { createEngine } from '../src/engine.js';
import { collapseFigure, dejavuFontFile, FontMetrics, renderFigure, trajectoriesFigure } from '../src/plot/index.js';
import { quarticStationaryDensity } from '../src/sde/models/quartic.js';
import type { CollapseResult } from '../src/sde/types.js';

/** PNG width and height from the IHDR chunk (bytes 16..23, big-endian), after checking the signature. */
function pngSize(png: Buffer): { width: number; height: number } {
  expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  expect(png.subarray(12, 16).toString('latin1')).toBe('IHDR');
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

function svgSize(svg: string): { width: number; height: number } {
  const m = /^<svg[^>]* width="(\d+(?:\.\d+)?)" height="(\d+(?:\.\d+)?)"/.exec(svg);
  expect(m).not.toBeNull();
  return { width: Number(m![1]), height: Number(m![2]) };
}

let sweep: CollapseResult;
let traced: CollapseResult;

beforeAll(async () => {
  const engine = await createEngine({ backend: 'js' });
  try {
    sweep = await engine.collapse({ model: 'quartic', params: { mu: 1.5 }, noise: [0.5, 1.5, 2.5, 3.5], paths: 32, steps: 1000,
      dt: 0.0025, record: [250, 1000], epsilon: 1e-30, seed: 2 });
    traced = await engine.collapse({ model: 'quartic', params: { mu: 1.5 }, noise: [0.1, 1, 2.5], paths: 4, steps: 1000,
      dt: 0.0025, record: [1000], epsilon: 1e-30, seed: 1, trace: { paths: 4, every: 10 } });
  } finally {
    engine.close();
  }
});

describe('collapseFigure', () => {
  it('has the axis titles, the legend per recorded step and the threshold label; the PNG is the SVG size', async () => {
    const { svg, png, width, height } = await collapseFigure(sweep);
    expect(svg).toContain('noise level ζ');
    expect(svg).toContain('collapse probability P(θ² &lt; ε = 1e-30)');
    expect(svg).toContain('ζ = √(2μ) ≈ 1.732');
    expect(svg).toContain('step 250 (t = 0.625)');
    expect(svg).toContain('step 1000 (t = 2.5)');
    expect(svg).toContain('Collapse probability: quartic (mu = 1.5)');
    const s = svgSize(svg);
    expect(pngSize(png)).toEqual({ width: s.width, height: s.height });
    expect({ width, height }).toEqual(s);
    // About 800 × 500: measured text keeps the layout tight (vega's 0.8 em guess made it ~1050 wide).
    expect(s.width).toBeGreaterThan(650);
    expect(s.width).toBeLessThan(900);
    expect(s.height).toBeGreaterThan(380);
    expect(s.height).toBeLessThan(560);
  });

  it('renders at a larger scale and leaves the threshold out when asked', async () => {
    const one = await collapseFigure(sweep, { threshold: false });
    expect(one.svg).not.toContain('√(2μ)');
    const two = await collapseFigure(sweep, { threshold: false, scale: 2 });
    expect(pngSize(two.png)).toEqual({ width: 2 * svgSize(one.svg).width, height: 2 * svgSize(one.svg).height });
  });
});

describe('renderFigure', () => {
  it('draws text with the bundled font: a PNG with a title differs from one without', async () => {
    const base = { width: 200, height: 100, data: { values: [{ x: 1, y: 1 }, { x: 2, y: 3 }] }, mark: 'line' as const,
      encoding: { x: { field: 'x', type: 'quantitative' as const }, y: { field: 'y', type: 'quantitative' as const } } };
    const a = await renderFigure(base);
    const b = await renderFigure({ ...base, title: 'Hello θ' });
    expect(b.svg).toContain('Hello θ');
    expect(pngSize(b.png).height).toBeGreaterThan(pngSize(a.png).height);
  });

  it('measures DejaVu Sans advances from the TTF', () => {
    const f = new FontMetrics(dejavuFontFile());
    expect(f.advance('A'.codePointAt(0)!)).toBeCloseTo(1401 / 2048, 6);
    expect(f.advance(' '.codePointAt(0)!)).toBeCloseTo(651 / 2048, 6);
    expect(f.width('mmm', 10)).toBeGreaterThan(f.width('iii', 10) * 2);
    expect(f.advance('ζ'.codePointAt(0)!)).toBeGreaterThan(0.3);
  });
});

describe('trajectoriesFigure', () => {
  it('draws one panel per noise level with the density beside it, or a note', async () => {
    const sides = traced.noise.map((z) => quarticSidePanel(1.5, z));
    const { svg, png } = await trajectoriesFigure(traced, sides, { yTicks: [{ value: -Math.sqrt(1.5), label: '−√μ' }, { value: 0, label: '0' }, { value: Math.sqrt(1.5), label: '√μ' }] });
    for (const text of ['ζ = 0.1', 'ζ = 1', 'ζ = 2.5', 'time t', 'p(θ)', 'no stationary', '√μ', '−√μ', 'Sampled trajectories: quartic']) expect(svg).toContain(text);
    const s = svgSize(svg);
    expect(pngSize(png)).toEqual(s);
  });
});

describe('stationary density of the quartic model', () => {
  it('peaks at θ² = μ − ζ² with value 1, is even, and vanishes at 0 when ζ² < μ', () => {
    expect(quarticStationaryDensity(1.5, 1, Math.sqrt(0.5))).toBeCloseTo(1, 12);
    expect(quarticStationaryDensity(1.5, 1, 0.7)).toBeLessThan(1);
    expect(quarticStationaryDensity(1.5, 1, -0.9)).toBe(quarticStationaryDensity(1.5, 1, 0.9));
    expect(quarticStationaryDensity(1.5, 1, 0)).toBe(0);
    expect(quarticStationaryDensity(1.5, 0.05, Math.sqrt(1.5 - 0.0025))).toBeCloseTo(1, 9); // no underflow at small ζ
  });

  it('normalized on the grid, has E[θ²] = μ − ζ²/2 (the Gamma law of PAPER.md §2.2)', () => {
    for (const zeta of [0.3, 0.5]) { // small enough that the grid's cut at |θ| = 2 loses < 10⁻³
      const side = quarticSidePanel(1.5, zeta);
      if (!('theta' in side)) throw new Error('expected a density');
      const h = side.theta[1] - side.theta[0];
      const mass = side.density.reduce((s, p) => s + p * h, 0);
      const second = side.density.reduce((s, p, i) => s + p * side.theta[i] ** 2 * h, 0);
      expect(mass).toBeCloseTo(1, 9);
      expect(second).toBeCloseTo(1.5 - zeta ** 2 / 2, 2);
    }
    expect(quarticSidePanel(1.5, 2.5)).toEqual({ note: expect.arrayContaining([expect.stringContaining('collapses')]) });
    expect('note' in quarticSidePanel(1.5, Math.sqrt(3))).toBe(true);
  });
});
