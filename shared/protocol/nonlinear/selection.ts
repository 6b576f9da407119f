/**
 * The comparison-based pieces of KV-cache eviction (model/ops/eviction-types.ts), as programs over
 * Prims with the float64 backend's exact semantics. All exact.
 *
 * topkSelection(x [..., N], k) → [G, k, N]: one-hot rows of the k largest entries of each row in
 *   ascending index order (ties to the lowest index; k ≥ N selects everything without comparing).
 *   The k-hot mask m comes from topk.ts; then c_i = Σ_{j<i} m_j (prefix sums, local) and
 *   z_i = c_i + (1 − m_i)(k + 1) ∈ [0, 2k + 1] is < k exactly for kept entries, at their rank
 *   among kept ones: one `lut` one-hot of z (w = ⌈log2(2k + 2)⌉ bits online per element, 1 round,
 *   8·2^w dealer bytes per element) has row t = [z_i = t]. Cost: top-k k-hot + 1 round.
 * blockMinMax(hi, lo [G, N·b, w], b): max of hi and min of lo over blocks of b rows, both in one
 *   tournament (min lo = −max −lo): ⌈log2 b⌉ levels of one batched comparison, N·w·2·(b − 1)
 *   comparisons.
 * maxPool(x [..., n], kernel odd): windows [j − h, j + h] cut at the ends, by a sparse table:
 *   levels M_t[j] = max of x[j .. j + 2^t) for 2^t ≤ kernel, then max(M_p[s], M_p[e − 2^p + 1])
 *   per element: ⌊log2 kernel⌋ + 1 batched comparisons per element instead of kernel − 1.
 * Rounds are 3 per comparison level for width ≤ 36 (default 32), else 4.
 */
import { invariant } from '../../util/errors.js';
import type { AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle, Prims } from '../prims/types.js';
import type { WidthOpt } from './compare.js';
import { max2, tournament } from './max.js';
import { topk, type TopkOpts } from './topk.js';

/** [G, k, N] ascending-index selection of the k largest entries per row. */
export async function topkSelection<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  k: number,
  o: TopkOpts = {},
): Promise<T> {
  invariant(x.shape.length >= 1, 'E_SHAPE', 'topk of a scalar');
  const N = x.shape[x.shape.length - 1]!,
    G = x.shape.slice(0, -1).reduce((a, b) => a * b, 1),
    kk = Math.min(k, N);
  if (kk === N || kk === 0) {
    const eye = new Float64Array(G * kk * N);
    for (let g = 0; g < G; g++) for (let i = 0; i < kk; i++) eye[(g * kk + i) * N + i] = 1;
    return P.constant([G, kk, N], eye, 0);
  }
  const m = P.reshape((await topk(P, x, kk, { ...o, khot: true, onehots: false, indices: false })).khot!, [G, N]);
  // c_i = Σ_{j<i} m_j by doubling (Hillis–Steele), local
  let c = P.sub(prefixSums(P, m, G, N), m);
  c = P.addPublic(P.sub(c, P.mulInt(m, kk + 1)), kk + 1); // z = c + (1 − m)(k + 1)
  const w = Math.ceil(Math.log2(2 * kk + 2)),
    W = 2 ** w;
  const [oh] = await P.lut(c, w, [{ s: 0, w }]);
  const idx = new Int32Array(G * kk * N);
  for (let g = 0; g < G; g++)
    for (let t = 0; t < kk; t++) for (let i = 0; i < N; i++) idx[(g * kk + t) * N + i] = (g * N + i) * W + t;
  return P.pick(oh!, [G, kk, N], idx);
}

/** Inclusive prefix sums along the last axis of [G, N] (log2 N local passes). */
function prefixSums<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, m: T, G: number, N: number): T {
  let s = m;
  for (let d = 1; d < N; d *= 2) {
    const idx = new Int32Array(G * N);
    for (let g = 0; g < G; g++) for (let i = 0; i < N; i++) idx[g * N + i] = i >= d ? g * N + i - d : -1;
    s = P.add(s, P.pick(s, [G, N], idx));
  }
  return s;
}

/** Channel-wise max of `hi` and min of `lo` over consecutive blocks of b rows: [G, N·b, w] → [G, N, w]. */
export async function blockMinMax<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  hi: T,
  lo: T,
  b: number,
  o: WidthOpt = {},
): Promise<{ max: T; min: T }> {
  invariant(
    hi.shape.length === 3 &&
      hi.shape.join() === lo.shape.join() &&
      Number.isInteger(b) &&
      b >= 1 &&
      hi.shape[1]! % b === 0,
    'E_SHAPE',
    () => `blockMinMax: [${hi.shape.join(', ')}] / [${lo.shape.join(', ')}] in blocks of ${b}`,
  );
  const [G, NB, w] = hi.shape as [number, number, number],
    N = NB / b;
  if (b === 1) return { max: hi, min: lo };
  // both tensors as rows of b values: [2·G·N·w, b]
  const rows = (t: T) => P.reshape(P.transposeLast(P.reshape(t, [G * N, b, w])), [G * N * w * b]);
  const flat = P.concatLast([rows(hi), rows(P.neg(lo))]);
  const best = await tournament(P, flat, Array<number>(2 * G * N * w).fill(b), (a, c) =>
    max2(P, a, c, { width: o.width ?? 32, fewerRounds: o.fewerRounds ?? true }),
  );
  const half = G * N * w;
  return {
    max: P.reshape(
      P.pick(
        best,
        [half],
        Int32Array.from({ length: half }, (_, i) => i),
      ),
      [G, N, w],
    ),
    min: P.reshape(
      P.neg(
        P.pick(
          best,
          [half],
          Int32Array.from({ length: half }, (_, i) => half + i),
        ),
      ),
      [G, N, w],
    ),
  };
}

/** Max over windows [j − h, j + h] (cut at the ends) along the last axis, kernel = 2h + 1. */
export async function maxPool<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  kernel: number,
  o: WidthOpt = {},
): Promise<T> {
  invariant(
    Number.isInteger(kernel) && kernel >= 1 && kernel % 2 === 1,
    'E_INPUT',
    `maxPool: kernel ${kernel} must be a positive odd integer`,
  );
  const n = x.shape[x.shape.length - 1]!,
    R = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const half = (kernel - 1) / 2,
    opt = { width: o.width ?? 32, fewerRounds: o.fewerRounds ?? true };
  if (kernel === 1 || n === 1) return x;
  // sparse table: levels[t][r·n + j] = max x[j .. j + 2^t) (valid for j + 2^t ≤ n)
  const span = Math.min(kernel, n),
    top = Math.floor(Math.log2(span));
  const levels: T[] = [P.reshape(x, [R * n])];
  for (let t = 1; t <= top; t++) {
    const len = 2 ** (t - 1),
      prev = levels[t - 1]!;
    const a = new Int32Array(R * n),
      b = new Int32Array(R * n);
    for (let r = 0; r < R; r++)
      for (let j = 0; j < n; j++) {
        a[r * n + j] = r * n + j;
        b[r * n + j] = r * n + Math.min(n - 1, j + len);
      }
    levels.push(await max2(P, P.pick(prev, [R * n], a), P.pick(prev, [R * n], b), opt));
  }
  const all = P.concatLast(levels),
    a = new Int32Array(R * n),
    b = new Int32Array(R * n);
  for (let r = 0; r < R; r++) {
    for (let j = 0; j < n; j++) {
      const s = Math.max(0, j - half),
        e = Math.min(n - 1, j + half),
        p = Math.floor(Math.log2(e - s + 1));
      a[r * n + j] = p * R * n + r * n + s;
      b[r * n + j] = p * R * n + r * n + e - 2 ** p + 1;
    }
  }
  return P.reshape(await max2(P, P.pick(all, [R * n], a), P.pick(all, [R * n], b), opt), x.shape);
}
