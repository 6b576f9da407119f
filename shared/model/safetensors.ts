/**
 * Safetensors reader and writer.
 *
 * Format (huggingface/safetensors, docs.rs `safetensors` crate): 8-byte little-endian header
 * length N, then N bytes of JSON `{name: {dtype, shape, data_offsets: [begin, end]}, ...,
 * "__metadata__": {string: string}}`, then the data section; offsets are relative to the start
 * of the data section, data is little-endian and row-major.
 *
 * The file is untrusted input: every length, offset and shape is checked against the file size
 * before anything is read, overlapping tensors are rejected, and every failure is an `E_MODEL`
 * error naming the file and the tensor. Floats of any width are widened to float64 on request
 * (`tensorData`), so that a 500 MB checkpoint is parsed without copying it first.
 */
import { readFileSync } from 'node:fs';
import { MpcError } from '../util/index.js';
import { bf16ToNumber, f16ToNumber, numberToBf16, numberToF16 } from './half.js';

/** Bytes per element of every dtype the format defines (F8 and integer types are parsed, not converted). */
const DTYPE_BYTES: Readonly<Record<string, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  F8_E4M3: 1,
  F8_E5M2: 1,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

/** The dtypes `tensorData` converts and `encodeSafetensors` writes. */
export type FloatDtype = 'F64' | 'F32' | 'F16' | 'BF16';

/** Same bound as the reference implementation: a header beyond 100 MB is certainly malformed. */
export const MAX_HEADER_BYTES = 100_000_000;

export interface TensorInfo {
  readonly name: string;
  readonly dtype: string;
  readonly shape: readonly number[];
  /** Absolute byte range in the file. */
  readonly begin: number;
  readonly end: number;
}

export interface Safetensors {
  /** File name or a label, used in error messages. */
  readonly source: string;
  readonly metadata: Readonly<Record<string, string>>;
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  readonly bytes: Uint8Array;
}

function fail(source: string, msg: string): never {
  throw new MpcError('E_MODEL', `${source}: ${msg}`);
}

function readHeaderJson(bytes: Uint8Array, source: string): { json: unknown; dataStart: number } {
  if (bytes.length < 8) fail(source, `truncated: ${bytes.length} bytes, need at least 8 for the header length`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = view.getBigUint64(0, true);
  if (len === 0n || len > BigInt(MAX_HEADER_BYTES))
    fail(source, `bad header length ${len} (must be 1..${MAX_HEADER_BYTES})`);
  const n = Number(len);
  if (8 + n > bytes.length)
    fail(source, `truncated: header needs ${n} bytes but only ${bytes.length - 8} follow the length`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    fail(source, 'header is not valid UTF-8');
  }
  try {
    return { json: JSON.parse(text) as unknown, dataStart: 8 + n };
  } catch (err) {
    fail(source, `header is not valid JSON (${(err as Error).message})`);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

function parseMetadata(v: unknown, source: string): Record<string, string> {
  if (v === undefined) return {};
  if (!isRecord(v) || !Object.values(v).every((s) => typeof s === 'string')) {
    fail(source, '__metadata__ must map strings to strings');
  }
  return v as Record<string, string>;
}

function parseEntry(name: string, v: unknown, dataStart: number, dataBytes: number, source: string): TensorInfo {
  const where = `tensor "${name}"`;
  if (!isRecord(v)) fail(source, `${where}: entry is not an object`);
  const { dtype, shape, data_offsets: offsets } = v;
  if (typeof dtype !== 'string') fail(source, `${where}: dtype missing`);
  const size = DTYPE_BYTES[dtype];
  if (size === undefined) fail(source, `${where}: unknown dtype ${JSON.stringify(dtype)}`);
  if (!Array.isArray(shape) || !shape.every(isCount))
    fail(source, `${where}: shape must be an array of non-negative integers`);
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    fail(source, `${where}: data_offsets must be [begin, end] with non-negative integers`);
  }
  const [b, e] = offsets as [number, number];
  if (b > e) fail(source, `${where}: data_offsets [${b}, ${e}] run backwards`);
  if (e > dataBytes) {
    fail(
      source,
      `${where}: data_offsets [${b}, ${e}] lie outside the ${dataBytes}-byte data section (truncated file?)`,
    );
  }
  const count = (shape as number[]).reduce((p, d) => p * d, 1);
  if (count * size !== e - b) {
    fail(
      source,
      `${where}: shape [${shape.join(', ')}] of ${dtype} needs ${count * size} bytes but data_offsets span ${e - b}`,
    );
  }
  return Object.freeze({
    name,
    dtype,
    shape: Object.freeze([...(shape as number[])]),
    begin: dataStart + b,
    end: dataStart + e,
  });
}

/**
 * Parses a safetensors image held in memory; tensor data is not copied or converted.
 * @throws MpcError E_MODEL if the file is truncated, the header length or JSON is bad, a dtype is
 *   unknown, an offset lies outside the file, a shape does not match its byte span, or two
 *   tensors overlap.
 */
export function parseSafetensors(bytes: Uint8Array, source = '<buffer>'): Safetensors {
  const { json, dataStart } = readHeaderJson(bytes, source);
  if (!isRecord(json)) fail(source, 'header JSON is not an object');
  const dataBytes = bytes.length - dataStart;
  const tensors = new Map<string, TensorInfo>();
  let metadata: Record<string, string> = {};
  for (const [name, v] of Object.entries(json)) {
    if (name === '__metadata__') metadata = parseMetadata(v, source);
    else tensors.set(name, parseEntry(name, v, dataStart, dataBytes, source));
  }
  const sorted = [...tensors.values()].filter((t) => t.end > t.begin).sort((a, b) => a.begin - b.begin);
  for (let i = 1; i < sorted.length; i++) {
    const prev = sorted[i - 1] as TensorInfo;
    const cur = sorted[i] as TensorInfo;
    if (cur.begin < prev.end) fail(source, `tensors "${prev.name}" and "${cur.name}" overlap`);
  }
  return Object.freeze({ source, metadata: Object.freeze(metadata), tensors, bytes });
}

/**
 * Reads and parses a safetensors file.
 * @throws MpcError E_MODEL if the file cannot be read or is malformed (see `parseSafetensors`).
 */
export function readSafetensorsFile(path: string): Safetensors {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(path);
  } catch (err) {
    throw new MpcError('E_MODEL', `${path}: cannot read (${(err as NodeJS.ErrnoException).code ?? 'error'})`, {
      cause: err,
    });
  }
  return parseSafetensors(bytes, path);
}

/**
 * One tensor's elements widened to float64, row-major.
 * @throws MpcError E_MODEL if the tensor is absent or its dtype is not F64, F32, F16 or BF16.
 */
export function tensorData(st: Safetensors, name: string): Float64Array {
  const t = st.tensors.get(name);
  if (t === undefined) fail(st.source, `tensor "${name}" not found`);
  const view = new DataView(st.bytes.buffer, st.bytes.byteOffset + t.begin, t.end - t.begin);
  const n = view.byteLength / (DTYPE_BYTES[t.dtype] as number);
  const out = new Float64Array(n);
  // DataView rather than a typed-array view: offsets in the file need not be aligned.
  switch (t.dtype) {
    case 'F64':
      for (let i = 0; i < n; i++) out[i] = view.getFloat64(8 * i, true);
      break;
    case 'F32':
      for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
      break;
    case 'F16':
      for (let i = 0; i < n; i++) out[i] = f16ToNumber(view.getUint16(2 * i, true));
      break;
    case 'BF16':
      for (let i = 0; i < n; i++) out[i] = bf16ToNumber(view.getUint16(2 * i, true));
      break;
    default:
      fail(st.source, `tensor "${name}": dtype ${t.dtype} cannot be converted to float64`);
  }
  return out;
}

export interface TensorToWrite {
  readonly dtype: FloatDtype;
  readonly shape: readonly number[];
  readonly data: ArrayLike<number>;
}

const WRITERS: Record<FloatDtype, (v: DataView, i: number, x: number) => void> = {
  F64: (v, i, x) => v.setFloat64(8 * i, x, true),
  F32: (v, i, x) => v.setFloat32(4 * i, x, true),
  F16: (v, i, x) => v.setUint16(2 * i, numberToF16(x), true),
  BF16: (v, i, x) => v.setUint16(2 * i, numberToBf16(x), true),
};

/**
 * Serialises float tensors (in insertion order, contiguous) with an optional `__metadata__`.
 * The header is padded with spaces to a multiple of 8 bytes, as the reference writer does, so
 * that data offsets stay aligned.
 * @throws MpcError E_SHAPE if a tensor's data length does not match its shape.
 */
export function encodeSafetensors(
  tensors: Readonly<Record<string, TensorToWrite>>,
  metadata?: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = metadata ? { __metadata__: metadata } : {};
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const count = t.shape.reduce((p, d) => p * d, 1);
    if (count !== t.data.length) {
      throw new MpcError('E_SHAPE', `tensor "${name}": ${t.data.length} values for shape [${t.shape.join(', ')}]`);
    }
    const bytes = count * (DTYPE_BYTES[t.dtype] as number);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const t of Object.values(tensors)) {
    const size = DTYPE_BYTES[t.dtype] as number;
    const tv = new DataView(out.buffer, at, t.data.length * size);
    const write = WRITERS[t.dtype];
    for (let i = 0; i < t.data.length; i++) write(tv, i, t.data[i] as number);
    at += t.data.length * size;
  }
  return out;
}
