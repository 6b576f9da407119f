/**
 * `EvictionOps` for the float64 backend: plain loops, exact on 0/1 selections. Each is the
 * reference its ring twins must match (the cost notes live on the interface, eviction-types.ts).
 */
import { MpcError, invariant } from '../util/index.js';
import type { Shape } from '../ring/index.js';
import { FloatKVCache, dims, floatTensor, type FloatTensor } from '../model/index.js';
import type { BlockAgg, CachePiece, ClusterScoreRule, ClusterSeries, EvictionOps, GatherUse } from './eviction-ops.js';

const prod = (s: readonly number[]) => s.reduce((a, d) => a * d, 1);
const fmt = (s: Shape) => `[${s.join(', ')}]`;

/** Views a tensor as [outer, dim, inner] around one axis. */
function around(x: FloatTensor, axis: number, what: string): [number, number, number] {
  invariant(
    Number.isInteger(axis) && axis >= 0 && axis < x.shape.length,
    'E_SHAPE',
    () => `${what}: no axis ${axis} in ${fmt(x.shape)}`,
  );
  return [prod(x.shape.slice(0, axis)), x.shape[axis] as number, prod(x.shape.slice(axis + 1))];
}

function slice(x: FloatTensor, axis: number, start: number, end: number): FloatTensor {
  const [outer, dim, inner] = around(x, axis, 'slice');
  invariant(
    Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= dim,
    'E_SHAPE',
    () => `slice ${start}..${end} of axis ${axis} of ${fmt(x.shape)}`,
  );
  const m = end - start;
  const out = new Float64Array(outer * m * inner);
  for (let o = 0; o < outer; o++)
    out.set(x.data.subarray((o * dim + start) * inner, (o * dim + end) * inner), o * m * inner);
  const shape = [...x.shape];
  shape[axis] = m;
  return floatTensor(shape, out);
}

function concat(xs: readonly FloatTensor[], axis: number): FloatTensor {
  invariant(xs.length > 0, 'E_SHAPE', 'concat of no tensors');
  const first = xs[0] as FloatTensor;
  const [outer, , inner] = around(first, axis, 'concat');
  for (const x of xs) {
    invariant(
      x.shape.length === first.shape.length && x.shape.every((d, i) => i === axis || d === first.shape[i]),
      'E_SHAPE',
      () => `concat along axis ${axis}: ${fmt(x.shape)} vs ${fmt(first.shape)}`,
    );
  }
  const total = xs.reduce((a, x) => a + (x.shape[axis] as number), 0);
  const out = new Float64Array(outer * total * inner);
  for (let o = 0; o < outer; o++) {
    let at = 0;
    for (const x of xs) {
      const d = x.shape[axis] as number;
      out.set(x.data.subarray(o * d * inner, (o + 1) * d * inner), (o * total + at) * inner);
      at += d;
    }
  }
  const shape = [...first.shape];
  shape[axis] = total;
  return floatTensor(shape, out);
}

function expandSelection(sel: FloatTensor, r: number, n: number): FloatTensor {
  const [g, k, c] = dims(sel, 3, 'expandSelection') as [number, number, number];
  invariant(
    Number.isInteger(r) && r >= 1 && Number.isInteger(n) && n >= c * r,
    'E_INPUT',
    `expandSelection: factor ${r}, ${n} columns for ${c} clusters`,
  );
  const out = new Float64Array(g * k * r * n);
  for (let gi = 0; gi < g; gi++) {
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < c; j++) {
        const v = sel.data[(gi * k + i) * c + j] as number;
        if (v === 0) continue;
        for (let ch = 0; ch < r; ch++) out[((gi * k + i) * r + ch) * n + j * r + ch] = v;
      }
    }
  }
  return floatTensor([g, k * r, n], out);
}

function publicSelection(groups: number, indices: readonly number[], n: number): FloatTensor {
  indices.forEach((j, i) => {
    if (!Number.isInteger(j) || j < 0 || j >= n || (i > 0 && j <= (indices[i - 1] as number))) {
      throw new MpcError('E_INPUT', `publicSelection: indices must ascend within 0..${n - 1}`);
    }
  });
  const k = indices.length;
  const out = new Float64Array(groups * k * n);
  for (let g = 0; g < groups; g++)
    indices.forEach((j, i) => {
      out[(g * k + i) * n + j] = 1;
    });
  return floatTensor([groups, k, n], out);
}

function cacheKeys(cache: FloatKVCache, start: number, end: number): FloatTensor {
  invariant(
    Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= cache.length,
    'E_SHAPE',
    () => `cacheKeys ${start}..${end} of a cache of ${cache.length}`,
  );
  const { heads, headDim: hd, capacity } = cache;
  const m = end - start;
  const out = new Float64Array(heads * m * hd);
  for (let h = 0; h < heads; h++)
    out.set(cache.keys.subarray((h * capacity + start) * hd, (h * capacity + end) * hd), h * m * hd);
  return floatTensor([heads, m, hd], out);
}

/**
 * Indices of the k largest entries of row `off..off+n` (ties: lowest index), ascending, for
 * 1 ≤ k < n: the k-th largest value from a native sort of a copy, then one pass in index order
 * that takes every larger entry and the first equal ones.
 */
export function topIndices(x: Float64Array, off: number, n: number, k: number): number[] {
  const row = x.subarray(off, off + n);
  for (let j = 0; j < n; j++) invariant(!Number.isNaN(row[j]), 'E_INPUT', 'topk: NaN score');
  const sorted = row.slice().sort();
  const kth = sorted[n - k] as number;
  let ties = k;
  for (let j = n - k; j < n; j++) if ((sorted[j] as number) > kth) ties--;
  const out: number[] = [];
  for (let j = 0; j < n && out.length < k; j++) {
    const v = row[j] as number;
    if (v > kth || (v === kth && ties-- > 0)) out.push(j);
  }
  return out;
}

async function topk(x: FloatTensor, k: number): Promise<FloatTensor> {
  invariant(x.shape.length >= 1, 'E_SHAPE', 'topk of a scalar');
  if (!Number.isInteger(k) || k < 0) throw new MpcError('E_INPUT', `topk: k = ${k} must be a non-negative integer`);
  const n = x.shape[x.shape.length - 1] as number;
  const g = prod(x.shape.slice(0, -1));
  const kk = Math.min(k, n);
  const out = new Float64Array(g * kk * n);
  for (let gi = 0; gi < g; gi++) {
    const picks = kk === n ? Array.from({ length: n }, (_, j) => j) : topIndices(x.data, gi * n, n, kk);
    picks.forEach((j, i) => {
      out[(gi * kk + i) * n + j] = 1;
    });
  }
  return floatTensor([g, kk, n], out);
}

async function gather(sel: FloatTensor, x: FloatTensor, layout: 'rows' | 'last'): Promise<FloatTensor> {
  const [g, k, n] = dims(sel, 3, 'gather selection') as [number, number, number];
  const [gx, a, b] = dims(x, 3, 'gather input') as [number, number, number];
  invariant(gx === g || gx === 1, 'E_SHAPE', () => `gather: groups ${gx} vs ${g}`);
  invariant(
    (layout === 'rows' ? a : b) === n,
    'E_SHAPE',
    () => `gather (${layout}): selection ${fmt(sel.shape)} vs input ${fmt(x.shape)}`,
  );
  const rows = layout === 'rows';
  const out = new Float64Array(rows ? g * k * b : g * a * k);
  for (let gi = 0; gi < g; gi++) {
    const xg = gx === 1 ? 0 : gi;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < n; j++) {
        const w = sel.data[(gi * k + i) * n + j] as number;
        if (w === 0) continue;
        if (rows) {
          for (let c = 0; c < b; c++)
            out[(gi * k + i) * b + c] =
              (out[(gi * k + i) * b + c] as number) + w * (x.data[(xg * a + j) * b + c] as number);
        } else {
          for (let m = 0; m < a; m++)
            out[(gi * a + m) * k + i] =
              (out[(gi * a + m) * k + i] as number) + w * (x.data[(xg * a + m) * b + j] as number);
        }
      }
    }
  }
  return floatTensor(rows ? [g, k, b] : [g, a, k], out);
}

/** The item each one-hot row of a selection picks (the row's single 1; other entries are not read). */
function picks(sel: FloatTensor, g: number): number[] {
  const [, k, n] = sel.shape as [number, number, number];
  return Array.from({ length: k }, (_, i) => {
    const row = sel.data.subarray((g * k + i) * n, (g * k + i + 1) * n);
    const at = row.indexOf(1);
    invariant(at >= 0 && row.lastIndexOf(1) === at, 'E_SHAPE', 'gatherCache: a selection row is not one-hot');
    return at;
  });
}

async function gatherCache(
  src: FloatKVCache,
  pieces: readonly CachePiece<FloatTensor>[],
  capacity: number,
  _use?: GatherUse,
): Promise<FloatKVCache> {
  const rows: number[][] = Array.from({ length: src.heads }, () => []);
  for (const p of pieces) {
    if ('rows' in p) {
      const [a, b] = p.rows;
      invariant(
        Number.isInteger(a) && Number.isInteger(b) && a >= 0 && a <= b && b <= src.length,
        'E_SHAPE',
        () => `gatherCache: rows ${a}..${b} of a cache of ${src.length}`,
      );
      for (const list of rows) for (let r = a; r < b; r++) list.push(r);
      continue;
    }
    const [g] = dims(p.select, 3, 'gatherCache selection') as [number];
    invariant(g === 1 || g === src.heads, 'E_SHAPE', () => `gatherCache: selection groups ${g} for ${src.heads} heads`);
    const chosen = Array.from({ length: g }, (_, gi) => picks(p.select, gi));
    rows.forEach((list, h) => {
      for (const j of chosen[g === 1 ? 0 : h] as number[])
        for (let r = 0; r < p.block; r++) list.push(p.offset + j * p.block + r);
    });
  }
  const n = rows[0]?.length ?? 0;
  invariant(n <= capacity, 'E_SHAPE', () => `gatherCache: ${n} rows exceed capacity ${capacity}`);
  const out = new FloatKVCache(src.heads, src.headDim, capacity);
  out.appendRows(src, rows);
  return out;
}

async function blockMinMax(
  hi: FloatTensor,
  lo: FloatTensor,
  b: number,
): Promise<{ max: FloatTensor; min: FloatTensor }> {
  const [g, nb, w] = dims(hi, 3, 'blockMinMax') as [number, number, number];
  invariant(
    hi.shape.join() === lo.shape.join() && Number.isInteger(b) && b >= 1 && nb % b === 0,
    'E_SHAPE',
    () => `blockMinMax: ${fmt(hi.shape)} / ${fmt(lo.shape)} in blocks of ${b}`,
  );
  const n = nb / b;
  const max = new Float64Array(g * n * w).fill(-Infinity);
  const min = new Float64Array(g * n * w).fill(Infinity);
  for (let gi = 0; gi < g; gi++) {
    for (let r = 0; r < nb; r++) {
      const o = (gi * n + Math.floor(r / b)) * w,
        s = (gi * nb + r) * w;
      for (let c = 0; c < w; c++) {
        max[o + c] = Math.max(max[o + c] as number, hi.data[s + c] as number);
        min[o + c] = Math.min(min[o + c] as number, lo.data[s + c] as number);
      }
    }
  }
  return { max: floatTensor([g, n, w], max), min: floatTensor([g, n, w], min) };
}

async function clusterScores(
  q: FloatTensor,
  kmax: FloatTensor,
  kmin: FloatTensor,
  rule: ClusterScoreRule,
  _series?: ClusterSeries,
): Promise<FloatTensor> {
  const [h, n, hd] = dims(q, 3, 'clusterScores') as [number, number, number];
  const [hc, c, hdc] = dims(kmax, 3, 'clusterScores bounds') as [number, number, number];
  invariant(
    hc === h && hdc === hd && kmin.shape.join() === kmax.shape.join(),
    'E_SHAPE',
    () => `clusterScores: q ${fmt(q.shape)}, bounds ${fmt(kmax.shape)} / ${fmt(kmin.shape)}`,
  );
  const out = new Float64Array(h * n * c);
  const a = rule.kind === 'blend' ? rule.alpha : 0;
  for (let hi = 0; hi < h; hi++) {
    for (let i = 0; i < n; i++) {
      const qo = (hi * n + i) * hd;
      for (let j = 0; j < c; j++) {
        const ko = (hi * c + j) * hd;
        let s = 0;
        for (let d = 0; d < hd; d++) {
          const qd = q.data[qo + d] as number,
            mx = kmax.data[ko + d] as number,
            mn = kmin.data[ko + d] as number;
          s += rule.kind === 'blend' ? qd * (a * mx + (1 - a) * mn) : Math.max(qd * mx, qd * mn);
        }
        out[(hi * n + i) * c + j] = s;
      }
    }
  }
  return floatTensor([h, n, c], out);
}

async function sumQueries(p: FloatTensor, from: number, to: number, meanOverHeads: boolean): Promise<FloatTensor> {
  const [h, n, t] = dims(p, 3, 'sumQueries') as [number, number, number];
  invariant(
    Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from < to && to <= n,
    'E_SHAPE',
    () => `sumQueries: rows ${from}..${to} of ${fmt(p.shape)}`,
  );
  const groups = meanOverHeads ? 1 : h;
  const out = new Float64Array(groups * t);
  for (let hi = 0; hi < h; hi++) {
    const o = (meanOverHeads ? 0 : hi) * t;
    for (let i = from; i < to; i++) {
      const s = (hi * n + i) * t;
      for (let j = 0; j < t; j++) out[o + j] = (out[o + j] as number) + (p.data[s + j] as number);
    }
  }
  if (meanOverHeads) for (let j = 0; j < t; j++) out[j] = (out[j] as number) / h;
  return floatTensor([groups, 1, t], out);
}

async function maxQueries(p: FloatTensor, from: number, to: number): Promise<FloatTensor> {
  const [h, n, t] = dims(p, 3, 'maxQueries') as [number, number, number];
  invariant(
    Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from < to && to <= n,
    'E_SHAPE',
    () => `maxQueries: rows ${from}..${to} of ${fmt(p.shape)}`,
  );
  const out = new Float64Array(t).fill(-Infinity);
  for (let i = from; i < to; i++) {
    for (let j = 0; j < t; j++) {
      let s = 0;
      for (let hi = 0; hi < h; hi++) s += p.data[(hi * n + i) * t + j] as number;
      out[j] = Math.max(out[j] as number, s / h);
    }
  }
  return floatTensor([1, 1, t], out);
}

/** Checks blockScores' arguments; returns [G, T, blocks]. */
export function blockScoreDims(shape: Shape, block: number, lookback: number): [number, number, number] {
  invariant(shape.length === 3 && shape[1] === 1, 'E_SHAPE', () => `blockScores of ${fmt(shape)} (want [G, 1, T])`);
  if (!Number.isInteger(block) || block < 1)
    throw new MpcError('E_INPUT', `blockScores: block ${block} must be a positive integer`);
  if (!Number.isInteger(lookback) || lookback < 0)
    throw new MpcError('E_INPUT', `blockScores: lookback ${lookback} must be a non-negative integer`);
  const [g, , t] = shape as [number, number, number];
  return [g, t, Math.floor(t / block)];
}

async function blockScores(x: FloatTensor, block: number, lookback: number, agg: BlockAgg): Promise<FloatTensor> {
  const [g, t, nb] = blockScoreDims(x.shape, block, lookback);
  const out = new Float64Array(g * nb);
  for (let r = 0; r < g; r++) {
    for (let b = 0; b < nb; b++) {
      let s = agg === 'max' ? -Infinity : 0;
      for (let j = Math.max(0, b - lookback) * block; j < (b + 1) * block; j++) {
        const v = x.data[r * t + j] as number;
        s = agg === 'max' ? Math.max(s, v) : s + v;
      }
      out[r * nb + b] = s;
    }
  }
  return floatTensor([g, 1, nb], out);
}

async function maxPool(x: FloatTensor, kernel: number): Promise<FloatTensor> {
  if (!Number.isInteger(kernel) || kernel < 1 || kernel % 2 === 0)
    throw new MpcError('E_INPUT', `maxPool: kernel ${kernel} must be a positive odd integer`);
  const n = x.shape[x.shape.length - 1] as number;
  const half = (kernel - 1) / 2;
  const out = new Float64Array(x.data.length);
  for (let r = 0; r < x.data.length; r += n) {
    for (let j = 0; j < n; j++) {
      let m = -Infinity;
      for (let i = Math.max(0, j - half); i <= Math.min(n - 1, j + half); i++) m = Math.max(m, x.data[r + i] as number);
      out[r + j] = m;
    }
  }
  return floatTensor(x.shape, out);
}

/** The float64 implementation of every `EvictionOps` method. */
export const floatEvictionOps: EvictionOps<FloatTensor, FloatKVCache> = {
  slice,
  concat,
  expandSelection,
  publicSelection,
  cacheKeys,
  topk,
  gather,
  gatherCache,
  blockMinMax,
  clusterScores,
  sumQueries,
  maxQueries,
  blockScores,
  maxPool,
};
