import { readFileSync } from 'node:fs';

/**
 * Advance widths read from a TrueType file (tables head, hhea, hmtx, cmap), so that vega lays text out with
 * the widths of the font resvg draws it with. Without a canvas vega would guess 0.8 em per character,
 * which leaves wide margins and cuts legends. Kerning is ignored (a pixel or two on a label).
 */
export class FontMetrics {
  readonly #unitsPerEm: number;
  readonly #advances: Uint16Array;
  readonly #glyphOf: (codePoint: number) => number;
  readonly #cache = new Map<number, number>();

  constructor(file: string) {
    const b = readFileSync(file);
    const tables = new Map<string, number>();
    const numTables = b.readUInt16BE(4);
    for (let i = 0; i < numTables; i++) {
      const at = 12 + 16 * i;
      tables.set(b.toString('latin1', at, at + 4), b.readUInt32BE(at + 8));
    }
    const need = (tag: string) => {
      const at = tables.get(tag);
      if (at === undefined) throw new Error(`${file}: no '${tag}' table`);
      return at;
    };
    this.#unitsPerEm = b.readUInt16BE(need('head') + 18);
    const nMetrics = b.readUInt16BE(need('hhea') + 34);
    const hmtx = need('hmtx');
    this.#advances = new Uint16Array(nMetrics);
    for (let g = 0; g < nMetrics; g++) this.#advances[g] = b.readUInt16BE(hmtx + 4 * g);
    this.#glyphOf = cmapLookup(b, need('cmap'));
  }

  /** Advance of one code point in em. */
  advance(codePoint: number): number {
    let w = this.#cache.get(codePoint);
    if (w === undefined) {
      const g = this.#glyphOf(codePoint);
      w = this.#advances[Math.min(g, this.#advances.length - 1)] / this.#unitsPerEm;
      this.#cache.set(codePoint, w);
    }
    return w;
  }

  /** Width of `text` at `fontSize` pixels. */
  width(text: string, fontSize: number): number {
    let em = 0;
    for (const ch of text) em += this.advance(ch.codePointAt(0)!);
    return em * fontSize;
  }
}

function cmapLookup(b: Buffer, cmap: number): (cp: number) => number {
  const n = b.readUInt16BE(cmap + 2);
  let format4: number | undefined;
  let format12: number | undefined;
  for (let i = 0; i < n; i++) {
    const rec = cmap + 4 + 8 * i;
    const platform = b.readUInt16BE(rec);
    const encoding = b.readUInt16BE(rec + 2);
    const sub = cmap + b.readUInt32BE(rec + 4);
    const format = b.readUInt16BE(sub);
    const unicode = platform === 0 || (platform === 3 && (encoding === 1 || encoding === 10));
    if (!unicode) continue;
    if (format === 12) format12 ??= sub;
    if (format === 4) format4 ??= sub;
  }
  if (format12 !== undefined) {
    const sub = format12;
    const groups = b.readUInt32BE(sub + 12);
    return (cp) => {
      let lo = 0;
      let hi = groups - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        const at = sub + 16 + 12 * mid;
        const start = b.readUInt32BE(at);
        const end = b.readUInt32BE(at + 4);
        if (cp < start) hi = mid - 1;
        else if (cp > end) lo = mid + 1;
        else return b.readUInt32BE(at + 8) + (cp - start);
      }
      return 0;
    };
  }
  if (format4 !== undefined) {
    const sub = format4;
    const segX2 = b.readUInt16BE(sub + 6);
    const ends = sub + 14;
    const starts = ends + segX2 + 2;
    const deltas = starts + segX2;
    const ranges = deltas + segX2;
    return (cp) => {
      if (cp > 0xffff) return 0;
      for (let s = 0; s < segX2; s += 2) {
        if (cp > b.readUInt16BE(ends + s)) continue;
        const start = b.readUInt16BE(starts + s);
        if (cp < start) return 0;
        const delta = b.readUInt16BE(deltas + s);
        const range = b.readUInt16BE(ranges + s);
        if (range === 0) return (cp + delta) & 0xffff;
        const g = b.readUInt16BE(ranges + s + range + 2 * (cp - start));
        return g === 0 ? 0 : (g + delta) & 0xffff;
      }
      return 0;
    };
  }
  return () => 0;
}
