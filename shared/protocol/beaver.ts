/**
 * Secret × secret products with Beaver correlations (exact in the ring; the caller truncates).
 *
 * mulSS(x, y):  kinds: mul. 1 round; opens x − a (n elements) and y − b (m elements, m = n or one
 *               per row when y is broadcast along the last axis). 8(n+m) bytes per party.
 *               x·y = d·e + d·b + a·e + c  with d = x − a, e = y − b public and c = a·b.
 * squareS(x):   kinds: square. 1 round; opens x − a (n elements). x² = d² + 2d·a + c.
 * Scale: fracBits(x) + fracBits(y). Exact: no approximation, no error.
 */
import { invariant } from '../util/errors.js';
import { MUL, SQUARE } from '../corr/kinds/index.js';
import { numel, share, type Share } from '../ring/tensor.js';
import type { PartyCtx } from './ctx.js';
import { openRing } from './open.js';

/** Rows of x that y is broadcast over: y.shape equals x.shape, or x.shape with the last axis 1 or dropped. */
export function broadcastRows(xShape: readonly number[], yShape: readonly number[]): number {
  const n = numel(xShape), m = numel(yShape);
  if (m === n) return m;
  const lead = xShape.slice(0, -1);
  const ok = (yShape.length === xShape.length && yShape[yShape.length - 1] === 1 && yShape.slice(0, -1).every((d, i) => d === lead[i]))
    || (yShape.length === lead.length && yShape.every((d, i) => d === lead[i]));
  invariant(ok, 'E_SHAPE', `cannot multiply [${xShape.join(', ')}] by [${yShape.join(', ')}]`);
  return m;
}

export async function mulSS(ctx: PartyCtx, x: Share, y: Share): Promise<Share> {
  const n = x.data.length;
  const m = broadcastRows(x.shape, y.shape);
  const mat = await ctx.corr.take(MUL, { n, m });
  const a = mat.ring('a'), b = mat.ring('b'), c = mat.ring('c');
  const dx = new BigUint64Array(n), ey = new BigUint64Array(m);
  for (let i = 0; i < n; i++) dx[i] = x.data[i]! - a[i]!;
  for (let i = 0; i < m; i++) ey[i] = y.data[i]! - b[i]!;
  const [d, e] = await openRing(ctx, 'mul.open', [dx, ey]);
  const out = new BigUint64Array(n);
  const per = m === 0 ? 1 : n / m;
  const first = ctx.me === 0;
  for (let r = 0, i = 0; r < m; r++) {
    const er = e![r]!, br = b[r]!;
    for (let k = 0; k < per; k++, i++) {
      const di = d![i]!;
      let v = di * br + a[i]! * er + c[i]!;
      if (first) v += di * er;
      out[i] = v;
    }
  }
  return share(x.shape, out, x.fracBits + y.fracBits);
}

export async function squareS(ctx: PartyCtx, x: Share): Promise<Share> {
  const n = x.data.length;
  const mat = await ctx.corr.take(SQUARE, { n });
  const a = mat.ring('a'), c = mat.ring('c');
  const dx = new BigUint64Array(n);
  for (let i = 0; i < n; i++) dx[i] = x.data[i]! - a[i]!;
  const [d] = await openRing(ctx, 'square.open', [dx]);
  const out = new BigUint64Array(n);
  const first = ctx.me === 0;
  for (let i = 0; i < n; i++) {
    const di = d![i]!;
    let v = 2n * di * a[i]! + c[i]!;
    if (first) v += di * di;
    out[i] = v;
  }
  return share(x.shape, out, 2 * x.fracBits);
}
