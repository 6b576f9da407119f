/**
 * BENCHMARK MODE ONLY — not private. A Prims wrapper that, while `revealing` is on, computes every
 * interactive step except fixed-mask operations (`alwaysSecure` records) *in the clear*: party 0
 * applies the record's exact ring function to the inputs' values and the result continues as a
 * trivial sharing (party 0 holds it, party 1 holds 0); on the dealer it deals nothing for these
 * steps. Each role tracks which tensors are trivial sharings (`trivial`: results of revealed steps,
 * and of local steps whose inputs all are — local steps are linear in the shares, and a public
 * constant is added by party 0 only): only the other inputs are opened (one round, 8 B per
 * element each way), and a step whose inputs are all trivial takes no round and no bytes. So a
 * revealed prefill opens about once per fixed-mask product's output, not once per step, and party
 * 1 computes none of the clear functions.
 * Local steps and fixed-mask matrices (alloc, append, products, rows) always run the real
 * protocol, so the KV cache a revealed prefill leaves behind is a genuine fixed-mask cache whose
 * masks the dealer knows, and the decoding steps after it (`revealing` off) are the real secure
 * protocol.
 *
 * Every result equals ClearPrims' bit for bit, so a run with a revealed prefill produces exactly
 * the emulation's values, selections and tokens. What it gives up: the prompt, its hidden states,
 * the prefill's attention and the cache's values are visible to party 0 and derivable by party 1
 * (which sees every fixed-mask product's output opened), and since each linear layer's input and
 * output are known, so are the weights (a prompt of d tokens determines them). Parties accept it
 * only when started with --allow-revealed-prefill, and never with secret weights. Its purpose is measuring decoding at
 * contexts whose secure prefill would need tens of GB of dealer material (docs/eviction-mpc.md);
 * every report of such a run must say that the prefill was revealed. (A truncation by more than
 * 32 bits reveals once per 32-bit step; no program truncates by more.)
 */
import { MpcError, invariant } from '../../util/errors.js';
import { Kernels } from '../../ring/kernels.js';
import { numel, type AnyTensor, type Shape } from '../../ring/tensor.js';
import type { FixedHandle } from '../fixed-mask.js';
import type { Primitive } from '../primitive.js';
import { openRing } from '../open.js';
import type { ClearPrims } from './clear.js';
import type { DealerPrims } from './dealer.js';
import { Interpreter } from './interpreter.js';
import type { SecurePrims } from './secure.js';
import type { Prims, PublicConst } from './types.js';

export class RevealPrims<T extends AnyTensor, F extends FixedHandle> extends Interpreter<T, F> {
  /** While on, interactive steps other than fixed-mask ones are computed in the clear. */
  revealing = false;
  /** Tensors that are trivial sharings: party 1 holds zeros, party 0 the value. */
  private readonly trivial = new WeakSet<T>();
  private readonly inner: Interpreter<T, F>;
  private readonly kernels: Kernels;

  constructor(inner: Prims<T, F>, emu?: ClearPrims) {
    super();
    invariant(inner instanceof Interpreter, 'E_INTERNAL', 'RevealPrims wraps one of the Prims implementations');
    if (inner.mode === 'secure' && !emu)
      throw new MpcError('E_INTERNAL', 'a revealing party needs an emulation backend');
    this.inner = inner as Interpreter<T, F>;
    this.kernels = emu?.kernels ?? new Kernels();
  }

  get mode(): Prims['mode'] {
    return this.inner.mode;
  }
  get ns(): string | undefined {
    return this.inner.ns;
  }
  get ownsConstants(): boolean {
    return this.inner.ownsConstants;
  }
  tensor(shape: Shape, fracBits: number, data: () => BigUint64Array): T {
    return this.inner.tensor(shape, fracBits, data);
  }
  phase(name: string): void {
    this.inner.phase(name);
  }
  scope<R>(label: string, fn: () => Promise<R>): Promise<R> {
    return this.inner.scope(label, fn);
  }
  newMatrix(h: FixedHandle): F {
    return this.inner.newMatrix(h);
  }
  fixedFree(w: F): void {
    this.inner.fixedFree(w);
  }
  fixedRows(w: F, rows: readonly number[]): T {
    return this.inner.fixedRows(w, rows);
  }

  override parallel<R>(fns: ReadonlyArray<() => Promise<R>>): Promise<R[]> {
    return this.inner.parallel(fns);
  }

  async run<O, P>(prim: Primitive<O, P>, xs: readonly T[], o: O, ws: readonly F[] = []): Promise<T[]> {
    if (!this.revealing || prim.alwaysSecure || this.inner.mode === 'clear') return this.inner.run(prim, xs, o, ws);
    // the inputs that are not trivial sharings are opened, in one round (no round if there are none)
    const hidden = xs.map((x) => !this.trivial.has(x));
    const outs =
      this.inner.mode === 'dealer'
        ? await this.step(prim, xs, o, ws, async () => {
            // keep a block's branches in step with the parties' opening
            const u64 = xs.filter((_, i) => hidden[i]).map((x) => numel(x.shape));
            if (u64.length > 0) await (this.inner as unknown as DealerPrims).unitemisedRound({ u64 });
            return undefined;
          })
        : await this.step(prim, xs, o, ws, async (p, held) => {
            const ctx = (this.inner as unknown as SecurePrims).ctx,
              open = held.filter((_, i) => hidden[i]).map((x) => x.data);
            const opened = open.length > 0 ? await openRing(ctx, 'reveal', open) : [];
            // party 1 holds zeros of every result; party 0 computes it
            if (ctx.me !== 0) return prim.outputs(p, xs, o, ws).map((m) => new BigUint64Array(numel(m.shape)));
            let next = 0;
            const data = held.map((x, i) => (hidden[i] ? opened[next++]! : x.data));
            return prim.clear(
              { p, o, xs: held.map((x, i) => ({ shape: x.shape, fracBits: x.fracBits, data: data[i]! })), ws: [] },
              this.kernels,
            );
          });
    for (const t of outs) this.trivial.add(t);
    return outs;
  }

  /** `out`, recorded as trivial when every input is. */
  private keep(out: T, ...ins: readonly T[]): T {
    if (ins.length > 0 && ins.every((x) => this.trivial.has(x))) this.trivial.add(out);
    return out;
  }

  // Local steps: a trivial sharing stays trivial (party 1's zeros map to zeros).
  override add(a: T, b: T): T {
    return this.keep(super.add(a, b), a, b);
  }
  override sub(a: T, b: T): T {
    return this.keep(super.sub(a, b), a, b);
  }
  override neg(a: T): T {
    return this.keep(super.neg(a), a);
  }
  override addPublic(a: T, c: PublicConst): T {
    return this.keep(super.addPublic(a, c), a);
  }
  override mulPublic(a: T, c: PublicConst, cFrac: number): T {
    return this.keep(super.mulPublic(a, c, cFrac), a);
  }
  override mulInt(a: T, k: number): T {
    return this.keep(super.mulInt(a, k), a);
  }
  override constant(shape: Shape, c: PublicConst, fracBits: number): T {
    const out = super.constant(shape, c, fracBits);
    this.trivial.add(out); // party 0 holds a public constant, party 1 zeros
    return out;
  }
  override sumLast(a: T): T {
    return this.keep(super.sumLast(a), a);
  }
  override reshape(a: T, shape: Shape): T {
    return this.keep(super.reshape(a, shape), a);
  }
  override sliceLast(a: T, start: number, end: number): T {
    return this.keep(super.sliceLast(a, start, end), a);
  }
  override concatLast(xs: readonly T[]): T {
    return this.keep(super.concatLast(xs), ...xs);
  }
  override sliceFirst(a: T, start: number, end: number): T {
    return this.keep(super.sliceFirst(a, start, end), a);
  }
  override concatFirst(xs: readonly T[]): T {
    return this.keep(super.concatFirst(xs), ...xs);
  }
  override transposeLast(a: T): T {
    return this.keep(super.transposeLast(a), a);
  }
  override repeatLast(a: T, k: number): T {
    return this.keep(super.repeatLast(a, k), a);
  }
  override relabel(a: T, fracBits: number): T {
    return this.keep(super.relabel(a, fracBits), a);
  }
  override pick(a: T, shape: Shape, idx: Int32Array): T {
    return this.keep(super.pick(a, shape, idx), a);
  }
}
