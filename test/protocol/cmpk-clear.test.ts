/**
 * cmpK's exact ring function (the emulation's, and the revealed benchmark mode's), computed on
 * 32-bit words, against the definition in BigInt arithmetic: for every width from 2 to 64 bits,
 * ≥ and = tests, negative and positive thresholds, self products (sign-extended from k bits) and
 * payloads, on inputs that wrap. The secure protocol is checked against this function elsewhere
 * (primitives.test.ts, compare.test.ts); those inputs stay in range, these do not.
 */
import { Kernels } from '../../shared/ring/kernels.js';
import { clear } from '../../shared/ring/tensor.js';
import { ClearPrims } from '../../shared/protocol/prims/clear.js';
import { seeded } from '../util/rng.js';

const rng = seeded();
const P = new ClearPrims(new Kernels());

/** The definition: z = x − t_j wrapped to k bits and read as signed. */
function reference(
  x: BigUint64Array,
  ys: readonly BigUint64Array[],
  thr: readonly bigint[],
  k: number,
  eq: boolean,
  self: readonly number[],
) {
  const n = x.length,
    nt = thr.length;
  const bits = new BigUint64Array(n * nt),
    selfOut = self.map(() => new BigUint64Array(n)),
    prods = ys.map(() => new BigUint64Array(n * nt));
  for (let i = 0; i < n; i++)
    for (let j = 0; j < nt; j++) {
      const z = BigInt.asIntN(k, x[i]! - thr[j]!);
      if (!(eq ? z === 0n : z >= 0n)) continue;
      bits[i * nt + j] = 1n;
      ys.forEach((y, q) => (prods[q]![i * nt + j] = y[i]!));
      self.forEach((sj, q) => {
        if (sj === j) selfOut[q]![i] = BigInt.asUintN(64, z);
      });
    }
  return { bits, self: selfOut, prods };
}

/**
 * Ring values near 0, near ±2^(k−1), anywhere (so that some differences wrap) and equal to a
 * threshold (so that every width sees equalities, whatever the seed).
 */
function inputs(n: number, k: number, at: readonly number[]): BigUint64Array {
  const half = 1n << BigInt(k - 1);
  return BigUint64Array.from({ length: n }, (_, i) => {
    const small = BigInt(rng.int(-8, 9));
    const v = [small, half + small, -half + small, rng.u64(), BigInt(at[i % at.length]!)][i % 5]!;
    return BigInt.asUintN(64, v);
  });
}

describe(`cmpK's ring function on words == its BigInt definition (seed ${rng.seed})`, () => {
  const thresholds = [0, -3, 7, -1, 2 ** 20];
  test.each([2, 3, 5, 16, 31, 32, 33, 36, 40, 52, 63, 64])('width %i', async (k) => {
    const n = 64;
    const x = inputs(n, k, thresholds),
      y = inputs(n, 64, thresholds);
    const thr = thresholds.map((t) => BigInt(t));
    for (const eq of [false, true]) {
      const self = eq ? [] : [0, 1, 3];
      const out = await P.cmpK(clear([n], x, 0), {
        width: k,
        thresholds,
        eq,
        self,
        payloads: [clear([n], y, 0)],
      });
      const want = reference(x, [y], thr, k, eq, self);
      expect([...out.bits.data]).toEqual([...want.bits]);
      out.self.forEach((s, q) => expect([...s.data]).toEqual([...want.self[q]!]));
      expect([...out.prods[0]!.data]).toEqual([...want.prods[0]!]);
      // a test that can pass by accident would see no hits or only hits
      const hits = want.bits.reduce((c, b) => c + Number(b), 0);
      expect(hits).toBeGreaterThan(0);
      if (!eq) expect(hits).toBeLessThan(want.bits.length);
    }
  });
});
