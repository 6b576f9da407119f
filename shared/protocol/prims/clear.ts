/**
 * Prims over clear ring values: the fixed-point emulation. Each interactive op is the exact ring
 * function its secure twin computes (truncation = floor, comparison = signed test), so any
 * program over Prims gives bit-identical results here and under MPC.
 */
import { MpcError, invariant } from '../../util/errors.js';
import { sarInto } from '../../ring/ops.js';
import { clear, numel, type Clear } from '../../ring/tensor.js';
import type { Kernels, Region } from '../../ring/kernels.js';
import { broadcastRows } from '../beaver.js';
import { LocalOps } from './local.js';
import { cmpkClear, cmpkTensors } from '../compare-k.js';
import { lutClear, lutOutFrac, type LutField } from '../lut.js';
import { matmulClear, matmulDims, mulBitClear, mulSegClear } from '../products.js';
import type { CmpKOpts, CmpKOut, CmpOut, FixedHandle, FixedView, Prims, SelectView } from './types.js';
import { copyRows, fixedDims, fixedLayout, matmulAddInto, regionNN, selectDims, transpose, viewFits, viewProduct, viewRegion } from '../../corr/kinds/index.js';
import { selectParams, selectShape } from '../fixed-select.js';
import { fixedCopyParams, productOf, productShape } from '../fixed-mask.js';
import { resolveCmpK, sameShape } from './util.js';

export interface ClearFixed extends FixedHandle {
  readonly data: Region;
}

export class ClearPrims extends LocalOps<Clear> implements Prims<Clear, ClearFixed> {
  readonly mode = 'clear' as const;

  constructor(readonly kernels: Kernels) {
    super(clear, true);
  }

  phase(_name: string): void { /* nothing is metered in the emulation */ }
  scope<R>(_label: string, fn: () => Promise<R>): Promise<R> { return fn(); }

  async mul(a: Clear, b: Clear): Promise<Clear> {
    const n = a.data.length, m = broadcastRows(a.shape, b.shape), per = m === 0 ? 1 : n / m;
    const out = new BigUint64Array(n);
    for (let i = 0; i < n; i++) out[i] = a.data[i]! * b.data[Math.floor(i / per)]!;
    return clear(a.shape, out, a.fracBits + b.fracBits);
  }

  async square(a: Clear): Promise<Clear> {
    const out = new BigUint64Array(a.data.length);
    for (let i = 0; i < out.length; i++) out[i] = a.data[i]! * a.data[i]!;
    return clear(a.shape, out, 2 * a.fracBits);
  }

  async trunc(a: Clear, s: number): Promise<Clear> {
    invariant(s >= 0 && s <= a.fracBits, 'E_INTERNAL', `truncation by ${s} bits of a value with ${a.fracBits} fractional bits`);
    if (s === 0) return a;
    const out = new BigUint64Array(a.data.length);
    // floor(a / 2^s) for s < 64, applied in ≤ 32-bit steps exactly as the secure protocol does
    let src = a.data;
    for (let left = s; left > 0; left -= 32) { sarInto(out, src, Math.min(32, left)); src = out; }
    return clear(a.shape, out, a.fracBits - s);
  }

  async cmpMul(x: Clear, ys: readonly Clear[]): Promise<CmpOut<Clear>> {
    for (const y of ys) sameShape(x, y, 'cmpMul');
    const n = x.data.length, bit = new BigUint64Array(n);
    const sx = new BigInt64Array(x.data.buffer, x.data.byteOffset, n);
    for (let i = 0; i < n; i++) bit[i] = sx[i]! >= 0n ? 1n : 0n;
    const prods = ys.map((y) => {
      const out = new BigUint64Array(n);
      for (let i = 0; i < n; i++) out[i] = bit[i] ? y.data[i]! : 0n;
      return clear(y.shape, out, y.fracBits);
    });
    return { bit: clear(x.shape, bit, 0), prods };
  }

  async cmpK(x: Clear, o: CmpKOpts<Clear>): Promise<CmpKOut<Clear>> {
    const r = resolveCmpK(o, x.fracBits), ys = o.payloads ?? [];
    for (const y of ys) sameShape(x, y, 'cmpK');
    return cmpkTensors(clear, x, ys, r.thr.length, cmpkClear(x.data, r, ys.map((y) => y.data)));
  }

  async lut(x: Clear, k: number, fields: readonly LutField[]): Promise<Clear[]> {
    const outs = lutClear(x.data, k, fields);
    return fields.map((f, q) => (f.table ? clear(x.shape, outs[q]!, lutOutFrac(fields, q)) : clear([...x.shape, 1 << f.w], outs[q]!, 0)));
  }

  async matmul(a: Clear, b: Clear): Promise<Clear> {
    const p = matmulDims(a.shape, b.shape);
    return clear([...a.shape.slice(0, -1), p.n], matmulClear(a.data, b.data, p), a.fracBits + b.fracBits);
  }

  async mulSeg(x: Clear, y: Clear, lengths: readonly number[]): Promise<Clear> {
    return clear(x.shape, mulSegClear(x.data, y.data, lengths), x.fracBits + y.fracBits);
  }

  async mulBit(b: Clear, ys: readonly Clear[]): Promise<Clear[]> {
    for (const y of ys) sameShape(b, y, 'mulBit');
    return mulBitClear(b.data, ys.map((y) => y.data)).map((d, q) => clear(ys[q]!.shape, d, ys[q]!.fracBits));
  }

  async fixedAlloc(id: string, groups: number, rowsCap: number, cols: number, fracBits: number): Promise<ClearFixed> {
    return { kind: 'fixed', id, groups, rowsCap, cols, fracBits, rowsUsed: 0, data: this.kernels.alloc(groups * rowsCap * cols) };
  }

  async fixedAppend(w: ClearFixed, rows: Clear): Promise<void> {
    const k = numel(rows.shape) / (w.groups * w.cols);
    invariant(Number.isInteger(k) && k > 0 && w.rowsUsed + k <= w.rowsCap, 'E_SHAPE', `cannot append [${rows.shape.join(', ')}] to '${w.id}'`);
    invariant(rows.fracBits === w.fracBits, 'E_INTERNAL', `scale ${rows.fracBits} appended to a fixed matrix of scale ${w.fracBits}`);
    const blk = k * w.cols;
    for (let g = 0; g < w.groups; g++) {
      this.kernels.u64(w.data, (g * w.rowsCap + w.rowsUsed) * w.cols, blk).set(rows.data.subarray(g * blk, (g + 1) * blk));
    }
    w.rowsUsed += k;
  }

  async fixedCopy(dst: ClearFixed, src: ClearFixed, segs: readonly (readonly [number, number])[]): Promise<void> {
    const p = fixedCopyParams(dst, src, segs);
    copyRows(this.kernels, { region: src.data, rowsCap: src.rowsCap, cols: src.cols, groups: src.groups }, { region: dst.data, rowsCap: dst.rowsCap, rowsUsed: dst.rowsUsed }, p.segs);
    dst.rowsUsed += p.segs.reduce((t, [a, b]) => t + b - a, 0);
  }

  async fixedMatmul(x: Clear, w: ClearFixed, layout: 'nt' | 'nn', rows: number | FixedView = w.rowsUsed): Promise<Clear> {
    const p = productOf(w, layout, x.shape, rows);
    invariant(viewFits(p, w), 'E_SHAPE', `fixed matrix '${w.id}' has ${w.rowsUsed} rows; the product asks for ${JSON.stringify(p.segs ?? [[0, p.rows]])}`);
    const { inLen, outLen } = fixedDims(p), shared = fixedLayout(p).inGroups === 1;
    const out = new BigUint64Array(w.groups * p.K * outLen);
    for (let g = 0; g < w.groups; g++) {
      const at = shared ? 0 : g * p.K * inLen;
      viewProduct(this.kernels, w.data, w.rowsCap, p, g, x.data.subarray(at, at + p.K * inLen), out.subarray(g * p.K * outLen, (g + 1) * p.K * outLen));
    }
    return clear(productShape(x.shape, w.groups, p), out, x.fracBits + w.fracBits);
  }

  async fixedSelect(x: Clear, sel: Clear, w: ClearFixed, layout: 'nt' | 'nn', view: SelectView): Promise<Clear> {
    const p = selectParams(w, layout, x.shape, sel.shape, view), { inLen, outLen } = selectDims(p);
    const { K, k, n, block: S, cols } = p, kb = k * S, out = new BigUint64Array(p.groups * K * outLen);
    for (let g = 0; g < p.groups; g++) {
      const sg = p.shared ? sel.data : sel.data.subarray(g * k * n, (g + 1) * k * n);
      const y = regionNN(this.kernels, sg, viewRegion(w.data, w.rowsCap, cols, g, p.offset, n * S), k, n, S * cols); // sel·W [k, S·cols]
      const xg = x.data.subarray(g * K * inLen, (g + 1) * K * inLen), og = out.subarray(g * K * outLen, (g + 1) * K * outLen);
      if (layout === 'nt') matmulAddInto(og, xg, transpose(y, kb, cols), { batch: 1, m: K, k: cols, n: kb });
      else matmulAddInto(og, xg, y, { batch: 1, m: K, k: kb, n: cols });
    }
    return clear(selectShape(p), out, x.fracBits + w.fracBits);
  }

  fixedFree(w: ClearFixed): void {
    this.kernels.release(w.data);
  }

  fixedRows(w: ClearFixed, rows: readonly number[]): Clear {
    const out = new BigUint64Array(w.groups * rows.length * w.cols);
    for (let g = 0; g < w.groups; g++) {
      rows.forEach((r, k) => {
        invariant(Number.isInteger(r) && r >= 0 && r < w.rowsUsed, 'E_SHAPE', `row ${r} of fixed matrix '${w.id}' (${w.rowsUsed} rows)`);
        out.set(this.kernels.u64(w.data, (g * w.rowsCap + r) * w.cols, w.cols), (g * rows.length + k) * w.cols);
      });
    }
    return clear([w.groups, rows.length, w.cols], out, w.fracBits);
  }

  fixedMatmulClient(): Promise<Clear> {
    throw new MpcError('E_INTERNAL', 'client-assisted products do not exist in the emulation (it reads the clear input directly)');
  }
}
