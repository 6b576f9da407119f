/**
 * Maximum and argmax over the last axis (also over ragged rows), and element-wise max. Exact.
 *
 * Protocol: a tournament tree. Each level pairs the surviving candidates of every row (all rows
 * and pairs in one `cmpK` call), computes d = a − b, b' = [d ≥ 0] and b'·d in one comparison with
 * its own fused product, and keeps b + b'·d; an odd candidate passes to the next level. ⌈log2 n⌉
 * levels, n − 1 comparisons per row in all.
 *   Rounds 3·⌈log2 n⌉ for width ≤ 36 (one-node comparisons, `fewerRounds`, the default here),
 *   4·⌈log2 n⌉ beyond. Online per element ≈ (n−1)/n · cmpK(width): 5 B at width 32 (6.4 B with
 *   4-bit blocks). Dealer per element ≈ (n−1)/n · 173 B at width 32 (69 B with 4-bit blocks).
 * Argmax runs the same tree on unique keys key_i = x_i·2^w + (2^w − 1 − i) (w = ⌈log2 n⌉): the
 * largest key is the largest value with the *lowest index* among equal values (the tie rule),
 * comparisons are w bits wider, and no index payload travels. Then:
 *   - max value and index: one exact truncation of the winning key by w bits (per row);
 *   - one-hot (optional): `lut` one-hot of the key's low w bits (1 round, w bits online per row,
 *     8·2^w dealer bytes per row), reversed — no truncation needed for it.
 * Precondition: |x_i − x_j| < 2^(width−1) in ring units (width 32 at f = 16: |x| < 16384);
 * a width of 64 − w or less for argmax.
 */
import { invariant } from '../../util/errors.js';
import type { AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle, Prims } from '../prims/types.js';
import type { WidthOpt } from './compare.js';
import { LEGACY, cmpK, withFewer, type Design } from './design.js';
import { layoutOf, type Layout, type RowMask } from './ragged.js';

/** Element-wise max(a, b). */
export async function max2<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  a: T,
  b: T,
  o: WidthOpt & { design?: Design } = {},
): Promise<T> {
  const d = withFewer(o.design ?? LEGACY, o.fewerRounds);
  const { self } = await cmpK(P, P.sub(a, b), { width: o.width ?? 64, self: [0] }, d);
  return P.add(b, self[0]!);
}

/**
 * Tournament over packed rows: `flat` holds the rows' entries back to back (lengths `lens`);
 * `combine(a, b)` returns the winner of each pair (a is the lower index). Returns [rows]
 * (0 for an empty row).
 */
export async function tournament<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  flat: T,
  lens: readonly number[],
  combine: (a: T, b: T) => Promise<T>,
): Promise<T> {
  let cur = P.reshape(flat, [lens.reduce((s, c) => s + c, 0)]);
  const counts = [...lens];
  while (counts.some((c) => c > 1)) {
    const curLen = counts.reduce((s, c) => s + c, 0);
    const aIdx: number[] = [],
      bIdx: number[] = [],
      next: number[] = [];
    let base = 0;
    counts.forEach((c, r) => {
      for (let i = 0; i + 1 < c; i += 2) {
        next.push(curLen + aIdx.length);
        aIdx.push(base + i);
        bIdx.push(base + i + 1);
      }
      if (c % 2 === 1) next.push(base + c - 1);
      base += c;
      counts[r] = Math.ceil(c / 2);
    });
    const w = aIdx.length;
    const win = await combine(P.pick(cur, [w], Int32Array.from(aIdx)), P.pick(cur, [w], Int32Array.from(bIdx)));
    cur = P.pick(P.concatLast([cur, win]), [next.length], Int32Array.from(next));
  }
  const out: number[] = [];
  let i = 0;
  for (const c of counts) out.push(c === 0 ? -1 : i++);
  return P.pick(cur, [lens.length], Int32Array.from(out));
}

/** Row maxima of packed rows (layout from ragged.ts). */
export async function maxPacked<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  flat: T,
  L: Layout,
  o: WidthOpt & { design?: Design } = {},
): Promise<T> {
  return tournament(P, flat, L.lens, (a, b) => max2(P, a, b, o));
}

/** max over the last axis of x [..., n] → [...]; optional public mask per row. */
export async function maxLast<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  o: WidthOpt & RowMask = {},
): Promise<T> {
  const n = x.shape[x.shape.length - 1]!,
    rows = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const L = layoutOf(rows, n, o);
  const flat = o.lengths || o.mask ? P.pick(x, [L.pos.length], L.pos) : P.reshape(x, [rows * n]);
  return P.reshape(await maxPacked(P, flat, L, o), x.shape.slice(0, -1));
}

export interface ArgmaxOut<T> {
  /** Row maxima, x's scale, shape [...]. */
  max: T;
  /** Index of the first maximum (integer, fracBits 0). */
  index: T;
  /** One-hot of that index, [..., n], when asked for. */
  onehot?: T;
}

/** argmax over the last axis of x [..., n] with the lowest-index tie rule. */
export async function argmaxLast<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  o: WidthOpt & { onehot?: boolean; design?: Design } = {},
): Promise<ArgmaxOut<T>> {
  const n = x.shape[x.shape.length - 1]!,
    lead = x.shape.slice(0, -1),
    rows = lead.reduce((a, b) => a * b, 1);
  const w = Math.max(1, Math.ceil(Math.log2(n))),
    W = 2 ** w;
  const width = Math.min(64, (o.width ?? 64 - w) + w);
  invariant(width <= 64, 'E_INTERNAL', 'argmax width');
  // 1. keys: x·2^w + (2^w − 1 − i), unique and ordered by (value, −index)
  const tie = Float64Array.from({ length: n }, (_, i) => W - 1 - i);
  const keys = P.addPublic(P.mulInt(P.relabel(x, 0), W), tie);
  // 2. tournament on keys
  const lens = Array<number>(rows).fill(n);
  const best = await tournament(P, P.reshape(keys, [rows * n]), lens, (a, b) =>
    max2(P, a, b, { width, fewerRounds: o.fewerRounds, design: o.design }),
  );
  // 3. max = ⌊key / 2^w⌋, index = 2^w − 1 − (key mod 2^w)
  const q = await P.trunc(P.relabel(best, w), w);
  const low = P.sub(best, P.mulInt(q, W));
  const index = P.reshape(P.addPublic(P.neg(low), W - 1), lead);
  const out: ArgmaxOut<T> = { max: P.reshape(P.relabel(q, x.fracBits), lead), index };
  if (o.onehot) {
    const [oh] = await P.lut(best, w, [{ s: 0, w }]);
    const rev = new Int32Array(rows * n);
    for (let r = 0; r < rows; r++) for (let i = 0; i < n; i++) rev[r * n + i] = r * W + (W - 1 - i);
    out.onehot = P.pick(oh!, [...lead, n], rev);
  }
  return out;
}
