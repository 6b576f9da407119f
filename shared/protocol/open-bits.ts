/**
 * Bit-exact wire packing for protocols that open fewer than 64 bits per element.
 *
 * - `packLow` / `unpackLow`: the low k bits of each u64 (k ≤ 64), LSB first, n·k bits in all. An
 *   arithmetic share reduced mod 2^k is still an additive share mod 2^k, so opening x + r mod 2^k
 *   costs exactly k bits per element per party.
 * - `lowPart` / `addLow`: build the bits part and combine both parties' halves.
 * Nothing here decides what is opened; callers (compare-k.ts, lut.ts) state why it is masked.
 */
import { invariant } from '../util/errors.js';
import type { Part } from '../net/frame.js';

/** Packs the low k bits of every element, LSB first (n·k bits). */
export function packLow(v: BigUint64Array, k: number): Uint8Array {
  invariant(Number.isInteger(k) && k >= 1 && k <= 64, 'E_INTERNAL', `cannot pack ${k} bits`);
  const n = v.length, out = new Uint8Array(Math.ceil((n * k) / 8));
  const w = new Uint32Array(v.buffer, v.byteOffset, 2 * n);
  if (k % 8 === 0) {
    const bytes = new Uint8Array(v.buffer, v.byteOffset, 8 * n), kb = k / 8;
    for (let i = 0; i < n; i++) out.set(bytes.subarray(8 * i, 8 * i + kb), i * kb);
    return out;
  }
  let bit = 0;
  for (let i = 0; i < n; i++) {
    for (let half = 0; half < 2; half++) {
      const take = Math.min(32, k - 32 * half);
      if (take <= 0) break;
      const word = w[2 * i + half]!;
      for (let b = 0; b < take; b++, bit++) if ((word >>> b) & 1) out[bit >> 3]! |= 1 << (bit & 7);
    }
  }
  return out;
}

/** Inverse of `packLow`: n values of k bits (high bits zero). */
export function unpackLow(packed: Uint8Array, n: number, k: number, out = new BigUint64Array(n)): BigUint64Array {
  invariant(packed.length * 8 >= n * k, 'E_PROTOCOL', `packed field too short for ${n}×${k} bits`);
  const w = new Uint32Array(out.buffer, out.byteOffset, 2 * n);
  w.fill(0);
  if (k % 8 === 0) {
    const bytes = new Uint8Array(out.buffer, out.byteOffset, 8 * n), kb = k / 8;
    for (let i = 0; i < n; i++) bytes.set(packed.subarray(i * kb, (i + 1) * kb), 8 * i);
    return out;
  }
  let bit = 0;
  for (let i = 0; i < n; i++) {
    for (let half = 0; half < 2; half++) {
      const take = Math.min(32, k - 32 * half);
      if (take <= 0) break;
      let word = 0;
      for (let b = 0; b < take; b++, bit++) word |= ((packed[bit >> 3]! >> (bit & 7)) & 1) << b;
      w[2 * i + half] = word;
    }
  }
  return out;
}

/** The wire part carrying the low k bits of `v`. */
export function lowPart(v: BigUint64Array, k: number): Part {
  return k === 64 ? { kind: 'u64', data: v } : { kind: 'bits', data: packLow(v, k), count: v.length * k };
}

/** (mine + theirs) mod 2^k, from my full shares and the peer's low-bits part. */
export function addLow(mine: BigUint64Array, theirs: Part, k: number): BigUint64Array {
  const n = mine.length, out = new BigUint64Array(n);
  if (k === 64) {
    invariant(theirs.kind === 'u64' && theirs.data.length === n, 'E_PROTOCOL', 'expected a ring part');
    for (let i = 0; i < n; i++) out[i] = mine[i]! + theirs.data[i]!;
    return out;
  }
  invariant(theirs.kind === 'bits' && theirs.count === n * k, 'E_PROTOCOL', `expected ${n * k} packed bits`);
  unpackLow(theirs.data, n, k, out);
  for (let i = 0; i < n; i++) out[i] = out[i]! + mine[i]!;
  maskLowInto(out, k);
  return out;
}

/** Keeps the low k bits of each element in place (x mod 2^k). */
export function maskLowInto(v: BigUint64Array, k: number): BigUint64Array {
  if (k >= 64) return v;
  const w = new Uint32Array(v.buffer, v.byteOffset, 2 * v.length);
  if (k <= 32) {
    const m = k === 32 ? 0xffffffff : (1 << k) - 1;
    for (let i = 0; i < v.length; i++) { w[2 * i] = w[2 * i]! & m; w[2 * i + 1] = 0; }
  } else {
    const m = k === 64 ? 0xffffffff : (2 ** (k - 32)) - 1;
    for (let i = 0; i < v.length; i++) w[2 * i + 1] = w[2 * i + 1]! & m;
  }
  return v;
}

/** Wire bits of a packed-bits part (for cost declarations). */
export function bitsBytes(count: number): number {
  return Math.ceil(count / 8);
}
