/**
 * Issue 6 over real processes (socket suite, slow): the dealer and both parties as separate OS
 * processes with the real non-linear recipes run MPCache and decode-time H2O inside private
 * generation; the selections (secret-shared one-hots, reconstructed only here through the
 * revealSelections test hook) and the tokens equal the fixed-point emulation's bit for bit.
 */
import { launchCluster, shareFlags, type Cluster } from '../../shared/runtime/launch.js';
import { runGeneration } from '../../shared/runtime/gen-client.js';
import { loadGpt2 } from '../../shared/model/weights.js';
import { RingOps } from '../../shared/model/ring/ops.js';
import { STANDARD_NL } from '../../shared/model/ring/recipes.js';
import { CLEAR_TOKEN_IO } from '../../shared/model/ring/io-clear.js';
import { ClearPrims } from '../../shared/protocol/prims/clear.js';
import { Kernels } from '../../shared/ring/kernels.js';
import { FRAC_BITS } from '../../shared/ring/fixed-point.js';
import { PolicyAttention, getPolicy } from '../../shared/kvcache/index.js';
import { generate } from '../../shared/model/index.js';
import type { TinySpec } from '../model/tiny-model.js';
import { writeTinyShares } from '../util/party-fixture.js';
import { seeded } from '../util/rng.js';

const SPEC: TinySpec = { nLayer: 3, nHead: 2, nEmbd: 16, nPositions: 64, vocab: 29 };
const OPTS = { timeoutMs: 30000, maxFrameBytes: 1 << 26 };
const SMALL = { clusters: [8, 4], budget: 16, staticRatio: 0.7 };
const STEPS = 4;

async function emulate(dir: string, name: string, prompt: number[]) {
  const weights = loadGpt2(dir);
  const sels: BigUint64Array[] = [];
  const ops = new RingOps(new ClearPrims(new Kernels()), STANDARD_NL, CLEAR_TOKEN_IO, FRAC_BITS);
  const onSelection = (_w: unknown, sel: { data: BigUint64Array }) => {
    sels.push(sel.data);
  };
  const params = await ops.prepare(weights);
  const { tokens } = await generate(ops, params, prompt, {
    maxNewTokens: STEPS,
    policy: PolicyAttention.of(getPolicy(name, SMALL), undefined, onSelection),
    eot: -1,
  });
  return { tokens, sels };
}

describe('policies in private generation across three processes (socket suite, slow)', () => {
  const rng = seeded();
  const { modelDir, sharesDir, cfg, remove } = writeTinyShares('mpc-polp-', SPEC, rng);
  const prompt = Array.from({ length: 40 }, () => rng.int(0, SPEC.vocab));
  let c: Cluster;

  beforeAll(async () => {
    c = await launchCluster({
      timeoutMs: OPTS.timeoutMs,
      extra: shareFlags(sharesDir, ['test-hooks']),
    });
  }, 60000);
  afterAll(async () => {
    await c.stop();
    remove();
  });

  test.each(['mpcache', 'h2o'])(
    `%s: secure selections and tokens equal the emulation's (seed ${rng.seed})`,
    async (name) => {
      const sels: BigUint64Array[] = [];
      const res = await runGeneration(
        c.clientUrls,
        {
          shareId: cfg.shareId,
          promptLen: prompt.length,
          maxNewTokens: STEPS,
          policy: name,
          policyOptions: SMALL,
          revealSelections: true,
        },
        prompt,
        SPEC.vocab,
        { ...OPTS, tls: c.clientTls },
        {
          onSelection: (i, _what, _shape, v) => {
            sels[i] = v;
          },
        },
      );
      const ref = await emulate(modelDir, name, prompt);
      expect(res.tokens).toEqual(ref.tokens);
      expect(sels.length).toBeGreaterThan(STEPS);
      expect(sels).toEqual(ref.sels);
      // the policy's selection work is metered as its own operation
      expect(Object.keys(res.reports[0].labels).some((l) => /^decode\.l\d+\.attn\.(topk|gather|scores)/.test(l))).toBe(
        true,
      );
    },
    120000,
  );
});
