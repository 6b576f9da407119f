/**
 * `npm run eviction-costs [-- --heads 4 --head-dim 32]`
 *
 * Declared cost of each ring EvictionOp at the shapes MPCache and the baselines use on the embedded
 * model (4 heads of 32) at contexts 1024 and 2048: online bytes each party sends (payload), rounds
 * and dealer bytes (corrections to party 1). Declared = metered, byte for byte: the tests run every
 * op as two parties with the dealer and assert it (test/kvcache/ring-eviction.test.ts). Shapes only:
 * nothing is computed, so this runs in a second.
 */
import { z } from 'zod';
import { commandFlags } from '../shared/config/index.js';
import { declaredCost, type Cost } from '../shared/protocol/cost.js';
import { shapeOnly, type ShapeOnly } from '../shared/ring/tensor.js';
import type { FixedHandle, Prims } from '../shared/protocol/prims/types.js';
import { RingOps, type RingTypes } from '../shared/model/ring/ops.js';
import { STANDARD_NL } from '../shared/model/ring/recipes.js';
import { FRAC_BITS as F } from '../shared/ring/fixed-point.js';
import { toMpcError } from '../shared/util/index.js';
import { kvOps, type ClusterScoreRule, type ClusterSeries, type KvOps } from '../shared/kvcache/index.js';

const EVICTION_COSTS = {
  usage: 'npm run eviction-costs [-- --heads 4 --head-dim 32]',
  summary:
    'Declared cost (online bytes, rounds, dealer bytes) of each ring eviction op at the shapes MPCache and the baselines use, contexts 1024 and 2048.',
  flags: z.object({
    heads: z.number().int().positive().default(4).describe('attention heads'),
    headDim: z.number().int().positive().default(32).describe('dimension of one head'),
  }),
};

type Ring = KvOps<RingTypes<ShapeOnly, FixedHandle, never>>;
type Cache = ReturnType<Ring['createCache']>;
type Setup = (o: Ring) => Promise<Cache | null>;
type Op = (o: Ring, cache: Cache) => Promise<unknown>;

/** Cost of `op` alone: the program with the setup and the op minus the setup alone. */
async function costOf(setup: Setup, op: Op): Promise<Cost> {
  const run = async (withOp: boolean) =>
    declaredCost(async (P: Prims<ShapeOnly, FixedHandle>) => {
      const o = kvOps(new RingOps(P, STANDARD_NL, undefined as never, F)) as Ring;
      const cache = await setup(o);
      if (withOp) await op(o, cache!);
    });
  const [a, b] = [await run(false), await run(true)];
  return {
    rounds: b.rounds - a.rounds,
    frameBytes: b.frameBytes - a.frameBytes,
    payloadBytes: b.payloadBytes - a.payloadBytes,
    dealerBytes: b.dealerBytes - a.dealerBytes,
    items: b.items - a.items,
  };
}

/**
 * The shapes at each context: rows the static stage keeps (Tm, 30 %), clusters of 32 and of 16
 * tokens (C32, C16), and clusters of 16 attended per step (k).
 */
const CONTEXTS = [
  [1024, 307, 9, 18, 1],
  [2048, 614, 18, 37, 5],
] as const;

/** One context's shapes, with the model's heads (H) and head dimension (hd). */
interface At {
  readonly H: number;
  readonly hd: number;
  readonly ctx: number;
  readonly Tm: number;
  readonly C32: number;
  readonly C16: number;
  readonly k: number;
}

type Row = [string, Setup, Op];

const s = (shape: number[], f = F) => shapeOnly(shape, f);
const none: Setup = async () => null;
/** A cache of T rows (room for 8 more). */
const cacheOf =
  ({ H, hd }: At, T: number): Setup =>
  async (o) => {
    const c = o.createCache(H, hd, T + 8);
    await c.append(s([H, T, hd]), s([H, T, hd]));
    return c;
  };
/** The per-cluster terms of a scoring series, prepared for C clusters. */
const prep =
  ({ H, hd }: At, C: number, rule: ClusterScoreRule, series: ClusterSeries): Setup =>
  async (o) => {
    await o.prepareScores!(s([H, C, hd]), s([H, C, hd]), rule, series);
    return null;
  };

/** The static stage: scores of the prompt's tokens or blocks, their top-k, and the gather that stores them. */
function staticRows(at: At): Row[] {
  const { H, ctx, Tm } = at;
  const nb = Math.floor(ctx / 8) - 1,
    kb = Math.round((0.3 * ctx) / 8) - 1,
    w = Math.floor(0.2 * ctx);
  return [
    [
      `${ctx}: static score, max over ${w} window rows of the head mean × ${ctx} (maxQueries)`,
      none,
      (o) => o.maxQueries(s([H, w, ctx]), 0, w),
    ],
    [
      `${ctx}: static block maxima (lookback 2) and top-k over blocks of 8, 1 × ${kb} of ${nb} (block 0 forced)`,
      none,
      async (o) => o.topk(await o.blockScores(s([1, 1, nb * 8]), 8, 2, 'max'), kb),
    ],
    [
      `${ctx}: static gather (store) in blocks of 8, shared one-hot [1, ${kb}, ${nb}], K and V re-masked`,
      cacheOf(at, ctx),
      (o, c) =>
        o.gatherCache(c, [{ rows: [0, 8] }, { select: s([1, kb, nb], 0), block: 8, offset: 8 }], 8 * (kb + 1) + 8),
    ],
    [
      `${ctx}: static top-k, 1 × ${Math.round(0.3 * ctx)} of ${ctx}`,
      none,
      (o) => o.topk(s([1, 1, ctx]), Math.round(0.3 * ctx)),
    ],
    [
      `${ctx}: static gather (store), shared one-hot [1, ${Tm}, ${ctx}], K and V re-masked`,
      cacheOf(at, ctx),
      (o, c) => o.gatherCache(c, [{ select: s([1, Tm, ctx], 0), block: 1, offset: 0 }], Tm + 8),
    ],
  ];
}

/** Cluster scoring: the bounds of a new cluster, and the clusters' scores (plain product, or as a series). */
function clusterScoreRows(at: At): Row[] {
  const { H, hd, ctx, C32, C16 } = at;
  const series = { maxClusters: 64 },
    series16 = { maxClusters: 64 },
    boundSeries = { maxClusters: 64 };
  const blend = { kind: 'blend', alpha: 0.6 } as const;
  return [
    [
      `${ctx}: cluster bounds of one new 16-cluster (blockMinMax)`,
      none,
      (o) => o.blockMinMax(s([H, 16, hd]), s([H, 16, hd]), 16),
    ],
    [
      `${ctx}: scores, blend, ${C32} + ${C16} clusters, plain product`,
      none,
      async (o) => {
        await o.clusterScores(s([H, 1, hd]), s([H, C32, hd]), s([H, C32, hd]), { kind: 'blend', alpha: 0.6 });
        await o.clusterScores(s([H, 1, hd]), s([H, C16, hd]), s([H, C16, hd]), { kind: 'blend', alpha: 0.6 });
      },
    ],
    [
      `${ctx}: scores, blend, ${C32} + ${C16} clusters, series (step)`,
      async (o) => {
        await prep(at, C32, blend, series)(o);
        return prep(at, C16, blend, series16)(o);
      },
      async (o) => {
        await o.clusterScores(s([H, 1, hd]), s([H, C32, hd]), s([H, C32, hd]), blend, series);
        await o.clusterScores(s([H, 1, hd]), s([H, C16, hd]), s([H, C16, hd]), blend, series16);
      },
    ],
    [
      `${ctx}: scores, bound (Quest), ${C16} clusters, series (step)`,
      prep(at, C16, { kind: 'bound' }, boundSeries),
      (o) => o.clusterScores(s([H, 1, hd]), s([H, C16, hd]), s([H, C16, hd]), { kind: 'bound' }, boundSeries),
    ],
  ];
}

/** Cluster selection: top-k over clusters, attention over the selected view, rows gathered by one-hot. */
function selectionRows(at: At): Row[] {
  const { H, hd, ctx, Tm, C32, C16, k } = at;
  return [
    [
      `${ctx}: top-k ${Math.max(1, Math.floor(C32 / 2))} of ${C32} (level 1)`,
      none,
      (o) => o.topk(s([H, 1, C32]), Math.max(1, Math.floor(C32 / 2))),
    ],
    [`${ctx}: top-k ${k} of ${C16} (one level)`, none, (o) => o.topk(s([H, 1, C16]), k)],
    [
      `${ctx}: attend view: head + ${k} of ${C16} clusters of 16 + tail (scores and mix)`,
      cacheOf(at, Tm + 32),
      async (o, c) => {
        const v = await o.gatherCache(
          c,
          [{ rows: [0, 16] }, { select: s([H, k, C16], 0), block: 16, offset: 16 }, { rows: [Tm + 16, Tm + 32] }],
          32 + 16 * k,
          'attend',
        );
        await o.attnScores(s([H, 1, hd]), v, { kind: 'causal', offset: 31 + 16 * k });
        await o.attnMix(s([H, 1, 32 + 16 * k]), v);
      },
    ],
    [
      `${ctx}: attend the same rows stored (no selection), for comparison`,
      cacheOf(at, 32 + 16 * k),
      async (o, c) => {
        await o.attnScores(s([H, 1, hd]), c, { kind: 'causal', offset: 31 + 16 * k });
        await o.attnMix(s([H, 1, 32 + 16 * k]), c);
      },
    ],
    [
      `${ctx}: gather rows by one-hot (Beaver), [${H}, 8, ${C16}] · [${H}, ${C16}, ${C16}]`,
      none,
      (o) => o.gather(s([H, 8, C16], 0), s([H, C16, C16], 0), 'rows'),
    ],
  ];
}

/** Ops of the baselines: query sums, max pooling, and the TOVA/H2O step. */
function baselineRows(at: At): Row[] {
  const { H, ctx } = at;
  return [
    [
      `${ctx}: sumQueries, head mean of ${Math.floor(0.2 * ctx)} rows × ${ctx}`,
      none,
      (o) => o.sumQueries(s([H, Math.floor(0.2 * ctx), ctx]), 0, Math.floor(0.2 * ctx), true),
    ],
    [`${ctx}: maxPool kernel 5 over ${H} × ${ctx}`, none, (o) => o.maxPool(s([H, 1, ctx]), 5)],
    [
      `${ctx}: TOVA/H2O step: top-k ${Math.round(0.06 * ctx) - 1} of ${Math.round(0.06 * ctx)}, store (re-mask)`,
      cacheOf(at, Math.round(0.06 * ctx)),
      async (o, c) => {
        const sel = await o.topk(s([1, 1, Math.round(0.06 * ctx)]), Math.round(0.06 * ctx) - 1);
        await o.gatherCache(c, [{ select: sel, block: 1, offset: 0 }], Math.round(0.06 * ctx));
      },
    ],
  ];
}

async function main(): Promise<void> {
  const { heads: H, headDim: hd } = commandFlags(EVICTION_COSTS).flags;
  const rows: Row[] = [];
  for (const [ctx, Tm, C32, C16, k] of CONTEXTS) {
    const at: At = { H, hd, ctx, Tm, C32, C16, k };
    rows.push(...staticRows(at), ...clusterScoreRows(at), ...selectionRows(at), ...baselineRows(at));
  }
  const kib = (b: number) => (b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`);
  process.stdout.write(
    `heads ${H}, head dim ${hd}; per party: online = payload bytes sent, dealer = correction bytes to party 1\n`,
  );
  process.stdout.write('| op (context: shape) | online | rounds | dealer |\n|---|---|---|---|\n');
  for (const [name, setup, op] of rows) {
    const c = await costOf(setup, op);
    process.stdout.write(`| ${name} | ${kib(c.payloadBytes)} | ${c.rounds} | ${kib(c.dealerBytes)} |\n`);
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`eviction-costs: ${toMpcError(e).message}\n`);
  process.exitCode = 2;
});
