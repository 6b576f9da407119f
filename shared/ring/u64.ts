/**
 * Element-wise arithmetic on u64 arrays (Z_2^64 and Z_2^k), JS-owned BigUint64Arrays.
 *
 * V8 (11.x) lowers `c[i] = a[i] op b[i]` on BigUint64Arrays to plain int64 instructions, which
 * runs at ~300-400 M elements/s without allocation (research/ts-performance.md §1); that beats
 * copying into WebAssembly and back for one pass. BigInt shifts are not lowered, so shifts work on
 * 32-bit halves instead. All functions write into a caller-owned `out` (which may alias an input).
 */
import { invariant } from '../util/errors.js';

function same(n: number, ...arrs: ArrayLike<unknown>[]): void {
  for (const a of arrs) invariant(a.length === n, 'E_SHAPE', () => `length ${a.length} does not match ${n}`);
}

export function addInto(out: BigUint64Array, a: BigUint64Array, b: BigUint64Array): BigUint64Array {
  same(out.length, a, b);
  for (let i = 0; i < out.length; i++) out[i] = a[i]! + b[i]!;
  return out;
}

export function subInto(out: BigUint64Array, a: BigUint64Array, b: BigUint64Array): BigUint64Array {
  same(out.length, a, b);
  for (let i = 0; i < out.length; i++) out[i] = a[i]! - b[i]!;
  return out;
}

export function mulInto(out: BigUint64Array, a: BigUint64Array, b: BigUint64Array): BigUint64Array {
  same(out.length, a, b);
  for (let i = 0; i < out.length; i++) out[i] = a[i]! * b[i]!;
  return out;
}

export function negInto(out: BigUint64Array, a: BigUint64Array): BigUint64Array {
  same(out.length, a);
  for (let i = 0; i < out.length; i++) out[i] = 0n - a[i]!;
  return out;
}

/** out = a · c for one ring constant c. */
export function mulScalarInto(out: BigUint64Array, a: BigUint64Array, c: bigint): BigUint64Array {
  same(out.length, a);
  const cc = BigInt.asUintN(64, c);
  for (let i = 0; i < out.length; i++) out[i] = a[i]! * cc;
  return out;
}

/**
 * out = a >> s read as signed (floor division by 2^s), on 32-bit halves.
 * Precondition: 0 <= s < 64.
 */
export function sarInto(out: BigUint64Array, a: BigUint64Array, s: number): BigUint64Array {
  same(out.length, a);
  invariant(Number.isInteger(s) && s >= 0 && s < 64, 'E_INTERNAL', `bad shift ${s}`);
  const src = new Int32Array(a.buffer, a.byteOffset, a.length * 2);
  const dst = new Int32Array(out.buffer, out.byteOffset, out.length * 2);
  const n = a.length;
  if (s === 0) {
    if (out !== a) out.set(a);
    return out;
  }
  if (s < 32) {
    for (let i = 0; i < n; i++) {
      const lo = src[2 * i]!,
        hi = src[2 * i + 1]!;
      dst[2 * i] = (lo >>> s) | (hi << (32 - s));
      dst[2 * i + 1] = hi >> s;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const hi = src[2 * i + 1]!;
      dst[2 * i] = hi >> (s - 32);
      dst[2 * i + 1] = hi >> 31;
    }
  }
  return out;
}

/** out = a >>> s (logical shift of the unsigned value). Precondition: 0 <= s < 64. */
export function shrInto(out: BigUint64Array, a: BigUint64Array, s: number): BigUint64Array {
  same(out.length, a);
  invariant(Number.isInteger(s) && s >= 0 && s < 64, 'E_INTERNAL', `bad shift ${s}`);
  const src = new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
  const dst = new Uint32Array(out.buffer, out.byteOffset, out.length * 2);
  const n = a.length;
  if (s === 0) {
    if (out !== a) out.set(a);
    return out;
  }
  if (s < 32) {
    for (let i = 0; i < n; i++) {
      const lo = src[2 * i]!,
        hi = src[2 * i + 1]!;
      dst[2 * i] = ((lo >>> s) | (hi << (32 - s))) >>> 0;
      dst[2 * i + 1] = hi >>> s;
    }
  } else {
    for (let i = 0; i < n; i++) {
      const hi = src[2 * i + 1]!;
      dst[2 * i] = hi >>> (s - 32);
      dst[2 * i + 1] = 0;
    }
  }
  return out;
}

/** Sums `a` viewed as rows×cols along the last axis into out (length rows). */
export function sumRowsInto(out: BigUint64Array, a: BigUint64Array, rows: number, cols: number): BigUint64Array {
  invariant(a.length === rows * cols && out.length === rows, 'E_SHAPE', `sumRows: ${a.length} is not ${rows}x${cols}`);
  for (let r = 0; r < rows; r++) {
    let s = 0n;
    const base = r * cols;
    for (let c = 0; c < cols; c++) s += a[base + c]!;
    out[r] = BigInt.asUintN(64, s);
  }
  return out;
}

/** Bit k (0 = least significant) of every element, as 0/1 bytes. */
export function bitOfInto(out: Uint8Array, a: BigUint64Array, k: number): Uint8Array {
  same(out.length, a);
  const w = new Uint32Array(a.buffer, a.byteOffset, a.length * 2);
  const word = k >= 32 ? 1 : 0,
    sh = k & 31;
  for (let i = 0; i < a.length; i++) out[i] = (w[2 * i + word]! >>> sh) & 1;
  return out;
}

/** Keeps the low k bits of each element in place (v mod 2^k, for shares mod 2^k). */
export function maskLowInto(v: BigUint64Array, k: number): BigUint64Array {
  if (k >= 64) return v;
  const w = new Uint32Array(v.buffer, v.byteOffset, 2 * v.length);
  if (k <= 32) {
    const m = k === 32 ? 0xffffffff : (1 << k) - 1;
    for (let i = 0; i < v.length; i++) {
      w[2 * i] = w[2 * i]! & m;
      w[2 * i + 1] = 0;
    }
  } else {
    const m = 2 ** (k - 32) - 1;
    for (let i = 0; i < v.length; i++) w[2 * i + 1] = w[2 * i + 1]! & m;
  }
  return v;
}
