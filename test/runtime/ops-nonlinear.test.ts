/**
 * Every non-linear op of the `npm run op` registry, in process at small sizes: secure ==
 * emulation, the op's own check against its float64 reference passes, cost == meter.
 */
import { getOp } from '../../shared/runtime/ops/index.js';
import { decodeArray, encodeArray } from '../../shared/ring/fixed-point.js';
import { TestRng, seeded } from '../util/rng.js';
import { maxAbsErr, runChecked } from '../util/nl.js';

const base = seeded();

const CASES: Array<[string, Record<string, unknown>]> = [
  ['drelu', { n: 300 }],
  ['drelu', { n: 64, width: 64 }],
  ['relu', { n: 300 }],
  ['eq', { n: 300 }],
  ['max', { n: 100, rows: 3 }],
  ['argmax', { n: 50, rows: 3, onehot: true }],
  ['onehot', { n: 40, m: 5 }],
  ['gather', { n: 40, d: 8, m: 5 }],
  ['topk', { n: 40, rows: 2, k: 5, onehots: true }],
  ['topk', { n: 200, rows: 1, k: 8, method: 'bitonic' }],
  ['exp', { n: 300 }],
  ['reciprocal', { n: 200 }],
  ['rsqrt', { n: 200 }],
  ['gelu', { n: 300 }],
  ['silu', { n: 300 }],
  ['softmax', { n: 64, rows: 3 }],
  ['softmax', { n: 16, rows: 16, causal: true }],
  ['layernorm', { n: 96, rows: 3 }],
  ['rmsnorm', { n: 96, rows: 3 }],
];

describe(`non-linear ops registry (seed ${base.seed})`, () => {
  test.each(CASES)('%s %j', async (name, raw) => {
    const op = getOp(name),
      p = op.params.parse(raw);
    const rng = new TestRng(base.seed);
    const inputs = op.inputs(p, rng);
    const { r } = await runChecked(op.program(p), inputs);
    const ref = op.reference(
      p,
      inputs.map((i) => decodeArray(encodeArray(i.values, i.fracBits), i.fracBits)),
    );
    const chk = op.check(p);
    expect(ref.length).toBe(r.secure.length);
    r.secure.forEach((o, k) => {
      const got = decodeArray(o.data, o.fracBits);
      if (chk.mode === 'exact') expect(Array.from(got)).toEqual(Array.from(ref[k]!));
      else expect(maxAbsErr(got, ref[k]!).err).toBeLessThanOrEqual(chk.tol!);
    });
  });
});
