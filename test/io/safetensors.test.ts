// safetensors (src/io/safetensors.ts): round trips, byte layouts built by hand (the reference crate's own
// examples among them), every corruption, and interop with NumPy both ways.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CollapseError } from '../../src/errors.js';
import { decodeSafetensors, encodeSafetensors, SAFETENSORS_DTYPES, type NamedTensor } from '../../src/io/safetensors.js';

const TMP = mkdtempSync(join(tmpdir(), 'collapse-st-'));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

/** A file as the format defines it: u64 LE length of the (already padded) header text, the text, the data. */
function file(header: string, data: number[] | Uint8Array = []): Uint8Array {
  const json = Buffer.from(header, 'utf8');
  const out = Buffer.alloc(8 + json.length + data.length);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  out.set(data, 8 + json.length);
  return new Uint8Array(out.buffer, out.byteOffset, out.length);
}
const padTo8 = (json: string) => json + ' '.repeat((8 - (Buffer.byteLength(json) % 8)) % 8);
const f32le = (...values: number[]) => Array.from(new Uint8Array(new Float32Array(values).buffer));

function fails(bytes: Uint8Array, ...patterns: RegExp[]): CollapseError {
  let caught: unknown;
  try {
    decodeSafetensors(bytes, 'ckpt.safetensors');
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CollapseError);
  const error = caught as CollapseError;
  expect(error.code).toBe('INVALID_ARGUMENT');
  expect(error.message).toMatch(/^ckpt\.safetensors: /);
  for (const p of patterns) expect(error.message).toMatch(p);
  return error;
}

/** One tensor of every dtype, with values that exercise signs, extremes and byte order. */
function everyDType(): Record<string, NamedTensor> {
  return {
    f64: { dtype: 'F64', shape: [3], data: new Float64Array([Math.PI, -0, 1e300]) },
    f32: { dtype: 'F32', shape: [2, 3], data: new Float32Array([1.5, -2, 3.25, Number.POSITIVE_INFINITY, 5e-40, -7]) },
    i64: { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 53n + 1n]) },
    u64: { dtype: 'U64', shape: [1], data: new BigUint64Array([2n ** 64n - 1n]) },
    i32: { dtype: 'I32', shape: [2, 2], data: new Int32Array([-1, 2 ** 31 - 1, -(2 ** 31), 0]) },
    u32: { dtype: 'U32', shape: [2], data: new Uint32Array([0xdeadbeef, 1]) },
    i16: { dtype: 'I16', shape: [2], data: new Int16Array([-32768, 300]) },
    u16: { dtype: 'U16', shape: [1], data: new Uint16Array([65535]) },
    f16: { dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc000]) }, // 1.0, −2.0
    bf16: { dtype: 'BF16', shape: [2], data: new Uint16Array([0x3f80, 0x4049]) }, // 1.0, ≈ 3.14
    i8: { dtype: 'I8', shape: [3], data: new Int8Array([-128, 0, 127]) },
    u8: { dtype: 'U8', shape: [1, 1, 5], data: new Uint8Array([0, 1, 2, 254, 255]) },
    bool: { dtype: 'BOOL', shape: [2], data: new Uint8Array([1, 0]) },
    e5m2: { dtype: 'F8_E5M2', shape: [1], data: new Uint8Array([0x3c]) },
    e4m3: { dtype: 'F8_E4M3', shape: [1], data: new Uint8Array([0x38]) },
    scalar: { dtype: 'F32', shape: [], data: new Float32Array([42]) },
    empty: { dtype: 'F32', shape: [0, 4], data: new Float32Array(0) },
  };
}

describe('safetensors round trip', () => {
  it('every dtype, scalars, empty tensors and metadata come back equal, data 8-byte aligned in the file', () => {
    const tensors = everyDType();
    expect(Object.values(tensors).map((t) => t.dtype).sort()).toEqual([...SAFETENSORS_DTYPES, 'F32', 'F32'].sort());
    const bytes = encodeSafetensors(tensors, { step: '1000', note: 'ünïcödé ✓' });
    const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    expect(headerLength % 8).toBe(0);
    const { tensors: back, metadata } = decodeSafetensors(bytes);
    expect(metadata).toEqual({ step: '1000', note: 'ünïcödé ✓' });
    expect(Object.keys(back).sort()).toEqual(Object.keys(tensors).sort());
    for (const [name, t] of Object.entries(tensors)) {
      expect(back[name].dtype).toBe(t.dtype);
      expect(back[name].shape).toEqual(t.shape);
      expect(back[name].data.constructor).toBe(t.data.constructor);
      expect(back[name].data).toEqual(t.data);
    }
    expect(Object.is(back.f64.data[1], -0)).toBe(true);
  });

  it('names that JS objects treat specially survive: integer-like, "__proto__", unicode', () => {
    const t = (v: number): NamedTensor => ({ dtype: 'F32', shape: [1], data: new Float32Array([v]) });
    const tensors: Record<string, NamedTensor> = { b: t(1), 10: t(2), 2: t(3), ['__proto__']: t(4), 'é': t(5), 'z': t(6) };
    expect(Object.keys(tensors)).toContain('__proto__');
    const bytes = encodeSafetensors(tensors);
    const header = Buffer.from(bytes.subarray(8, 8 + Number(new DataView(bytes.buffer).getBigUint64(0, true)))).toString('utf8');
    // The data area follows UTF-8 byte order of the names, as the reference crate's: "10" < "2" < "__proto__" < "b" < "z" < "é".
    expect([...header.matchAll(/"([^"]+)":\{"dtype"/g)].map((m) => m[1])).toEqual(['10', '2', '__proto__', 'b', 'z', 'é']);
    const back = decodeSafetensors(bytes).tensors;
    expect(Object.getPrototypeOf(back)).toBe(Object.prototype);
    expect(Object.hasOwn(back, '__proto__')).toBe(true);
    expect(Array.from(back['__proto__'].data)).toEqual([4]);
    expect(Array.from(back['é'].data)).toEqual([5]);
  });

  it('decoded arrays are zero-copy views when aligned, aligned copies when not', () => {
    const bytes = encodeSafetensors({ w: { dtype: 'F64', shape: [2], data: new Float64Array([1, 2]) }, v: { dtype: 'F32', shape: [1], data: new Float32Array([3]) } });
    const aligned = decodeSafetensors(bytes).tensors;
    expect(aligned.w.data.buffer).toBe(bytes.buffer);
    expect(aligned.v.data.buffer).toBe(bytes.buffer);
    // The same file starting 1 byte into a buffer: every multi-byte array must be copied to be aligned.
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const moved = decodeSafetensors(shifted.subarray(1)).tensors;
    expect(moved.w.data.buffer).not.toBe(shifted.buffer);
    expect(moved.w.data.byteOffset % 8).toBe(0);
    expect(Array.from(moved.w.data)).toEqual([1, 2]);
    expect(Array.from(moved.v.data)).toEqual([3]);
  });
});

describe('safetensors bytes, built by hand', () => {
  it('matches the reference crate byte for byte: one F32 tensor, no padding needed (its test_serialization)', () => {
    const json = '{"attn.0":{"dtype":"F32","shape":[1,2,3],"data_offsets":[0,24]}}';
    expect(json.length).toBe(64);
    const expected = file(json, f32le(0, 1, 2, 3, 4, 5));
    const bytes = encodeSafetensors({ 'attn.0': { dtype: 'F32', shape: [1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) } });
    expect(Array.from(bytes)).toEqual(Array.from(expected));
    expect(Array.from(decodeSafetensors(expected).tensors['attn.0'].data)).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('pads the header with spaces to 8 bytes (its test_serialization_forced_alignement), empty files too (test_empty)', () => {
    const json = '{"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}';
    expect(json.length).toBe(65);
    const bytes = encodeSafetensors({ attn0: { dtype: 'F32', shape: [1, 1, 2, 3], data: new Float32Array([0, 1, 2, 3, 4, 5]) } });
    expect(Array.from(bytes)).toEqual(Array.from(file(`${json}       `, f32le(0, 1, 2, 3, 4, 5))));
    expect(Array.from(encodeSafetensors({}))).toEqual(Array.from(file('{}      ')));
    expect(Array.from(encodeSafetensors({}, { framework: 'pt' }))).toEqual(Array.from(file('{"__metadata__":{"framework":"pt"}}     ')));
    expect(decodeSafetensors(file('{}      '))).toEqual({ tensors: {}, metadata: {} });
  });

  it('orders the data by descending dtype alignment, then name, so every tensor is naturally aligned', () => {
    const bytes = encodeSafetensors({
      a_u8: { dtype: 'U8', shape: [3], data: new Uint8Array([1, 2, 3]) },
      b_f32: { dtype: 'F32', shape: [1], data: new Float32Array([1]) },
      a_f32: { dtype: 'F32', shape: [1], data: new Float32Array([2]) },
      z_f64: { dtype: 'F64', shape: [1], data: new Float64Array([3]) },
      m_i64: { dtype: 'I64', shape: [1], data: new BigInt64Array([4n]) },
      h_bf16: { dtype: 'BF16', shape: [1], data: new Uint16Array([5]) },
      h_f16: { dtype: 'F16', shape: [1], data: new Uint16Array([6]) },
    }, { b: '2', a: '1' });
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = Buffer.from(bytes.subarray(8, 8 + n)).toString('utf8').trimEnd();
    expect(header).toBe('{"__metadata__":{"a":"1","b":"2"},'
      + '"m_i64":{"dtype":"I64","shape":[1],"data_offsets":[0,8]},'
      + '"z_f64":{"dtype":"F64","shape":[1],"data_offsets":[8,16]},'
      + '"a_f32":{"dtype":"F32","shape":[1],"data_offsets":[16,20]},'
      + '"b_f32":{"dtype":"F32","shape":[1],"data_offsets":[20,24]},'
      + '"h_bf16":{"dtype":"BF16","shape":[1],"data_offsets":[24,26]},'
      + '"h_f16":{"dtype":"F16","shape":[1],"data_offsets":[26,28]},'
      + '"a_u8":{"dtype":"U8","shape":[3],"data_offsets":[28,31]}}');
    expect(bytes.length).toBe(8 + n + 31);
  });

  it('reads files whose tensors are listed in any order, with whitespace, and unicode metadata', () => {
    const header = padTo8('{ "b": {"shape": [1], "dtype": "F32", "data_offsets": [4, 8]},\n "a": {"data_offsets": [0, 4], "dtype": "I32", "shape": [1]},'
      + ' "__metadata__": {"who": "ça"} }');
    const { tensors, metadata } = decodeSafetensors(file(header, [...f32le(-1).map(() => 0xff), ...f32le(2.5)]));
    expect(Array.from(tensors.a.data)).toEqual([-1]);
    expect(Array.from(tensors.b.data)).toEqual([2.5]);
    expect(metadata).toEqual({ who: 'ça' });
  });
});

describe('safetensors corruption: a clear INVALID_ARGUMENT naming the file and the tensor', () => {
  const ok = '{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  const data = f32le(1, 2);

  it('lengths: too short, header past the end, header over 100 MB, data truncated, trailing bytes', () => {
    fails(new Uint8Array(5), /truncated/, /5 bytes/);
    const long = file(padTo8(ok), data);
    new DataView(long.buffer, long.byteOffset).setBigUint64(0, 1000n, true);
    fails(long, /header length 1000 runs past the end/);
    new DataView(long.buffer, long.byteOffset).setBigUint64(0, 2n ** 63n, true);
    fails(long, /over the 100000000-byte limit/);
    const whole = file(padTo8(ok), data);
    const e = fails(whole.subarray(0, whole.length - 1), /tensor "w"/, /run past the end of the data area \(7 bytes\)/, /truncated/);
    expect(e.details).toEqual({ file: 'ckpt.safetensors', tensor: 'w' });
    fails(file(padTo8(ok), [...data, 0, 0, 0]), /\[8, 11\) at the end belong to no tensor/);
  });

  it('header text: invalid UTF-8, bad JSON, not an object', () => {
    fails(file('{"\xff"}', []).map((b, i) => (i === 10 ? 0xff : b)), /not valid UTF-8/);
    fails(file(padTo8('{"w":{"dtype":"F32",'), data), /not valid JSON/);
    fails(file(padTo8('[1, 2]'), data), /must be a JSON object/);
    fails(file(padTo8('null'), data), /must be a JSON object/);
  });

  it('tensor entries: unknown dtype, bad shapes, bad offsets, size not matching shape × dtype, unknown fields', () => {
    const one = (entry: string, bytes: number[] = data) => file(padTo8(`{"w":${entry}}`), bytes);
    fails(one('{"dtype":"F33","shape":[2],"data_offsets":[0,8]}'), /tensor "w"/, /unknown dtype "F33"/);
    fails(one('{"dtype":"f32","shape":[2],"data_offsets":[0,8]}'), /unknown dtype "f32"/);
    fails(one('{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}'), /shape \[-2\]/);
    fails(one('{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}'), /shape/);
    fails(one('{"dtype":"F32","shape":"2","data_offsets":[0,8]}'), /shape/);
    fails(one('{"dtype":"F32","data_offsets":[0,8]}'), /shape undefined/);
    fails(one('{"dtype":"F32","shape":[2],"data_offsets":[8,0]}'), /data_offsets \[8,0\]/);
    fails(one('{"dtype":"F32","shape":[2],"data_offsets":[0,8,9]}'), /data_offsets/);
    fails(one('{"dtype":"F32","shape":[2],"data_offsets":[-1,7]}'), /data_offsets/);
    fails(one('{"dtype":"F32","shape":[2],"data_offsets":"0-8"}'), /data_offsets/);
    fails(one('{"dtype":"F32","shape":[3],"data_offsets":[0,8]}'), /hold 8 bytes but shape \[3\] of F32 needs 12/);
    fails(one('{"dtype":"F64","shape":[2],"data_offsets":[0,8]}'), /needs 16/);
    fails(one('{"dtype":"F32","shape":[2],"data_offsets":[0,8],"extra":1}'), /unknown field "extra"/);
    fails(one('[1]'), /tensor "w"/, /must be an object/);
    fails(one('{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,8]}'), /shape/);
  });

  it('coverage: overlapping tensors, a gap, data before the first tensor', () => {
    const two = (a: string, b: string, bytes = [...data, ...f32le(3)]) => file(padTo8(`{"a":${a},"b":${b}}`), bytes);
    fails(two('{"dtype":"F32","shape":[2],"data_offsets":[0,8]}', '{"dtype":"F32","shape":[1],"data_offsets":[4,8]}', data),
      /tensor "b"/, /overlap tensor "a"/);
    fails(two('{"dtype":"F32","shape":[1],"data_offsets":[0,4]}', '{"dtype":"F32","shape":[1],"data_offsets":[8,12]}'),
      /tensor "b"/, /\[4, 8\) before it belong to no tensor/);
    fails(two('{"dtype":"F32","shape":[1],"data_offsets":[4,8]}', '{"dtype":"F32","shape":[1],"data_offsets":[8,12]}'),
      /tensor "a"/, /\[0, 4\) before it/);
  });

  it('metadata: not an object, a non-string value', () => {
    const meta = (m: string) => file(padTo8(`{"__metadata__":${m},"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`), data);
    fails(meta('{"step":1000}'), /"__metadata__" entry "step" must be a string; got 1000/);
    fails(meta('{"a":"b","c":null}'), /"c" must be a string; got null/);
    fails(meta('["x"]'), /"__metadata__" must be an object/);
    fails(meta('"x"'), /"__metadata__" must be an object/);
  });

  it('encoding refuses what it cannot write faithfully', () => {
    const enc = (t: unknown, m?: unknown) => () => encodeSafetensors(t as Record<string, NamedTensor>, m as Record<string, string>);
    expect(enc({ w: { dtype: 'F32', shape: [2], data: new Float64Array(2) } })).toThrow(/tensor "w": data of a F32 tensor must be a Float32Array; got Float64Array/);
    expect(enc({ w: { dtype: 'F32', shape: [3], data: new Float32Array(2) } })).toThrow(/2 elements but shape \[3\] needs 3/);
    expect(enc({ w: { dtype: 'F17', shape: [2], data: new Float32Array(2) } })).toThrow(/dtype "F17"/);
    expect(enc({ w: { dtype: 'F32', shape: [-1], data: new Float32Array(2) } })).toThrow(/shape/);
    expect(enc({ __metadata__: { dtype: 'F32', shape: [1], data: new Float32Array(1) } })).toThrow(/reserved/);
    expect(enc({ w: null })).toThrow(/must be an object/);
    expect(enc({}, { step: 5 })).toThrow(/metadata "step" must be a string/);
    expect(enc({}, ['a'])).toThrow(/metadata must be an object/);
    expect(enc({ w: { dtype: 'F32', shape: [1], data: new Float32Array(1) } })).not.toThrow();
  });
});

// ---------------------------------------------------------------------------------------------------------
// Interop with NumPy (the only independent reader here: Debian has no Python safetensors)

const PYTHON = '/usr/bin/python3';
const hasNumpy = existsSync(PYTHON) && spawnSync(PYTHON, ['-c', 'import numpy'], { encoding: 'utf8' }).status === 0;

function python(script: string, ...args: string[]): string {
  const r = spawnSync(PYTHON, ['-c', script, ...args], { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`python failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

// Written without the `safetensors` package, from the format alone, so it checks our reading of the format.
const READ_WITH_NUMPY = `
import json, struct, sys
import numpy as np
raw = open(sys.argv[1], 'rb').read()
n = struct.unpack('<Q', raw[:8])[0]
assert n % 8 == 0, 'header not padded to 8'
header = json.loads(raw[8:8 + n].decode('utf-8'))
data = raw[8 + n:]
types = {'F64': '<f8', 'F32': '<f4', 'F16': '<f2', 'I64': '<i8', 'I32': '<i4', 'I16': '<i2', 'I8': 'i1', 'U8': 'u1', 'U32': '<u4', 'BF16': '<u2'}
out = {'__metadata__': header.pop('__metadata__', None), 'tensors': {}}
ends = []
for name, info in header.items():
    b, e = info['data_offsets']
    ends.append((b, e))
    a = np.frombuffer(data[b:e], dtype=types[info['dtype']]).reshape(info['shape'])
    if info['dtype'] == 'BF16':
        a = (a.astype('<u4') << 16).view('<f4')
    assert (8 + n + b) % a.dtype.itemsize == 0, 'misaligned ' + name
    out['tensors'][name] = {'dtype': info['dtype'], 'shape': list(a.shape), 'values': [v if isinstance(v, int) else float(v) for v in a.astype(object if a.dtype.kind in 'iu' else 'f8').ravel().tolist()]}
ends.sort()
pos = 0
for b, e in ends:
    assert b == pos, 'gap or overlap'
    pos = e
assert pos == len(data), 'trailing bytes'
print(json.dumps(out))
`;

const WRITE_WITH_NUMPY = `
import json, struct, sys
import numpy as np
arrays = {
    'conv.weight': np.arange(24, dtype='<f4').reshape(2, 3, 4) / 8 - 1,
    'big': np.array([-2**62, 2**40 + 3], dtype='<i8'),
    'half': np.array([0.5, -1.25, 65504], dtype='<f2'),
    'counts': np.array([[1, 2], [3, 4]], dtype='<i4'),
    'step': np.array(7, dtype='<f8'),
    'mask': np.array([255, 0, 7], dtype='u1'),
}
names = {'<f4': 'F32', '<i8': 'I64', '<f2': 'F16', '<i4': 'I32', '<f8': 'F64', '|u1': 'U8'}
header, chunks, offset = {'__metadata__': {'format': 'np', 'epoch': '3'}}, [], 0
for name in ['big', 'step', 'conv.weight', 'counts', 'half', 'mask']:   # descending alignment, as the format advises
    a = arrays[name]
    raw = a.tobytes(order='C')
    header[name] = {'dtype': names[a.dtype.str], 'shape': list(a.shape), 'data_offsets': [offset, offset + len(raw)]}
    chunks.append(raw)
    offset += len(raw)
text = json.dumps(header).encode('utf-8')
text += b' ' * ((8 - len(text) % 8) % 8)
with open(sys.argv[1], 'wb') as f:
    f.write(struct.pack('<Q', len(text)))
    f.write(text)
    for c in chunks:
        f.write(c)
`;

describe('safetensors interop with NumPy', () => {
  // Skipped only when /usr/bin/python3 lacks numpy (Debian's python3-numpy); the reason is this line.
  it.skipIf(!hasNumpy)('NumPy reads what we write: names, dtypes, shapes, values, alignment, coverage', () => {
    const path = join(TMP, 'ours.safetensors');
    const tensors: Record<string, NamedTensor> = {
      'fc.weight': { dtype: 'F32', shape: [2, 3], data: new Float32Array([0.1, -2, 3.5, 1e-30, -0, 65504]) },
      'fc.bias': { dtype: 'F64', shape: [3], data: new Float64Array([Math.PI, -Math.E, 1e300]) },
      'steps': { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 62n), 2n ** 40n + 3n]) },
      'labels': { dtype: 'U8', shape: [5], data: new Uint8Array([0, 9, 255, 3, 1]) },
      'idx': { dtype: 'I32', shape: [1, 2], data: new Int32Array([-7, 2 ** 31 - 1]) },
      'h': { dtype: 'F16', shape: [2], data: new Uint16Array([0x3c00, 0xc500]) }, // 1, −5
      'bf': { dtype: 'BF16', shape: [1], data: new Uint16Array([0x4049]) }, // 3.140625
      'u': { dtype: 'U32', shape: [1], data: new Uint32Array([0xffffffff]) },
      'none': { dtype: 'F32', shape: [0], data: new Float32Array(0) },
    };
    writeFileSync(path, encodeSafetensors(tensors, { epoch: '12', 'loss(avg)': '0.25' }));
    const seen = JSON.parse(python(READ_WITH_NUMPY, path));
    expect(seen.__metadata__).toEqual({ epoch: '12', 'loss(avg)': '0.25' });
    expect(Object.keys(seen.tensors).sort()).toEqual(Object.keys(tensors).sort());
    const expected: Record<string, number[]> = {
      'fc.weight': Array.from(tensors['fc.weight'].data as Float32Array), 'fc.bias': [Math.PI, -Math.E, 1e300],
      steps: [-(2 ** 62), 2 ** 40 + 3], labels: [0, 9, 255, 3, 1], idx: [-7, 2 ** 31 - 1], h: [1, -5], bf: [3.140625],
      u: [0xffffffff], none: [],
    };
    for (const [name, t] of Object.entries(tensors)) {
      expect(seen.tensors[name].dtype).toBe(t.dtype);
      expect(seen.tensors[name].shape).toEqual(t.shape);
      expect(seen.tensors[name].values).toEqual(expected[name]);
    }
  });

  it.skipIf(!hasNumpy)('we read what NumPy writes byte by byte with struct', () => {
    const path = join(TMP, 'numpy.safetensors');
    python(WRITE_WITH_NUMPY, path);
    const { tensors, metadata } = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
    expect(metadata).toEqual({ format: 'np', epoch: '3' });
    expect(Object.keys(tensors).sort()).toEqual(['big', 'conv.weight', 'counts', 'half', 'mask', 'step']);
    expect(tensors['conv.weight'].dtype).toBe('F32');
    expect(tensors['conv.weight'].shape).toEqual([2, 3, 4]);
    expect(Array.from(tensors['conv.weight'].data as Float32Array)).toEqual(Array.from({ length: 24 }, (_, i) => i / 8 - 1));
    expect(tensors.big).toEqual({ dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 62n), 2n ** 40n + 3n]) });
    expect(tensors.half).toEqual({ dtype: 'F16', shape: [3], data: new Uint16Array([0x3800, 0xbd00, 0x7bff]) }); // 0.5, −1.25, 65504
    expect(tensors.counts).toEqual({ dtype: 'I32', shape: [2, 2], data: new Int32Array([1, 2, 3, 4]) });
    expect(tensors.step).toEqual({ dtype: 'F64', shape: [], data: new Float64Array([7]) });
    expect(tensors.mask).toEqual({ dtype: 'U8', shape: [3], data: new Uint8Array([255, 0, 7]) });
  });
});
