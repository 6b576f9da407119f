/** Shape helpers shared by the three Prims implementations (pure, no data access). */
import { invariant } from '../../util/errors.js';
import { encodeScalar } from '../../ring/fixed.js';
import { numel, shapeEq, type Shape } from '../../ring/tensor.js';
import type { CmpKOpts, PublicConst } from './types.js';
import type { CmpkResolved } from '../compare-k.js';

export function sameShape(a: { shape: Shape }, b: { shape: Shape }, what: string): void {
  invariant(shapeEq(a.shape, b.shape), 'E_SHAPE', `${what}: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] differ`);
}

export function sameScale(a: { fracBits: number }, b: { fracBits: number }, what: string): void {
  invariant(a.fracBits === b.fracBits, 'E_INTERNAL', `${what}: scales ${a.fracBits} and ${b.fracBits} differ`);
}

export function lastDim(shape: Shape): number {
  return shape.length ? shape[shape.length - 1]! : 1;
}

/**
 * Encodes a public constant for a tensor of `shape`: returns the encoded values and the period
 * with which they repeat (1 = scalar, last dim = per column, numel = element-wise).
 */
export function encodeConst(c: PublicConst, fracBits: number, shape: Shape): { vals: BigUint64Array; period: number } {
  if (typeof c === 'number') return { vals: BigUint64Array.of(encodeScalar(c, fracBits)), period: 1 };
  const n = numel(shape), last = lastDim(shape);
  invariant(c.length === last || c.length === n, 'E_SHAPE', `constant of ${c.length} values does not fit [${shape.join(', ')}]`);
  const vals = new BigUint64Array(c.length);
  for (let i = 0; i < c.length; i++) vals[i] = encodeScalar(c[i]!, fracBits);
  return { vals, period: c.length };
}

export function sliceLastShape(shape: Shape, start: number, end: number): Shape {
  const last = lastDim(shape);
  invariant(Number.isInteger(start) && Number.isInteger(end) && 0 <= start && start <= end && end <= last, 'E_SHAPE', `slice [${start}, ${end}) of last axis ${last}`);
  return [...shape.slice(0, -1), end - start];
}

export function concatLastShape(shapes: readonly Shape[]): Shape {
  invariant(shapes.length > 0, 'E_SHAPE', 'concat of nothing');
  const lead = shapes[0]!.slice(0, -1);
  for (const s of shapes) invariant(shapeEq(s.slice(0, -1), lead), 'E_SHAPE', 'concatLast: leading dimensions differ');
  return [...lead, shapes.reduce((t, s) => t + lastDim(s), 0)];
}

export function concatFirstShape(shapes: readonly Shape[]): Shape {
  invariant(shapes.length > 0, 'E_SHAPE', 'concat of nothing');
  const rest = shapes[0]!.slice(1);
  for (const s of shapes) invariant(shapeEq(s.slice(1), rest), 'E_SHAPE', 'concatFirst: trailing dimensions differ');
  return [shapes.reduce((t, s) => t + s[0]!, 0), ...rest];
}

export function transposeShape(shape: Shape): Shape {
  invariant(shape.length >= 2, 'E_SHAPE', 'transpose needs two axes');
  return [...shape.slice(0, -2), shape[shape.length - 1]!, shape[shape.length - 2]!];
}

/** Data movement shared by secure and clear tensors (both hold BigUint64Array data). */
export const move = {
  sliceLast(d: BigUint64Array, shape: Shape, start: number, end: number): BigUint64Array {
    const last = lastDim(shape), rows = numel(shape) / Math.max(1, last), w = end - start;
    const out = new BigUint64Array(rows * w);
    for (let r = 0; r < rows; r++) out.set(d.subarray(r * last + start, r * last + end), r * w);
    return out;
  },
  concatLast(ds: readonly BigUint64Array[], shapes: readonly Shape[]): BigUint64Array {
    const widths = shapes.map(lastDim), total = widths.reduce((a, b) => a + b, 0);
    const rows = numel(shapes[0]!) / Math.max(1, widths[0]!);
    const out = new BigUint64Array(rows * total);
    for (let r = 0; r < rows; r++) {
      let off = r * total;
      ds.forEach((d, k) => { out.set(d.subarray(r * widths[k]!, (r + 1) * widths[k]!), off); off += widths[k]!; });
    }
    return out;
  },
  sliceFirst(d: BigUint64Array, shape: Shape, start: number, end: number): BigUint64Array {
    const per = numel(shape.slice(1));
    invariant(0 <= start && start <= end && end <= shape[0]!, 'E_SHAPE', `slice [${start}, ${end}) of first axis ${shape[0]}`);
    return d.slice(start * per, end * per);
  },
  concatFirst(ds: readonly BigUint64Array[]): BigUint64Array {
    const out = new BigUint64Array(ds.reduce((t, d) => t + d.length, 0));
    let off = 0;
    for (const d of ds) { out.set(d, off); off += d.length; }
    return out;
  },
  transpose(d: BigUint64Array, shape: Shape): BigUint64Array {
    const r = shape[shape.length - 2]!, c = shape[shape.length - 1]!, batch = numel(shape) / (r * c || 1);
    const out = new BigUint64Array(d.length);
    for (let b = 0; b < batch; b++) {
      const o = b * r * c;
      for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[o + j * r + i] = d[o + i * c + j]!;
    }
    return out;
  },
  repeatLast(d: BigUint64Array, k: number): BigUint64Array {
    const out = new BigUint64Array(d.length * k);
    for (let i = 0; i < d.length; i++) out.fill(d[i]!, i * k, (i + 1) * k);
    return out;
  },
};

/** Encodes a comparison's thresholds at x's scale. */
export function resolveCmpK(o: CmpKOpts<unknown>, fracBits: number): CmpkResolved {
  const thr = (o.thresholds ?? [0]).map((t) => encodeScalar(t, fracBits));
  const self = [...(o.self ?? [])];
  invariant(self.every((j, i) => Number.isInteger(j) && j >= 0 && j < thr.length && (i === 0 || j > self[i - 1]!)), 'E_INTERNAL', 'cmpK: self indices must be increasing threshold indices');
  invariant(!o.eq || self.length === 0, 'E_INTERNAL', 'cmpK: an equality test takes no self payload');
  const eq = o.eq ?? false, bb: 4 | 8 = o.fewerRounds && o.width <= (eq ? 32 : 33) ? 8 : 4;
  return { width: o.width, bb, thr, eq, self };
}

/** Checks a pick's index list against the source length. */
export function checkPick(srcLen: number, shape: Shape, idx: Int32Array): void {
  invariant(idx.length === numel(shape), 'E_SHAPE', `pick: ${idx.length} indices for shape [${shape.join(', ')}]`);
  let max = -1;
  for (let i = 0; i < idx.length; i++) if (idx[i]! > max) max = idx[i]!;
  invariant(max < srcLen, 'E_SHAPE', () => `pick: index ${max} outside ${srcLen}`);
}
