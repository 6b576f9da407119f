/**
 * Fixed-point encoding in Z_2^64.
 *
 * A real x is stored as round(x · 2^f) mod 2^64, read back as a signed 64-bit integer / 2^f.
 * f = FRAC_BITS = 16 (resolution 1.5e-5). Why 16: products carry 2f = 32 fractional bits and
 * still leave 31 bits of integer headroom (|x·y| < 2^31 before truncation), which covers the
 * worst case we meet (LayerNorm sums of squares over 768 values of scale 100 are truncated per
 * element first); 12 bits would cost 16x in resolution for headroom we do not need. Measured
 * errors are in docs/protocols.md.
 */

export const RING_BITS = 64;
export const FRAC_BITS = 16;
export const MASK64 = (1n << 64n) - 1n;
const TWO64 = 1n << 64n;

/** Encodes one real as a ring element with `fracBits` fractional bits (round half away from zero). */
export function encodeScalar(x: number, fracBits = FRAC_BITS): bigint {
  if (!Number.isFinite(x)) throw new RangeError(`cannot encode ${x}`);
  const scaled = Math.round(x * 2 ** fracBits);
  return BigInt.asUintN(64, BigInt(scaled));
}

/** Reads a ring element as a signed fixed-point real. */
export function decodeScalar(v: bigint, fracBits = FRAC_BITS): number {
  return Number(BigInt.asIntN(64, v)) / 2 ** fracBits;
}

/** Encodes every element of `xs` into a new BigUint64Array. */
export function encodeArray(xs: ArrayLike<number>, fracBits = FRAC_BITS): BigUint64Array {
  const out = new BigUint64Array(xs.length);
  encodeInto(out, xs, fracBits);
  return out;
}

export function encodeInto(out: BigUint64Array, xs: ArrayLike<number>, fracBits = FRAC_BITS): void {
  const s = 2 ** fracBits;
  const signed = new BigInt64Array(out.buffer, out.byteOffset, out.length);
  for (let i = 0; i < xs.length; i++) {
    const v = Math.round((xs[i] as number) * s);
    if (!Number.isFinite(v) || Math.abs(v) >= 2 ** 63) throw new RangeError(`cannot encode element ${i}`);
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

/** Signed view of a u64 array without copying. */
export function asSigned(v: BigUint64Array): BigInt64Array {
  return new BigInt64Array(v.buffer, v.byteOffset, v.length);
}

/** Reduces any bigint into [0, 2^64). */
export function toRing(v: bigint): bigint {
  return ((v % TWO64) + TWO64) % TWO64;
}
