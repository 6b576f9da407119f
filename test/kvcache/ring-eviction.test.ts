/**
 * The ring backends' EvictionOps (kvcache/ring-eviction.ts) one by one: every program runs as two
 * parties with the dealer and as the fixed-point emulation in process; `runChecked` asserts secure
 * == emulation bit for bit and metered rounds / bytes / dealer bytes == the program's declared
 * cost. Results are compared with the float64 backend (exact for selections and data movement,
 * within fixed-point error for arithmetic), and the costs that matter with their closed forms.
 */
import { describe, expect, test } from '@jest/globals';
import type { Program } from '../../shared/runtime/program.js';
import type { AnyTensor } from '../../shared/ring/tensor.js';
import type { FixedHandle, Prims } from '../../shared/protocol/prims/types.js';
import { declaredCost } from '../../shared/protocol/cost.js';
import { shapeOnly } from '../../shared/ring/tensor.js';
import { RingOps, RingKVCache } from '../../shared/model/ring/ops.js';
import { STANDARD_NL } from '../../shared/model/ring/recipes.js';
import { CLEAR_TOKEN_IO } from '../../shared/model/ring/io-clear.js';
import {
  FloatKVCache,
  floatOps as plainFloatOps,
  floatTensor,
  generate,
  gpt2WeightsFromSafetensors,
  parseGpt2Config,
  parseSafetensors,
  type Ops,
  type PlainTypes,
} from '../../shared/model/index.js';
import {
  PolicyAttention,
  floatInspector,
  getPolicy,
  kvOps,
  policyNames,
  type CachePiece,
  type Inspector,
} from '../../shared/kvcache/index.js';
import { fixedOps } from '../../shared/model/ring/recipes.js';
import { decodeArray } from '../../shared/ring/fixed-point.js';
import type { Clear } from '../../shared/ring/tensor.js';
import { hfConfig, randomTensors, toFile } from '../model/tiny-model.js';
import { FRAC_BITS } from '../../shared/ring/fixed-point.js';
import { inp, maxAbsErr, q, runChecked } from '../util/nl.js';
import { seeded } from '../util/rng.js';

const F = FRAC_BITS;
const rng = seeded();
const floatOps = kvOps(plainFloatOps);
const ringOps = <T extends AnyTensor, Fx extends FixedHandle>(P: Prims<T, Fx>) =>
  kvOps(new RingOps(P, STANDARD_NL, CLEAR_TOKEN_IO as never, F));
const vals = (n: number, lo = -2, hi = 2) => Float64Array.from({ length: n }, () => q(rng.uniform(lo, hi)));
const oneHots = (g: number, k: number, n: number, pick: (gi: number, i: number) => number) => {
  const x = new Float64Array(g * k * n);
  for (let gi = 0; gi < g; gi++) for (let i = 0; i < k; i++) x[(gi * k + i) * n + pick(gi, i)] = 1;
  return x;
};
const ft = (shape: number[], x: Float64Array) => floatTensor(shape, x);

describe(`ring EvictionOps: secure == emulation, emulation vs float64 (seed ${rng.seed})`, () => {
  test('slice, concat, expandSelection, publicSelection, cacheKeys are local and exact', async () => {
    const x = vals(2 * 5 * 3),
      sel = oneHots(2, 2, 3, (g, i) => (g + 2 * i) % 3);
    const prog: Program = async (P, [a, s]) => {
      const o = ringOps(P);
      const c = new RingKVCache(P, 'c', 2, 3, 8);
      await c.append(a!, a!);
      return [
        o.slice(a!, 1, 1, 4),
        o.concat([o.slice(a!, 2, 0, 1), o.slice(a!, 2, 1, 3)], 2),
        o.concat([a!, a!], 0),
        o.expandSelection(s!, 2, 7),
        o.publicSelection(2, [0, 2], 3),
        o.cacheKeys(c, 1, 4),
      ];
    };
    const { out, cost } = await runChecked(prog, [inp(x, [2, 5, 3]), inp(sel, [2, 2, 3], 0)]);
    const xf = ft([2, 5, 3], x),
      sf = ft([2, 2, 3], sel);
    expect(Array.from(out[0]!)).toEqual(Array.from(floatOps.slice(xf, 1, 1, 4).data));
    expect(Array.from(out[1]!)).toEqual(Array.from(x));
    expect(Array.from(out[2]!)).toEqual([...x, ...x]);
    expect(Array.from(out[3]!)).toEqual(Array.from(floatOps.expandSelection(sf, 2, 7).data));
    expect(Array.from(out[4]!)).toEqual(Array.from(floatOps.publicSelection(2, [0, 2], 3).data));
    expect(Array.from(out[5]!)).toEqual(Array.from(floatOps.slice(xf, 1, 1, 4).data));
    expect(cost.rounds).toBe(1); // the cache append only (keys and values in one batched round)
  });

  test('topk: ascending one-hots, lowest-index ties, k = 0 and k ≥ N, as float64', async () => {
    const x = Float64Array.from({ length: 3 * 9 }, (_, i) => q(i % 4 === 0 ? 1 : rng.uniform(-3, 3)));
    const prog: Program = async (P, [a]) => {
      const o = ringOps(P);
      return [await o.topk(a!, 3), await o.topk(a!, 0), await o.topk(a!, 12), await o.topk(P.reshape(a!, [27]), 5)];
    };
    const { out } = await runChecked(prog, [inp(x, [3, 9])]);
    const xf = ft([3, 9], x);
    for (const [i, k, t] of [
      [0, 3, xf],
      [1, 0, xf],
      [2, 12, xf],
      [3, 5, ft([27], x)],
    ] as const) {
      expect(Array.from(out[i]!)).toEqual(Array.from((await floatOps.topk(t, k)).data));
    }
  });

  test('gather rows and last entries, per group or broadcast from one group: exact', async () => {
    const sel = oneHots(2, 2, 5, (g, i) => (3 * g + 2 * i) % 5),
      x1 = vals(5 * 3),
      xg = vals(2 * 5 * 3),
      row = vals(2 * 3 * 5);
    const prog: Program = async (P, [s, a, b, r]) => {
      const o = ringOps(P);
      return [
        await o.gather(s!, a!, 'rows'),
        await o.gather(s!, b!, 'rows'),
        await o.gather(s!, r!, 'last'),
        await o.gather(s!, P.sliceFirst(r!, 0, 1), 'last'),
      ];
    };
    const { out } = await runChecked(prog, [
      inp(sel, [2, 2, 5], 0),
      inp(x1, [1, 5, 3]),
      inp(xg, [2, 5, 3]),
      inp(row, [2, 3, 5]),
    ]);
    const sf = ft([2, 2, 5], sel);
    expect(Array.from(out[0]!)).toEqual(Array.from((await floatOps.gather(sf, ft([1, 5, 3], x1), 'rows')).data));
    expect(Array.from(out[1]!)).toEqual(Array.from((await floatOps.gather(sf, ft([2, 5, 3], xg), 'rows')).data));
    expect(Array.from(out[2]!)).toEqual(Array.from((await floatOps.gather(sf, ft([2, 3, 5], row), 'last')).data));
    expect(Array.from(out[3]!)).toEqual(
      Array.from((await floatOps.gather(sf, ft([1, 3, 5], row.slice(0, 15)), 'last')).data),
    );
  });

  test('clusterScores (blend, bound) and sumQueries (per head, head mean) within fixed-point error', async () => {
    const H = 2,
      C = 6,
      hd = 4,
      n = 3,
      T = 7;
    const qv = vals(H * hd),
      a = vals(H * C * hd),
      b = vals(H * C * hd);
    const kmax = a.map((v, i) => Math.max(v, b[i]!)),
      kmin = a.map((v, i) => Math.min(v, b[i]!));
    const p = vals(H * n * T, 0, 1);
    const prog: Program = async (P, [qq, mx, mn, pp]) => {
      const o = ringOps(P);
      return [
        await o.clusterScores(qq!, mx!, mn!, { kind: 'blend', alpha: 0.6 }),
        await o.clusterScores(qq!, mx!, mn!, { kind: 'bound' }),
        await o.sumQueries(pp!, 1, 3, false),
        await o.sumQueries(pp!, 0, 3, true),
      ];
    };
    const { out } = await runChecked(prog, [
      inp(qv, [H, 1, hd]),
      inp(kmax, [H, C, hd]),
      inp(kmin, [H, C, hd]),
      inp(p, [H, n, T]),
    ]);
    const Q = ft([H, 1, hd], qv),
      MX = ft([H, C, hd], kmax),
      MN = ft([H, C, hd], kmin),
      PF = ft([H, n, T], p);
    const ulp = 2 ** -F;
    expect(
      maxAbsErr(out[0]!, (await floatOps.clusterScores(Q, MX, MN, { kind: 'blend', alpha: 0.6 })).data).err,
    ).toBeLessThanOrEqual(hd * 4 * ulp);
    expect(
      maxAbsErr(out[1]!, (await floatOps.clusterScores(Q, MX, MN, { kind: 'bound' })).data).err,
    ).toBeLessThanOrEqual(ulp);
    expect(Array.from(out[2]!)).toEqual(Array.from((await floatOps.sumQueries(PF, 1, 3, false)).data).map((v) => q(v)));
    expect(maxAbsErr(out[3]!, (await floatOps.sumQueries(PF, 0, 3, true)).data).err).toBeLessThanOrEqual(2 * ulp);
  });

  test('maxQueries (max over rows of the head mean) within fixed-point error; blockScores (sum and max) exact', async () => {
    const H = 2,
      n = 5,
      T = 11;
    const p = vals(H * n * T, 0, 1),
      x = vals(2 * T, 0, 1);
    const prog: Program = async (P, [pp, xx]) => {
      const o = ringOps(P);
      return [
        await o.maxQueries(pp!, 1, 5),
        await o.blockScores(xx!, 3, 2, 'sum'),
        await o.blockScores(xx!, 4, 0, 'sum'),
        await o.blockScores(xx!, 3, 2, 'max'),
        await o.blockScores(xx!, 4, 0, 'max'),
        await o.blockScores(xx!, 2, 1, 'max'),
      ];
    };
    const { out } = await runChecked(prog, [inp(p, [H, n, T]), inp(x, [2, 1, T])]);
    const PF = ft([H, n, T], p),
      XF = ft([2, 1, T], x);
    expect(maxAbsErr(out[0]!, (await floatOps.maxQueries(PF, 1, 5)).data).err).toBeLessThanOrEqual(2 * 2 ** -F);
    const cases = [
      [3, 2, 'sum'],
      [4, 0, 'sum'],
      [3, 2, 'max'],
      [4, 0, 'max'],
      [2, 1, 'max'],
    ] as const;
    for (const [i, [block, lookback, agg]] of cases.entries()) {
      expect(Array.from(out[i + 1]!)).toEqual(
        Array.from((await floatOps.blockScores(XF, block, lookback, agg)).data).map((v) => q(v)),
      );
    }
  });

  test('clusterScores over a growing series: equal to the plain product; each cluster opened once, then only q', async () => {
    const H = 2,
      hd = 4,
      C = 6;
    const qa = vals(H * hd),
      qb = vals(H * hd),
      a = vals(H * C * hd),
      b = vals(H * C * hd);
    const kmax = a.map((v, i) => Math.max(v, b[i]!)),
      kmin = a.map((v, i) => Math.min(v, b[i]!));
    const rules = [{ kind: 'blend', alpha: 0.6 }, { kind: 'bound' }] as const;
    const prog =
      (calls: number): Program =>
      async (P, [q1, q2, mx, mn]) => {
        const o = ringOps(P),
          out: AnyTensor[] = [];
        for (const rule of rules) {
          const series = { maxClusters: 8 };
          out.push(await o.clusterScores(q1!, o.slice(mx!, 1, 0, 4), o.slice(mn!, 1, 0, 4), rule, series));
          if (calls > 1)
            out.push(await o.clusterScores(q2!, mx!, mn!, rule, series), await o.clusterScores(q2!, mx!, mn!, rule));
        }
        return out as never;
      };
    const inputs = [inp(qa, [H, 1, hd]), inp(qb, [H, 1, hd]), inp(kmax, [H, C, hd]), inp(kmin, [H, C, hd])];
    const { out } = await runChecked(prog(2), inputs);
    expect(out[1]).toEqual(out[2]);
    expect(out[4]).toEqual(out[5]);
    const cost = async (calls: number) =>
      declaredCost((P) =>
        prog(calls)(
          P,
          inputs.map((i) => shapeOnly(i.shape, i.fracBits)),
        ),
      );
    const [one, two] = [await cost(1), await cost(2)];
    const plain = await declaredCost(async (P) => {
      const o = ringOps(P);
      for (const rule of rules)
        await o.clusterScores(shapeOnly([H, 1, hd], F), shapeOnly([H, C, hd], F), shapeOnly([H, C, hd], F), rule);
    });
    const trunc = await declaredCost(async (P) => {
      await P.trunc(shapeOnly([H, 1, C], 3 * F), 2 * F);
      await P.trunc(shapeOnly([H, 1, C], 2 * F), F);
    });
    const cmp = await declaredCost(async (P) => {
      await P.cmpK(shapeOnly([H, 1, hd], F), { width: 32, self: [0], fewerRounds: true });
    });
    // second step: append the 2 new clusters (blend: hd, bound: 2·hd per row) and open q (blend) or [q⁺|q⁻] (bound), no bounds
    expect(two.payloadBytes - one.payloadBytes - plain.payloadBytes).toBe(
      8 * (H * 2 * hd + H * hd + H * 2 * 2 * hd + H * 2 * hd) + trunc.payloadBytes + cmp.payloadBytes,
    );
    expect(plain.payloadBytes - trunc.payloadBytes - cmp.payloadBytes).toBe(
      8 * (H * hd + H * C * hd + H * 2 * hd + H * C * 2 * hd),
    );
  });

  test('childScores and childSelection equal gathering the candidates of a finer level (blend and bound)', async () => {
    const H = 2,
      hd = 3,
      C1 = 4,
      r = 2,
      c = 10,
      k1 = 2,
      k = 3; // 4 parents of 2 children, 2 orphans
    const qv = vals(H * hd),
      a = vals(H * c * hd),
      b = vals(H * c * hd);
    const kmax = a.map((v, i) => Math.max(v, b[i]!)),
      kmin = a.map((v, i) => Math.min(v, b[i]!));
    const parents = oneHots(H, k1, C1, (g, i) => (g + 2 * i) % C1);
    const rules = [{ kind: 'blend', alpha: 0.6 }, { kind: 'bound' }] as const;
    const prog: Program = async (P, [qq, mx, mn, par]) => {
      const o = ringOps(P),
        out: AnyTensor[] = [];
      for (const rule of rules) {
        const series = { maxClusters: c };
        const cand = o.concat([o.expandSelection(par!, r, c), o.publicSelection(H, [8, 9], c)], 1);
        const viaAll = await o.gather(cand, await o.clusterScores(qq!, mx!, mn!, rule, series), 'last');
        const viaParents = await o.childScores!(qq!, mx!, mn!, rule, series, par!, r);
        const pick = await o.topk(viaParents, k);
        out.push(viaAll, viaParents, await o.gather(pick, cand, 'rows'), await o.childSelection!(pick, par!, r, c));
      }
      return out as never;
    };
    const { out } = await runChecked(prog, [
      inp(qv, [H, 1, hd]),
      inp(kmax, [H, c, hd]),
      inp(kmin, [H, c, hd]),
      inp(parents, [H, k1, C1], 0),
    ]);
    for (const base of [0, 4]) {
      expect(out[base + 1]).toEqual(out[base]);
      expect(out[base + 3]).toEqual(out[base + 2]);
    }
  });

  test('blockMinMax and maxPool equal float64', async () => {
    const keys = vals(2 * 12 * 3),
      votes = vals(2 * 11, 0, 4);
    const prog: Program = async (P, [k, v]) => {
      const o = ringOps(P);
      const { max, min } = await o.blockMinMax(k!, k!, 4);
      return [max, min, await o.maxPool(v!, 5)];
    };
    const { out } = await runChecked(prog, [inp(keys, [2, 12, 3]), inp(votes, [2, 1, 11])]);
    const mm = await floatOps.blockMinMax(ft([2, 12, 3], keys), ft([2, 12, 3], keys), 4);
    expect(Array.from(out[0]!)).toEqual(Array.from(mm.max.data));
    expect(Array.from(out[1]!)).toEqual(Array.from(mm.min.data));
    expect(Array.from(out[2]!)).toEqual(Array.from((await floatOps.maxPool(ft([2, 1, 11], votes), 5)).data));
  });
});

describe('gatherCache: stored rows, lazy views, and what each opens', () => {
  // a view never gathers: its selected rows are attended through fixed.select (only x and the one-hot opened)
  const H = 2,
    hd = 3,
    T = 14,
    S = 2,
    N = 5,
    k = 2; // clusters of S rows from row 2: rows 2..11
  const K = vals(H * T * hd),
    V = vals(H * T * hd),
    qv = vals(H * hd),
    pv = vals(H * (2 + k * S + 2), 0, 1);
  const perHead = oneHots(H, k, N, (g, i) => (g + 2 * i + 1) % N),
    shared = oneHots(1, k, N, (_g, i) => 3 * i);
  const pieces = <T>(sel: T): CachePiece<T>[] => [
    { rows: [0, 2] },
    { select: sel, block: S, offset: 2 },
    { rows: [12, 14] },
  ];
  const rows = 2 + k * S + 2;

  /** Keys and attention of the gathered cache, stored ('store') and as a view ('attend'). */
  const prog: Program = async (P, [k0, v0, s1, s2, qq, pp]) => {
    const o = ringOps(P);
    const src = o.createCache(H, hd, T);
    await src.append(k0!, v0!);
    const out: AnyTensor[] = [];
    for (const sel of [s1!, s2!]) {
      const stored = await o.gatherCache(src, pieces(sel), rows + 3);
      const view = await o.gatherCache(src, pieces(sel), rows, 'attend');
      out.push(o.cacheKeys(stored, 0, rows));
      for (const c of [stored, view])
        out.push(await o.attnScores(qq!, c, { kind: 'causal', offset: rows - 1 }), await o.attnMix(pp!, c));
    }
    return out as never;
  };

  test('stored rows equal float64; attention over a view equals attention over the stored rows bit for bit', async () => {
    const { out } = await runChecked(prog, [
      inp(K, [H, T, hd]),
      inp(V, [H, T, hd]),
      inp(perHead, [H, k, N], 0),
      inp(shared, [1, k, N], 0),
      inp(qv, [H, 1, hd]),
      inp(pv, [H, 1, rows]),
    ]);
    const fsrc = new FloatKVCache(H, hd, T);
    await fsrc.append(ft([H, T, hd], K), ft([H, T, hd], V));
    for (const [base, sel] of [
      [0, ft([H, k, N], perHead)],
      [5, ft([1, k, N], shared)],
    ] as const) {
      const fc = await floatOps.gatherCache(fsrc, pieces(sel), rows);
      expect(Array.from(out[base]!)).toEqual(Array.from(floatOps.cacheKeys(fc, 0, rows).data));
      expect(out[base + 3]).toEqual(out[base + 1]); // scores: view == stored
      expect(out[base + 4]).toEqual(out[base + 2]); // mix: view == stored
      // the float backend scales scores by 1/√hd; the ring backend folds it into the query projection
      const want = (await floatOps.attnScores(ft([H, 1, hd], qv), fc, { kind: 'causal', offset: rows - 1 })).data.map(
        (v) => v * Math.sqrt(hd),
      );
      expect(maxAbsErr(out[base + 1]!, want).err).toBeLessThan(1e-3);
      expect(maxAbsErr(out[base + 2]!, (await floatOps.attnMix(ft([H, 1, rows], pv), fc)).data).err).toBeLessThan(1e-3);
    }
  });

  test('declared costs: a stored gather opens the one-hot (once for all heads when shared) and re-masks; attending a view opens q, p and the one-hot only', async () => {
    const costOf = (fn: Program, shapes: Array<[number[], number]>) =>
      declaredCost((P) =>
        fn(
          P,
          shapes.map(([s, f]) => shapeOnly(s, f)),
        ),
      );
    const setup = async <T extends AnyTensor, Fx extends FixedHandle>(P: Prims<T, Fx>, k0: T) => {
      const o = ringOps(P);
      const c = o.createCache(H, hd, T);
      await c.append(k0, k0);
      return { o, c };
    };
    const base = await costOf(
      async (P, [k0]) => {
        await setup(P, k0!);
        return [];
      },
      [[[H, T, hd], F]],
    );
    for (const G of [H, 1]) {
      const sh: Array<[number[], number]> = [
        [[H, T, hd], F],
        [[G, k, N], 0],
        [[H, 1, hd], F],
        [[H, 1, rows], F],
      ];
      const store = await costOf(async (P, [k0, s]) => {
        const { o, c } = await setup(P, k0!);
        await o.gatherCache(c, pieces(s!), rows);
        return [];
      }, sh);
      const oneHot = (G === 1 ? 1 : H) * k * N;
      // K and V: one fixed product each (the one-hot), then one append each of the selected elements only
      // (K and V in one batched round); the public rows (head and tail) are copied with their masks
      // (fixed.copy: no bytes)
      expect(store.payloadBytes - base.payloadBytes).toBe(8 * (2 * oneHot + 2 * H * k * S * hd));
      expect(store.rounds - base.rounds).toBe(3);
      const attend = await costOf(async (P, [k0, s, qq, pp]) => {
        const { o, c } = await setup(P, k0!);
        const view = await o.gatherCache(c, pieces(s!), rows, 'attend');
        await o.attnScores(qq!, view, { kind: 'causal', offset: rows - 1 });
        await o.attnMix(pp!, view);
        return [];
      }, sh);
      // scores: q against the public rows (fixed product) and q with the one-hot (fixed.select); mix: the chosen
      // rows' probabilities with the one-hot (fixed.select) and the public rows' probabilities (fixed product); two truncations
      const truncs = await costOf(
        async (P, [a, b]) => {
          await P.trunc(a!, F);
          await P.trunc(b!, F);
          return [];
        },
        [
          [[H, 1, rows], 2 * F],
          [[H, 1, hd], 2 * F],
        ],
      );
      const want = 8 * (H * hd + (H * hd + oneHot) + (H * k * S + oneHot) + H * 4) + truncs.payloadBytes;
      expect(attend.payloadBytes - base.payloadBytes).toBe(want);
      expect(attend.rounds - base.rounds).toBe(2 + 2 + truncs.rounds);
    }
  });
});

describe('whole policies: the emulation keeps and attends what float64 does', () => {
  test('every policy on a random model: same tokens; same stored and attended positions (TOVA: ≥ 90 %, rounding near ties)', async () => {
    const SPEC = { nLayer: 3, nHead: 2, nEmbd: 16, nPositions: 128, vocab: 13 };
    const r = seeded(5);
    const weights = gpt2WeightsFromSafetensors(
      parseGpt2Config(hfConfig(SPEC)),
      parseSafetensors(toFile(randomTensors(SPEC, r))),
    );
    const prompt = Array.from({ length: 70 }, () => r.int(0, SPEC.vocab));
    const small = { clusters: [8, 4], page: 4, window: 4, budget: 20 };
    const ringInspect: Inspector<Clear> = (x) => ({ shape: x.shape, data: decodeArray(x.data, x.fracBits) });
    const run = async <B extends PlainTypes>(ops: Ops<B>, name: string, inspect: Inspector<B['tensor']>) => {
      const policy = PolicyAttention.of(getPolicy(name, small), inspect as Inspector<unknown>);
      const res = await generate(ops, await ops.prepare(weights), prompt, { maxNewTokens: 6, policy, eot: -1 });
      return { tokens: res.tokens, traces: [0, 1, 2].map((l) => policy.session!.trace(l)!) };
    };
    for (const name of policyNames().filter((n) => n !== 'oracle')) {
      const [a, b] = [
        await run(floatOps as unknown as Ops<PlainTypes>, name, floatInspector as never),
        await run(fixedOps() as unknown as Ops<PlainTypes>, name, ringInspect as never),
      ];
      expect({ name, tokens: b.tokens }).toEqual({ name, tokens: a.tokens });
      if (name !== 'tova') {
        expect({ name, traces: b.traces }).toEqual({ name, traces: a.traces });
        continue;
      }
      const flat = (t: typeof a.traces) =>
        t.flatMap((l, i) => l.attended.flatMap((h, j) => h.map((pos) => `${i}:${j}:${pos}`)));
      const want = new Set(flat(a.traces)),
        got = flat(b.traces);
      expect(got.filter((x) => want.has(x)).length).toBeGreaterThanOrEqual(0.9 * want.size);
    }
  });
});
