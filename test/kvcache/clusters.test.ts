/**
 * Cluster layout, summaries and hierarchical selection, against a plain-JS reference written
 * from the rules in shared/kvcache/clusters.ts (not from its code).
 */
import { describe, expect, test } from '@jest/globals';
import {
  FloatKVCache,
  floatOps as plainFloatOps,
  floatTensor,
  type FloatTensor,
  type FloatTypes,
} from '../../shared/model/index.js';
import {
  ClusterIndex,
  clusterLayout,
  kvOps,
  levelCounts,
  pickPositions,
  floatInspector,
  type ClusterConfig,
} from '../../shared/kvcache/index.js';

const floatOps = kvOps(plainFloatOps);
import { seeded, type TestRng } from '../util/rng.js';

const H = 2,
  HD = 4;
const cfg = (over: Partial<ClusterConfig> = {}): ClusterConfig => ({
  sizes: [8, 4],
  rule: { kind: 'blend', alpha: 0.6 },
  forceHead: true,
  levelRatio: 0.5,
  select: 3,
  ...over,
});

async function randomCache(rng: TestRng, rows: number, capacity = rows): Promise<FloatKVCache> {
  const c = new FloatKVCache(H, HD, capacity);
  const k = floatTensor([H, rows, HD], rng.floats(H * rows * HD, -1, 1));
  await c.append(k, k);
  return c;
}

const keyOf = (c: FloatKVCache, h: number, r: number) =>
  Array.from(c.keys.subarray((h * c.capacity + r) * HD, (h * c.capacity + r + 1) * HD));

/** Reference: the rows each head attends to, recomputed from scratch. */
function reference(c: ClusterConfig, cache: FloatKVCache, q: FloatTensor): number[][] | null {
  const t = cache.length;
  const sizes = c.sizes;
  const s = sizes[sizes.length - 1]!;
  const base = c.forceHead ? s : 0;
  const tail = s * (Math.ceil(t / s) - 1);
  if (tail <= base) return null;
  const counts = sizes.map((z) => Math.floor((tail - base) / z));
  const want = levelCounts(c, counts);
  if (want[sizes.length - 1]! >= counts[sizes.length - 1]!) return null;
  return Array.from({ length: H }, (_, h) => {
    const qh = Array.from(q.data.subarray(h * HD, (h + 1) * HD));
    const memo = new Map<string, number>();
    const score = (size: number, j: number) => {
      const id = `${size}:${j}`;
      if (!memo.has(id)) memo.set(id, rawScore(size, j));
      return memo.get(id)!;
    };
    const rawScore = (size: number, j: number) => {
      let sc = 0;
      for (let d = 0; d < HD; d++) {
        let mx = -Infinity,
          mn = Infinity;
        for (let r = base + j * size; r < base + (j + 1) * size; r++) {
          mx = Math.max(mx, keyOf(cache, h, r)[d]!);
          mn = Math.min(mn, keyOf(cache, h, r)[d]!);
        }
        sc +=
          c.rule.kind === 'blend'
            ? qh[d]! * (c.rule.alpha * mx + (1 - c.rule.alpha) * mn)
            : Math.max(qh[d]! * mx, qh[d]! * mn);
      }
      return sc;
    };
    let cand = Array.from({ length: counts[0]! }, (_, j) => j);
    let chosen: number[] = [];
    sizes.forEach((size, l) => {
      if (l > 0) {
        const r = sizes[l - 1]! / size;
        cand = [
          ...chosen.flatMap((j) => Array.from({ length: r }, (_, c2) => j * r + c2)),
          ...Array.from({ length: counts[l]! - counts[l - 1]! * r }, (_, i) => counts[l - 1]! * r + i),
        ];
      }
      const k = want[l]!;
      chosen =
        k >= cand.length
          ? cand
          : [...cand]
              .sort((a, b) => score(size, b) - score(size, a) || a - b)
              .slice(0, k)
              .sort((a, b) => a - b);
    });
    const rows = Array.from({ length: base }, (_, i) => i);
    for (const j of chosen) for (let r = 0; r < s; r++) rows.push(base + j * s + r);
    for (let r = tail; r < t; r++) rows.push(r);
    return rows;
  });
}

async function selected(
  index: ClusterIndex<FloatTypes>,
  q: FloatTensor,
  cache: FloatKVCache,
): Promise<number[][] | null> {
  await index.update(cache);
  const pieces = await index.select(q, cache.length);
  if (pieces === null) return null;
  const identity = Array.from({ length: H }, () => Array.from({ length: cache.length }, (_, i) => i));
  return pickPositions(identity, pieces, floatInspector);
}

describe('cluster layout', () => {
  test('head, middle and tail around cluster boundaries, with and without a forced head', () => {
    const c = cfg();
    expect(clusterLayout(c, 8)).toBeNull(); // head and tail cover everything
    expect(clusterLayout(c, 9)).toEqual({ base: 4, tailStart: 8, counts: [0, 1] });
    expect(clusterLayout(c, 12)).toEqual({ base: 4, tailStart: 8, counts: [0, 1] }); // tail is the full newest cluster
    expect(clusterLayout(c, 13)).toEqual({ base: 4, tailStart: 12, counts: [1, 2] });
    expect(clusterLayout(c, 23)).toEqual({ base: 4, tailStart: 20, counts: [2, 4] });
    expect(clusterLayout(c, 25)).toEqual({ base: 4, tailStart: 24, counts: [2, 5] }); // one orphan fine cluster
    const quest = cfg({ sizes: [4], forceHead: false });
    expect(clusterLayout(quest, 4)).toBeNull();
    expect(clusterLayout(quest, 5)).toEqual({ base: 0, tailStart: 4, counts: [1] });
  });

  test('level counts keep levelRatio of parents but always enough for the next level', () => {
    expect(levelCounts(cfg({ select: 3 }), [4, 8])).toEqual([2, 3]);
    expect(levelCounts(cfg({ select: 3, levelRatio: 0.25 }), [4, 8])).toEqual([2, 3]); // need ⌈3/2⌉
    expect(levelCounts(cfg({ select: 3 }), [2, 5])).toEqual([1, 3]); // the orphan covers one
    expect(levelCounts(cfg({ select: 1, levelRatio: 0.1 }), [2, 5])).toEqual([0, 1]); // the orphan alone suffices
    expect(levelCounts(cfg({ select: 9 }), [2, 5])).toEqual([2, 5]);
  });
});

describe('cluster summaries', () => {
  test('updated token by token they equal a recomputation, and the brute-force bounds', async () => {
    const rng = seeded();
    const full = await randomCache(rng, 70);
    const grown = new FloatKVCache(H, HD, 70);
    const c = cfg();
    const inc = new ClusterIndex(floatOps, c);
    for (let r = 0; r < 70; r++) {
      const k = floatTensor(
        [H, 1, HD],
        Float64Array.from({ length: H * HD }, (_, i) => keyOf(full, Math.floor(i / HD), r)[i % HD]!),
      );
      await grown.append(k, k);
      await inc.update(grown);
    }
    const once = new ClusterIndex(floatOps, c);
    await once.update(full);
    const lay = clusterLayout(c, 70)!;
    expect(inc.summarised()).toEqual(lay.counts);
    for (const level of [0, 1]) {
      expect(inc.bounds(level)).toEqual(once.bounds(level));
      const size = c.sizes[level]!;
      const b = once.bounds(level)!;
      for (let j = 0; j < lay.counts[level]!; j++) {
        for (let d = 0; d < HD; d++) {
          const col = Array.from({ length: size }, (_, r) => keyOf(full, 1, lay.base + j * size + r)[d]!);
          expect(b.max.data[(lay.counts[level]! + j) * HD + d]).toBe(Math.max(...col));
          expect(b.min.data[(lay.counts[level]! + j) * HD + d]).toBe(Math.min(...col));
        }
      }
    }
  });
});

describe('hierarchical selection', () => {
  const configs: [string, ClusterConfig][] = [
    ['two levels', cfg()],
    ['two levels, Quest bound', cfg({ rule: { kind: 'bound' } })],
    ['three levels', cfg({ sizes: [16, 8, 4], select: 4 })],
    ['one level, no forced head', cfg({ sizes: [4], forceHead: false, select: 2 })],
  ];
  test.each(configs)('%s: equals the reference at every length, exactly k clusters per head', async (_name, c) => {
    const rng = seeded();
    for (let trial = 0; trial < 2; trial++) {
      const cache = await randomCache(rng, 90);
      for (let len = 1; len <= 90; len++) {
        const prefix = await floatOps.gatherCache(cache, [{ rows: [0, len] }], len);
        const q = floatTensor([H, 1, HD], rng.floats(H * HD, -1, 1));
        const got = await selected(new ClusterIndex(floatOps, c), q, prefix);
        const want = reference(c, prefix, q);
        expect({ len, got }).toEqual({ len, got: want });
        if (got !== null) {
          const lay = clusterLayout(c, len)!;
          const s = c.sizes[c.sizes.length - 1]!;
          for (const rows of got) expect(rows.length).toBe(lay.base + c.select * s + (len - lay.tailStart));
        }
      }
    }
  });

  test('ties go to the lowest cluster', async () => {
    const cache = new FloatKVCache(H, HD, 40);
    const k = floatTensor([H, 40, HD], new Float64Array(H * 40 * HD).fill(1));
    await cache.append(k, k);
    const got = await selected(
      new ClusterIndex(floatOps, cfg({ select: 2 })),
      floatTensor([H, 1, HD], new Float64Array(H * HD).fill(1)),
      cache,
    );
    expect(got![0]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 36, 37, 38, 39]);
  });
});
