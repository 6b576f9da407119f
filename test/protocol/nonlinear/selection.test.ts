/**
 * Eviction pieces over Prims against the float64 backend's EvictionOps (the semantics the
 * policies were validated with): top-k selections in ascending index order with the lowest-index
 * tie rule, block min/max, max-pooling. Exact; secure == emulation; cost == meter.
 */
import type { Program } from '../../../shared/runtime/program.js';
import { blockMinMax, maxPool, topkSelection } from '../../../shared/protocol/nonlinear/index.js';
import { floatEvictionOps } from '../../../shared/kvcache/index.js';
import { floatTensor } from '../../../shared/model/ops/index.js';
import { seeded } from '../../util/rng.js';
import { inp, q, runChecked } from '../../util/nl.js';

const rng = seeded();
const tied = (n: number) =>
  Float64Array.from(
    { length: n },
    (_, i) => (i % 3 === 0 ? q(Math.round(rng.uniform(-5, 5))) : q(rng.uniform(-5, 5))) + 0,
  ); // no −0 in fixed point

describe(`eviction pieces vs the float64 EvictionOps (seed ${rng.seed})`, () => {
  test.each([
    [3, 12, 4, 'auto'],
    [2, 40, 7, 'bitonic'],
    [2, 9, 9, 'auto'],
    [1, 30, 1, 'rank'],
    [2, 5, 0, 'auto'],
    [2, 6, 8, 'auto'],
  ] as const)('topkSelection G=%i N=%i k=%i (%s)', async (G, N, k, method) => {
    const x = tied(G * N);
    const { out, r } = await runChecked(
      async (P, [a]) => [await topkSelection(P, a!, k, { width: 32, method })],
      [inp(x, [G, N])],
    );
    const want = await floatEvictionOps.topk(floatTensor([G, N], x), k);
    expect(r.secure[0]!.shape).toEqual(want.shape);
    expect(Array.from(out[0]!)).toEqual(Array.from(want.data));
  });

  test('blockMinMax and maxPool', async () => {
    const G = 2,
      N = 3,
      b = 5,
      w = 4,
      hi = tied(G * N * b * w),
      lo = tied(G * N * b * w),
      x = tied(3 * 17);
    const prog: Program = async (P, [h, l, v]) => {
      const { max, min } = await blockMinMax(P, h!, l!, b);
      return [max, min, await maxPool(P, v!, 5), await maxPool(P, v!, 1), await maxPool(P, v!, 41)];
    };
    const { out } = await runChecked(prog, [inp(hi, [G, N * b, w]), inp(lo, [G, N * b, w]), inp(x, [3, 17])]);
    const mm = await floatEvictionOps.blockMinMax(floatTensor([G, N * b, w], hi), floatTensor([G, N * b, w], lo), b);
    expect(Array.from(out[0]!)).toEqual(Array.from(mm.max.data));
    expect(Array.from(out[1]!)).toEqual(Array.from(mm.min.data));
    for (const [o, kernel] of [
      [2, 5],
      [3, 1],
      [4, 41],
    ] as const) {
      expect(Array.from(out[o]!)).toEqual(
        Array.from((await floatEvictionOps.maxPool(floatTensor([3, 17], x), kernel)).data),
      );
    }
  });
});
