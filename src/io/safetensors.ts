import { CollapseError } from '../errors.js';

/**
 * The safetensors format (Hugging Face), read and written without dependencies:
 *
 *     [u64 little-endian N] [N bytes of UTF-8 JSON header, space-padded] [data area]
 *
 * The header maps each tensor name to `{ "dtype", "shape", "data_offsets": [begin, end] }` (offsets into the
 * data area) and may hold `"__metadata__": { string: string }`. Data is raw little-endian, C order. The
 * tensors cover the data area exactly, without gaps or overlaps.
 *
 * The encoder lays files out as the reference implementation (the `safetensors` Rust crate) does: tensors
 * sorted by descending dtype (the crate's enum order, which sorts by alignment: 8-byte types, then 4, 2, 1),
 * then by name, and the header padded with spaces to a multiple of 8 bytes, so every tensor's data is
 * naturally aligned in the file. Its output is byte-identical to the crate's for the same tensors
 * (`__metadata__` first, keys sorted; the crate's own key order is a hash map's).
 */

export type SafetensorsDType =
  | 'BOOL' | 'U8' | 'I8' | 'F8_E5M2' | 'F8_E4M3' | 'I16' | 'U16' | 'F16' | 'BF16' | 'I32' | 'U32' | 'F32' | 'F64' | 'I64' | 'U64';

export type SafetensorsData =
  | Float32Array | Float64Array | Int32Array | Uint32Array | Int16Array | Uint16Array | Int8Array | Uint8Array
  | BigInt64Array | BigUint64Array;

/**
 * One tensor. `data` holds shape's product of elements in the array type of its dtype: F32 Float32Array,
 * F64 Float64Array, I64 BigInt64Array, U64 BigUint64Array, I32 Int32Array, U32 Uint32Array, I16 Int16Array,
 * U16 Uint16Array, I8 Int8Array, U8 / BOOL Uint8Array; F16, BF16 as their raw bits in a Uint16Array and
 * F8_E5M2, F8_E4M3 as raw bits in a Uint8Array (Node has no such float arrays).
 */
export interface NamedTensor {
  dtype: SafetensorsDType;
  shape: number[];
  data: SafetensorsData;
}

type ArrayType = { new (length: number): SafetensorsData; new (buffer: ArrayBuffer, byteOffset: number, length: number): SafetensorsData };

interface DTypeInfo { size: number; array: ArrayType; order: number }

/** Element size and array type per dtype; `order` is the reference crate's enum order (ascending alignment). */
const DTYPES: Record<SafetensorsDType, DTypeInfo> = {
  BOOL: { size: 1, array: Uint8Array, order: 0 },
  U8: { size: 1, array: Uint8Array, order: 1 },
  I8: { size: 1, array: Int8Array, order: 2 },
  F8_E5M2: { size: 1, array: Uint8Array, order: 3 },
  F8_E4M3: { size: 1, array: Uint8Array, order: 4 },
  I16: { size: 2, array: Int16Array, order: 5 },
  U16: { size: 2, array: Uint16Array, order: 6 },
  F16: { size: 2, array: Uint16Array, order: 7 },
  BF16: { size: 2, array: Uint16Array, order: 8 },
  I32: { size: 4, array: Int32Array, order: 9 },
  U32: { size: 4, array: Uint32Array, order: 10 },
  F32: { size: 4, array: Float32Array, order: 11 },
  F64: { size: 8, array: Float64Array, order: 12 },
  I64: { size: 8, array: BigInt64Array, order: 13 },
  U64: { size: 8, array: BigUint64Array, order: 14 },
};

export const SAFETENSORS_DTYPES = Object.keys(DTYPES) as SafetensorsDType[];

/** The reference implementation refuses headers over 100 MB; so do we (a corrupt length must not allocate GBs). */
export const MAX_HEADER_BYTES = 100_000_000;
const METADATA_KEY = '__metadata__';

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

const isDType = (value: unknown): value is SafetensorsDType => typeof value === 'string' && Object.hasOwn(DTYPES, value);

function fail(what: string, message: string, tensor?: string): CollapseError {
  const where = tensor === undefined ? what : `${what}: tensor ${JSON.stringify(tensor)}`;
  return new CollapseError('INVALID_ARGUMENT', `${where}: ${message}`, tensor === undefined ? { file: what } : { file: what, tensor });
}

/** Reverses the bytes of each `size`-byte element in place (only big-endian hosts need it). */
function swapBytes(bytes: Uint8Array, size: number): void {
  for (let at = 0; at < bytes.length; at += size) bytes.subarray(at, at + size).reverse();
}

/** Sets an own property, even one named "__proto__" (plain assignment would change the prototype instead). */
function define<T>(target: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** Name order as the reference crate's (Rust `str` order is UTF-8 byte order, not JS's UTF-16 order). */
const utf8 = new TextEncoder();
function compareNames(a: string, b: string): number {
  return Buffer.compare(utf8.encode(a), utf8.encode(b));
}

/** Product of a shape's dimensions, or -1 if it is not a list of non-negative safe integers with a safe product. */
function elementCount(shape: unknown): number {
  if (!Array.isArray(shape)) return -1;
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) return -1;
    n *= d;
    if (!Number.isSafeInteger(n)) return -1;
  }
  return n;
}

/**
 * Serialises tensors (and optional string metadata) into the bytes of one .safetensors file.
 *
 * @example
 * const bytes = encodeSafetensors({ 'fc.weight': { dtype: 'F32', shape: [2, 3], data: new Float32Array(6) } }, { step: '1000' });
 * writeFileSync('model.safetensors', bytes);
 */
export function encodeSafetensors(tensors: Record<string, NamedTensor>, metadata?: Record<string, string>): Uint8Array {
  const what = 'safetensors encode';
  if (tensors === null || typeof tensors !== 'object') throw fail(what, 'tensors must be an object of name → { dtype, shape, data }');
  const names = Object.keys(tensors);
  for (const name of names) {
    if (name === METADATA_KEY) throw fail(what, `"${METADATA_KEY}" is reserved for metadata; name the tensor otherwise`, name);
    const t = tensors[name];
    if (t === null || typeof t !== 'object') throw fail(what, 'must be an object { dtype, shape, data }', name);
    if (!isDType(t.dtype)) throw fail(what, `dtype ${JSON.stringify(t.dtype)} is not one of ${SAFETENSORS_DTYPES.join(', ')}`, name);
    const n = elementCount(t.shape);
    if (n < 0) throw fail(what, `shape ${JSON.stringify(t.shape)} must be a list of non-negative integers`, name);
    const info = DTYPES[t.dtype];
    if (!(t.data instanceof info.array)) {
      throw fail(what, `data of a ${t.dtype} tensor must be a ${info.array.name}; got ${(t.data as object | null)?.constructor?.name ?? String(t.data)}`, name);
    }
    if (t.data.length !== n) throw fail(what, `data has ${t.data.length} elements but shape [${t.shape.join(', ')}] needs ${n}`, name);
  }
  if (metadata !== undefined) {
    if (metadata === null || typeof metadata !== 'object' || Array.isArray(metadata)) throw fail(what, 'metadata must be an object of string → string');
    for (const [key, value] of Object.entries(metadata)) {
      if (typeof value !== 'string') throw fail(what, `metadata ${JSON.stringify(key)} must be a string; got ${typeof value}`);
    }
  }

  names.sort((a, b) => DTYPES[tensors[b].dtype].order - DTYPES[tensors[a].dtype].order || compareNames(a, b));
  // JSON built by hand: JSON.stringify of an object would move integer-like names ("0", "12") to the front.
  const entries: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort(compareNames);
    entries.push(`${JSON.stringify(METADATA_KEY)}:{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(metadata[k])}`).join(',')}}`);
  }
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const end = offset + t.data.byteLength;
    entries.push(`${JSON.stringify(name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${offset},${end}]}`);
    offset = end;
  }
  const json = utf8.encode(`{${entries.join(',')}}`);
  const headerLength = json.length + ((8 - (json.length % 8)) % 8);
  const out = new Uint8Array(8 + headerLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerLength), true);
  out.set(json, 8);
  out.fill(0x20, 8 + json.length, 8 + headerLength);
  let at = 8 + headerLength;
  for (const name of names) {
    const { data, dtype } = tensors[name];
    const raw = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    out.set(raw, at);
    if (!LITTLE_ENDIAN && DTYPES[dtype].size > 1) swapBytes(out.subarray(at, at + raw.length), DTYPES[dtype].size);
    at += raw.length;
  }
  return out;
}

/**
 * Parses the bytes of a .safetensors file, validating everything; `what` (e.g. the file name) starts every
 * error message. Each tensor's `data` is a zero-copy view into `bytes` when its position is aligned for
 * its array type (always so for files this module or the reference crate wrote, when `bytes` starts on an
 * 8-byte boundary), else an aligned copy; writing to a view writes to `bytes`.
 *
 * @example
 * const { tensors, metadata } = decodeSafetensors(readFileSync(path), path);
 * tensors['fc.weight'].data; // Float32Array
 */
export function decodeSafetensors(bytes: Uint8Array, what = 'safetensors data'): { tensors: Record<string, NamedTensor>; metadata: Record<string, string> } {
  if (!(bytes instanceof Uint8Array)) throw fail(what, 'expected the file\'s bytes as a Uint8Array');
  if (bytes.length < 8) throw fail(what, `truncated: ${bytes.length} bytes, too short for the 8-byte header length`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(MAX_HEADER_BYTES)) throw fail(what, `header length ${headerLength} is over the ${MAX_HEADER_BYTES}-byte limit (not a safetensors file, or corrupt)`);
  const n = Number(headerLength);
  if (n > bytes.length - 8) throw fail(what, `header length ${n} runs past the end of the file (${bytes.length - 8} bytes follow the length): truncated or not a safetensors file`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw fail(what, 'header is not valid UTF-8');
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (error) {
    throw fail(what, `header is not valid JSON (${(error as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header)) throw fail(what, 'header must be a JSON object of tensor name → { dtype, shape, data_offsets }');

  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const found: { name: string; dtype: SafetensorsDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === METADATA_KEY) {
      if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw fail(what, `"${METADATA_KEY}" must be an object of string → string`);
      for (const [key, value] of Object.entries(entry)) {
        if (typeof value !== 'string') throw fail(what, `"${METADATA_KEY}" entry ${JSON.stringify(key)} must be a string; got ${JSON.stringify(value)}`);
        define(metadata, key, value);
      }
      continue;
    }
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw fail(what, 'must be an object { dtype, shape, data_offsets }', name);
    const { dtype, shape, data_offsets: offsets, ...rest } = entry as Record<string, unknown>;
    const extra = Object.keys(rest);
    if (extra.length > 0) throw fail(what, `unknown field ${JSON.stringify(extra[0])}; a tensor has dtype, shape and data_offsets`, name);
    if (!isDType(dtype)) throw fail(what, `unknown dtype ${JSON.stringify(dtype)}; expected one of ${SAFETENSORS_DTYPES.join(', ')}`, name);
    const count = elementCount(shape);
    if (count < 0) throw fail(what, `shape ${JSON.stringify(shape)} must be a list of non-negative integers`, name);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => typeof o === 'number' && Number.isSafeInteger(o) && o >= 0) || offsets[0] > offsets[1]) {
      throw fail(what, `data_offsets ${JSON.stringify(offsets)} must be [begin, end] with integers 0 ≤ begin ≤ end`, name);
    }
    const [begin, end] = offsets as number[];
    if (end > dataLength) {
      throw fail(what, `data_offsets [${begin}, ${end}] run past the end of the data area (${dataLength} bytes): the file is truncated or the offsets are wrong`, name);
    }
    const needed = count * DTYPES[dtype].size;
    if (end - begin !== needed) {
      throw fail(what, `data_offsets [${begin}, ${end}] hold ${end - begin} bytes but shape [${(shape as number[]).join(', ')}] of ${dtype} needs ${needed}`, name);
    }
    found.push({ name, dtype, shape: (shape as number[]).slice(), begin, end });
  }

  // The tensors must tile the data area: sorted by position, each starts where the previous one ended.
  found.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: string | undefined;
  for (const t of found) {
    if (t.begin < covered) throw fail(what, `data_offsets [${t.begin}, ${t.end}] overlap tensor ${JSON.stringify(previous)} (which ends at ${covered})`, t.name);
    if (t.begin > covered) throw fail(what, `data bytes [${covered}, ${t.begin}) before it belong to no tensor (the tensors must cover the data area without gaps)`, t.name);
    covered = t.end;
    previous = t.name;
  }
  if (covered !== dataLength) throw fail(what, `data bytes [${covered}, ${dataLength}) at the end belong to no tensor (trailing garbage, or a tensor is missing from the header)`);

  const tensors: Record<string, NamedTensor> = {};
  for (const t of found) {
    const { size, array } = DTYPES[t.dtype];
    const count = (t.end - t.begin) / size;
    const at = bytes.byteOffset + dataStart + t.begin;
    let data: SafetensorsData;
    if (at % size === 0 && (LITTLE_ENDIAN || size === 1)) {
      data = new array(bytes.buffer as ArrayBuffer, at, count);
    } else {
      data = new array(count);
      const raw = new Uint8Array(data.buffer, 0, data.byteLength);
      raw.set(bytes.subarray(dataStart + t.begin, dataStart + t.end));
      if (!LITTLE_ENDIAN && size > 1) swapBytes(raw, size);
    }
    define(tensors, t.name, { dtype: t.dtype, shape: t.shape, data });
  }
  return { tensors, metadata };
}
