/**
 * Local (non-interactive) operations on tensors that hold data. Secure shares and clear values
 * share this code: addition, scaling and data movement act on a share exactly as on a value,
 * except that a public constant is added by one party only (`ownsConstants`).
 */
import { invariant } from '../../util/errors.js';
import { addInto, mulScalarInto, negInto, subInto, sumRowsInto } from '../../ring/ops.js';
import { numel, type Clear, type Shape, type Share } from '../../ring/tensor.js';
import type { PublicConst } from './types.js';
import { checkPick, concatFirstShape, concatLastShape, encodeConst, lastDim, move, sameScale, sameShape, sliceLastShape, transposeShape } from './util.js';

type DataTensor = Share | Clear;

export class LocalOps<T extends DataTensor> {
  constructor(
    private readonly make: (shape: Shape, data: BigUint64Array, fracBits: number) => T,
    /** True when this holder adds public constants (party 0, or the clear emulation). */
    private readonly ownsConstants: boolean,
  ) {}

  add(a: T, b: T): T {
    sameShape(a, b, 'add'); sameScale(a, b, 'add');
    return this.make(a.shape, addInto(new BigUint64Array(a.data.length), a.data, b.data), a.fracBits);
  }

  sub(a: T, b: T): T {
    sameShape(a, b, 'sub'); sameScale(a, b, 'sub');
    return this.make(a.shape, subInto(new BigUint64Array(a.data.length), a.data, b.data), a.fracBits);
  }

  neg(a: T): T {
    return this.make(a.shape, negInto(new BigUint64Array(a.data.length), a.data), a.fracBits);
  }

  addPublic(a: T, c: PublicConst): T {
    const d = a.data.slice();
    if (this.ownsConstants) {
      const { vals, period } = encodeConst(c, a.fracBits, a.shape);
      for (let i = 0; i < d.length; i++) d[i] = d[i]! + vals[i % period]!;
    }
    return this.make(a.shape, d, a.fracBits);
  }

  mulPublic(a: T, c: PublicConst, cFrac: number): T {
    const { vals, period } = encodeConst(c, cFrac, a.shape);
    const d = new BigUint64Array(a.data.length);
    if (period === 1) mulScalarInto(d, a.data, vals[0]!);
    else for (let i = 0; i < d.length; i++) d[i] = a.data[i]! * vals[i % period]!;
    return this.make(a.shape, d, a.fracBits + cFrac);
  }

  mulInt(a: T, k: number): T {
    invariant(Number.isSafeInteger(k), 'E_INTERNAL', `mulInt by non-integer ${k}`);
    return this.make(a.shape, mulScalarInto(new BigUint64Array(a.data.length), a.data, BigInt(k)), a.fracBits);
  }

  constant(shape: Shape, c: PublicConst, fracBits: number): T {
    const d = new BigUint64Array(numel(shape));
    if (this.ownsConstants) {
      const { vals, period } = encodeConst(c, fracBits, shape);
      for (let i = 0; i < d.length; i++) d[i] = vals[i % period]!;
    }
    return this.make(shape, d, fracBits);
  }

  sumLast(a: T): T {
    const last = lastDim(a.shape), rows = a.data.length / Math.max(1, last);
    return this.make(a.shape.slice(0, -1), sumRowsInto(new BigUint64Array(rows), a.data, rows, last), a.fracBits);
  }

  reshape(a: T, shape: Shape): T {
    return this.make(shape, a.data, a.fracBits);
  }

  sliceLast(a: T, start: number, end: number): T {
    return this.make(sliceLastShape(a.shape, start, end), move.sliceLast(a.data, a.shape, start, end), a.fracBits);
  }

  concatLast(xs: readonly T[]): T {
    for (const x of xs) sameScale(x, xs[0]!, 'concatLast');
    return this.make(concatLastShape(xs.map((x) => x.shape)), move.concatLast(xs.map((x) => x.data), xs.map((x) => x.shape)), xs[0]!.fracBits);
  }

  sliceFirst(a: T, start: number, end: number): T {
    return this.make([end - start, ...a.shape.slice(1)], move.sliceFirst(a.data, a.shape, start, end), a.fracBits);
  }

  concatFirst(xs: readonly T[]): T {
    for (const x of xs) sameScale(x, xs[0]!, 'concatFirst');
    return this.make(concatFirstShape(xs.map((x) => x.shape)), move.concatFirst(xs.map((x) => x.data)), xs[0]!.fracBits);
  }

  transposeLast(a: T): T {
    return this.make(transposeShape(a.shape), move.transpose(a.data, a.shape), a.fracBits);
  }

  repeatLast(a: T, k: number): T {
    return this.make([...a.shape, k], move.repeatLast(a.data, k), a.fracBits);
  }

  relabel(a: T, fracBits: number): T {
    return this.make(a.shape, a.data, fracBits);
  }

  pick(a: T, shape: Shape, idx: Int32Array): T {
    checkPick(a.data.length, shape, idx);
    const d = new BigUint64Array(idx.length);
    for (let i = 0; i < idx.length; i++) { const j = idx[i]!; if (j >= 0) d[i] = a.data[j]!; }
    return this.make(shape, d, a.fracBits);
  }
}
