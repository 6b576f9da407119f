import { decodeArray, decodeScalar, encodeArray, encodeScalar, FRAC_BITS } from '../../shared/ring/fixed-point.js';
import {
  addInto,
  mulInto,
  negInto,
  sarInto,
  shrInto,
  subInto,
  mulScalarInto,
  bitOfInto,
} from '../../shared/ring/u64.js';
import { seeded } from '../util/rng.js';

const M = (1n << 64n) - 1n;
const toSigned = (v: bigint) => BigInt.asIntN(64, v);

describe('ring arithmetic against a BigInt reference', () => {
  const rng = seeded();
  const edges = [
    0n,
    1n,
    M,
    M - 1n,
    1n << 63n,
    (1n << 63n) - 1n,
    (1n << 63n) + 1n,
    1n << 32n,
    (1n << 32n) - 1n,
    0xdeadbeefcafebaben,
  ];
  const a = BigUint64Array.from([...edges, ...rng.ring(200)]);
  const b = BigUint64Array.from([...edges.slice().reverse(), ...rng.ring(200)]);
  const n = a.length;

  test(`add/sub/mul/neg wrap mod 2^64 (seed ${rng.seed})`, () => {
    const out = new BigUint64Array(n);
    addInto(out, a, b);
    for (let i = 0; i < n; i++) expect(out[i]).toBe((a[i]! + b[i]!) & M);
    subInto(out, a, b);
    for (let i = 0; i < n; i++) expect(out[i]).toBe((a[i]! - b[i]! + (1n << 64n)) & M);
    mulInto(out, a, b);
    for (let i = 0; i < n; i++) expect(out[i]).toBe((a[i]! * b[i]!) & M);
    negInto(out, a);
    for (let i = 0; i < n; i++) expect(out[i]).toBe(((1n << 64n) - a[i]!) & M);
    mulScalarInto(out, a, -3n);
    for (let i = 0; i < n; i++) expect(out[i]).toBe((a[i]! * (M - 2n)) & M);
  });

  test('arithmetic and logical shifts for every shift amount', () => {
    const out = new BigUint64Array(n);
    for (let s = 0; s < 64; s++) {
      sarInto(out, a, s);
      for (let i = 0; i < n; i++) expect(out[i]).toBe(BigInt.asUintN(64, toSigned(a[i]!) >> BigInt(s)));
      shrInto(out, a, s);
      for (let i = 0; i < n; i++) expect(out[i]).toBe(a[i]! >> BigInt(s));
    }
  });

  test('bit extraction', () => {
    const bits = new Uint8Array(n);
    for (const k of [0, 1, 31, 32, 62, 63]) {
      bitOfInto(bits, a, k);
      for (let i = 0; i < n; i++) expect(bits[i]).toBe(Number((a[i]! >> BigInt(k)) & 1n));
    }
  });
});

describe('fixed-point encoding', () => {
  test(`f = ${FRAC_BITS}; negative values and rounding`, () => {
    expect(encodeScalar(1)).toBe(1n << 16n);
    expect(encodeScalar(-1)).toBe(M - (1n << 16n) + 1n);
    expect(decodeScalar(encodeScalar(-2.5))).toBe(-2.5);
    expect(decodeScalar(encodeScalar(3.00001))).toBeCloseTo(3.00001, 4);
    expect(encodeScalar(2 ** -17)).toBe(1n); // Math.round: a half rounds up, towards +∞
    expect(encodeScalar(-(2 ** -17))).toBe(0n);
    expect(encodeScalar(-2.5, 0)).toBe(M - 1n); // −2.5 → −2, not −3
  });
  test('array round trip within half an ulp', () => {
    const rng = seeded();
    const xs = rng.floats(1000, -1e6, 1e6);
    const back = decodeArray(encodeArray(xs));
    for (let i = 0; i < xs.length; i++) expect(Math.abs(back[i]! - xs[i]!)).toBeLessThanOrEqual(2 ** -17);
  });
  test('known-answer hex vectors', () => {
    expect(encodeScalar(0.5).toString(16)).toBe('8000');
    expect(encodeScalar(-0.5).toString(16)).toBe('ffffffffffff8000');
    expect(encodeScalar(-32768).toString(16)).toBe('ffffffff80000000'); // -2^15 · 2^16 = -2^31
  });
  test('refuses non-finite values and magnitudes from 2^63 up with E_OVERFLOW', () => {
    expect(() => encodeScalar(NaN)).toThrow(/^E_OVERFLOW/);
    expect(() => encodeArray([Infinity])).toThrow(/^E_OVERFLOW/);
    expect(() => encodeScalar(2 ** 47)).toThrow(/^E_OVERFLOW/); // 2^47 · 2^16 = 2^63
    expect(() => encodeArray([1, -(2 ** 47)])).toThrow(/^E_OVERFLOW: element 1/);
    expect(encodeScalar(2 ** 47 - 1)).toBe((2n ** 47n - 1n) << 16n);
    expect(encodeScalar(-(2 ** 47) + 1)).toBe(M - ((2n ** 47n - 1n) << 16n) + 1n);
  });
});
