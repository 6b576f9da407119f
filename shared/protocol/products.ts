/**
 * Secret products added for the non-linear suite (exact in the ring; the caller truncates).
 *
 * matmulSS(x [.., m, k], y [.., k, n]): kinds: matmul. 1 round; opens X − A and Y − B:
 *   8·(mk + kn) bytes per party per batch item. XY = D·E (party 0) + D·B + A·E + C.
 *   For gathers by one-hot from a matrix that is *not* under a fixed mask; a fixed-mask matrix
 *   should use fixedMatmul instead (opens only the one-hots).
 * mulSegS(x [n], y [m], lengths): kinds: mul.seg. 1 round; opens x − a and y − b: 8(n + m) bytes.
 *   Element i of x pairs with y[r] for the segment r that contains i (ragged rows).
 * mulBitS(b, ys): kinds: bitmul. 1 round; opens b̂ = b ⊕ s (1 bit, using b mod 2 — the low bit of
 *   an arithmetic share of a bit is an XOR share of it) and ŷ = y + ry (8 bytes per payload).
 *   b·y = b̂ ? y − s·y : s·y with s·y = sA·ŷ − s·ry. Dealer: 8 + 8 per payload.
 * Each has its exact ring function (`*Clear`) for the emulation.
 */
import { invariant } from '../util/errors.js';
import { BITMUL, MATMUL, MUL_SEG, matmulAddInto, type MatmulParams } from '../corr/kinds/index.js';
import type { Share } from '../ring/tensor.js';
import type { PartyCtx } from './ctx.js';
import type { WireRound } from './wire.js';
import { packBits } from '../net/frame.js';
import { openRing } from './open.js';

/** Batch, m, k, n of a product [.., m, k] × [.., k, n]. */
export function matmulDims(a: readonly number[], b: readonly number[]): MatmulParams {
  invariant(a.length >= 2 && b.length === a.length && a.slice(0, -2).every((d, i) => d === b[i]) && a[a.length - 1] === b[b.length - 2], 'E_SHAPE',
    `cannot multiply [${a.join(', ')}] by [${b.join(', ')}]`);
  const batch = a.slice(0, -2).reduce((x, y) => x * y, 1);
  return { batch, m: a[a.length - 2]!, k: a[a.length - 1]!, n: b[b.length - 1]! };
}

/** Wire parts per round (declared costs). */
export const productRounds = {
  matmul: (p: MatmulParams): WireRound[] => [{ u64: [p.batch * p.m * p.k, p.batch * p.k * p.n] }],
  mulSeg: (p: { lengths: number[] }): WireRound[] => [{ u64: [p.lengths.reduce((a, b) => a + b, 0), p.lengths.length] }],
  bitmul: (p: { n: number; py: number }): WireRound[] => [{ bits: [p.n], u64: Array(p.py).fill(p.n) }],
};

export function matmulClear(a: BigUint64Array, b: BigUint64Array, p: MatmulParams): BigUint64Array {
  const out = new BigUint64Array(p.batch * p.m * p.n);
  matmulAddInto(out, a, b, p);
  return out;
}

export async function matmulSS(ctx: PartyCtx, x: Share, y: Share): Promise<BigUint64Array> {
  const p = matmulDims(x.shape, y.shape);
  const mat = await ctx.corr.take(MATMUL, p);
  const A = mat.ring('a'), B = mat.ring('b'), C = mat.ring('c');
  const dx = new BigUint64Array(x.data.length), ey = new BigUint64Array(y.data.length);
  for (let i = 0; i < dx.length; i++) dx[i] = x.data[i]! - A[i]!;
  for (let i = 0; i < ey.length; i++) ey[i] = y.data[i]! - B[i]!;
  const [D, E] = await openRing(ctx, 'matmul.open', [dx, ey]);
  const out = C.slice();
  matmulAddInto(out, D!, B, p);
  matmulAddInto(out, A, E!, p);
  if (ctx.me === 0) matmulAddInto(out, D!, E!, p);
  return out;
}

function checkSeg(n: number, m: number, lengths: readonly number[]): void {
  invariant(lengths.length === m && lengths.reduce((s, l) => s + l, 0) === n, 'E_SHAPE', `segments of total ${n} over ${m} multipliers do not match`);
}

export function mulSegClear(x: BigUint64Array, y: BigUint64Array, lengths: readonly number[]): BigUint64Array {
  checkSeg(x.length, y.length, lengths);
  const out = new BigUint64Array(x.length);
  let i = 0;
  lengths.forEach((len, r) => { for (let e = 0; e < len; e++, i++) out[i] = x[i]! * y[r]!; });
  return out;
}

export async function mulSegS(ctx: PartyCtx, x: Share, y: Share, lengths: readonly number[]): Promise<BigUint64Array> {
  checkSeg(x.data.length, y.data.length, lengths);
  const mat = await ctx.corr.take(MUL_SEG, { lengths: [...lengths] });
  const a = mat.ring('a'), b = mat.ring('b'), c = mat.ring('c');
  const dx = new BigUint64Array(x.data.length), ey = new BigUint64Array(y.data.length);
  for (let i = 0; i < dx.length; i++) dx[i] = x.data[i]! - a[i]!;
  for (let i = 0; i < ey.length; i++) ey[i] = y.data[i]! - b[i]!;
  const [d, e] = await openRing(ctx, 'mulseg.open', [dx, ey]);
  const out = new BigUint64Array(dx.length), first = ctx.me === 0;
  let i = 0;
  lengths.forEach((len, r) => {
    const er = e![r]!, br = b[r]!;
    for (let t = 0; t < len; t++, i++) {
      const di = d![i]!;
      out[i] = di * br + a[i]! * er + c[i]! + (first ? di * er : 0n);
    }
  });
  return out;
}

export function mulBitClear(b: BigUint64Array, ys: readonly BigUint64Array[]): BigUint64Array[] {
  return ys.map((y) => {
    const out = new BigUint64Array(y.length);
    for (let i = 0; i < y.length; i++) if (b[i]! & 1n) out[i] = y[i]!;
    return out;
  });
}

export async function mulBitS(ctx: PartyCtx, b: Share, ys: readonly Share[]): Promise<BigUint64Array[]> {
  const n = b.data.length;
  for (const y of ys) invariant(y.data.length === n, 'E_SHAPE', 'mulBit payloads must have the shape of the bit');
  const mat = await ctx.corr.take(BITMUL, { n, py: ys.length });
  const s = mat.xor('s'), sA = mat.ring('sA'), bw = new Uint32Array(b.data.buffer, b.data.byteOffset, 2 * n);
  const bm = new Uint8Array(n);
  for (let i = 0; i < n; i++) bm[i] = (bw[2 * i]! ^ s[i]!) & 1;
  const yr = ys.map((y, q) => {
    const ry = mat.ring(`ry${q}`), v = new BigUint64Array(n);
    for (let i = 0; i < n; i++) v[i] = y.data[i]! + ry[i]!;
    return v;
  });
  const got = await ctx.exchange('bitmul.open', [{ kind: 'bits', data: packBits(bm), count: n }, ...yr.map((d) => ({ kind: 'u64' as const, data: d }))]);
  const theirs = got[0]!;
  invariant(theirs.kind === 'bits' && theirs.count === n, 'E_PROTOCOL', 'bitmul: bit part');
  const bh = new Uint8Array(n);
  for (let i = 0; i < n; i++) bh[i] = (bm[i]! ^ (theirs.data[i >> 3]! >> (i & 7))) & 1;
  return ys.map((y, q) => {
    const t = got[q + 1]!;
    invariant(t.kind === 'u64' && t.data.length === n, 'E_PROTOCOL', 'bitmul: payload part');
    const sry = mat.ring(`sry${q}`), out = new BigUint64Array(n);
    for (let i = 0; i < n; i++) {
      const sy = sA[i]! * (yr[q]![i]! + t.data[i]!) - sry[i]!;
      out[i] = bh[i] ? y.data[i]! - sy : sy;
    }
    return out;
  });
}
