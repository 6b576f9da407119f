/** The float64 `EvictionOps`: known answers, tie rules and the edges policies rely on. */
import { describe, expect, test } from '@jest/globals';
import { FloatKVCache, floatOps as plainFloatOps, floatTensor, type FloatTensor } from '../../shared/model/index.js';
import { kvOps } from '../../shared/kvcache/index.js';
import { MpcError } from '../../shared/util/index.js';
import { seeded } from '../util/rng.js';

const floatOps = kvOps(plainFloatOps);

const t = (shape: number[], values: number[]) => floatTensor(shape, Float64Array.from(values));
const list = (x: FloatTensor) => Array.from(x.data);
/** The index each one-hot row picks, per group. */
const picks = (sel: FloatTensor) => {
  const [g, k, n] = sel.shape as [number, number, number];
  return Array.from({ length: g }, (_, gi) =>
    Array.from({ length: k }, (_, i) =>
      list(sel)
        .slice((gi * k + i) * n, (gi * k + i + 1) * n)
        .indexOf(1),
    ),
  );
};
const codeOf = async (f: () => unknown) => {
  try {
    await f();
    return 'no error';
  } catch (e) {
    return e instanceof MpcError ? e.code : String(e);
  }
};

describe('topk', () => {
  test('rows ascend by index, ties go to the lowest index, leading dimensions are groups', async () => {
    const x = t([2, 1, 6], [3, 1, 3, 5, 3, 0, /* */ 0, 0, 0, 0, 0, 1]);
    const sel = await floatOps.topk(x, 3);
    expect(sel.shape).toEqual([2, 3, 6]);
    expect(picks(sel)).toEqual([
      [0, 2, 3],
      [0, 1, 5],
    ]);
  });

  test('heavy ties, signed zeros and every k agree with a sort by (value desc, index asc)', async () => {
    const rng = seeded();
    for (let trial = 0; trial < 30; trial++) {
      const n = rng.int(1, 40);
      const vals = Array.from({ length: n }, () => [-1, -0, 0, 0.5, 2][rng.int(0, 5)] as number);
      for (let k = 0; k <= n + 1; k++) {
        const want = vals
          .map((v, i) => [v, i] as const)
          .sort((a, b) => b[0] - a[0] || a[1] - b[1])
          .slice(0, k)
          .map(([, i]) => i)
          .sort((a, b) => a - b);
        expect(picks(await floatOps.topk(t([1, n], vals), k))).toEqual([want]);
      }
    }
  });

  test('k ≥ N picks everything, k = 0 picks nothing; negative k and NaN are errors', async () => {
    const x = t([1, 3], [2, -1, 7]);
    expect(picks(await floatOps.topk(x, 5))).toEqual([[0, 1, 2]]);
    expect((await floatOps.topk(x, 0)).shape).toEqual([1, 0, 3]);
    expect(await codeOf(() => floatOps.topk(x, -1))).toBe('E_INPUT');
    expect(await codeOf(() => floatOps.topk(t([1, 2], [NaN, 1]), 1))).toBe('E_INPUT');
  });
});

describe('selections', () => {
  test('gather picks rows or last-axis entries; a single input group broadcasts', async () => {
    const sel = await floatOps.topk(t([2, 1, 3], [1, 9, 5, 7, 0, 8]), 2); // head 0: 1, 2; head 1: 0, 2
    const x = t([1, 3, 2], [10, 11, 20, 21, 30, 31]);
    expect(list(await floatOps.gather(sel, x, 'rows'))).toEqual([20, 21, 30, 31, 10, 11, 30, 31]);
    const row = t([2, 1, 3], [1, 2, 3, 4, 5, 6]);
    expect(list(await floatOps.gather(sel, row, 'last'))).toEqual([2, 3, 4, 6]);
    expect(await codeOf(() => floatOps.gather(sel, t([1, 2, 2], [0, 0, 0, 0]), 'rows'))).toBe('E_SHAPE');
  });

  test('expandSelection gives every child of each chosen cluster in order, with room for orphans', () => {
    const sel = floatOps.publicSelection(1, [0, 2], 3);
    const e = floatOps.expandSelection(sel, 2, 7);
    expect(e.shape).toEqual([1, 4, 7]);
    expect(picks(e)).toEqual([[0, 1, 4, 5]]);
    expect(() => floatOps.expandSelection(sel, 2, 5)).toThrow(MpcError);
  });

  test('publicSelection needs ascending indices inside 0..n−1', () => {
    expect(picks(floatOps.publicSelection(2, [1, 3], 4))).toEqual([
      [1, 3],
      [1, 3],
    ]);
    expect(() => floatOps.publicSelection(1, [2, 1], 4)).toThrow(/ascend/);
    expect(() => floatOps.publicSelection(1, [4], 4)).toThrow(/ascend/);
  });

  test('slice and concat along any axis are inverse', () => {
    const rng = seeded();
    const x = floatTensor([2, 5, 3], rng.floats(30, -1, 1));
    for (const axis of [0, 1, 2]) {
      const d = x.shape[axis] as number;
      const parts = [floatOps.slice(x, axis, 0, 1), floatOps.slice(x, axis, 1, d)];
      expect(floatOps.concat(parts, axis)).toEqual(x);
    }
    expect(() => floatOps.slice(x, 1, 3, 6)).toThrow(MpcError);
    expect(() => floatOps.concat([x, floatOps.slice(x, 2, 0, 1)], 1)).toThrow(MpcError);
  });
});

describe('cluster summaries and scores', () => {
  test('blockMinMax bounds blocks; bounds of bounds equal bounds of the keys', async () => {
    const rng = seeded();
    const keys = floatTensor([2, 8, 3], rng.floats(48, -2, 2));
    const fine = await floatOps.blockMinMax(keys, keys, 2);
    const coarse = await floatOps.blockMinMax(fine.max, fine.min, 2);
    const direct = await floatOps.blockMinMax(keys, keys, 4);
    expect(coarse).toEqual(direct);
    const k = list(keys);
    expect(fine.max.data[0]).toBe(Math.max(k[0]!, k[3]!));
    expect(fine.min.data[3 + 2]).toBe(Math.min(k[6 + 2]!, k[9 + 2]!));
    expect(await codeOf(() => floatOps.blockMinMax(keys, keys, 3))).toBe('E_SHAPE');
  });

  test("clusterScores: the blend is q·(α·kmax + (1 − α)·kmin); the bound never falls below a member's q·k", async () => {
    const q = t([1, 1, 2], [1, -2]);
    const kmax = t([1, 1, 2], [3, 4]);
    const kmin = t([1, 1, 2], [-1, 0]);
    expect((await floatOps.clusterScores(q, kmax, kmin, { kind: 'blend', alpha: 0.6 })).data[0]).toBeCloseTo(
      1 * (1.8 - 0.4) - 2 * 2.4,
      12,
    );
    expect((await floatOps.clusterScores(q, kmax, kmin, { kind: 'bound' })).data[0]).toBe(3 + 0);
    const rng = seeded();
    for (let trial = 0; trial < 20; trial++) {
      const keys = floatTensor([1, 4, 5], rng.floats(20, -1, 1));
      const b = await floatOps.blockMinMax(keys, keys, 4);
      const qq = floatTensor([1, 1, 5], rng.floats(5, -1, 1));
      const bound = (await floatOps.clusterScores(qq, b.max, b.min, { kind: 'bound' })).data[0] as number;
      for (let r = 0; r < 4; r++) {
        const dot = [0, 1, 2, 3, 4].reduce((a, c) => a + qq.data[c]! * keys.data[r * 5 + c]!, 0);
        expect(bound).toBeGreaterThanOrEqual(dot - 1e-12);
      }
    }
  });
});

describe('attention statistics', () => {
  test('sumQueries sums chosen rows per head or averages over heads', async () => {
    const p = t([2, 2, 3], [0.5, 0.5, 0, 0.2, 0.3, 0.5, /* */ 1, 0, 0, 0.1, 0.1, 0.8]);
    expect(list(await floatOps.sumQueries(p, 0, 2, false))).toEqual([0.7, 0.8, 0.5, 1.1, 0.1, 0.8]);
    const mean = await floatOps.sumQueries(p, 1, 2, true);
    expect(mean.shape).toEqual([1, 1, 3]);
    expect(list(mean).map((v) => +v.toFixed(12))).toEqual([0.15, 0.2, 0.65]);
    expect(await codeOf(() => floatOps.sumQueries(p, 1, 1, false))).toBe('E_SHAPE');
  });

  test('maxQueries takes, per key, the largest head-mean attention of one query in the rows', async () => {
    const p = t([2, 2, 3], [0.5, 0.5, 0, 0.2, 0.3, 0.5, /* */ 1, 0, 0, 0.1, 0.1, 0.8]);
    const m = await floatOps.maxQueries(p, 0, 2);
    expect(m.shape).toEqual([1, 1, 3]);
    expect(list(m).map((v) => +v.toFixed(12))).toEqual([0.75, 0.25, 0.65]); // rows' head means: [0.75, 0.25, 0], [0.15, 0.2, 0.65]
    expect(list(await floatOps.maxQueries(p, 1, 2)).map((v) => +v.toFixed(12))).toEqual([0.15, 0.2, 0.65]);
    expect(await codeOf(() => floatOps.maxQueries(p, 2, 1))).toBe('E_SHAPE');
  });

  test('blockScores sums (or takes the max of) each block and the blocks before it; a partial last block is dropped', async () => {
    const x = t([1, 1, 7], [1, 2, 3, 4, 5, 6, 100]);
    expect(list(await floatOps.blockScores(x, 2, 0, 'sum'))).toEqual([3, 7, 11]);
    expect(list(await floatOps.blockScores(x, 2, 1, 'sum'))).toEqual([3, 10, 18]);
    expect(list(await floatOps.blockScores(x, 2, 5, 'sum'))).toEqual([3, 10, 21]);
    const y = t([1, 1, 9], [0, 9, 1, 1, 2, 0, 0, 3, 50]);
    expect(list(await floatOps.blockScores(y, 2, 0, 'max'))).toEqual([9, 1, 2, 3]);
    expect(list(await floatOps.blockScores(y, 2, 1, 'max'))).toEqual([9, 9, 2, 3]);
    expect(list(await floatOps.blockScores(y, 2, 2, 'max'))).toEqual([9, 9, 9, 3]);
    expect((await floatOps.blockScores(t([2, 1, 2], [1, 2, 3, 4]), 1, 1, 'sum')).shape).toEqual([2, 1, 2]);
    expect(await codeOf(() => floatOps.blockScores(x, 0, 0, 'sum'))).toBe('E_INPUT');
    expect(await codeOf(() => floatOps.blockScores(x, 2, -1, 'max'))).toBe('E_INPUT');
    expect(await codeOf(() => floatOps.blockScores(t([1, 7], [1, 2, 3, 4, 5, 6, 7]), 2, 0, 'sum'))).toBe('E_SHAPE');
  });

  test('maxPool takes the window maximum, cut at the ends', async () => {
    expect(list(await floatOps.maxPool(t([1, 1, 6], [0, 5, 0, 0, 0, 7]), 3))).toEqual([5, 5, 5, 0, 7, 7]);
    expect(list(await floatOps.maxPool(t([1, 1, 3], [1, 2, 3]), 1))).toEqual([1, 2, 3]);
    expect(await codeOf(() => floatOps.maxPool(t([1, 1, 3], [1, 2, 3]), 2))).toBe('E_INPUT');
  });
});

describe('gatherCache', () => {
  async function cache(heads: number, hd: number, n: number): Promise<FloatKVCache> {
    const c = new FloatKVCache(heads, hd, n);
    const k = floatTensor(
      [heads, n, hd],
      Float64Array.from({ length: heads * n * hd }, (_, i) => i),
    );
    const v = floatTensor(
      [heads, n, hd],
      Float64Array.from({ length: heads * n * hd }, (_, i) => -i),
    );
    await c.append(k, v);
    return c;
  }
  const keyRow = (c: FloatKVCache, h: number, r: number) =>
    Array.from(c.keys.subarray((h * c.capacity + r) * c.headDim, (h * c.capacity + r + 1) * c.headDim));
  const valueRow = (c: FloatKVCache, h: number, r: number) =>
    Array.from({ length: c.headDim }, (_, j) => c.valuesT[(h * c.headDim + j) * c.capacity + r]);

  test('public rows and per-head block selections, in order, keys and values alike', async () => {
    const src = await cache(2, 2, 12);
    const sel = floatOps.concat([floatOps.publicSelection(1, [1], 3), floatOps.publicSelection(1, [2], 3)], 0); // head 0 → block 1, head 1 → block 2
    const out = await floatOps.gatherCache(
      src,
      [{ rows: [0, 2] }, { select: sel, block: 3, offset: 2 }, { rows: [11, 12] }],
      10,
    );
    expect(out.length).toBe(6);
    expect(out.capacity).toBe(10);
    const want = [
      [0, 1, 5, 6, 7, 11],
      [0, 1, 8, 9, 10, 11],
    ];
    for (const h of [0, 1]) {
      want[h]!.forEach((r, i) => {
        expect(keyRow(out, h, i)).toEqual(keyRow(src, h, r));
        expect(valueRow(out, h, i)).toEqual(valueRow(src, h, r));
      });
    }
    await out.append(floatTensor([2, 1, 2], new Float64Array(4)), floatTensor([2, 1, 2], new Float64Array(4)));
    expect(out.length).toBe(7);
  });

  test('a shared selection picks the same rows for every head; bad pieces are shape errors', async () => {
    const src = await cache(2, 1, 5);
    const sel = floatOps.publicSelection(1, [0, 3], 5);
    const out = await floatOps.gatherCache(src, [{ select: sel, block: 1, offset: 0 }], 2);
    expect([keyRow(out, 0, 1), keyRow(out, 1, 1)]).toEqual([keyRow(src, 0, 3), keyRow(src, 1, 3)]);
    expect(await codeOf(() => floatOps.gatherCache(src, [{ rows: [0, 6] }], 6))).toBe('E_SHAPE');
    expect(await codeOf(() => floatOps.gatherCache(src, [{ rows: [0, 5] }], 4))).toBe('E_SHAPE');
    expect(
      await codeOf(() =>
        floatOps.gatherCache(src, [{ select: t([1, 1, 5], [0, 1, 1, 0, 0]), block: 1, offset: 0 }], 4),
      ),
    ).toBe('E_SHAPE');
    expect(await codeOf(() => floatOps.gatherCache(src, [{ select: sel, block: 2, offset: 0 }], 4))).toBe('E_SHAPE');
  });
});
