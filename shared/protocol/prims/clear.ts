/**
 * Prims over clear ring values: the fixed-point emulation. Each interactive step is its record's
 * exact ring function (truncation = floor, comparison = signed test), so any program over Prims
 * gives bit-identical results here and under MPC.
 */
import { clear, type Clear, type Shape } from '../../ring/tensor.js';
import type { Kernels } from '../../ring/kernels.js';
import { capacityOf, rowsAt, type ClearFixed, type FixedHandle } from '../fixed-mask.js';
import type { Primitive } from '../primitive.js';
import { Interpreter } from './interpreter.js';

export type { ClearFixed };

export class ClearPrims extends Interpreter<Clear, ClearFixed> {
  readonly mode = 'clear' as const;
  readonly ownsConstants = true;
  readonly ns?: string;

  constructor(readonly kernels: Kernels) {
    super();
  }

  tensor(shape: Shape, fracBits: number, data: () => BigUint64Array): Clear {
    return clear(shape, data(), fracBits);
  }
  phase(_name: string): void {
    /* nothing is metered in the emulation */
  }
  scope<R>(_label: string, fn: () => Promise<R>): Promise<R> {
    return fn();
  }

  run<O, P>(prim: Primitive<O, P>, xs: readonly Clear[], o: O, ws: readonly ClearFixed[] = []): Promise<Clear[]> {
    return this.step(prim, xs, o, ws, async (p, held) => prim.clear({ p, o, xs: held, ws }, this.kernels));
  }

  newMatrix(h: FixedHandle): ClearFixed {
    return { ...h, data: this.kernels.alloc(capacityOf(h)) };
  }
  fixedFree(w: ClearFixed): void {
    this.kernels.release(w.data);
  }
  fixedRows(w: ClearFixed, rows: readonly number[]): Clear {
    return clear([w.groups, rows.length, w.cols], rowsAt(this.kernels, w.data, w, rows), w.fracBits);
  }
}
