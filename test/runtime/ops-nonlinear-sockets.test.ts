/**
 * Socket suite for the non-linear families: each runs once end to end with the dealer, party 0 and
 * party 1 as separate processes over real WebSockets, checked against float64 / exact answers, with
 * the online rounds equal to the declared cost.
 */
import { launchCluster, type Cluster } from '../../shared/runtime/launch.js';
import { inputRng, runOpOnCluster } from '../../shared/runtime/op-runner.js';
import { getOp } from '../../shared/runtime/ops/index.js';
import { declaredCost } from '../../shared/protocol/cost.js';
import { shapeOnly } from '../../shared/ring/tensor.js';

const OPTS = { timeoutMs: 15000, maxFrameBytes: 1 << 26 };

describe('non-linear ops over three processes (socket suite)', () => {
  let c: Cluster;
  beforeAll(async () => {
    c = await launchCluster({ timeoutMs: OPTS.timeoutMs });
  });
  afterAll(async () => {
    await c.stop();
  });

  test.each([
    ['drelu', { n: 200 }],
    ['argmax', { n: 60, rows: 2, onehot: true }],
    ['topk', { n: 40, rows: 2, k: 4, onehots: true }],
    ['gather', { n: 32, d: 8, m: 3 }],
    ['gelu', { n: 300 }],
    ['softmax', { n: 32, rows: 8, causal: true }],
    ['layernorm', { n: 96, rows: 2 }],
    ['rsqrt', { n: 40 }],
  ] as const)('%s %j', async (name, params) => {
    const r = await runOpOnCluster(c.clientUrls, name, params, 21, { ...OPTS, tls: c.clientTls });
    expect({ name, ok: r.ok, mismatches: r.mismatches }).toEqual({ name, ok: true, mismatches: 0 });
    const op = getOp(name),
      p = op.params.parse(params);
    const shapes = op.inputs(p, inputRng(21)).map((i) => shapeOnly(i.shape, i.fracBits));
    const cost = await declaredCost((P) => op.program(p)(P, shapes));
    expect(r.rounds + (r.setup?.rounds ?? 0)).toBe(cost.rounds);
    expect(r.dealer.to_p0).toBeLessThan(200); // party 0 receives its seed only
  });
});
