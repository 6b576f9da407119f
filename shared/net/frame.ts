/**
 * Wire frames.
 *
 * Bulk tensors travel as raw binary WebSocket messages with an 8-byte-aligned header, so a
 * received ring array is viewed in place as a BigUint64Array (msgpackr copies typed arrays;
 * research/ts-performance.md §4). Small control messages are msgpack, validated with zod by the
 * receiver. Both start with a 4-byte magic so one socket can carry both.
 *
 * Tensor frame layout (all little-endian):
 *   0  u32 magic 'MPCT'            16 u32 tag (label hash / kind id)
 *   4  u16 type, u16 nParts         20 u32 check (schedule digest)
 *   8  u64 seq (round / item no.)   24 u32 payload bytes, u32 reserved
 *   32 nParts × (u32 partKind, u32 count)   then padding to 8
 *   then each part's bytes, padded to 8.
 * Part kinds: 0 = u64 ring elements (count = elements), 1 = packed bits (count = bits),
 * 2 = raw bytes (count = bytes).
 *
 * Parsing checks every length against the actual message before touching data and rejects
 * anything malformed with E_FRAME, or E_FRAME_TOO_LARGE beyond the configured bound.
 */
import { MpcError, invariant } from '../util/errors.js';

export const TENSOR_MAGIC = 0x5443504d; // 'MPCT'
export const CONTROL_MAGIC = 0x4c43504d; // 'MPCL'
const HEADER_BYTES = 32;
export const MAX_PARTS = 4096;

export const enum PartKind {
  U64 = 0,
  Bits = 1,
  Bytes = 2,
}

export type Part =
  | { kind: 'u64'; data: BigUint64Array }
  | { kind: 'bits'; data: Uint8Array; count: number } // packed, LSB first; count = number of bits
  | { kind: 'bytes'; data: Uint8Array };

export interface TensorFrame {
  type: number;
  seq: bigint;
  tag: number;
  check: number;
  parts: Part[];
}

const pad8 = (n: number): number => (n + 7) & ~7;

function partBytes(p: Part): number {
  return p.kind === 'u64' ? p.data.byteLength : p.kind === 'bits' ? Math.ceil(p.count / 8) : p.data.byteLength;
}

/** Bytes a part adds to a frame: its part-table entry and its padded data. */
export function partFrameBytes(p: Part): number {
  return 8 + pad8(partBytes(p));
}

/** Bytes of a frame's fixed header (without its part table). */
export const FRAME_HEADER_BYTES = HEADER_BYTES;

/** Total encoded size of a tensor frame (used by the meter without encoding twice). */
export function tensorFrameBytes(parts: readonly Part[]): number {
  let n = pad8(HEADER_BYTES + 8 * parts.length);
  for (const p of parts) n += pad8(partBytes(p));
  return n;
}

/**
 * The parts of one frame as a protocol declares them (u64 ring parts, packed-bit parts, raw byte
 * parts; counts, not data): its declared cost, which tests compare with the meter byte for byte.
 */
export interface WireRound {
  readonly u64?: readonly number[];
  readonly bits?: readonly number[];
  readonly bytes?: readonly number[];
}

function declaredSizes(r: WireRound): number[] {
  return [...(r.u64 ?? []).map((c) => 8 * c), ...(r.bits ?? []).map((c) => Math.ceil(c / 8)), ...(r.bytes ?? [])];
}

/** Payload bytes of a declared round (what the protocol opens, without framing). */
export function roundPayload(r: WireRound): number {
  return declaredSizes(r).reduce((t, b) => t + b, 0);
}

/** Encoded frame bytes of a declared round (header, part table and 8-byte padding included). */
export function roundFrameBytes(r: WireRound): number {
  const sizes = declaredSizes(r);
  return pad8(HEADER_BYTES + 8 * sizes.length) + sizes.reduce((t, b) => t + pad8(b), 0);
}

export function encodeTensorFrame(f: TensorFrame): Buffer {
  invariant(f.parts.length <= MAX_PARTS, 'E_INTERNAL', `too many parts (${f.parts.length})`);
  const total = tensorFrameBytes(f.parts);
  const buf = Buffer.allocUnsafe(total);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  dv.setUint32(0, TENSOR_MAGIC, true);
  dv.setUint16(4, f.type, true);
  dv.setUint16(6, f.parts.length, true);
  dv.setBigUint64(8, f.seq, true);
  dv.setUint32(16, f.tag >>> 0, true);
  dv.setUint32(20, f.check >>> 0, true);
  const headEnd = pad8(HEADER_BYTES + 8 * f.parts.length);
  dv.setUint32(24, total - headEnd, true);
  dv.setUint32(28, 0, true);
  let off = headEnd;
  f.parts.forEach((p, i) => {
    const count = p.kind === 'u64' ? p.data.length : p.kind === 'bits' ? p.count : p.data.byteLength;
    dv.setUint32(
      HEADER_BYTES + 8 * i,
      p.kind === 'u64' ? PartKind.U64 : p.kind === 'bits' ? PartKind.Bits : PartKind.Bytes,
      true,
    );
    dv.setUint32(HEADER_BYTES + 8 * i + 4, count, true);
    const nb = partBytes(p);
    buf.set(new Uint8Array(p.data.buffer, p.data.byteOffset, nb), off);
    buf.fill(0, off + nb, off + pad8(nb));
    off += pad8(nb);
  });
  buf.fill(0, HEADER_BYTES + 8 * f.parts.length, headEnd);
  return buf;
}

/**
 * Decodes a tensor frame. Parts are views into the (aligned) message; every part starts at a
 * multiple of 8 bytes, so ring parts view as BigUint64Array and byte parts as wider words. @throws MpcError E_FRAME on any inconsistency, E_FRAME_TOO_LARGE above `maxBytes`.
 */
export function decodeTensorFrame(input: Uint8Array, maxBytes: number): TensorFrame {
  // Small ws messages can be slices of a socket chunk at any offset; one aligned copy up front
  // lets every part be viewed in place (large messages arrive aligned and are not copied).
  let buf = input;
  if (buf.byteOffset % 8 !== 0) {
    buf = new Uint8Array(input.byteLength);
    buf.set(input);
  }
  if (buf.byteLength > maxBytes)
    throw new MpcError('E_FRAME_TOO_LARGE', `frame of ${buf.byteLength} bytes exceeds ${maxBytes}`);
  if (buf.byteLength < HEADER_BYTES)
    throw new MpcError('E_FRAME', `frame of ${buf.byteLength} bytes is shorter than the header`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  if (dv.getUint32(0, true) !== TENSOR_MAGIC) throw new MpcError('E_FRAME', 'bad tensor frame magic');
  const type = dv.getUint16(4, true);
  const nParts = dv.getUint16(6, true);
  const seq = dv.getBigUint64(8, true);
  const tag = dv.getUint32(16, true);
  const check = dv.getUint32(20, true);
  const payload = dv.getUint32(24, true);
  if (nParts > MAX_PARTS) throw new MpcError('E_FRAME', `frame declares ${nParts} parts`);
  const headEnd = pad8(HEADER_BYTES + 8 * nParts);
  if (headEnd > buf.byteLength) throw new MpcError('E_FRAME', 'frame truncated inside the part table');
  if (headEnd + payload !== buf.byteLength)
    throw new MpcError('E_FRAME', `frame payload ${payload} does not match its length ${buf.byteLength - headEnd}`);
  const parts: Part[] = [];
  let off = headEnd;
  for (let i = 0; i < nParts; i++) {
    const kind = dv.getUint32(HEADER_BYTES + 8 * i, true);
    const count = dv.getUint32(HEADER_BYTES + 8 * i + 4, true);
    const nb = kind === PartKind.U64 ? count * 8 : kind === PartKind.Bits ? Math.ceil(count / 8) : count;
    if (kind > PartKind.Bytes) throw new MpcError('E_FRAME', `part ${i} has unknown kind ${kind}`);
    if (off + pad8(nb) > buf.byteLength)
      throw new MpcError('E_FRAME', `part ${i} (${nb} bytes) runs past the end of the frame`);
    if (kind === PartKind.U64) {
      parts.push({ kind: 'u64', data: new BigUint64Array(buf.buffer, buf.byteOffset + off, count) });
    } else if (kind === PartKind.Bits) {
      parts.push({ kind: 'bits', data: buf.subarray(off, off + nb), count });
    } else {
      parts.push({ kind: 'bytes', data: buf.subarray(off, off + nb) });
    }
    off += pad8(nb);
  }
  return { type, seq, tag, check, parts };
}

/** Packs 0/1 bytes into bits (LSB first). */
export function packBits(bits: Uint8Array, out = new Uint8Array(Math.ceil(bits.length / 8))): Uint8Array {
  out.fill(0);
  for (let i = 0; i < bits.length; i++) if (bits[i]! & 1) out[i >> 3]! |= 1 << (i & 7);
  return out;
}

/** Unpacks `count` bits into 0/1 bytes. */
export function unpackBits(packed: Uint8Array, count: number, out = new Uint8Array(count)): Uint8Array {
  invariant(packed.length * 8 >= count, 'E_FRAME', `packed bits too short for ${count}`);
  for (let i = 0; i < count; i++) out[i] = (packed[i >> 3]! >> (i & 7)) & 1;
  return out;
}

/** FNV-1a 32-bit hash of a string (labels and kind names on the wire). */
export function hash32(s: string, h = 0x811c9dc5): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
