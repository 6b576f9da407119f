/**
 * Top-k over the last axis (k and n public): secret one-hots in descending order [.., k, n],
 * a k-hot mask [.., n] and/or secret indices [.., k]. Exact; ties go to the lowest index.
 *
 * Values become unique keys key_i = x_i·2^w + (2^w − 1 − i) (w = ⌈log2 n⌉), so "larger key" is
 * "larger value, then lower index", every comparison has a strict answer and the index rides in
 * the key's low w bits (no index payload; a one-hot of the key's low bits is the one-hot of i).
 * Two networks:
 *  - 'rank' (small n): all n(n−1)/2 key comparisons of a row in one `cmpK` call, rank_i = number
 *    of keys above key_i (local sums), then the one-hot of each rank by `lut` (1 round): the
 *    one-hot for rank t is the t-th largest. Rounds 5. Online ≈ (n−1)/2 comparisons + w/8 B per
 *    element; dealer ≈ (n−1)/2·37 + 8·2^w B per element.
 *  - 'bitonic' (large n, e.g. 65536): pad to blocks of K = 2^⌈log2 k⌉ with −∞ keys, bitonic-sort
 *    each block descending (log K (log K + 1)/2 stages), then repeatedly merge block pairs keeping
 *    the top K: max(A[i], B[K−1−i]) is bitonic and holds the top K of A ∪ B, one bitonic merge
 *    (log K stages) sorts it. Stages: log K(log K+1)/2 + ⌈log2(N/K)⌉·(1 + log K); each stage is
 *    one `cmpK` call with its fused product (4 rounds). Compare-exchanges ≈ N/2·log K(log K+1)/2
 *    + N·(1 + log K/2). Then one-hots of the k winners by `lut` (1 round; 8·2^w dealer bytes
 *    each), or the k-hot mask as [key_i ≥ key of rank k−1] (one more comparison per element).
 * Precondition: |x_i − x_j| < 2^(width−1) ring units; keys need width + w + 1 ≤ 64 bits.
 */
import { invariant } from '../../util/errors.js';
import type { AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle, Prims } from '../prims/types.js';
import type { WidthOpt } from './compare.js';

export interface TopkOpts extends WidthOpt {
  method?: 'auto' | 'rank' | 'bitonic';
  onehots?: boolean;
  khot?: boolean;
  indices?: boolean;
}

export interface TopkOut<T> {
  onehots?: T;
  khot?: T;
  indices?: T;
}

/** Up to this n, 'auto' uses the rank network. */
export const RANK_MAX_N = 64;

export async function topk<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  k: number,
  o: TopkOpts = {},
): Promise<TopkOut<T>> {
  const n = x.shape[x.shape.length - 1]!,
    lead = x.shape.slice(0, -1),
    rows = lead.reduce((a, b) => a * b, 1);
  invariant(Number.isInteger(k) && k >= 1 && k <= n, 'E_INPUT', `top-k needs 1 ≤ k ≤ n, got k=${k}, n=${n}`);
  const w = Math.max(1, Math.ceil(Math.log2(n))),
    W = 2 ** w,
    width = o.width ?? 64 - w - 1;
  const keyWidth = width + w + 1;
  invariant(keyWidth <= 64, 'E_INTERNAL', `top-k keys need ${keyWidth} bits`);
  const keys = P.reshape(
    P.addPublic(
      P.mulInt(P.relabel(x, 0), W),
      Float64Array.from({ length: n }, (_, i) => W - 1 - i),
    ),
    [rows, n],
  );
  const method = o.method === 'rank' || (o.method !== 'bitonic' && n <= RANK_MAX_N) ? 'rank' : 'bitonic';
  const want = { onehots: o.onehots ?? true, khot: o.khot ?? false, indices: o.indices ?? false };
  const out: TopkOut<T> = {};
  if (method === 'rank') {
    const ohRank = await rankOnehots(P, keys, rows, n, w, keyWidth); // [rows, n, W]: [rank_i = t]
    if (want.onehots || want.indices) {
      const idx = new Int32Array(rows * k * n);
      for (let r = 0; r < rows; r++)
        for (let t = 0; t < k; t++) for (let i = 0; i < n; i++) idx[(r * k + t) * n + i] = (r * n + i) * W + t;
      out.onehots = P.pick(ohRank, [...lead, k, n], idx);
    }
    if (want.khot) {
      const idx = new Int32Array(rows * n * k);
      for (let e = 0; e < rows * n; e++) for (let t = 0; t < k; t++) idx[e * k + t] = e * W + t;
      out.khot = P.sumLast(P.pick(ohRank, [...lead, n, k], idx));
    }
  } else {
    const best = await bitonicTop(P, keys, rows, n, k, keyWidth); // [rows, k] descending
    if (want.onehots || want.indices) {
      const [oh] = await P.lut(best, w, [{ s: 0, w }]);
      const idx = new Int32Array(rows * k * n);
      for (let e = 0; e < rows * k; e++) for (let i = 0; i < n; i++) idx[e * n + i] = e * W + (W - 1 - i);
      out.onehots = P.pick(oh!, [...lead, k, n], idx);
    }
    if (want.khot) {
      if (out.onehots) out.khot = P.sumLast(P.transposeLast(out.onehots));
      else {
        const theta = P.pick(
          best,
          [rows * n],
          Int32Array.from({ length: rows * n }, (_, e) => Math.floor(e / n) * k + k - 1),
        );
        out.khot = P.reshape(
          (
            await P.cmpK(P.sub(P.reshape(keys, [rows * n]), theta), {
              width: keyWidth,
              fewerRounds: o.fewerRounds ?? true,
            })
          ).bits,
          [...lead, n],
        );
      }
    }
  }
  if (want.indices)
    out.indices = P.sumLast(
      P.mulPublic(
        out.onehots!,
        Float64Array.from({ length: n }, (_, i) => i),
        0,
      ),
    );
  if (!want.onehots) delete out.onehots;
  return out;
}

/** [rank_i = t] for every element, [rows, n, 2^w]: all pairs compared in one call. */
async function rankOnehots<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  keys: T,
  rows: number,
  n: number,
  w: number,
  keyWidth: number,
): Promise<T> {
  const pairs = (n * (n - 1)) / 2,
    pa = new Int32Array(rows * pairs),
    pb = new Int32Array(rows * pairs);
  const pairAt = (i: number, j: number): number => i * n - (i * (i + 1)) / 2 + (j - i - 1); // i < j
  for (let r = 0; r < rows; r++) {
    for (let i = 0; i < n; i++)
      for (let j = i + 1; j < n; j++) {
        const p = r * pairs + pairAt(i, j);
        pa[p] = r * n + i;
        pb[p] = r * n + j;
      }
  }
  let rank: T;
  if (n === 1) rank = P.constant([rows, 1], 0, 0);
  else {
    const flat = P.reshape(keys, [rows * n]);
    const g = P.reshape(
      (await P.cmpK(P.sub(P.pick(flat, [rows * pairs], pa), P.pick(flat, [rows * pairs], pb)), { width: keyWidth }))
        .bits,
      [rows * pairs],
    );
    const both = P.concatLast([g, P.addPublic(P.neg(g), 1)]); // [i beats j] then [j beats i]
    const terms = new Int32Array(rows * n * (n - 1));
    for (let r = 0; r < rows; r++) {
      for (let i = 0; i < n; i++) {
        let t = (r * n + i) * (n - 1);
        for (let j = 0; j < n; j++) {
          if (j < i)
            terms[t++] = r * pairs + pairAt(j, i); // key_j above key_i: g(j, i)
          else if (j > i) terms[t++] = rows * pairs + r * pairs + pairAt(i, j); // 1 − g(i, j)
        }
      }
    }
    rank = P.sumLast(P.pick(both, [rows, n, n - 1], terms));
  }
  const [oh] = await P.lut(P.reshape(rank, [rows, n]), w, [{ s: 0, w }]);
  return oh!;
}

/** The bitonic network's state: the rows' current keys `cur`, `len` per row. */
class Bitonic<T extends AnyTensor, F extends FixedHandle> {
  constructor(
    private readonly P: Prims<T, F>,
    private readonly rows: number,
    private readonly keyWidth: number,
    public cur: T,
    public len: number,
  ) {}

  /** One compare-exchange stage for every row (pairs (i, j, descending) within a row); keeps the first outLen. */
  async stage(pairs: Array<[number, number, boolean]>, outLen: number): Promise<void> {
    const { P, rows, len } = this,
      m = pairs.length,
      ia = new Int32Array(rows * m),
      ib = new Int32Array(rows * m);
    for (let r = 0; r < rows; r++)
      pairs.forEach(([i, j], p) => {
        ia[r * m + p] = r * len + i;
        ib[r * m + p] = r * len + j;
      });
    const flat = P.reshape(this.cur, [rows * len]);
    const a = P.pick(flat, [rows * m], ia),
      b = P.pick(flat, [rows * m], ib);
    const gd = (await P.cmpK(P.sub(a, b), { width: this.keyWidth, self: [0] })).self[0]!;
    const hi = P.add(b, gd),
      lo = P.sub(a, gd);
    const src = new Int32Array(rows * outLen),
      H = rows * len,
      Lo = H + rows * m;
    for (let r = 0; r < rows; r++) for (let j = 0; j < outLen; j++) src[r * outLen + j] = r * len + j;
    pairs.forEach(([i, j, desc], p) => {
      for (let r = 0; r < rows; r++) {
        if (i < outLen) src[r * outLen + i] = (desc ? H : Lo) + r * m + p;
        if (j < outLen) src[r * outLen + j] = (desc ? Lo : H) + r * m + p;
      }
    });
    this.cur = P.pick(P.concatLast([flat, hi, lo]), [rows, outLen], src);
    this.len = outLen;
  }

  /** Merges B blocks of K pairwise: max(A[i], B[K−1−i]) holds the top K of each pair (an odd last block moves down), then sorts it. */
  async merge(B: number, K: number): Promise<void> {
    const { P, rows } = this,
      half = Math.floor(B / 2),
      outLen = Math.ceil(B / 2) * K,
      prevLen = this.len;
    const moved = (r: number, j: number) =>
      B % 2 === 1 && j >= half * K ? r * prevLen + (B - 1) * K + (j - half * K) : -1;
    const m = half * K,
      ia = new Int32Array(rows * m),
      ib = new Int32Array(rows * m);
    for (let r = 0; r < rows; r++)
      for (let p = 0; p < half; p++)
        for (let i = 0; i < K; i++) {
          ia[r * m + p * K + i] = r * prevLen + 2 * p * K + i;
          ib[r * m + p * K + i] = r * prevLen + (2 * p + 1) * K + (K - 1 - i);
        }
    const flat = P.reshape(this.cur, [rows * prevLen]);
    const a = P.pick(flat, [rows * m], ia),
      b = P.pick(flat, [rows * m], ib);
    const hi = P.add(b, (await P.cmpK(P.sub(a, b), { width: this.keyWidth, self: [0] })).self[0]!);
    const src = new Int32Array(rows * outLen);
    for (let r = 0; r < rows; r++)
      for (let j = 0; j < outLen; j++) src[r * outLen + j] = j < m ? rows * prevLen + r * m + j : moved(r, j);
    this.cur = P.pick(P.concatLast([flat, hi]), [rows, outLen], src);
    this.len = outLen;
    for (let stride = K / 2; stride >= 1; stride /= 2) {
      const mp: Array<[number, number, boolean]> = [];
      for (let i = 0; i < m; i++) if ((i & stride) === 0) mp.push([i, i | stride, true]);
      await this.stage(mp, outLen);
    }
  }
}

/** Descending top-K keys per row by a bitonic partial-sort network; returns [rows, k]. */
async function bitonicTop<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  keys: T,
  rows: number,
  n: number,
  k: number,
  keyWidth: number,
): Promise<T> {
  const K = 2 ** Math.ceil(Math.log2(k)),
    N = Math.ceil(n / K) * K;
  const pad = -(2 ** (keyWidth - 2)); // below every real key, within the comparison width
  const padIdx = new Int32Array(rows * N);
  for (let r = 0; r < rows; r++) for (let j = 0; j < N; j++) padIdx[r * N + j] = j < n ? r * n + j : -1;
  const net = new Bitonic(
    P,
    rows,
    keyWidth,
    P.addPublic(
      P.pick(keys, [rows, N], padIdx),
      Float64Array.from({ length: N }, (_, j) => (j < n ? 0 : pad)),
    ),
    N,
  );
  // phase A: sort each block of K descending
  for (let size = 2; size <= K; size *= 2) {
    for (let stride = size / 2; stride >= 1; stride /= 2) {
      const pairs: Array<[number, number, boolean]> = [];
      for (let i = 0; i < N; i++) if ((i & stride) === 0) pairs.push([i, i | stride, ((i % K) & size) === 0]);
      await net.stage(pairs, N);
    }
  }
  // phase B: merge block pairs keeping the top K of each pair
  for (let B = N / K; B > 1; B = Math.ceil(B / 2)) await net.merge(B, K);
  return P.pick(
    P.reshape(net.cur, [rows * net.len]),
    [rows, k],
    Int32Array.from({ length: rows * k }, (_, e) => Math.floor(e / k) * net.len + (e % k)),
  );
}
