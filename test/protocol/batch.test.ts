/**
 * Batched rounds (protocol/prims/batch.ts): independent programs in one `parallel` block share
 * their rounds. Secure == emulation bit for bit, the meter equals the declared cost (the dealer's
 * merged rounds), the block takes max(rounds) rounds instead of the sum, the dealer takes the same
 * items as the sequential program, and every protocol's bytes stay under its own label.
 */
import type { AnyTensor } from '../../shared/ring/tensor.js';
import { declaredCost } from '../../shared/protocol/cost.js';
import type { FixedHandle, Prims } from '../../shared/protocol/prims/types.js';
import { expNeg } from '../../shared/protocol/nonlinear/exp.js';
import { gelu } from '../../shared/protocol/nonlinear/activation.js';
import { shapeOnly } from '../../shared/ring/tensor.js';
import { inp, runChecked } from '../util/nl.js';
import { seeded } from '../util/rng.js';

const rng = seeded();
const vals = (n: number, lo: number, hi: number) =>
  Float64Array.from({ length: n }, () => Math.round(rng.uniform(lo, hi) * 65536) / 65536);

type Prog = <T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, xs: readonly T[]) => Promise<T[]>;

const pieces = <T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, [a, b, c]: readonly T[]) => [
  async () => [await P.trunc(await P.mul(a!, b!), 16), await gelu(P, c!)],
  async () => [await expNeg(P, P.neg(c!), { width: 32 })],
  async () => {
    const [s, m] = await P.all([() => P.square(b!), async () => P.trunc(await P.mul(a!, c!), 16)] as const);
    return [await P.trunc(s, 16), m];
  },
];

const sequential: Prog = async (P, xs) => {
  const out = [];
  for (const f of pieces(P, xs)) out.push(...(await f()));
  return out;
};
const batched: Prog = async (P, xs) => (await P.parallel(pieces(P, xs))).flat();

describe(`parallel blocks share rounds (seed ${rng.seed})`, () => {
  const inputs = () => [inp(vals(48, -3, 3), [48]), inp(vals(48, -3, 3), [48]), inp(vals(48, 0, 4), [48])];

  test('secure == emulation, metered == declared; fewer rounds, same items and dealer bytes', async () => {
    const xs = inputs();
    const seq = await runChecked(sequential, xs);
    const par = await runChecked(batched, xs);
    par.out.forEach((o, k) => expect(Array.from(o)).toEqual(Array.from(seq.out[k]!)));
    expect(par.cost.items).toBe(seq.cost.items);
    expect(par.cost.dealerBytes).toBe(seq.cost.dealerBytes);
    expect(par.cost.payloadBytes).toBe(seq.cost.payloadBytes);
    const shapes = xs.map((i) => shapeOnly(i.shape, i.fracBits));
    const each = await Promise.all(
      pieces({} as never, [] as never).map((_, k) =>
        declaredCost(async (P) => (await pieces(P, shapes)[k]!()) as unknown),
      ),
    );
    expect(par.cost.rounds).toBe(Math.max(...each.map((c) => c.rounds)));
    expect(seq.cost.rounds).toBe(each.reduce((t, c) => t + c.rounds, 0));
    // every protocol's bytes under its own label, and the labels add up to the link total
    const labels = par.r.meters[0].labels;
    const sum = Object.values(labels).reduce((t, l) => t + l.sentBytes, 0);
    expect(sum).toBe(par.r.meters[0].links.peer.sentBytes);
    expect(Object.keys(labels).some((l) => l.includes('lut'))).toBe(true);
    expect(Object.keys(labels).some((l) => l.includes('square'))).toBe(true);
  });

  test('a branch that fails fails the block (and the others unwind)', async () => {
    const bad: Prog = async (P, [a]) => {
      const out = await P.parallel([
        async () => [await P.square(a!)],
        async () => {
          await P.square(a!);
          throw new Error('boom');
        },
      ]);
      return out.flat();
    };
    await expect(runChecked(bad, [inp(vals(8, -1, 1), [8])])).rejects.toThrow(/boom/);
  });
});
