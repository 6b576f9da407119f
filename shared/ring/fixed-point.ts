/**
 * Fixed-point encoding in Z_2^64 (not to be confused with fixed *masks*, protocol/fixed-mask.ts).
 *
 * A real x is stored as round(x · 2^f) mod 2^64 (Math.round: halves round up, towards +∞), read
 * back as a signed 64-bit integer / 2^f; magnitudes from 2^63 up raise E_OVERFLOW.
 * f = FRAC_BITS = 16 (resolution 1.5e-5). Why 16: products carry 2f = 32 fractional bits and still
 * leave 31 bits of integer headroom (|x·y| < 2^31 before truncation), which covers the worst case
 * we meet (LayerNorm sums of squares over 768 values of scale 100 are truncated per element
 * first); 12 bits would cost 16x in resolution for headroom we do not need. Measured errors are in
 * docs/protocols.md.
 */
import { MpcError } from '../util/errors.js';

export const FRAC_BITS = 16;
/** Encoded magnitudes must stay below 2^63 (the signed range of the ring). */
const LIMIT = 2 ** 63;

/**
 * Encodes one real as a ring element with `fracBits` fractional bits (Math.round: a half rounds
 * up, towards +∞, so −2.5 ulp encodes as −2 ulp).
 * @throws MpcError E_OVERFLOW if x is not finite or |x·2^f| ≥ 2^63.
 */
export function encodeScalar(x: number, fracBits = FRAC_BITS): bigint {
  const scaled = Math.round(x * 2 ** fracBits);
  if (!(Math.abs(scaled) < LIMIT))
    throw new MpcError('E_OVERFLOW', `a constant does not fit ${fracBits} fractional bits in the ring`);
  return BigInt.asUintN(64, BigInt(scaled));
}

/** Reads a ring element as a signed fixed-point real. */
export function decodeScalar(v: bigint, fracBits = FRAC_BITS): number {
  return Number(BigInt.asIntN(64, v)) / 2 ** fracBits;
}

/** Encodes every element of `xs` into a new BigUint64Array. @throws MpcError E_OVERFLOW as encodeScalar. */
export function encodeArray(xs: ArrayLike<number>, fracBits = FRAC_BITS): BigUint64Array {
  const out = new BigUint64Array(xs.length);
  encodeInto(out, xs, fracBits);
  return out;
}

/** @throws MpcError E_OVERFLOW as encodeScalar (naming the element's index, never its value). */
export function encodeInto(out: BigUint64Array, xs: ArrayLike<number>, fracBits = FRAC_BITS): void {
  const s = 2 ** fracBits;
  const signed = new BigInt64Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < xs.length; i++) {
    const v = Math.round((xs[i] as number) * s);
    if (!(Math.abs(v) < LIMIT))
      throw new MpcError('E_OVERFLOW', `element ${i} does not fit ${fracBits} fractional bits in the ring`);
    signed[i] = BigInt(v);
  }
}

/** Decodes a ring array (read as signed) into float64. */
export function decodeArray(v: BigUint64Array, fracBits = FRAC_BITS): Float64Array {
  const out = new Float64Array(v.length);
  const signed = new BigInt64Array(v.buffer, v.byteOffset, v.length);
  const s = 2 ** -fracBits;
  for (let i = 0; i < v.length; i++) out[i] = Number(signed[i]) * s;
  return out;
}
