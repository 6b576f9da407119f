/**
 * Prims on the dealer: tensors are shapes only, and every interactive operation takes exactly
 * the correlations its secure twin takes (same kind, same parameters, same order). Running a
 * program over DealerPrims therefore deals that program's whole correlation schedule, streamed
 * to party 1 as it goes. A test runs each primitive both ways and compares the two schedules.
 */
import { invariant } from '../../util/errors.js';
import { numel, shapeOnly, type Shape, type ShapeOnly } from '../../ring/tensor.js';
import { BITMUL, CMP, CMPK, FIXED_ALLOC, FIXED_APPEND, FIXED_PRODUCT, LUT, MATMUL, MAX_TRUNC_BITS, MUL, MUL_SEG, SQUARE, TRUNC, TRUNC_LEAN, FIXED_COPY, FIXED_SELECT, viewFits } from '../../corr/kinds/index.js';
import { selectParams, selectShape } from '../fixed-select.js';
import { clientProductParams, fixedCopyParams, productOf, productShape } from '../fixed-mask.js';
import type { CorrSource } from '../../corr/stream.js';
import { useLeanTrunc } from '../trunc.js';
import { broadcastRows } from '../beaver.js';
import { cmpkParams } from '../compare-k.js';
import { lutOutFrac, lutParams, type LutField } from '../lut.js';
import { matmulDims } from '../products.js';
import type { CmpKOpts, CmpKOut, CmpOut, FixedHandle, FixedView, Prims, PublicConst, SelectView } from './types.js';
import { checkPick, concatFirstShape, concatLastShape, resolveCmpK, sameScale, sameShape, sliceLastShape, transposeShape } from './util.js';

export class DealerPrims implements Prims<ShapeOnly, FixedHandle> {
  readonly mode = 'dealer' as const;

  /** @param ns prefix for fixed-mask ids (the session id for session-scoped matrices). */
  constructor(readonly corr: CorrSource, readonly ns?: string) {}

  phase(_name: string): void { /* the dealer's own traffic is metered per session */ }
  scope<R>(_label: string, fn: () => Promise<R>): Promise<R> { return fn(); }

  add(a: ShapeOnly, b: ShapeOnly): ShapeOnly { sameShape(a, b, 'add'); sameScale(a, b, 'add'); return shapeOnly(a.shape, a.fracBits); }
  sub(a: ShapeOnly, b: ShapeOnly): ShapeOnly { sameShape(a, b, 'sub'); sameScale(a, b, 'sub'); return shapeOnly(a.shape, a.fracBits); }
  neg(a: ShapeOnly): ShapeOnly { return shapeOnly(a.shape, a.fracBits); }
  addPublic(a: ShapeOnly, _c: PublicConst): ShapeOnly { return shapeOnly(a.shape, a.fracBits); }
  mulPublic(a: ShapeOnly, _c: PublicConst, cFrac: number): ShapeOnly { return shapeOnly(a.shape, a.fracBits + cFrac); }
  mulInt(a: ShapeOnly, _k: number): ShapeOnly { return shapeOnly(a.shape, a.fracBits); }
  constant(shape: Shape, _c: PublicConst, fracBits: number): ShapeOnly { return shapeOnly(shape, fracBits); }
  sumLast(a: ShapeOnly): ShapeOnly { return shapeOnly(a.shape.slice(0, -1), a.fracBits); }
  reshape(a: ShapeOnly, shape: Shape): ShapeOnly {
    invariant(numel(shape) === numel(a.shape), 'E_SHAPE', `reshape [${a.shape.join(', ')}] to [${shape.join(', ')}]`);
    return shapeOnly(shape, a.fracBits);
  }
  sliceLast(a: ShapeOnly, start: number, end: number): ShapeOnly { return shapeOnly(sliceLastShape(a.shape, start, end), a.fracBits); }
  concatLast(xs: readonly ShapeOnly[]): ShapeOnly { return shapeOnly(concatLastShape(xs.map((x) => x.shape)), xs[0]!.fracBits); }
  sliceFirst(a: ShapeOnly, start: number, end: number): ShapeOnly {
    invariant(0 <= start && start <= end && end <= a.shape[0]!, 'E_SHAPE', `slice [${start}, ${end}) of first axis ${a.shape[0]}`);
    return shapeOnly([end - start, ...a.shape.slice(1)], a.fracBits);
  }
  concatFirst(xs: readonly ShapeOnly[]): ShapeOnly { return shapeOnly(concatFirstShape(xs.map((x) => x.shape)), xs[0]!.fracBits); }
  transposeLast(a: ShapeOnly): ShapeOnly { return shapeOnly(transposeShape(a.shape), a.fracBits); }
  repeatLast(a: ShapeOnly, k: number): ShapeOnly { return shapeOnly([...a.shape, k], a.fracBits); }
  relabel(a: ShapeOnly, fracBits: number): ShapeOnly { return shapeOnly(a.shape, fracBits); }
  pick(a: ShapeOnly, shape: Shape, idx: Int32Array): ShapeOnly { checkPick(numel(a.shape), shape, idx); return shapeOnly(shape, a.fracBits); }

  async mul(a: ShapeOnly, b: ShapeOnly): Promise<ShapeOnly> {
    const n = numel(a.shape), m = broadcastRows(a.shape, b.shape);
    await this.corr.take(MUL, { n, m });
    return shapeOnly(a.shape, a.fracBits + b.fracBits);
  }

  async square(a: ShapeOnly): Promise<ShapeOnly> {
    await this.corr.take(SQUARE, { n: numel(a.shape) });
    return shapeOnly(a.shape, 2 * a.fracBits);
  }

  async trunc(a: ShapeOnly, s: number): Promise<ShapeOnly> {
    invariant(s >= 0 && s <= a.fracBits, 'E_INTERNAL', `truncation by ${s} bits of a value with ${a.fracBits} fractional bits`);
    if (s === 0) return a; // as the secure and clear versions: no-op returns its input
    for (let left = s; left > 0; left -= MAX_TRUNC_BITS) {
      const n = numel(a.shape), bits = Math.min(MAX_TRUNC_BITS, left);
      await this.corr.take(useLeanTrunc(n, bits) ? TRUNC_LEAN : TRUNC, { n, s: bits });
    }
    return shapeOnly(a.shape, a.fracBits - s);
  }

  async cmpMul(x: ShapeOnly, ys: readonly ShapeOnly[]): Promise<CmpOut<ShapeOnly>> {
    for (const y of ys) sameShape(x, y, 'cmpMul');
    await this.corr.take(CMP, { n: numel(x.shape), pay: ys.map((y) => (y === x ? 'x' : 'y') as 'x' | 'y') });
    return { bit: shapeOnly(x.shape, 0), prods: ys.map((y) => shapeOnly(y.shape, y.fracBits)) };
  }

  async cmpK(x: ShapeOnly, o: CmpKOpts<ShapeOnly>): Promise<CmpKOut<ShapeOnly>> {
    const r = resolveCmpK(o, x.fracBits), ys = o.payloads ?? [], nt = r.thr.length;
    for (const y of ys) sameShape(x, y, 'cmpK');
    await this.corr.take(CMPK, cmpkParams(numel(x.shape), r, ys.length));
    return {
      bits: shapeOnly([...x.shape, nt], 0),
      self: r.self.map(() => shapeOnly(x.shape, x.fracBits)),
      prods: ys.map((y) => shapeOnly([...y.shape, nt], y.fracBits)),
    };
  }

  async lut(x: ShapeOnly, k: number, fields: readonly LutField[]): Promise<ShapeOnly[]> {
    await this.corr.take(LUT, lutParams(numel(x.shape), k, fields));
    return fields.map((f, q) => (f.table ? shapeOnly(x.shape, lutOutFrac(fields, q)) : shapeOnly([...x.shape, 1 << f.w], 0)));
  }

  async matmul(a: ShapeOnly, b: ShapeOnly): Promise<ShapeOnly> {
    const p = matmulDims(a.shape, b.shape);
    await this.corr.take(MATMUL, p);
    return shapeOnly([...a.shape.slice(0, -1), p.n], a.fracBits + b.fracBits);
  }

  async mulSeg(x: ShapeOnly, y: ShapeOnly, lengths: readonly number[]): Promise<ShapeOnly> {
    invariant(lengths.length === numel(y.shape) && lengths.reduce((s, l) => s + l, 0) === numel(x.shape), 'E_SHAPE', 'mulSeg: segments do not match');
    await this.corr.take(MUL_SEG, { lengths: [...lengths] });
    return shapeOnly(x.shape, x.fracBits + y.fracBits);
  }

  async mulBit(b: ShapeOnly, ys: readonly ShapeOnly[]): Promise<ShapeOnly[]> {
    for (const y of ys) sameShape(b, y, 'mulBit');
    await this.corr.take(BITMUL, { n: numel(b.shape), py: ys.length });
    return ys.map((y) => shapeOnly(y.shape, y.fracBits));
  }

  async fixedAlloc(name: string, groups: number, rowsCap: number, cols: number, fracBits: number): Promise<FixedHandle> {
    const id = this.ns ? `${this.ns}:${name}` : name;
    await this.corr.take(FIXED_ALLOC, { id, groups, rowsCap, cols });
    return { kind: 'fixed', id, groups, rowsCap, cols, fracBits, rowsUsed: 0 };
  }

  async fixedAppend(w: FixedHandle, rows: ShapeOnly): Promise<void> {
    const k = numel(rows.shape) / (w.groups * w.cols);
    invariant(Number.isInteger(k) && k > 0 && w.rowsUsed + k <= w.rowsCap, 'E_SHAPE', `cannot append [${rows.shape.join(', ')}] to '${w.id}'`);
    await this.corr.take(FIXED_APPEND, { id: w.id, groups: w.groups, rows: k, cols: w.cols });
    w.rowsUsed += k;
  }

  async fixedCopy(dst: FixedHandle, src: FixedHandle, segs: readonly (readonly [number, number])[]): Promise<void> {
    const p = fixedCopyParams(dst, src, segs);
    await this.corr.take(FIXED_COPY, p);
    dst.rowsUsed += p.segs.reduce((t, [a, b]) => t + b - a, 0);
  }

  async fixedMatmul(x: ShapeOnly, w: FixedHandle, layout: 'nt' | 'nn', rows: number | FixedView = w.rowsUsed): Promise<ShapeOnly> {
    const p = productOf(w, layout, x.shape, rows);
    invariant(viewFits(p, w), 'E_SHAPE', `fixed matrix '${w.id}' has ${w.rowsUsed} rows; the product asks for ${JSON.stringify(p.segs ?? [[0, p.rows]])}`);
    await this.corr.take(FIXED_PRODUCT, p);
    return shapeOnly(productShape(x.shape, w.groups, p), x.fracBits + w.fracBits);
  }

  async fixedSelect(x: ShapeOnly, sel: ShapeOnly, w: FixedHandle, layout: 'nt' | 'nn', view: SelectView): Promise<ShapeOnly> {
    const p = selectParams(w, layout, x.shape, sel.shape, view);
    await this.corr.take(FIXED_SELECT, p);
    return shapeOnly(selectShape(p), x.fracBits + w.fracBits);
  }

  fixedFree(_w: FixedHandle): void { /* the dealer drops session masks at session end */ }

  fixedRows(w: FixedHandle, rows: readonly number[]): ShapeOnly {
    return shapeOnly([w.groups, rows.length, w.cols], w.fracBits);
  }

  async fixedMatmulClient(w: FixedHandle, K: number, layout: 'nt' | 'nn', fracBits: number, oneHotRows: boolean): Promise<ShapeOnly> {
    await this.corr.take(FIXED_PRODUCT, clientProductParams(w, layout, K, oneHotRows));
    return shapeOnly([K, layout === 'nt' ? w.rowsUsed : w.cols], fracBits + w.fracBits);
  }
}

