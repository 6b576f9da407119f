/** Prims over two-party shares: local ops on shares, interactive ops via `protocol/`. */
import { share, type Share } from '../../ring/tensor.js';
import type { PartyCtx } from '../ctx.js';
import { mulSS, squareS } from '../beaver.js';
import { truncS } from '../trunc.js';
import { cmpMulS } from '../compare.js';
import { fixedAllocS, fixedAppendS, fixedCopyS, fixedFreeS, fixedMatmulClientS, fixedMatmulS, fixedRowsS, type FixedMatrix } from '../fixed-mask.js';
import { LocalOps } from './local.js';
import { cmpkS, cmpkTensors } from '../compare-k.js';
import { lutOutFrac, lutS, type LutField } from '../lut.js';
import { matmulDims, matmulSS, mulBitS, mulSegS } from '../products.js';
import type { CmpKOpts, CmpKOut, CmpOut, FixedView, Prims, SelectView } from './types.js';
import { fixedSelectS } from '../fixed-select.js';
import { resolveCmpK } from './util.js';

export class SecurePrims extends LocalOps<Share> implements Prims<Share, FixedMatrix> {
  readonly mode = 'secure' as const;

  /** Fixed matrices allocated through this instance and not yet freed (freed at session end). */
  readonly live = new Set<FixedMatrix>();

  /** @param ns prefix for fixed-mask ids (the session id for session-scoped matrices). */
  constructor(readonly ctx: PartyCtx, readonly ns?: string) {
    super(share, ctx.me === 0);
  }

  phase(name: string): void { this.ctx.meter.setPhase(name); }
  scope<R>(label: string, fn: () => Promise<R>): Promise<R> { return this.ctx.meter.scope(label, fn); }

  mul(a: Share, b: Share): Promise<Share> { return mulSS(this.ctx, a, b); }
  square(a: Share): Promise<Share> { return squareS(this.ctx, a); }
  trunc(a: Share, s: number): Promise<Share> { return truncS(this.ctx, a, s); }
  cmpMul(x: Share, ys: readonly Share[]): Promise<CmpOut<Share>> { return cmpMulS(this.ctx, x, ys); }
  async cmpK(x: Share, o: CmpKOpts<Share>): Promise<CmpKOut<Share>> {
    const r = resolveCmpK(o, x.fracBits), ys = o.payloads ?? [];
    return cmpkTensors(share, x, ys, r.thr.length, await cmpkS(this.ctx, x, r, ys));
  }
  async lut(x: Share, k: number, fields: readonly LutField[]): Promise<Share[]> {
    const outs = await lutS(this.ctx, x, k, fields);
    return fields.map((f, q) => (f.table ? share(x.shape, outs[q]!, lutOutFrac(fields, q)) : share([...x.shape, 1 << f.w], outs[q]!, 0)));
  }
  async matmul(a: Share, b: Share): Promise<Share> {
    const p = matmulDims(a.shape, b.shape);
    return share([...a.shape.slice(0, -1), p.n], await matmulSS(this.ctx, a, b), a.fracBits + b.fracBits);
  }
  async mulSeg(x: Share, y: Share, lengths: readonly number[]): Promise<Share> {
    return share(x.shape, await mulSegS(this.ctx, x, y, lengths), x.fracBits + y.fracBits);
  }
  async mulBit(b: Share, ys: readonly Share[]): Promise<Share[]> {
    const outs = await mulBitS(this.ctx, b, ys);
    return ys.map((y, q) => share(y.shape, outs[q]!, y.fracBits));
  }

  async fixedAlloc(name: string, groups: number, rowsCap: number, cols: number, fracBits: number): Promise<FixedMatrix> {
    const w = await fixedAllocS(this.ctx, this.ns ? `${this.ns}:${name}` : name, groups, rowsCap, cols, fracBits);
    this.live.add(w);
    return w;
  }
  fixedAppend(w: FixedMatrix, rows: Share): Promise<void> { return fixedAppendS(this.ctx, w, rows); }
  fixedCopy(dst: FixedMatrix, src: FixedMatrix, segs: readonly (readonly [number, number])[]): Promise<void> { return fixedCopyS(this.ctx, dst, src, segs); }
  fixedMatmul(x: Share, w: FixedMatrix, layout: 'nt' | 'nn', rows?: number | FixedView): Promise<Share> { return fixedMatmulS(this.ctx, x, w, layout, rows); }
  fixedSelect(x: Share, sel: Share, w: FixedMatrix, layout: 'nt' | 'nn', view: SelectView): Promise<Share> { return fixedSelectS(this.ctx, x, sel, w, layout, view); }
  fixedFree(w: FixedMatrix): void {
    if (this.live.delete(w)) fixedFreeS(this.ctx, w);
  }

  fixedRows(w: FixedMatrix, rows: readonly number[]): Share { return fixedRowsS(this.ctx, w, rows); }
  fixedMatmulClient(w: FixedMatrix, K: number, layout: 'nt' | 'nn', fracBits: number, oneHotRows: boolean): Promise<Share> {
    return fixedMatmulClientS(this.ctx, w, K, layout, fracBits, oneHotRows);
  }

  /** Frees every fixed matrix still allocated through this instance. */
  freeAll(): void {
    for (const w of [...this.live]) this.fixedFree(w);
  }
}
