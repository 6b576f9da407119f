/**
 * IEEE half (F16) and bfloat16 (BF16) conversions for the safetensors loader and writer.
 *
 * Checkpoints are often saved in 16-bit formats; the model runs in float64, so every element is
 * widened exactly (both formats are subsets of float64). Narrowing is only for the test writer
 * and rounds to nearest, ties to even, like PyTorch's `.half()` and `.bfloat16()`.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** Widens one F16 bit pattern (0..0xffff) to a float64, exactly. */
export function f16ToNumber(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Widens one BF16 bit pattern to a float64, exactly (BF16 is the top half of an F32). */
export function bf16ToNumber(b: number): number {
  u32[0] = (b & 0xffff) << 16;
  return f32[0] as number;
}

function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Narrows a float64 to the nearest F16 bit pattern (ties to even; overflow to ±Infinity). */
export function numberToF16(x: number): number {
  if (Number.isNaN(x)) return 0x7e00;
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  // Below the smallest normal (2^-14) the spacing is a fixed 2^-24; a result of 1024 lands on
  // the smallest normal, whose bit pattern is exactly 0x0400, so no special case is needed.
  if (a < 2 ** -14) return sign | roundHalfEven(a * 2 ** 24);
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--; // log2 can be off by one ulp next to powers of two
  if (2 ** (e + 1) <= a) e++;
  let mant = roundHalfEven((a / 2 ** e - 1) * 1024);
  if (mant === 1024) {
    mant = 0;
    e++;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | mant;
}

/**
 * Narrows a float64 to the nearest BF16 bit pattern (ties to even). Goes through float32 first,
 * so a value within 2^-24 relative of a BF16 tie may round differently from a direct rounding;
 * this is only used to write test files.
 */
export function numberToBf16(x: number): number {
  if (Number.isNaN(x)) return 0x7fc0;
  f32[0] = x;
  const u = u32[0] as number;
  return ((u + 0x7fff + ((u >>> 16) & 1)) >>> 16) & 0xffff;
}
