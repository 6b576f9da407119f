/**
 * Prims on the dealer: tensors are shapes only, and every interactive step takes exactly the item
 * its secure twin takes (same record, so same kind, parameters and order). Running a program over
 * DealerPrims therefore deals that program's whole correlation schedule, streamed to party 1 as it
 * goes (over cost.ts's CostSource it adds up the program's declared cost instead).
 */
import { shapeOnly, type Shape, type ShapeOnly } from '../../ring/tensor.js';
import type { CorrSource } from '../../corr/stream.js';
import type { FixedHandle } from '../fixed-mask.js';
import type { Primitive } from '../primitive.js';
import { Interpreter } from './interpreter.js';

export class DealerPrims extends Interpreter<ShapeOnly, FixedHandle> {
  readonly mode = 'dealer' as const;
  readonly ownsConstants = false;

  /** @param ns prefix for fixed-mask ids (the session id for session-scoped matrices). */
  constructor(
    readonly corr: CorrSource,
    readonly ns?: string,
  ) {
    super();
  }

  tensor(shape: Shape, fracBits: number): ShapeOnly {
    return shapeOnly(shape, fracBits);
  }
  phase(_name: string): void {
    /* the dealer's own traffic is metered per session */
  }
  scope<R>(_label: string, fn: () => Promise<R>): Promise<R> {
    return fn();
  }

  run<O, P>(
    prim: Primitive<O, P>,
    xs: readonly ShapeOnly[],
    o: O,
    ws: readonly FixedHandle[] = [],
  ): Promise<ShapeOnly[]> {
    return this.step(prim, xs, o, ws, async (p) => {
      await this.corr.take(prim.kind, p);
      return undefined;
    });
  }

  newMatrix(h: FixedHandle): FixedHandle {
    return h;
  }
  fixedFree(_w: FixedHandle): void {
    /* the dealer drops session masks at session end */
  }
  fixedRows(w: FixedHandle, rows: readonly number[]): ShapeOnly {
    return shapeOnly([w.groups, rows.length, w.cols], w.fracBits);
  }
}
