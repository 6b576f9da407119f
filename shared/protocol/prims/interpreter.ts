/**
 * The part of Prims every role shares: the local steps (local.ts) and the interactive methods,
 * each one line over a primitive record (primitives/). A role supplies only how it runs a record
 * (`run`), its tensors (`tensor`) and its fixed-mask storage; secure.ts, clear.ts, dealer.ts and
 * reveal.ts are those few lines each.
 */
import { invariant } from '../../util/errors.js';
import { numel, type AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle } from '../fixed-mask.js';
import type { Held, Meta, Primitive } from '../primitive.js';
import {
  CMP,
  CMPK,
  FIXED_ALLOC,
  FIXED_APPEND,
  FIXED_CLIENT,
  FIXED_COPY,
  FIXED_PRODUCT,
  FIXED_SELECT,
  LUT,
  MATMUL,
  MAX_TRUNC_BITS,
  MUL,
  MUL_BIT,
  MUL_SEG,
  SQUARE,
  TRUNC,
  TRUNC_LEAN,
  XLUT,
  LEAN_TRUNC_MAX_BITS,
  useLeanTrunc,
  type FixedView,
  type LutField,
  type SelectView,
  type XlutField,
} from '../primitives/index.js';
import { LocalSteps } from './local.js';
import type { CmpKOpts, CmpKOut, CmpOut, Prims, TruncMode } from './types.js';

const one = <T>(xs: readonly T[]): T => xs[0]!;

export abstract class Interpreter<T extends AnyTensor, F extends FixedHandle>
  extends LocalSteps<T>
  implements Prims<T, F>
{
  abstract readonly mode: Prims['mode'];
  /** Prefix of this instance's fixed-mask ids (a session's or a model load's scope). */
  abstract readonly ns?: string;

  abstract run<O, P>(prim: Primitive<O, P>, xs: readonly T[], o: O, ws?: readonly F[]): Promise<T[]>;
  /** This role's storage for a new fixed-mask matrix. */
  abstract newMatrix(h: FixedHandle): F;
  abstract fixedFree(w: F): void;
  abstract fixedRows(w: F, rows: readonly number[]): T;
  abstract phase(name: string): void;
  abstract scope<R>(label: string, fn: () => Promise<R>): Promise<R>;

  /** Independent programs with shared rounds (batch.ts); the emulation runs them one after the other. */
  async parallel<R>(fns: ReadonlyArray<() => Promise<R>>): Promise<R[]> {
    const out: R[] = [];
    for (const fn of fns) out.push(await fn());
    return out;
  }

  /** `parallel` over a tuple of programs, typed per branch. */
  all<const F extends ReadonlyArray<() => Promise<unknown>>>(
    fns: F,
  ): Promise<{ -readonly [K in keyof F]: Awaited<ReturnType<F[K]>> }> {
    return this.parallel(fns as ReadonlyArray<() => Promise<unknown>>) as never;
  }

  /**
   * One invocation: the item's parameters and the outputs' shapes from the record, the matrices'
   * bookkeeping, `body` (take, compute or both), then this role's tensors.
   */
  protected async step<O, P>(
    prim: Primitive<O, P>,
    xs: readonly T[],
    o: O,
    ws: readonly F[],
    body: (p: P, held: readonly Held[]) => Promise<BigUint64Array[] | undefined>,
  ): Promise<T[]> {
    const p = prim.params(xs, o, ws),
      outs: Meta[] = prim.outputs(p, xs, o, ws);
    prim.reserve?.(p, ws);
    const raw = await body(p, xs as readonly AnyTensor[] as readonly Held[]);
    return outs.map((m, i) => this.tensor(m.shape, m.fracBits, () => raw![i]!));
  }

  async mul(a: T, b: T): Promise<T> {
    return one(await this.run(MUL, [a, b], {}));
  }
  async square(a: T): Promise<T> {
    return one(await this.run(SQUARE, [a], {}));
  }

  /** ⌊a / 2^s⌋ in steps of at most 32 bits (16 for trunc.lean), each by trunc or trunc.lean. */
  async trunc(a: T, s: number, mode?: TruncMode): Promise<T> {
    invariant(
      Number.isInteger(s) && s >= 0 && s <= a.fracBits,
      'E_INTERNAL',
      `truncation by ${s} bits of a value with ${a.fracBits} fractional bits`,
    );
    const lean = (bits: number) => (mode ? mode === 'lean' : useLeanTrunc(numel(a.shape), bits));
    let out = a;
    for (let left = s; left > 0;) {
      const step = mode === 'lean' ? Math.min(LEAN_TRUNC_MAX_BITS, left) : Math.min(MAX_TRUNC_BITS, left);
      out = one(await this.run(lean(step) ? TRUNC_LEAN : TRUNC, [out], { s: step }));
      left -= step;
    }
    return out;
  }

  async cmpMul(x: T, ys: readonly T[]): Promise<CmpOut<T>> {
    const [bit, ...prods] = await this.run(CMP, [x, ...ys], { pay: ys.map((y) => (y === x ? 'x' : 'y')) });
    return { bit: bit!, prods };
  }

  async cmpK(x: T, o: CmpKOpts<T>): Promise<CmpKOut<T>> {
    const { payloads = [], ...opts } = o,
      ns = (o.self ?? []).length;
    const out = await this.run(CMPK, [x, ...payloads], opts);
    return { bits: out[0]!, self: out.slice(1, 1 + ns), prods: out.slice(1 + ns) };
  }

  lut(x: T, k: number, fields: readonly LutField[]): Promise<T[]> {
    return this.run(LUT, [x], { k, fields });
  }
  xlut(x: T, k: number, fields: readonly XlutField[], spec = false): Promise<T[]> {
    return this.run(XLUT, [x], { k, fields, spec });
  }
  async matmul(a: T, b: T): Promise<T> {
    return one(await this.run(MATMUL, [a, b], {}));
  }
  async mulSeg(x: T, y: T, lengths: readonly number[]): Promise<T> {
    return one(await this.run(MUL_SEG, [x, y], { lengths }));
  }
  mulBit(b: T, ys: readonly T[]): Promise<T[]> {
    return this.run(MUL_BIT, [b, ...ys], {});
  }

  async fixedAlloc(name: string, groups: number, rowsCap: number, cols: number, fracBits: number): Promise<F> {
    const w = this.newMatrix({
      kind: 'fixed',
      id: this.ns ? `${this.ns}:${name}` : name,
      groups,
      rowsCap,
      cols,
      fracBits,
      rowsUsed: 0,
    });
    await this.run(FIXED_ALLOC, [], {}, [w]);
    return w;
  }

  async fixedAppend(w: F, rows: T): Promise<void> {
    await this.run(FIXED_APPEND, [rows], {}, [w]);
  }
  async fixedCopy(dst: F, src: F, segs: readonly (readonly [number, number])[]): Promise<void> {
    await this.run(FIXED_COPY, [], { segs }, [dst, src]);
  }
  async fixedMatmul(x: T, w: F, layout: 'nt' | 'nn', rows: number | FixedView = w.rowsUsed): Promise<T> {
    return one(await this.run(FIXED_PRODUCT, [x], { layout, rows }, [w]));
  }
  async fixedSelect(x: T, sel: T, w: F, layout: 'nt' | 'nn', view: SelectView): Promise<T> {
    return one(await this.run(FIXED_SELECT, [x, sel], { layout, view }, [w]));
  }
  async fixedMatmulClient(w: F, K: number, layout: 'nt' | 'nn', fracBits: number, oneHotRows: boolean): Promise<T> {
    return one(await this.run(FIXED_CLIENT, [], { K, layout, fracBits, oneHotRows }, [w]));
  }
}
