/**
 * Drives a policy's session with synthetic per-layer keys, values and queries (no model), and
 * records what every layer stored and attended at every step, as original positions.
 */
import { FloatKVCache, floatOps, floatTensor, type FloatTensor, type FloatTypes } from '../../shared/model/index.js';
import { floatInspector, type KvPolicy, type KvSession, type LayerTrace } from '../../shared/kvcache/index.js';
import type { TestRng } from '../util/rng.js';

/** One layer's data: [h][position][d] for keys, values and queries of every position. */
export interface LayerData {
  readonly keys: number[][][];
  readonly values: number[][][];
  readonly queries: number[][][];
}

export interface Synth {
  readonly heads: number;
  readonly headDim: number;
  /** Prompt tokens. */
  readonly n: number;
  /** Decoding steps. */
  readonly steps: number;
  readonly layers: LayerData[];
}

export function synth(
  rng: TestRng,
  o: { heads: number; headDim: number; n: number; steps: number; layers: number; spread?: number },
): Synth {
  const spread = o.spread ?? 1;
  const total = o.n + o.steps;
  const block = () =>
    Array.from({ length: o.heads }, () =>
      Array.from({ length: total }, () => Array.from(rng.floats(o.headDim, -spread, spread))),
    );
  return {
    heads: o.heads,
    headDim: o.headDim,
    n: o.n,
    steps: o.steps,
    layers: Array.from({ length: o.layers }, () => ({ keys: block(), values: block(), queries: block() })),
  };
}

/** Rows a..b of [h][pos][d] as a tensor [H, b − a, hd]. */
export function rows(x: number[][][], a: number, b: number): FloatTensor {
  const flat = x.flatMap((head) => head.slice(a, b).flat());
  return floatTensor([x.length, b - a, (x[0]?.[0] ?? []).length], Float64Array.from(flat));
}

/** The prompt's causal attention probabilities [H, n, n] of one layer, as the forward computes them. */
export async function promptProbs(
  s: Synth,
  layer: number,
): Promise<{ cache: FloatKVCache; q: FloatTensor; p: FloatTensor }> {
  const d = s.layers[layer] as LayerData;
  const cache = new FloatKVCache(s.heads, s.headDim, s.n + s.steps);
  await cache.append(rows(d.keys, 0, s.n), rows(d.values, 0, s.n));
  const q = rows(d.queries, 0, s.n);
  const mask = { kind: 'causal', offset: 0 } as const;
  const p = await floatOps.softmax(await floatOps.attnScores(q, cache, mask), mask);
  return { cache, q, p };
}

/**
 * Runs the session; traces[step][layer]; step 0 is right after prefill (attended empty). `spare`
 * caches room beyond the steps (callers such as the eval runner size caches for the model).
 */
export async function runPolicy(
  policy: KvPolicy,
  s: Synth,
  spare = 0,
): Promise<{ session: KvSession<FloatTypes>; traces: LayerTrace[][] }> {
  const session = policy.begin(floatOps, {
    heads: s.heads,
    headDim: s.headDim,
    promptTokens: s.n,
    capacity: s.n + s.steps + spare,
    inspect: floatInspector,
  });
  const traces: LayerTrace[][] = [];
  const record = () => traces.push(s.layers.map((_, l) => session.trace(l) as LayerTrace));
  for (let l = 0; l < s.layers.length; l++) {
    const { cache, q, p } = await promptProbs(s, l);
    await session.prefill(l, { q, p, cache });
  }
  record();
  for (let t = 0; t < s.steps; t++) {
    const pos = s.n + t;
    for (let l = 0; l < s.layers.length; l++) {
      const d = s.layers[l] as LayerData;
      await session.decode(l, {
        q: rows(d.queries, pos, pos + 1),
        k: rows(d.keys, pos, pos + 1),
        v: rows(d.values, pos, pos + 1),
        position: pos,
      });
    }
    record();
  }
  return { session, traces };
}

/** Indices of the k largest values (ties: lowest index), ascending. */
export function topK(values: readonly number[], k: number): number[] {
  return values
    .map((v, i) => [v, i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1])
    .slice(0, k)
    .map(([, i]) => i)
    .sort((a, b) => a - b);
}

/** Softmax of q·k/√hd over the given positions of one head. */
export function attention(d: LayerData, h: number, qPos: number, positions: readonly number[]): number[] {
  const q = (d.queries[h] as number[][])[qPos] as number[];
  const scale = 1 / Math.sqrt(q.length);
  const s = positions.map(
    (p) => ((d.keys[h] as number[][])[p] as number[]).reduce((a, k, i) => a + k * (q[i] as number), 0) * scale,
  );
  const m = Math.max(...s);
  const e = s.map((x) => Math.exp(x - m));
  const z = e.reduce((a, x) => a + x, 0);
  return e.map((x) => x / z);
}

export const range = (a: number, b: number) => Array.from({ length: Math.max(0, b - a) }, (_, i) => a + i);
