/**
 * Bit-exact wire packing for openings of fewer than 64 bits (or 8 bits) per element (open.ts).
 *
 * - `packLow` / `unpackLow`: the low k bits of each u64 (k ≤ 64), LSB first, n·k bits in all. An
 *   arithmetic share reduced mod 2^k is still an additive share mod 2^k, so opening x + r mod 2^k
 *   costs exactly k bits per element per party.
 * - `packFields` / `unpackFields`: the low k bits of each byte (k ≤ 8), LSB first.
 * Nothing here decides what is opened.
 */
import { invariant } from '../util/errors.js';

/** Packs the low k bits of every element, LSB first (n·k bits). */
export function packLow(v: BigUint64Array, k: number): Uint8Array {
  invariant(Number.isInteger(k) && k >= 1 && k <= 64, 'E_INTERNAL', `cannot pack ${k} bits`);
  const n = v.length,
    out = new Uint8Array(Math.ceil((n * k) / 8));
  const w = new Uint32Array(v.buffer, v.byteOffset, 2 * n);
  if (k % 8 === 0) {
    const bytes = new Uint8Array(v.buffer, v.byteOffset, 8 * n),
      kb = k / 8;
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
    const bytes = new Uint8Array(out.buffer, out.byteOffset, 8 * n),
      kb = k / 8;
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

/** Packs n values of k bits each (k ≤ 8) into a bit stream, LSB first. */
export function packFields(vals: Uint8Array, k: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((vals.length * k) / 8));
  let bit = 0;
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i]!;
    for (let b = 0; b < k; b++, bit++) if ((v >> b) & 1) out[bit >> 3]! |= 1 << (bit & 7);
  }
  return out;
}

/** Inverse of `packFields`: n values of k bits. */
export function unpackFields(packed: Uint8Array, n: number, k: number, out = new Uint8Array(n)): Uint8Array {
  let bit = 0;
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let b = 0; b < k; b++, bit++) v |= ((packed[bit >> 3]! >> (bit & 7)) & 1) << b;
    out[i] = v;
  }
  return out;
}
