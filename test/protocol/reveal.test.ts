/**
 * The revealed benchmark mode (protocol/prims/reveal.ts): results equal the emulation bit for bit,
 * no dealer material is spent on revealed steps, and only inputs that are not already trivial
 * sharings are opened — a chain of non-linear steps over one secret input takes one round, and a
 * second secret input joining the chain one more.
 */
import type { AnyTensor } from '../../shared/ring/tensor.js';
import { Kernels } from '../../shared/ring/kernels.js';
import type { FixedHandle, Prims } from '../../shared/protocol/prims/types.js';
import { ClearPrims } from '../../shared/protocol/prims/clear.js';
import { RevealPrims } from '../../shared/protocol/prims/reveal.js';
import { declaredCost } from '../../shared/protocol/cost.js';
import { gelu } from '../../shared/protocol/nonlinear/activation.js';
import { softmax } from '../../shared/protocol/nonlinear/softmax.js';
import { runInProcess } from '../../shared/runtime/inprocess.js';
import { shapeOnly } from '../../shared/ring/tensor.js';
import { sameRing, seeded } from '../util/rng.js';
import { inp } from '../util/nl.js';

const rng = seeded();
const vals = (n: number, lo: number, hi: number) =>
  Float64Array.from({ length: n }, () => Math.round(rng.uniform(lo, hi) * 65536) / 65536);

/**
 * A truncation of x (as after a product), softmax over its rows, GeLU of that, a local reshuffle,
 * then (optionally) a product with w.
 */
async function chain<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T, w?: T): Promise<T[]> {
  const s = await P.trunc(P.mulPublic(x, 3, 16), 16);
  const p = await softmax(P, s, { lengths: [6, 8, 3, 8] });
  const g = await gelu(P, P.addPublic(P.mulPublic(p, 4, 0), -1));
  const y = P.reshape(P.transposeLast(g), [4, 8]);
  return w ? [y, await P.trunc(await P.mul(y, w), 16)] : [y];
}

/** The chain under a revealing RevealPrims, as the parties, the dealer and the emulation run it. */
const revealed =
  (withW: boolean) =>
  async <T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, xs: readonly T[]): Promise<T[]> => {
    const R = new RevealPrims(P, P.mode === 'secure' ? new ClearPrims(new Kernels()) : undefined);
    R.revealing = true;
    return chain(R, xs[0]!, withW ? xs[1] : undefined);
  };

describe(`revealed steps open only what is not a trivial sharing (seed ${rng.seed})`, () => {
  const inputs = () => [inp(vals(32, -4, 4), [4, 8]), inp(vals(32, -2, 2), [4, 8])];

  test('one secret input: one round, no dealer bytes, equal to the emulation', async () => {
    const xs = inputs();
    const r = await runInProcess(revealed(false), xs);
    r.secure.forEach((s, k) => expect(sameRing(s.data, r.clear[k]!.data)).toBe(true));
    expect(r.rounds).toBe(1);
    expect(r.dealerBytes).toBe(0);
    // the same chain run privately takes many rounds: the tracking is what saves them
    const secure = await declaredCost((P) => chain(P, shapeOnly([4, 8], 16)));
    expect(secure.rounds).toBeGreaterThan(10);
  });

  test('a second secret input joining the chain is opened in one more round', async () => {
    const xs = inputs();
    const r = await runInProcess(revealed(true), xs);
    r.secure.forEach((s, k) => expect(sameRing(s.data, r.clear[k]!.data)).toBe(true));
    expect(r.rounds).toBe(2);
    expect(r.dealerBytes).toBe(0);
  });
});
