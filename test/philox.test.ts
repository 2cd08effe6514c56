import { describe, expect, it } from 'vitest';
import { boxMuller, fillDraws, philox4x32, uniformFromU32 } from '../src/rng/philox.js';

const hex = (a: ArrayLike<number>) => Array.from(a, (v) => v.toString(16).padStart(8, '0'));

describe('Philox4x32-10 reference (src/rng/philox.ts)', () => {
  it('matches the Random123 known-answer vectors', () => {
    const out = new Uint32Array(4);
    philox4x32(0, 0, 0, 0, 0, 0, out);
    expect(hex(out)).toEqual(['6627e8d5', 'e169c58d', 'bc57ac4c', '9b00dbd8']);
    philox4x32(0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, out);
    expect(hex(out)).toEqual(['408f276d', '41c83b0e', 'a20bc7c6', '6d5451fd']);
    philox4x32(0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0, out);
    expect(hex(out)).toEqual(['d16cfe09', '94fdcceb', '5001e420', '24126ea1']);
  });

  it('maps u32 to uniforms strictly inside (0, 1), exactly representable in f32', () => {
    for (const u of [0, 1, 511, 512, 0x7fffffff, 0xfffffe00, 0xffffffff]) {
      const v = uniformFromU32(u);
      expect(v).toBeGreaterThan(0);
      expect(v).toBeLessThan(1);
      expect(Math.fround(v)).toBe(v);
    }
    expect(uniformFromU32(0)).toBe(2 ** -24);
    expect(uniformFromU32(0xffffffff)).toBe(1 - 2 ** -24);
  });

  it('Box–Muller gives r cos t, r sin t', () => {
    const out = [0, 0];
    boxMuller(0x80000000, 0, out, 0); // ua = 0.5 + 2^-24, ub = 2^-24
    const r = Math.sqrt(-2 * Math.log(uniformFromU32(0x80000000)));
    expect(out[0]).toBeCloseTo(r * Math.cos(2 * Math.PI * 2 ** -24), 12);
    expect(out[1]).toBeCloseTo(r * Math.sin(2 * Math.PI * 2 ** -24), 12);
  });

  it('addresses draws: any chunking gives the same stream, including a carry into the high block word', () => {
    for (const kind of ['uint32', 'uniform', 'normal'] as const) {
      const make = (n: number) => (kind === 'uint32' ? new Uint32Array(n) : new Float32Array(n));
      const start = 4 * 0xffff_fffe + 1; // unaligned, blocks 2^32 − 2 … 2^32 + 1
      const whole = make(23);
      fillDraws(kind, whole, 7, 3, start);
      const pieces = make(23);
      for (const [a, b] of [[0, 1], [1, 6], [6, 7], [7, 19], [19, 23]]) {
        const part = make(b - a);
        fillDraws(kind, part, 7, 3, start + a);
        pieces.set(part, a);
      }
      expect(Array.from(pieces)).toEqual(Array.from(whole));
    }
    // block 2^32 is counter (0, 1, 0, 0), not (0, 0, 0, 0)
    const high = new Uint32Array(4);
    fillDraws('uint32', high, 5, 0, 4 * 2 ** 32);
    const direct = new Uint32Array(4);
    philox4x32(0, 1, 0, 0, 5, 0, direct);
    expect(Array.from(high)).toEqual(Array.from(direct));
  });

  it('different seeds, streams and counter words give different streams', () => {
    const a = new Uint32Array(8), b = new Uint32Array(8), c = new Uint32Array(8), d = new Uint32Array(8);
    fillDraws('uint32', a, 1, 0, 0);
    fillDraws('uint32', b, 2, 0, 0);
    fillDraws('uint32', c, 1, 1, 0);
    fillDraws('uint32', d, 1, 0, 0, 1, 0);
    expect(a).not.toEqual(b);
    expect(a).not.toEqual(c);
    expect(a).not.toEqual(d);
  });
});
