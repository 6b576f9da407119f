/** Prims over two-party shares: each interactive step takes its record's item and runs its secure steps. */
import { share, type Share, type Shape } from '../../ring/tensor.js';
import type { PartyCtx } from '../ctx.js';
import { capacityOf, rowsAt, type FixedHandle, type FixedMatrix } from '../fixed-mask.js';
import type { Primitive } from '../primitive.js';
import { Interpreter } from './interpreter.js';

export class SecurePrims extends Interpreter<Share, FixedMatrix> {
  readonly mode = 'secure' as const;
  readonly ownsConstants: boolean;
  /** Fixed matrices allocated through this instance and not yet freed (freed at session end). */
  readonly live = new Set<FixedMatrix>();

  /** @param ns prefix for fixed-mask ids (the session id for session-scoped matrices). */
  constructor(
    readonly ctx: PartyCtx,
    readonly ns?: string,
  ) {
    super();
    this.ownsConstants = ctx.me === 0;
  }

  tensor(shape: Shape, fracBits: number, data: () => BigUint64Array): Share {
    return share(shape, data(), fracBits);
  }
  phase(name: string): void {
    this.ctx.meter.setPhase(name);
  }
  scope<R>(label: string, fn: () => Promise<R>): Promise<R> {
    return this.ctx.meter.scope(label, fn);
  }

  run<O, P>(prim: Primitive<O, P>, xs: readonly Share[], o: O, ws: readonly FixedMatrix[] = []): Promise<Share[]> {
    return this.step(prim, xs, o, ws, async (p, held) =>
      prim.secure(this.ctx, await this.ctx.corr.take(prim.kind, p), { p, o, xs: held, ws }),
    );
  }

  newMatrix(h: FixedHandle): FixedMatrix {
    const w = { ...h, pub: this.ctx.kernels.alloc(capacityOf(h)), mine: this.ctx.kernels.alloc(capacityOf(h)) };
    this.live.add(w);
    return w;
  }

  fixedFree(w: FixedMatrix): void {
    if (!this.live.delete(w)) return;
    this.ctx.kernels.release(w.pub);
    this.ctx.kernels.release(w.mine);
  }

  /** This party's online share W_i of rows at public indices (party 0's includes Ŵ). Local. */
  fixedRows(w: FixedMatrix, rows: readonly number[]): Share {
    return share([w.groups, rows.length, w.cols], rowsAt(this.ctx.kernels, w.mine, w, rows), w.fracBits);
  }

  /** Frees every fixed matrix still allocated through this instance. */
  freeAll(): void {
    for (const w of [...this.live]) this.fixedFree(w);
  }
}
