/**
 * `EvictionOps` for the ring backends, as programs over Prims: the same code is the fixed-point
 * emulation, each party's share of the secure pipeline and the dealer's schedule, so selections
 * and tokens agree bit for bit. Semantics are the float64 backend's (ops/float-eviction.ts): one-hot
 * selections [G, k, N] (integers, fracBits 0) in ascending item order, ties to the lowest index.
 *
 * Costs per party (online = bytes sent, dealer = correction bytes to party 1; measured in
 * test/kvcache/ring-eviction.test.ts, tabulated in docs/eviction-mpc.md):
 * - slice, concat, expandSelection, publicSelection, cacheKeys: local (cacheKeys reads rows of
 *   the fixed-mask keys at public positions: this holder's share, `fixedRows`).
 * - topk: k-hot by comparisons on unique keys (protocol/nonlinear/topk.ts: rank network for
 *   N ≤ 64, else bitonic), ascending one-hots by prefix sums and one `lut` (nonlinear/selection.ts).
 * - gather: one secret × secret product (opens k·N + N·w per group); exact, no truncation.
 * - gatherCache: 'attend' → a lazy view (model/ring/cache.ts), nothing opened here; the attention over
 *   it opens the one-hot, q and the probabilities, masked (model/ring/view-attention.ts). 'store'
 *   → rows gathered by a fixed product over a block view of the source (opens only the one-hot,
 *   once for all heads and K, V each when the selection is shared), then re-masked into a new
 *   fixed-mask cache (one opening per element, worth it for rows stored and attended many times).
 * - blockMinMax, maxPool: comparison trees (nonlinear/selection.ts).
 * - clusterScores: 'blend' — R = α·kmax + (1 − α)·kmin is a public scale (local, kept at 2f), one
 *   product q·Rᵀ (opens C·hd + hd per head) and one truncation per score; 'bound' — with
 *   kmax ≥ kmin, max(q_i·kmax_i, q_i·kmin_i) = q⁺_i·kmax_i + q⁻_i·kmin_i (q⁺ = relu(q), q⁻ = q − q⁺):
 *   hd comparisons per head (not C·hd) and one product [q⁺|q⁻]·[kmax|kmin]ᵀ (2·C·hd opened).
 * - sumQueries: local sums; the head mean is a public scale by 1/H and one exact truncation per key.
 * - maxQueries: local head sums, a max tree over the rows (width 32), then the head mean as above.
 * - blockScores: 'sum' local (picks and sums of shares); 'max' two comparison trees (width 32):
 *   over each block's keys, then over the block and its lookback.
 */
import { MpcError, invariant } from '../util/errors.js';
import type { AnyTensor, Shape } from '../ring/tensor.js';
import type { FixedHandle, Prims } from '../protocol/prims/types.js';
import { blockMinMax, maxLast, maxPool, topkSelection } from '../protocol/nonlinear/index.js';
import { blockScoreDims } from './float-eviction.js';
import type { BlockAgg, CachePiece, ClusterScoreRule, ClusterSeries, EvictionOps, GatherUse } from './eviction-ops.js';
import { RingCacheView, RingKVCache, pieceRows, type ViewPiece } from '../model/ring/cache.js';

/** Value width of top-k comparisons: |x_i − x_j| < 2^39 ring units (2^23 at 16 fractional bits). */
export const TOPK_WIDTH = 40;

/** Called with every selection a top-k makes and every selection a cache gather uses (test reveal hook). */
export type SelectionHook<T> = (what: 'topk' | 'gather', sel: T) => void | Promise<void>;

const prod = (s: readonly number[]) => s.reduce((a, d) => a * d, 1);
const fmt = (s: Shape) => `[${s.join(', ')}]`;
const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

function around(shape: Shape, axis: number, what: string): [number, number, number] {
  invariant(
    Number.isInteger(axis) && axis >= 0 && axis < shape.length,
    'E_SHAPE',
    () => `${what}: no axis ${axis} in ${fmt(shape)}`,
  );
  return [prod(shape.slice(0, axis)), shape[axis]!, prod(shape.slice(axis + 1))];
}

export class RingEviction<T extends AnyTensor, F extends FixedHandle> implements EvictionOps<T, RingKVCache<T, F>> {
  private views = 0;
  private seriesIds = 0;
  /** Per cluster series: its rows (blended bounds, or [kmax | kmin]) under a fixed mask. */
  private readonly series = new WeakMap<ClusterSeries, { w: F; key: string }>();

  constructor(
    private readonly P: Prims<T, F>,
    private readonly f: number,
    private readonly newCache: (heads: number, headDim: number, capacity: number) => RingKVCache<T, F>,
    private readonly hook?: SelectionHook<T>,
  ) {}

  slice(x: T, axis: number, start: number, end: number): T {
    const [outer, dim, inner] = around(x.shape, axis, 'slice');
    invariant(
      Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= dim,
      'E_SHAPE',
      () => `slice ${start}..${end} of axis ${axis} of ${fmt(x.shape)}`,
    );
    const m = end - start,
      shape = [...x.shape];
    shape[axis] = m;
    return this.P.pick(
      x,
      shape,
      Int32Array.from({ length: outer * m * inner }, (_, e) => {
        const o = Math.floor(e / (m * inner)),
          r = e % (m * inner);
        return (o * dim + start) * inner + r;
      }),
    );
  }

  concat(xs: readonly T[], axis: number): T {
    invariant(xs.length > 0, 'E_SHAPE', 'concat of no tensors');
    const first = xs[0]!;
    const [outer, , inner] = around(first.shape, axis, 'concat');
    for (const x of xs) {
      invariant(
        x.shape.length === first.shape.length && x.shape.every((d, i) => i === axis || d === first.shape[i]),
        'E_SHAPE',
        () => `concat along axis ${axis}: ${fmt(x.shape)} vs ${fmt(first.shape)}`,
      );
    }
    const total = xs.reduce((a, x) => a + x.shape[axis]!, 0),
      shape = [...first.shape];
    shape[axis] = total;
    if (xs.length === 1) return this.P.reshape(first, shape);
    const flat = this.P.concatLast(xs.map((x) => this.P.reshape(x, [outer, x.shape[axis]! * inner])));
    return this.P.reshape(flat, shape);
  }

  expandSelection(sel: T, r: number, n: number): T {
    invariant(sel.shape.length === 3, 'E_SHAPE', () => `expandSelection of ${fmt(sel.shape)}`);
    const [g, k, c] = sel.shape as [number, number, number];
    if (!(Number.isInteger(r) && r >= 1 && Number.isInteger(n) && n >= c * r))
      throw new MpcError('E_INPUT', `expandSelection: factor ${r}, ${n} columns for ${c} clusters`);
    const rows = k * r;
    return this.P.pick(
      sel,
      [g, rows, n],
      Int32Array.from({ length: g * rows * n }, (_, e) => {
        const gi = Math.floor(e / (rows * n)),
          row = Math.floor((e % (rows * n)) / n),
          col = e % n;
        const i = Math.floor(row / r),
          ch = row % r;
        return col < c * r && col % r === ch ? (gi * k + i) * c + (col - ch) / r : -1;
      }),
    );
  }

  publicSelection(groups: number, indices: readonly number[], n: number): T {
    indices.forEach((j, i) => {
      if (!Number.isInteger(j) || j < 0 || j >= n || (i > 0 && j <= indices[i - 1]!))
        throw new MpcError('E_INPUT', `publicSelection: indices must ascend within 0..${n - 1}`);
    });
    const k = indices.length,
      ones = new Float64Array(groups * k * n);
    for (let g = 0; g < groups; g++)
      indices.forEach((j, i) => {
        ones[(g * k + i) * n + j] = 1;
      });
    return this.P.constant([groups, k, n], ones, 0);
  }

  cacheKeys(cache: RingKVCache<T, F>, start: number, end: number): T {
    invariant(
      !(cache instanceof RingCacheView),
      'E_INTERNAL',
      'keys of an attend-only cache view (gather it to store instead)',
    );
    invariant(
      Number.isInteger(start) && Number.isInteger(end) && start >= 0 && start <= end && end <= cache.length,
      'E_SHAPE',
      () => `cacheKeys ${start}..${end} of a cache of ${cache.length}`,
    );
    if (cache.k === undefined) return this.P.constant([cache.heads, 0, cache.headDim], 0, this.f);
    return this.P.fixedRows(cache.k, range(start, end));
  }

  async topk(x: T, k: number): Promise<T> {
    invariant(x.shape.length >= 1, 'E_SHAPE', 'topk of a scalar');
    if (!Number.isInteger(k) || k < 0) throw new MpcError('E_INPUT', `topk: k = ${k} must be a non-negative integer`);
    const sel = await this.P.scope('topk', () => topkSelection(this.P, x, k, { width: TOPK_WIDTH }));
    await this.hook?.('topk', sel);
    return sel;
  }

  async gather(sel: T, x: T, layout: 'rows' | 'last'): Promise<T> {
    invariant(
      sel.shape.length === 3 && x.shape.length === 3,
      'E_SHAPE',
      () => `gather: selection ${fmt(sel.shape)}, input ${fmt(x.shape)}`,
    );
    const [g, k, n] = sel.shape as [number, number, number],
      [gx, a, b] = x.shape as [number, number, number];
    invariant(gx === g || gx === 1, 'E_SHAPE', () => `gather: groups ${gx} vs ${g}`);
    invariant(
      (layout === 'rows' ? a : b) === n,
      'E_SHAPE',
      () => `gather (${layout}): selection ${fmt(sel.shape)} vs input ${fmt(x.shape)}`,
    );
    const P = this.P,
      out = layout === 'rows' ? [g, k, b] : [g, a, k];
    if (k === 0) return P.constant(out, 0, x.fracBits);
    return P.scope('gather', async () => {
      if (layout === 'rows') {
        return gx === g
          ? P.matmul(sel, x)
          : P.reshape(await P.matmul(P.reshape(sel, [g * k, n]), P.reshape(x, [n, b])), out);
      }
      if (gx === g) return P.matmul(x, P.transposeLast(sel));
      const y = await P.matmul(P.reshape(x, [a, n]), P.transposeLast(P.reshape(sel, [g * k, n]))); // [a, g·k]
      return P.pick(
        y,
        out,
        Int32Array.from({ length: g * a * k }, (_, e) => {
          const gi = Math.floor(e / (a * k)),
            m = Math.floor((e % (a * k)) / k);
          return m * g * k + gi * k + (e % k);
        }),
      );
    });
  }

  async gatherCache(
    src: RingKVCache<T, F>,
    pieces: readonly CachePiece<T>[],
    capacity: number,
    use: GatherUse = 'store',
  ): Promise<RingKVCache<T, F>> {
    const vp = pieces.map((p) => this.piece(src, p));
    const rows = vp.reduce((t, p) => t + pieceRows(p), 0);
    invariant(rows <= capacity, 'E_SHAPE', () => `gatherCache: ${rows} rows exceed capacity ${capacity}`);
    for (const p of vp) if (p.kind === 'select') await this.hook?.('gather', p.sel);
    const base = src instanceof RingCacheView ? await this.materialize(src.src, src.pieces, src.length) : src;
    if (use === 'attend' && rows === capacity) return new RingCacheView(this.P, `view${this.views++}`, base, vp, rows);
    return this.P.scope('gather', () => this.materialize(base, vp, capacity));
  }

  private piece(src: RingKVCache<T, F>, p: CachePiece<T>): ViewPiece<T> {
    if ('rows' in p) {
      const [a, b] = p.rows;
      invariant(
        Number.isInteger(a) && Number.isInteger(b) && a >= 0 && a <= b && b <= src.length,
        'E_SHAPE',
        () => `gatherCache: rows ${a}..${b} of a cache of ${src.length}`,
      );
      return { kind: 'rows', start: a, end: b };
    }
    const s = p.select.shape;
    invariant(
      s.length === 3 && (s[0] === 1 || s[0] === src.heads),
      'E_SHAPE',
      () => `gatherCache: selection ${fmt(s)} for ${src.heads} heads`,
    );
    invariant(
      Number.isInteger(p.block) &&
        p.block >= 1 &&
        Number.isInteger(p.offset) &&
        p.offset >= 0 &&
        p.offset + s[2]! * p.block <= src.length,
      'E_SHAPE',
      () => `gatherCache: ${s[2]} blocks of ${p.block} rows from ${p.offset} in a cache of ${src.length}`,
    );
    return { kind: 'select', sel: p.select, block: p.block, offset: p.offset };
  }

  /**
   * A stored cache holding the pieces' rows in order: public rows are copied with their masks
   * (`fixedCopy`, free); selected blocks are gathered by their one-hots and re-masked.
   */
  private async materialize(
    src: RingKVCache<T, F>,
    pieces: readonly ViewPiece<T>[],
    capacity: number,
  ): Promise<RingKVCache<T, F>> {
    const out = this.newCache(src.heads, src.headDim, capacity);
    const todo = pieces.filter((p) => pieceRows(p) > 0);
    if (todo.length === 0) return out;
    invariant(src.k !== undefined && src.v !== undefined, 'E_INTERNAL', 'gather from an empty cache');
    for (let i = 0; i < todo.length;) {
      const p = todo[i]!;
      if (p.kind === 'rows') {
        const segs: Array<[number, number]> = [];
        for (; i < todo.length && todo[i]!.kind === 'rows'; i++) {
          const r = todo[i] as Extract<ViewPiece<T>, { kind: 'rows' }>;
          segs.push([r.start, r.end]);
        }
        await out.appendRows(src, segs);
      } else {
        await out.append(await this.selectedRows(src.k, p), await this.selectedRows(src.v, p));
        i++;
      }
    }
    return out;
  }

  /** The blocks a selection picks from a fixed matrix, by one fixed product over a block view: [H, k·block, cols]. */
  private async selectedRows(w: F, p: Extract<ViewPiece<T>, { kind: 'select' }>): Promise<T> {
    const P = this.P,
      [g, k, n] = p.sel.shape as [number, number, number];
    const view = {
      segs: [[p.offset, p.offset + n * p.block]] as [number, number][],
      block: p.block,
      shared: g === 1 && w.groups > 1,
    };
    const got = await P.fixedMatmul(view.shared ? P.reshape(p.sel, [k, n]) : p.sel, w, 'nn', view); // [H, k, block·cols]
    return P.reshape(got, [w.groups, k * p.block, w.cols]);
  }

  blockMinMax(hi: T, lo: T, b: number): Promise<{ max: T; min: T }> {
    return this.P.scope('minmax', () => blockMinMax(this.P, hi, lo, b));
  }

  clusterScores(q: T, kmax: T, kmin: T, rule: ClusterScoreRule, series?: ClusterSeries): Promise<T> {
    invariant(
      q.shape.length === 3 && kmax.shape.length === 3,
      'E_SHAPE',
      () => `clusterScores: q ${fmt(q.shape)}, bounds ${fmt(kmax.shape)}`,
    );
    const [h, , hd] = q.shape as [number, number, number],
      [hc, c, hdc] = kmax.shape as [number, number, number];
    invariant(
      hc === h && hdc === hd && kmin.shape.join() === kmax.shape.join(),
      'E_SHAPE',
      () => `clusterScores: q ${fmt(q.shape)}, bounds ${fmt(kmax.shape)} / ${fmt(kmin.shape)}`,
    );
    const P = this.P,
      blend = rule.kind === 'blend';
    return P.scope('scores', async () => {
      // blend: R = α·kmax + (1 − α)·kmin at 2f (α at f bits), scores at 3f, one truncation by 2f per score (|score| < 2^14);
      // bound: with kmax ≥ kmin, Σ max(q_i·kmax_i, q_i·kmin_i) = [q⁺ | q⁻]·[kmax | kmin]ᵀ (hd comparisons per head)
      const qq = await this.queryFor(q, rule);
      const shift = blend ? 2 * this.f : this.f;
      if (series === undefined)
        return P.trunc(await P.matmul(qq, P.transposeLast(this.boundRows(kmax, kmin, rule))), shift);
      // a series' rows never change: kept under a fixed mask (prepareScores), each opened once; then only q per step
      const w = await this.seriesMatrix(kmax, kmin, rule, series);
      return P.trunc(await P.fixedMatmul(qq, w, 'nt', c), shift);
    });
  }

  childScores(
    q: T,
    kmax: T,
    kmin: T,
    rule: ClusterScoreRule,
    series: ClusterSeries,
    parents: T,
    r: number,
  ): Promise<T> {
    const P = this.P,
      [, c] = kmax.shape as [number, number],
      [, , c1] = parents.shape as [number, number, number];
    invariant(
      Number.isInteger(r) && r >= 1 && c1 * r <= c,
      'E_SHAPE',
      () => `childScores: ${c1} parents of ${r} children among ${c} clusters`,
    );
    return P.scope('scores', async () => {
      const qq = await this.queryFor(q, rule);
      const w = await this.seriesMatrix(kmax, kmin, rule, series);
      // the children of the chosen parents: blocks of r rows of the series picked by the parents' one-hot
      const parts = [await P.fixedSelect(qq, parents, w, 'nt', { offset: 0, block: r })];
      if (c > c1 * r) parts.push(await P.fixedMatmul(qq, w, 'nt', { segs: [[c1 * r, c]] })); // orphans
      return P.trunc(parts.length === 1 ? parts[0]! : P.concatLast(parts), rule.kind === 'blend' ? 2 * this.f : this.f);
    });
  }

  async childSelection(pick: T, parents: T, r: number, c: number): Promise<T> {
    const P = this.P,
      [h, k, nCand] = pick.shape as [number, number, number],
      [hp, k1, c1] = parents.shape as [number, number, number];
    invariant(
      hp === h && nCand === k1 * r + (c - c1 * r),
      'E_SHAPE',
      () =>
        `childSelection: pick ${fmt(pick.shape)} over the children of ${fmt(parents.shape)} (r ${r}, ${c} clusters)`,
    );
    return P.scope('gather', async () => {
      // P2[t·r + ch, i] = pick[t, i·r + ch]; (P2 · parents)[t·r + ch, j] = 1 iff pick t chose child ch of parent j
      const p2 = P.pick(
        pick,
        [h, k * r, k1],
        Int32Array.from({ length: h * k * r * k1 }, (_, e) => {
          const hh = Math.floor(e / (k * r * k1)),
            t = Math.floor((e % (k * r * k1)) / (r * k1)),
            ch = Math.floor((e % (r * k1)) / k1),
            i = e % k1;
          return (hh * k + t) * nCand + i * r + ch;
        }),
      );
      const y = await P.matmul(p2, parents); // [H, k·r, C']
      const both = P.concatLast([P.reshape(y, [h * k * r * c1]), P.reshape(pick, [h * k * nCand])]);
      return P.pick(
        both,
        [h, k, c],
        Int32Array.from({ length: h * k * c }, (_, e) => {
          const hh = Math.floor(e / (k * c)),
            t = Math.floor((e % (k * c)) / c),
            col = e % c;
          if (col < c1 * r) return ((hh * k + t) * r + (col % r)) * c1 + Math.floor(col / r);
          return h * k * r * c1 + (hh * k + t) * nCand + k1 * r + (col - c1 * r); // orphans keep their pick column
        }),
      );
    });
  }

  /** The query a rule multiplies: q (blend) or [q⁺ | q⁻] (bound: one comparison per element). */
  private async queryFor(q: T, rule: ClusterScoreRule): Promise<T> {
    if (rule.kind === 'blend') return q;
    const P = this.P,
      qPos = (await P.cmpK(q, { width: 32, self: [0], fewerRounds: true })).self[0]!;
    return P.concatLast([qPos, P.sub(q, qPos)]);
  }

  prepareScores(kmax: T, kmin: T, rule: ClusterScoreRule, series: ClusterSeries): Promise<void> {
    return this.P.scope('scores', async () => {
      await this.seriesMatrix(kmax, kmin, rule, series);
    });
  }

  /** The series' fixed matrix, with rows appended for clusters it does not hold yet. */
  private async seriesMatrix(kmax: T, kmin: T, rule: ClusterScoreRule, series: ClusterSeries): Promise<F> {
    const P = this.P,
      f = this.f,
      blend = rule.kind === 'blend',
      [h, c, hd] = kmax.shape as [number, number, number];
    const key = blend ? `blend ${rule.alpha}` : 'bound';
    let e = this.series.get(series);
    if (e === undefined) {
      e = {
        w: await P.fixedAlloc(
          `sum${this.seriesIds++}`,
          h,
          Math.max(1, series.maxClusters),
          blend ? hd : 2 * hd,
          blend ? 2 * f : f,
        ),
        key,
      };
      this.series.set(series, e);
    }
    const w = e.w;
    invariant(
      e.key === key && c >= w.rowsUsed && c <= w.rowsCap,
      'E_INTERNAL',
      () => `cluster series: ${c} clusters after ${w.rowsUsed} (at most ${w.rowsCap}), rule ${key}`,
    );
    if (c > w.rowsUsed) {
      const mx = this.slice(kmax, 1, w.rowsUsed, c),
        mn = this.slice(kmin, 1, w.rowsUsed, c);
      await P.fixedAppend(w, this.boundRows(mx, mn, rule));
    }
    return w;
  }

  /** Per cluster: R = α·kmax + (1 − α)·kmin at 2f (blend), or [kmax | kmin] at f (bound). */
  private boundRows(kmax: T, kmin: T, rule: ClusterScoreRule): T {
    const P = this.P;
    return rule.kind === 'blend'
      ? P.add(P.mulPublic(kmax, rule.alpha, this.f), P.mulPublic(kmin, 1 - rule.alpha, this.f))
      : P.concatLast([kmax, kmin]);
  }

  async sumQueries(p: T, from: number, to: number, meanOverHeads: boolean): Promise<T> {
    invariant(p.shape.length === 3, 'E_SHAPE', () => `sumQueries of ${fmt(p.shape)}`);
    const [h, n, t] = p.shape as [number, number, number];
    invariant(
      Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from < to && to <= n,
      'E_SHAPE',
      () => `sumQueries: rows ${from}..${to} of ${fmt(p.shape)}`,
    );
    const P = this.P;
    const rows = P.reshape(P.sliceLast(P.reshape(p, [h, n * t]), from * t, to * t), [h, to - from, t]);
    const perHead = P.sumLast(P.transposeLast(rows)); // [H, T]
    if (!meanOverHeads) return P.reshape(perHead, [h, 1, t]);
    const total = P.sumLast(P.transposeLast(perHead)); // [T]
    return P.scope('mean', async () => P.reshape(await P.trunc(P.mulPublic(total, 1 / h, this.f), this.f), [1, 1, t]));
  }

  async maxQueries(p: T, from: number, to: number): Promise<T> {
    invariant(p.shape.length === 3, 'E_SHAPE', () => `maxQueries of ${fmt(p.shape)}`);
    const [h, n, t] = p.shape as [number, number, number];
    invariant(
      Number.isInteger(from) && Number.isInteger(to) && from >= 0 && from < to && to <= n,
      'E_SHAPE',
      () => `maxQueries: rows ${from}..${to} of ${fmt(p.shape)}`,
    );
    const P = this.P,
      w = to - from;
    const rows = P.sliceLast(P.reshape(p, [h, n * t]), from * t, to * t); // [H, w·T]
    const headSum = P.reshape(P.sumLast(P.transposeLast(rows)), [w, t]);
    // probabilities sum to at most H per key: far inside 32 bits at any f ≤ 24
    const best = await P.scope('max', () => maxLast(P, P.transposeLast(headSum), { width: 32 })); // [T]
    return P.scope('mean', async () => P.reshape(await P.trunc(P.mulPublic(best, 1 / h, this.f), this.f), [1, 1, t]));
  }

  async blockScores(x: T, block: number, lookback: number, agg: BlockAgg): Promise<T> {
    const [g, t, nb] = blockScoreDims(x.shape, block, lookback);
    const P = this.P;
    const blocks = P.reshape(P.sliceLast(P.reshape(x, [g, t]), 0, nb * block), [g, nb, block]);
    // scores are head-mean probabilities in [0, 1]: width 32 is ample at any f ≤ 24
    const own = agg === 'sum' ? P.sumLast(blocks) : await P.scope('blockmax', () => maxLast(P, blocks, { width: 32 })); // [G, nb]
    if (lookback === 0) return P.reshape(own, [g, 1, nb]);
    // own padded with one zero per row (a neutral element of both: scores are ≥ 0); column m of
    // row b reads block b − m, or the zero before the start
    const padded = P.reshape(P.concatLast([own, P.constant([g, 1], 0, x.fracBits)]), [g * (nb + 1)]);
    const idx = new Int32Array(g * nb * (lookback + 1));
    for (let r = 0; r < g; r++) {
      for (let b = 0; b < nb; b++) {
        for (let m = 0; m <= lookback; m++)
          idx[(r * nb + b) * (lookback + 1) + m] = r * (nb + 1) + (b >= m ? b - m : nb);
      }
    }
    const windows = P.pick(padded, [g, nb, lookback + 1], idx);
    const out =
      agg === 'sum' ? P.sumLast(windows) : await P.scope('blockmax', () => maxLast(P, windows, { width: 32 }));
    return P.reshape(out, [g, 1, nb]);
  }

  maxPool(x: T, kernel: number): Promise<T> {
    if (!Number.isInteger(kernel) || kernel < 1 || kernel % 2 === 0)
      throw new MpcError('E_INPUT', `maxPool: kernel ${kernel} must be a positive odd integer`);
    return this.P.scope('maxpool', () => maxPool(this.P, x, kernel));
  }
}
