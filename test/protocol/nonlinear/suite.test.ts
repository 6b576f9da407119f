/** The suite plugs into the model's ring backend (type check) and runs a tiny attention-like row. */
import type { RingNonlinear } from '../../../shared/model/ring/ops.js';
import { NONLINEAR_SUITE } from '../../../shared/protocol/nonlinear/index.js';
import { inp, runChecked } from '../../util/nl.js';

const suite: RingNonlinear = NONLINEAR_SUITE;

test('NONLINEAR_SUITE is a RingNonlinear and runs end to end', async () => {
  const x = Float64Array.from({ length: 4 * 6 }, (_, i) => Math.round(Math.sin(i) * 3 * 65536) / 65536);
  const { out } = await runChecked(
    async (P, [a]) => [
      await suite.layerNorm(P, a!, 1e-5),
      await suite.gelu(P, a!),
      await suite.softmax(P, a!, [6, 1, 3, 0]),
      await suite.argmax(P, a!),
    ],
    [inp(x, [4, 6])],
  );
  expect(out[2]![6 + 1]).toBe(0);
  expect(out[2]![6]).toBeCloseTo(1, 4);
  expect(Array.from(out[3]!)).toEqual(
    [0, 1, 2, 3].map((r) => {
      const row = Array.from(x.subarray(6 * r, 6 * r + 6));
      return row.indexOf(Math.max(...row));
    }),
  );
});
