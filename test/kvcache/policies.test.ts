/**
 * Every policy's choices on synthetic data, against small plain-JS simulations of the published
 * rules (written from the policy headers, not from their code), plus hand-built edge cases.
 */
import { describe, expect, test } from '@jest/globals';
import {
  budgetTokens,
  getPolicy,
  parsePolicyOptions,
  staticPlan,
  type LayerTrace,
} from '../../shared/kvcache/index.js';
import { floatOps } from '../../shared/model/index.js';
import { MpcError } from '../../shared/util/index.js';
import { seeded } from '../util/rng.js';
import { attention, promptProbs, range, runPolicy, synth, topK, type Synth } from './synthetic.js';

const H = 2,
  HD = 4,
  N = 48,
  STEPS = 12;

/** Per step, per head, what the reference attends to at one layer. */
type Expected = number[][][];

async function probs(s: Synth, layer: number): Promise<Float64Array> {
  return (await promptProbs(s, layer)).p.data;
}

/** Σ over prompt rows a..b−1 of p[h, i, j] for j < n, summed in row order (as the ops do). */
function columnSums(p: Float64Array, n: number, h: number, a: number, b: number): number[] {
  const out = new Array<number>(n).fill(0);
  for (let i = a; i < b; i++)
    for (let j = 0; j < n; j++) out[j] = (out[j] as number) + (p[(h * n + i) * n + j] as number);
  return out;
}

function attendedAt(traces: LayerTrace[][], layer: number): number[][][] {
  return traces.slice(1).map((step) => (step[layer] as LayerTrace).attended.map((a) => [...a]));
}

/** Heavy rows by `score` among all but the newest recent − 1, then those. */
function heavyRecent(score: readonly number[], n: number, heavy: number, recent: number): number[] {
  const cand = n - (recent - 1);
  return cand <= heavy ? range(0, n) : [...topK(score.slice(0, cand), heavy), ...range(cand, n)];
}

function slidingView(stored: number[], heavy: number, recent: number): number[] {
  return stored.length <= heavy + recent
    ? stored.slice()
    : [...stored.slice(0, heavy), ...stored.slice(stored.length - recent)];
}

const SEED = seeded().seed; // one seed for the file, in every describe name (MPC_TEST_SEED=… reruns it)

describe(`baselines against reference simulations (seed ${SEED})`, () => {
  const rng = seeded(SEED);
  const s = synth(rng, { heads: H, headDim: HD, n: N, steps: STEPS, layers: 2, spread: 2 });
  const B = 10;

  test('streamingllm: sinks and the recent window, the same for every head; dense layer 0 sees all', async () => {
    const { traces } = await runPolicy(getPolicy('streamingllm', { budget: B, sinks: 4, denseLayers: 1 }), s);
    const want: Expected = range(0, STEPS).map((t) =>
      range(0, H).map(() => [0, 1, 2, 3, ...range(N + t + 1 - 6, N + t + 1)]),
    );
    expect(attendedAt(traces, 1)).toEqual(want);
    expect(attendedAt(traces, 0)).toEqual(range(0, STEPS).map((t) => range(0, H).map(() => range(0, N + t + 1))));
    traces.forEach((step, t) => expect(step[1]!.stored[1]).toEqual([0, 1, 2, 3, ...range(N + t - 5, N + t)])); // B − 1 rows between steps
  });

  test('h2o-prefill: per-head heavy hitters by prefill column sums, then a sliding recent window', async () => {
    const { traces } = await runPolicy(getPolicy('h2o-prefill', { budget: B, denseLayers: 1 }), s);
    const p = await probs(s, 1);
    const stored = range(0, H).map((h) => heavyRecent(columnSums(p, N, h, 0, N), N, 5, 5));
    const want: Expected = range(0, STEPS).map((t) =>
      stored.map((st) => slidingView([...st, ...range(N, N + t + 1)], 5, 5)),
    );
    expect(attendedAt(traces, 1)).toEqual(want);
    expect(traces[0]![1]!.stored).toEqual(stored);
  });

  test('snapkv: window votes, max-pooled, per-head top-k, then a sliding window', async () => {
    const { traces } = await runPolicy(getPolicy('snapkv', { budget: 12, window: 4, pool: 3, denseLayers: 1 }), s);
    const p = await probs(s, 1);
    const stored = range(0, H).map((h) => {
      const votes = columnSums(p, N, h, N - 4, N).slice(0, N - 3);
      const pooled = votes.map((_, j) => Math.max(...votes.slice(Math.max(0, j - 1), j + 2)));
      return [...topK(pooled, 8), ...range(N - 3, N)];
    });
    const want: Expected = range(0, STEPS).map((t) =>
      stored.map((st) => slidingView([...st, ...range(N, N + t + 1)], 8, 4)),
    );
    expect(attendedAt(traces, 1)).toEqual(want);
  });

  test('h2o: accumulated attention, one eviction per step outside the recent window', async () => {
    const { traces } = await runPolicy(getPolicy('h2o', { budget: B, denseLayers: 1 }), s);
    const p = await probs(s, 1);
    const d = s.layers[1]!;
    const want: Expected = range(0, STEPS).map(() => []);
    for (let h = 0; h < H; h++) {
      const acc0 = columnSums(p, N, h, 0, N);
      let stored = heavyRecent(acc0, N, 5, 5);
      let acc = stored.map((j) => acc0[j] as number);
      for (let t = 0; t < STEPS; t++) {
        stored = [...stored, N + t];
        const a = attention(d, h, N + t, stored);
        acc = [...acc.map((x, i) => x + (a[i] as number)), a[a.length - 1] as number];
        want[t]!.push(stored.slice());
        if (stored.length >= B) {
          const keep = heavyRecent(acc, stored.length, 5, 5);
          stored = keep.map((i) => stored[i] as number);
          acc = keep.map((i) => acc[i] as number);
        }
      }
    }
    expect(attendedAt(traces, 1)).toEqual(want);
    for (const step of traces.slice(1)) expect(step[1]!.stored.map((x) => x.length)).toEqual([B - 1, B - 1]);
  });

  test("tova: the current query's head-mean attention keeps B − 1, one set per layer", async () => {
    const { traces } = await runPolicy(getPolicy('tova', { budget: B, denseLayers: 1 }), s);
    const p = await probs(s, 1);
    const d = s.layers[1]!;
    const last = range(0, N).map(
      (j) => ((p[(0 * N + N - 1) * N + j] as number) + (p[(1 * N + N - 1) * N + j] as number)) / 2,
    );
    let stored = topK(last, B - 1);
    const want: Expected = [];
    for (let t = 0; t < STEPS; t++) {
      stored = [...stored, N + t];
      want.push([stored.slice(), stored.slice()]);
      const a = range(0, H).map((h) => attention(d, h, N + t, stored));
      const mean = stored.map((_, i) => ((a[0]![i] as number) + (a[1]![i] as number)) / 2);
      stored = topK(mean, B - 1).map((i) => stored[i] as number);
    }
    expect(attendedAt(traces, 1)).toEqual(want);
  });

  test('oracle: the top-B exact scores per head at every step', async () => {
    const { traces } = await runPolicy(getPolicy('oracle', { budget: B, denseLayers: 1 }), s);
    const d = s.layers[1]!;
    const want: Expected = range(0, STEPS).map((t) =>
      range(0, H).map((h) => {
        const q = d.queries[h]![N + t]!;
        const scores = range(0, N + t + 1).map(
          (j) => d.keys[h]![j]!.reduce((a, k, c) => a + k * q[c]!, 0) * (1 / Math.sqrt(HD)),
        );
        return topK(scores, B);
      }),
    );
    expect(attendedAt(traces, 1)).toEqual(want);
  });
});

describe(`mpcache (seed ${SEED})`, () => {
  const rng = seeded(SEED);
  const s = synth(rng, { heads: H, headDim: HD, n: 120, steps: 20, layers: 4, spread: 2 });
  const options = { budget: 40, staticRatio: 0.5, windowRatio: 0.2, clusters: [8, 4], denseLayers: 1, shareLayers: 2 };

  /** Expected static keep-set (positions, in order) of layer 1: block 0, then the top blocks by score. */
  async function staticKeep(score: 'max' | 'sum', block: number, lookback: number): Promise<number[]> {
    const p = await probs(s, 1);
    const perKey = range(0, 120).map((j) => {
      const rows = range(120 - 24, 120).map(
        (i) => range(0, H).reduce((a, h) => a + (p[(h * 120 + i) * 120 + j] as number), 0) / H,
      );
      return score === 'max' ? Math.max(...rows) : rows.reduce((a, x) => a + x, 0);
    });
    const blocks = Math.floor(120 / block),
      kept = Math.min(blocks, Math.max(1, Math.round(60 / block)));
    const scores = range(1, blocks).map((b) => {
      const keys = range(Math.max(1, b - lookback) * block, (b + 1) * block).map((j) => perKey[j] as number);
      return score === 'max' ? Math.max(...keys) : keys.reduce((a, x) => a + x, 0);
    });
    const chosen = topK(scores, kept - 1).map((b) => b + 1);
    return [0, ...chosen].flatMap((b) => range(b * block, (b + 1) * block));
  }

  test('look-once static eviction keeps block 0 and the top blocks by max head-mean window attention over a block and its lookback, in order', async () => {
    const { traces } = await runPolicy(getPolicy('mpcache', options), s);
    const keep = await staticKeep('max', 8, 2);
    expect(keep.length).toBe(64); // round(60 / 8) blocks of 8
    expect(traces[0]![1]!.stored).toEqual([keep, keep]);
    expect(traces[0]![0]!.stored[0]).toEqual(range(0, 120)); // dense
    const sum = await runPolicy(
      getPolicy('mpcache', { ...options, staticScore: 'sum', staticBlock: 1, lookback: 0 }),
      s,
    );
    const sumKeep = await staticKeep('sum', 1, 0);
    expect(sum.traces[0]![1]!.stored).toEqual([sumKeep, sumKeep]);
    const sumBlocks = await runPolicy(getPolicy('mpcache', { ...options, staticScore: 'sum' }), s);
    const sumBlocksKeep = await staticKeep('sum', 8, 2);
    expect(sumBlocks.traces[0]![1]!.stored).toEqual([sumBlocksKeep, sumBlocksKeep]);
    expect(sumBlocksKeep).not.toEqual(keep); // the two rules differ on this input
  });

  test('without the dynamic step it keeps round(ratio · n) prompt rows however large the cache, and attends them and every generated token', async () => {
    const staticOnly = getPolicy('mpcache', { staticRatio: 0.5, windowRatio: 0.2 });
    const exact = await runPolicy(staticOnly, s),
      roomy = await runPolicy(staticOnly, s, 1000);
    const kept = exact.traces[0]![1]!.stored[0]!;
    expect(kept.length).toBe(staticPlan({ ratio: 0.5, window: 0.2, score: 'max', block: 8, lookback: 2 }, 120)!.rows);
    expect(roomy.traces[0]![1]!.stored[0]).toEqual(kept);
    roomy.traces
      .slice(1)
      .forEach((step, t) => expect(step[1]!.attended[0]).toEqual([...kept, ...range(120, 120 + t + 1)]));
  });

  test('a static budget of one block keeps only the first block (nothing is ranked)', async () => {
    const { traces } = await runPolicy(getPolicy('mpcache', { ...options, staticRatio: 0.05, budget: 8 }), s);
    expect(traces[0]![1]!.stored).toEqual([range(0, 8), range(0, 8)]);
  });

  test('the static plan: blocks kept out of full blocks, the partial tail always kept, null when nothing is evicted', () => {
    const st = { ratio: 0.3, window: 0.2, score: 'max', block: 8, lookback: 2 } as const;
    expect(staticPlan(st, 1017)).toEqual({ blocks: 127, kept: 38, tail: 1, rows: 305 });
    expect(staticPlan(st, 16)).toEqual({ blocks: 2, kept: 1, tail: 0, rows: 8 }); // only the forced first block
    expect(staticPlan(st, 12)).toBeNull(); // one full block: it is the first
    expect(staticPlan({ ...st, ratio: 1 }, 1017)).toBeNull();
    expect(staticPlan({ ...st, block: 1, lookback: 0 }, 100)).toEqual({ blocks: 100, kept: 30, tail: 0, rows: 30 });
  });

  test('adjacent layers share the keep-set and every selection; counts follow the public budget exactly', async () => {
    const { traces } = await runPolicy(getPolicy('mpcache', options), s);
    for (const step of traces) {
      expect(step[2]!.stored).toEqual(step[1]!.stored);
      expect(step[2]!.attended).toEqual(step[1]!.attended);
    }
    traces.slice(1).forEach((step, t) => {
      const stored = 64 + t + 1;
      const tail = stored - 4 * (Math.ceil(stored / 4) - 1);
      for (const layer of [1, 3]) {
        for (const a of step[layer]!.attended) {
          expect(a.length).toBe(4 + (Math.floor(40 / 4) - 2) * 4 + tail);
          expect(a.length).toBeLessThanOrEqual(40);
          expect(new Set(a).size).toBe(a.length);
          expect(a).toEqual([...a].sort((x, y) => x - y));
          expect(a.every((x) => step[layer]!.stored[0]!.includes(x))).toBe(true);
        }
      }
    });
    const noshare = await runPolicy(getPolicy('mpcache', { ...options, shareLayers: 1 }), s);
    expect(
      noshare.traces.slice(1).some((step) => JSON.stringify(step[2]!.attended) !== JSON.stringify(step[1]!.attended)),
    ).toBe(true);
  });

  test('a budget covering everything attends everything; one below the forced clusters is refused', async () => {
    const all = await runPolicy(getPolicy('mpcache', { budget: 1000, staticRatio: 1 }), s);
    all.traces.slice(1).forEach((step, t) => expect(step[3]!.attended).toEqual([range(0, 121 + t), range(0, 121 + t)]));
    const seq = { heads: H, headDim: HD, promptTokens: 120, capacity: 140 };
    expect(() => getPolicy('mpcache', { budget: 3 }).begin(floatOps, seq)).toThrow(MpcError); // head + tail = 2 × 2
    expect(() => getPolicy('mpcache', { budget: 4 }).begin(floatOps, seq)).not.toThrow();
    expect(() => getPolicy('mpcache', { budget: 31, clusters: [32, 16] }).begin(floatOps, seq)).toThrow(/below/);
    expect(() => getPolicy('quest', { budget: 15 }).begin(floatOps, seq)).toThrow(/below/);
  });

  test('ablations change only what they name', () => {
    const base = { static: 0.1, window: 0.05, staticScore: 'max', staticBlock: 8, lookback: 2, denseLayers: 0 };
    expect(getPolicy('mpcache').settings).toMatchObject({ ...base, budget: '0.1 of prompt', dynamic: 'off' });
    const dynamic = { ...base, budget: '0.02 of prompt', clusters: '4,2', score: 'blend α=0.6', shareLayers: 1 };
    expect(getPolicy('mpcache-dynamic').settings).toMatchObject(dynamic);
    expect(getPolicy('mpcache-single').settings).toMatchObject({ ...dynamic, clusters: '2' });
    expect(getPolicy('mpcache-bound').settings).toMatchObject({ ...dynamic, score: 'bound' });
    expect(getPolicy('mpcache-share').settings).toMatchObject({ ...dynamic, shareLayers: 2 });
    expect(getPolicy('mpcache-nostatic').settings).toMatchObject({ ...base, static: 'off', clusters: '4,2' });
    expect(getPolicy('mpcache-sumstatic').settings).toMatchObject({
      ...base,
      staticScore: 'sum',
      staticBlock: 1,
      lookback: 0,
      dynamic: 'off',
    });
    // a dynamic ratio given on the command line is kept by the dynamic-step ablations
    expect(getPolicy('mpcache-dynamic', { dynamicRatio: 0.5 }).settings).toMatchObject({ budget: '0.05 of prompt' });
  });
});

describe('budgets', () => {
  test('fraction or tokens; the default is static × dynamic ratio', () => {
    expect(budgetTokens(parsePolicyOptions({}), 1000)).toBe(100); // static 0.1 × dynamic 1 (no dynamic step)
    expect(budgetTokens(parsePolicyOptions({ staticRatio: 0.3, dynamicRatio: 0.2 }), 1000)).toBe(60); // the paper's 6 %
    expect(budgetTokens(parsePolicyOptions({ staticRatio: 0.5, dynamicRatio: 0.1 }), 1000)).toBe(50);
    expect(budgetTokens(parsePolicyOptions({ budget: 0.1 }), 1234)).toBe(123);
    expect(budgetTokens(parsePolicyOptions({ budget: 77 }), 1234)).toBe(77);
    expect(budgetTokens(parsePolicyOptions({ budget: 0.0001 }), 100)).toBe(1);
    expect(() => parsePolicyOptions({ budget: 1.5 })).toThrow(/whole number/);
    expect(() => parsePolicyOptions({ budget: 0.1, dynamicRatio: 0.2 })).toThrow(/not both/);
    expect(() => parsePolicyOptions({ clusters: [16, 32] })).toThrow(/decrease/);
    expect(() => parsePolicyOptions({ clusters: [32, 12] })).toThrow(/divide/);
    expect(() => parsePolicyOptions({ nonsense: 1 })).toThrow(MpcError);
    expect(() => getPolicy('nope')).toThrow(/unknown policy/);
  });

  test('every policy attends exactly its public count at every step and layer, never more than B', async () => {
    const rng = seeded(SEED);
    const s = synth(rng, { heads: H, headDim: HD, n: 100, steps: 10, layers: 3 });
    for (const name of [
      'streamingllm',
      'h2o',
      'h2o-prefill',
      'snapkv',
      'tova',
      'oracle',
      'quest',
      'mpcache',
      'mpcache-single',
      'mpcache-nostatic',
    ]) {
      for (const budget of [1, 20, 37, 0.3, 200]) {
        const policy = getPolicy(name, { budget, sinks: 2, window: 4, clusters: [8, 4], page: 4, denseLayers: 1 });
        const b = policy.budget(100);
        let traces: LayerTrace[][];
        try {
          ({ traces } = await runPolicy(policy, s));
        } catch (e) {
          expect([name, budget, (e as MpcError).code]).toEqual([name, budget, 'E_CONFIG']); // cluster policies at B = 1
          continue;
        }
        traces.slice(1).forEach((step, t) => {
          const available = 100 + t + 1;
          for (const a of step[1]!.attended) {
            const cluster = name === 'quest' || name.startsWith('mpcache');
            if (!cluster) expect([name, budget, t, a.length]).toEqual([name, budget, t, Math.min(b, available)]);
            expect(a.length).toBeLessThanOrEqual(Math.min(b, available));
            if (name !== 'oracle') expect(a).toContain(100 + t); // the oracle's current token competes
          }
          expect(step[0]!.attended[0]!.length).toBe(100 + t + 1); // dense layer
        });
      }
    }
  });
});

describe('check: a budget that cannot fit the prompt fails before any work', () => {
  test('cluster policies refuse a budget below their always-attended clusters, with a hint; others accept any length', () => {
    const code = (f: () => void) => {
      try {
        f();
        return 'ok';
      } catch (e) {
        return e instanceof MpcError ? `${e.code} ${e.message}` : String(e);
      }
    };
    const paper = { staticRatio: 0.3, dynamicRatio: 0.2 }; // the dynamic step's budget: 6 % of the prompt
    const mp = getPolicy('mpcache', paper),
      quest = getPolicy('quest', paper);
    expect(code(() => getPolicy('mpcache', {}).check?.(20))).toBe('ok'); // no dynamic step: nothing always attended to fit
    expect(code(() => mp.check?.(153))).toBe('ok'); // round(0.06 · 153) = 9: head + tail (2 + 2) + two chosen pairs
    expect(code(() => getPolicy('mpcache', { ...paper, clusters: [32, 16] }).check?.(153))).toMatch(
      /^E_CONFIG .*budget of 9 tokens is below the 32 tokens.*--budget/,
    );
    expect(code(() => getPolicy('mpcache', { ...paper, clusters: [32, 16] }).check?.(1024))).toBe('ok'); // 61 tokens: head + tail + one chosen cluster
    expect(code(() => getPolicy('mpcache', { clusters: [8, 4], budget: 0.2 }).check?.(153))).toBe('ok');
    expect(code(() => quest.check?.(200))).toMatch(/^E_CONFIG /); // 12 tokens < one page of 16 (the tail)
    expect(code(() => quest.check?.(300))).toBe('ok');
    for (const name of ['full', 'streamingllm', 'h2o', 'tova', 'snapkv'])
      expect(code(() => getPolicy(name, {}).check?.(20))).toBe('ok');
  });
});
