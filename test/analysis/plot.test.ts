import { Resvg } from '@resvg/resvg-js';
import { describe, expect, it } from 'vitest';
import { distanceSpec, matrixImage } from '../../src/plot/distances.js';
import { fractionSpec, meanStd } from '../../src/plot/fractions.js';
import { encodePng } from '../../src/plot/png.js';

/** RGBA of the pixel (x, y) of an SVG rasterized by resvg. */
function pixelsOf(svg: string): (x: number, y: number) => number[] {
  const image = new Resvg(svg, { fitTo: { mode: 'original' } }).render();
  return (x, y) => Array.from(image.pixels.subarray((y * image.width + x) * 4, (y * image.width + x) * 4 + 4));
}
const embed = (url: string, w: number, h: number) =>
  `<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="${w}" height="${h}"><image xlink:href="${url}" width="${w}" height="${h}" preserveAspectRatio="none" style="image-rendering: pixelated"/></svg>`;

describe('the heat-map raster', () => {
  it('encodePng writes a PNG resvg decodes to the same pixels', () => {
    // Quadrants red, green / blue, white at 1:1 (resvg smooths scaled images; the figures pre-scale theirs).
    const quadrant = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 255]];
    const rgb = Uint8Array.from({ length: 20 * 20 * 3 }, (_, i) => quadrant[(Math.floor(i / 3 / 20) >= 10 ? 2 : 0) + ((i / 3) % 20 >= 10 ? 1 : 0)][i % 3]);
    const png = encodePng(20, 20, rgb);
    const px = pixelsOf(embed(`data:image/png;base64,${png.toString('base64')}`, 20, 20));
    expect(px(5, 5)).toEqual([255, 0, 0, 255]);
    expect(px(15, 5)).toEqual([0, 255, 0, 255]);
    expect(px(5, 15)).toEqual([0, 0, 255, 255]);
    expect(px(15, 15)).toEqual([255, 255, 255, 255]);
    expect(() => encodePng(2, 2, new Uint8Array(5))).toThrow(/5 bytes for 2×2 RGB pixels/);
  });

  it('matrixImage: rows and columns in the given order, viridis over [0, 2.5], clipped above, NaN grey', () => {
    // d[0][1] = 2.5, d[1][0] = 4 (clipped), d[0][0] = 0, d[1][1] = NaN; order [1, 0] swaps both axes.
    const url = matrixImage(Float32Array.of(0, 2.5, 4, NaN), 2, [1, 0], 10);
    const px = pixelsOf(embed(url, 20, 20));
    const viridis0 = [68, 1, 84, 255], viridis1 = [253, 231, 37, 255];
    expect(px(5, 5)).toEqual([128, 128, 128, 255]); // (1, 1): NaN
    expect(px(15, 5)).toEqual(viridis1); // (1, 0): 4, clipped to the top colour
    expect(px(5, 15)).toEqual(viridis1); // (0, 1): 2.5
    expect(px(15, 15)).toEqual(viridis0); // (0, 0): 0
  });

  it('distanceSpec refuses matrices and orders of the wrong size', () => {
    expect(() => distanceSpec({ layer: 'x', neurons: 3, incoming: new Float32Array(9), outgoing: new Float32Array(8), order: [0, 1, 2], clusterSizes: [3] }))
      .toThrow(/3 neurons need 3×3 matrices/);
  });
});

describe('the fraction figure', () => {
  it('mean ± population std (ddof 0) over replicates, clipped to [0, 1]; a missing layer is left out', () => {
    expect(meanStd([0.5, 0.7])).toEqual({ mean: 0.6, std: expect.closeTo(0.1, 12) as unknown as number, n: 2 });
    expect(meanStd([null, NaN]).n).toBe(0);
    const spec = fractionSpec({ layers: ['a', 'b'], series: [{ label: 'lr 0.1', replicates: [[0.95, null], [1, 0.2]] }] }) as unknown as { data: { values: Record<string, unknown>[] } };
    expect(spec.data.values).toEqual([
      { layer: 'a', series: 'lr 0.1', mean: 0.975, lower: expect.closeTo(0.95, 12), upper: 1, std: expect.closeTo(0.025, 12), n: 2 },
      { layer: 'b', series: 'lr 0.1', mean: 0.2, lower: 0.2, upper: 0.2, std: 0, n: 1 },
    ]);
  });
});
