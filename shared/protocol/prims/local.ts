/**
 * Local (non-interactive) steps, the same code for every role: addition, scaling and data
 * movement act on a share exactly as on a value, a public constant is added by one holder only
 * (`ownsConstants`: party 0, or the emulation), and the dealer, which holds shapes only, never
 * computes data (`tensor` ignores the data thunk). Every step checks shapes the same way in every
 * role, so a program fails identically everywhere.
 */
import { invariant } from '../../util/errors.js';
import { encodeScalar } from '../../ring/fixed-point.js';
import { addInto, mulScalarInto, negInto, subInto, sumRowsInto } from '../../ring/u64.js';
import { numel, type AnyTensor, type Shape } from '../../ring/tensor.js';
import {
  checkPick,
  concatFirstShape,
  concatLastShape,
  lastDim,
  sameScale,
  sameShape,
  sliceLastShape,
  transposeShape,
} from '../shapes.js';
import type { PublicConst } from './types.js';

/** This holder's data of a tensor (only called inside data thunks, which the dealer never runs). */
const d = (t: AnyTensor): BigUint64Array => (t as { data: BigUint64Array }).data;

/**
 * Encodes a public constant for a tensor of `shape`: the encoded values and the period with which
 * they repeat (1 = scalar, last dim = per column, numel = element-wise).
 */
function encodeConst(c: PublicConst, fracBits: number, shape: Shape): { vals: BigUint64Array; period: number } {
  if (typeof c === 'number') return { vals: BigUint64Array.of(encodeScalar(c, fracBits)), period: 1 };
  invariant(
    c.length === lastDim(shape) || c.length === numel(shape),
    'E_SHAPE',
    `constant of ${c.length} values does not fit [${shape.join(', ')}]`,
  );
  return { vals: BigUint64Array.from(c, (v) => encodeScalar(v, fracBits)), period: c.length };
}

export abstract class LocalSteps<T extends AnyTensor> {
  /** True when this holder adds public constants (party 0, or the clear emulation). */
  abstract readonly ownsConstants: boolean;
  /** A tensor of this role; `data` runs only in roles that hold data. */
  abstract tensor(shape: Shape, fracBits: number, data: () => BigUint64Array): T;

  add(a: T, b: T): T {
    sameShape(a, b, 'add');
    sameScale(a, b, 'add');
    return this.tensor(a.shape, a.fracBits, () => addInto(new BigUint64Array(d(a).length), d(a), d(b)));
  }

  sub(a: T, b: T): T {
    sameShape(a, b, 'sub');
    sameScale(a, b, 'sub');
    return this.tensor(a.shape, a.fracBits, () => subInto(new BigUint64Array(d(a).length), d(a), d(b)));
  }

  neg(a: T): T {
    return this.tensor(a.shape, a.fracBits, () => negInto(new BigUint64Array(d(a).length), d(a)));
  }

  addPublic(a: T, c: PublicConst): T {
    return this.tensor(a.shape, a.fracBits, () => {
      const out = d(a).slice();
      if (this.ownsConstants) {
        const { vals, period } = encodeConst(c, a.fracBits, a.shape);
        for (let i = 0; i < out.length; i++) out[i] = out[i]! + vals[i % period]!;
      }
      return out;
    });
  }

  mulPublic(a: T, c: PublicConst, cFrac: number): T {
    return this.tensor(a.shape, a.fracBits + cFrac, () => {
      const { vals, period } = encodeConst(c, cFrac, a.shape),
        out = new BigUint64Array(d(a).length);
      if (period === 1) return mulScalarInto(out, d(a), vals[0]!);
      for (let i = 0; i < out.length; i++) out[i] = d(a)[i]! * vals[i % period]!;
      return out;
    });
  }

  mulInt(a: T, k: number): T {
    invariant(Number.isSafeInteger(k), 'E_INTERNAL', `mulInt by non-integer ${k}`);
    return this.tensor(a.shape, a.fracBits, () => mulScalarInto(new BigUint64Array(d(a).length), d(a), BigInt(k)));
  }

  constant(shape: Shape, c: PublicConst, fracBits: number): T {
    return this.tensor(shape, fracBits, () => {
      const out = new BigUint64Array(numel(shape));
      if (this.ownsConstants) {
        const { vals, period } = encodeConst(c, fracBits, shape);
        for (let i = 0; i < out.length; i++) out[i] = vals[i % period]!;
      }
      return out;
    });
  }

  sumLast(a: T): T {
    const last = lastDim(a.shape),
      rows = numel(a.shape) / Math.max(1, last);
    return this.tensor(a.shape.slice(0, -1), a.fracBits, () => sumRowsInto(new BigUint64Array(rows), d(a), rows, last));
  }

  reshape(a: T, shape: Shape): T {
    invariant(numel(shape) === numel(a.shape), 'E_SHAPE', `reshape [${a.shape.join(', ')}] to [${shape.join(', ')}]`);
    return this.tensor(shape, a.fracBits, () => d(a));
  }

  sliceLast(a: T, start: number, end: number): T {
    const shape = sliceLastShape(a.shape, start, end),
      last = lastDim(a.shape),
      w = end - start;
    return this.tensor(shape, a.fracBits, () => {
      const rows = numel(a.shape) / Math.max(1, last),
        out = new BigUint64Array(rows * w);
      for (let r = 0; r < rows; r++) out.set(d(a).subarray(r * last + start, r * last + end), r * w);
      return out;
    });
  }

  concatLast(xs: readonly T[]): T {
    for (const x of xs) sameScale(x, xs[0]!, 'concatLast');
    const shape = concatLastShape(xs.map((x) => x.shape)),
      widths = xs.map((x) => lastDim(x.shape)),
      total = lastDim(shape);
    return this.tensor(shape, xs[0]!.fracBits, () => {
      const rows = numel(shape) / Math.max(1, total),
        out = new BigUint64Array(rows * total);
      for (let r = 0; r < rows; r++) {
        let off = r * total;
        xs.forEach((x, k) => {
          out.set(d(x).subarray(r * widths[k]!, (r + 1) * widths[k]!), off);
          off += widths[k]!;
        });
      }
      return out;
    });
  }

  sliceFirst(a: T, start: number, end: number): T {
    invariant(
      0 <= start && start <= end && end <= a.shape[0]!,
      'E_SHAPE',
      `slice [${start}, ${end}) of first axis ${a.shape[0]}`,
    );
    const per = numel(a.shape.slice(1));
    return this.tensor([end - start, ...a.shape.slice(1)], a.fracBits, () => d(a).slice(start * per, end * per));
  }

  concatFirst(xs: readonly T[]): T {
    for (const x of xs) sameScale(x, xs[0]!, 'concatFirst');
    return this.tensor(concatFirstShape(xs.map((x) => x.shape)), xs[0]!.fracBits, () => {
      const out = new BigUint64Array(xs.reduce((t, x) => t + d(x).length, 0));
      let off = 0;
      for (const x of xs) {
        out.set(d(x), off);
        off += d(x).length;
      }
      return out;
    });
  }

  transposeLast(a: T): T {
    const shape = transposeShape(a.shape),
      r = a.shape[a.shape.length - 2]!,
      c = a.shape[a.shape.length - 1]!;
    return this.tensor(shape, a.fracBits, () => {
      const src = d(a),
        out = new BigUint64Array(src.length),
        batch = src.length / (r * c || 1);
      for (let b = 0; b < batch; b++) {
        const o = b * r * c;
        for (let i = 0; i < r; i++) for (let j = 0; j < c; j++) out[o + j * r + i] = src[o + i * c + j]!;
      }
      return out;
    });
  }

  repeatLast(a: T, k: number): T {
    return this.tensor([...a.shape, k], a.fracBits, () => {
      const src = d(a),
        out = new BigUint64Array(src.length * k);
      for (let i = 0; i < src.length; i++) out.fill(src[i]!, i * k, (i + 1) * k);
      return out;
    });
  }

  relabel(a: T, fracBits: number): T {
    return this.tensor(a.shape, fracBits, () => d(a));
  }

  pick(a: T, shape: Shape, idx: Int32Array): T {
    checkPick(numel(a.shape), shape, idx);
    return this.tensor(shape, a.fracBits, () => {
      const src = d(a),
        out = new BigUint64Array(idx.length);
      for (let i = 0; i < idx.length; i++) {
        const j = idx[i]!;
        if (j >= 0) out[i] = src[j]!;
      }
      return out;
    });
  }
}
