/**
 * The primitives added for the non-linear suite (bounded comparison, LUT/spline/one-hot, matrix
 * product, segmented product, bit select, pick): secure == emulation bit for bit on random ring
 * values (in and out of each precondition), and the emulation is the intended function in range.
 */
import { runInProcess } from '../../../shared/runtime/inprocess.js';
import type { Program } from '../../../shared/runtime/program.js';
import { decodeArray } from '../../../shared/ring/fixed-point.js';
import { sameRing, seeded } from '../../util/rng.js';

const rng = seeded();
const inp = (values: Float64Array, shape: number[], fracBits = 16) => ({ values, shape, fracBits });
const same = (r: Awaited<ReturnType<typeof runInProcess>>) =>
  r.secure.forEach((s, k) => expect(sameRing(s.data, r.clear[k]!.data)).toBe(true));

describe(`new primitives, secure == emulation (seed ${rng.seed})`, () => {
  test.each([
    [32, false],
    [64, false],
    [17, false],
    [5, false],
    [3, false],
    [40, false],
    [33, false],
    [32, true],
    [64, true],
    [16, true],
    [4, true],
    [33, false, true],
    [32, false, true],
    [20, false, true],
    [9, false, true],
    [32, true, true],
    [12, true, true],
  ])(
    'cmpK width %i eq=%s fewerRounds=%s with thresholds, self and external payloads',
    async (width, eq, fewerRounds = false) => {
      // small widths compare integers; the ring limits the widest test values to 2^46 (encoding)
      const n = 97,
        f = Math.max(0, Math.min(16, width - 4)),
        ulp = 2 ** -f,
        lim = 2 ** (width - 1 - f),
        range = Math.min(1.2 * lim, 2 ** 46);
      const x = Float64Array.from({ length: n }, () => Math.round(rng.uniform(-range, range) / ulp) * ulp),
        y = rng.floats(n, -5, 5);
      const thr = eq ? [0, 1, -2] : [0, Math.round(lim / 4 / ulp) * ulp, -Math.round(lim / 3 / ulp) * ulp];
      x.set([0, ulp, -ulp, thr[1]!, thr[2]!, thr[1]! - ulp, Math.min(lim - ulp, 2 ** 46), -Math.min(lim, 2 ** 46)]);
      if (eq) x.set([1, -2, 1 + ulp], 10);
      const prog: Program = async (P, [a, b]) => {
        const o = await P.cmpK(a!, { width, thresholds: thr, eq, self: eq ? [] : [0, 2], payloads: [b!], fewerRounds });
        return [o.bits, ...o.self, ...o.prods];
      };
      const r = await runInProcess(prog, [inp(x, [n], f), inp(y, [n])]);
      same(r);
      const bits = r.clear[0]!.data;
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < 3; j++) {
          const z = x[i]! - thr[j]!;
          if (Math.abs(z) >= lim) continue; // outside the precondition: only secure == emulation is promised
          const want = eq ? Math.abs(z) < ulp / 2 : z >= -ulp / 2;
          expect(bits[i * 3 + j]).toBe(want ? 1n : 0n);
        }
      }
      expect(r.rounds).toBeLessThanOrEqual(fewerRounds ? 3 : 4);
    },
  );

  test.each([
    [
      20,
      [
        { s: 16, w: 4 },
        { s: 11, w: 5, lin: true },
      ],
    ],
    [8, [{ s: 0, w: 8 }]],
    [
      10,
      [
        { s: 3, w: 7, lin: true },
        { s: 0, w: 2 },
      ],
    ],
    [64, [{ s: 16, w: 12 }]],
    [19, [{ s: 13, w: 6, lin: true }]],
  ])('lut k=%i fields %j', async (k, fieldSpec) => {
    const n = 64;
    const x = Float64Array.from({ length: n }, () => rng.int(-(2 ** 20), 2 ** 21));
    x.set([0, 1, 2 ** Math.min(k, 50) - 1, 2 ** Math.min(k, 30), -1]);
    const fields = fieldSpec.map((f) => {
      const W = 1 << f.w;
      const lin = 'lin' in f && f.lin;
      return (f.w > 10 && !lin) || f.s === 0
        ? { s: f.s, w: f.w }
        : {
            s: f.s,
            w: f.w,
            table: {
              a: BigInt64Array.from({ length: W }, () => BigInt(rng.int(-1e6, 1e6))),
              b: lin ? BigInt64Array.from({ length: W }, () => BigInt(rng.int(-1e4, 1e4))) : undefined,
              fracBits: 16,
            },
          };
    });
    const prog: Program = async (P, [a]) => P.lut(a!, k, fields);
    const r = await runInProcess(prog, [inp(x, [n], 0)]);
    same(r);
    // emulation meaning: digit and remainder of x mod 2^k
    fields.forEach((f, q) => {
      const W = 1 << f.w;
      for (let i = 0; i < n; i++) {
        const xm = BigInt.asUintN(k, BigInt(x[i]!)),
          d = Number((xm >> BigInt(f.s)) & BigInt(W - 1)),
          c = xm & ((1n << BigInt(f.s)) - 1n);
        if (!f.table) expect(r.clear[q]!.data[i * W + d]).toBe(1n);
        else expect(r.clear[q]!.data[i]).toBe(BigInt.asUintN(64, f.table.a[d]! + (f.table.b ? f.table.b[d]! * c : 0n)));
      }
    });
  });

  test("lut product field: a[d] times another field's output, one more masked opening", async () => {
    const n = 50,
      k = 12;
    const x = Float64Array.from({ length: n }, () => rng.int(0, 2 ** k));
    x.set([0, 2 ** k - 1]);
    const a = BigInt64Array.from({ length: 8 }, () => BigInt(rng.int(-1000, 1000)));
    const b = {
      a: BigInt64Array.from({ length: 32 }, () => BigInt(rng.int(-1e5, 1e5))),
      b: BigInt64Array.from({ length: 32 }, () => BigInt(rng.int(-50, 50))),
      fracBits: 20,
    };
    const fields = [
      { s: 9, w: 3, table: { a, fracBits: 4 }, times: 1 },
      { s: 4, w: 5, table: b },
      { s: 0, w: 2, table: { a: a.slice(0, 4), fracBits: 4 }, times: 1 },
    ];
    const r = await runInProcess(async (P, [v]) => P.lut(v!, k, fields), [inp(x, [n], 0)]);
    same(r);
    expect(r.clear[0]!.fracBits).toBe(24);
    for (let i = 0; i < n; i++) {
      const xi = BigInt(x[i]!),
        lo = b.a[Number((xi >> 4n) & 31n)]! + b.b[Number((xi >> 4n) & 31n)]! * (xi & 15n);
      expect(r.clear[1]!.data[i]).toBe(BigInt.asUintN(64, lo));
      expect(r.clear[0]!.data[i]).toBe(BigInt.asUintN(64, a[Number((xi >> 9n) & 7n)]! * lo));
      expect(r.clear[2]!.data[i]).toBe(BigInt.asUintN(64, a[Number(xi & 3n)]! * lo));
    }
    expect(r.rounds).toBe(4);
  });

  test('matmul, mulSeg, mulBit and pick', async () => {
    const A = rng.floats(2 * 3 * 5, -4, 4),
      B = rng.floats(2 * 5 * 4, -4, 4);
    const xs = rng.floats(10, -3, 3),
      ys = rng.floats(3, -2, 2),
      bitsIn = Float64Array.from({ length: 10 }, () => rng.int(0, 2));
    const prog: Program = async (P, [a, b, x, y, bb]) => {
      const m = await P.matmul(a!, b!);
      const s = await P.mulSeg(x!, y!, [4, 0, 6].length === 3 ? [4, 0, 6] : []);
      const [sel] = await P.mulBit(bb!, [x!]);
      const pk = P.pick(x!, [2, 3], Int32Array.from([9, -1, 0, 3, 3, -1]));
      return [m, s, sel!, pk];
    };
    const r = await runInProcess(prog, [
      inp(A, [2, 3, 5]),
      inp(B, [2, 5, 4]),
      inp(xs, [10]),
      inp(ys, [3]),
      inp(bitsIn, [10], 0),
    ]);
    same(r);
    const m = decodeArray(r.clear[0]!.data, 32);
    let ref = 0;
    for (let l = 0; l < 5; l++) ref += A[1 * 15 + 2 * 5 + l]! * B[1 * 20 + l * 4 + 3]!;
    expect(m[1 * 12 + 2 * 4 + 3]).toBeCloseTo(ref, 3);
    const s = decodeArray(r.clear[1]!.data, 32);
    expect(s[5]).toBeCloseTo(xs[5]! * ys[2]!, 3);
    const sel = decodeArray(r.clear[2]!.data);
    for (let i = 0; i < 10; i++) expect(sel[i]).toBeCloseTo(bitsIn[i] ? xs[i]! : 0, 4);
    expect(decodeArray(r.clear[3]!.data)[1]).toBe(0);
  });
});
