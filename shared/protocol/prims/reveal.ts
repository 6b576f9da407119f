/**
 * BENCHMARK MODE ONLY — not private. A Prims wrapper that, while `revealing` is on, computes every
 * interactive step except fixed-mask operations (`alwaysSecure` records) *in the clear*: on a
 * party it opens the step's secret inputs (one round, 8 B per element each way, no dealer
 * material), applies the record's exact ring function and continues with the result as a trivial
 * sharing (party 0 holds it, party 1 holds 0); on the dealer it deals nothing for these steps.
 * Local steps and fixed-mask matrices (alloc, append, products, rows) always run the real
 * protocol, so the KV cache a revealed prefill leaves behind is a genuine fixed-mask cache whose
 * masks the dealer knows, and the decoding steps after it (`revealing` off) are the real secure
 * protocol.
 *
 * Every result equals ClearPrims' bit for bit, so a run with a revealed prefill produces exactly
 * the emulation's values, selections and tokens. What it gives up: the prompt, its hidden states,
 * the prefill's attention and the cache's values are visible to both parties, and since each linear
 * layer's input and output are opened, so are the weights (a prompt of d tokens determines them).
 * Parties accept it only when started with --allow-test-hooks. Its purpose is measuring decoding at
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
import type { Prims } from './types.js';

export class RevealPrims<T extends AnyTensor, F extends FixedHandle> extends Interpreter<T, F> {
  /** While on, interactive steps other than fixed-mask ones are computed in the clear. */
  revealing = false;
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

  run<O, P>(prim: Primitive<O, P>, xs: readonly T[], o: O, ws: readonly F[] = []): Promise<T[]> {
    if (!this.revealing || prim.alwaysSecure || this.inner.mode === 'clear') return this.inner.run(prim, xs, o, ws);
    if (this.inner.mode === 'dealer')
      return this.step(prim, xs, o, ws, async () => {
        // the parties open the inputs in one round: keep a block's branches in step with them
        await (this.inner as unknown as DealerPrims).unitemisedRound({ u64: xs.map((x) => numel(x.shape)) });
        return undefined;
      });
    const ctx = (this.inner as unknown as SecurePrims).ctx;
    return this.step(prim, xs, o, ws, async (p, held) => {
      const opened = await openRing(
        ctx,
        'reveal',
        held.map((x) => x.data),
      );
      const out = prim.clear(
        { p, o, xs: held.map((x, i) => ({ shape: x.shape, fracBits: x.fracBits, data: opened[i]! })), ws: [] },
        this.kernels,
      );
      return ctx.me === 0 ? out : out.map((v) => new BigUint64Array(v.length));
    });
  }
}
