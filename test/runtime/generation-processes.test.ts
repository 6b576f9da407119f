/**
 * Issue 5, over real processes (socket suite): the dealer and both parties as separate OS
 * processes serving a shared model. On five prompts the secure pipeline's 20 generated tokens
 * equal the fixed-point emulation's, and every layer's hidden states (revealed to the test client
 * through the revealHidden hook) are bit-identical to the emulation's: the tolerance is zero.
 * A client that disconnects mid-generation aborts only its session.
 */
import { launchCluster, shareFlags, type Cluster } from '../../shared/runtime/launch.js';
import { runGeneration } from '../../shared/runtime/gen-client.js';
import { operationOf } from '../../shared/runtime/costs.js';
import { openSession } from '../../shared/runtime/client.js';
import { MASK_FRAME } from '../../shared/runtime/wire.js';
import { CLIENT_CHECK_REPS } from '../../shared/protocol/client-check.js';
import { tensorFrameBytes } from '../../shared/net/frame.js';
import { loadGpt2 } from '../../shared/model/weights.js';
import { fixedOps } from '../../shared/model/ring/recipes.js';
import { createState, forward } from '../../shared/model/forward.js';
import type { TinySpec } from '../model/tiny-model.js';
import { writeTinyShares } from '../util/party-fixture.js';
import { seeded } from '../util/rng.js';

const SPEC: TinySpec = { nLayer: 2, nHead: 2, nEmbd: 16, nPositions: 40, vocab: 29 };
const OPTS = { timeoutMs: 20000, maxFrameBytes: 1 << 26 };

async function emulate(dir: string, prompt: number[], steps: number) {
  const weights = loadGpt2(dir);
  const ops = fixedOps();
  const params = await ops.prepare(weights);
  const state = createState(ops, weights.config, prompt.length + steps);
  const hidden: BigUint64Array[] = [];
  const onHidden = (_i: number, h: { data: BigUint64Array }) => {
    hidden.push(h.data);
  };
  let logits = await forward(ops, params, state, prompt, { onHidden });
  const tokens: number[] = [];
  for (let s = 0; s < steps; s++) {
    const [t] = await ops.argmax(logits!);
    tokens.push(t!);
    if (s < steps - 1) logits = await forward(ops, params, state, [t!], { onHidden });
  }
  return { tokens, hidden };
}

describe('private generation across three processes (socket suite, slow)', () => {
  const rng = seeded();
  // small weights keep activations in the ranges of a trained model
  const { modelDir, sharesDir, cfg, remove } = writeTinyShares('mpc-genp-', SPEC, rng);
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

  const prompts = [[1, 2, 3], [28, 0, 5, 7, 11], [4], [9, 9, 9, 9, 9, 9], [13, 21, 3, 8, 2, 17, 6]];
  test.each(prompts.map((p, i) => [i, p] as const))(
    `prompt %i: 20 secure tokens equal the emulation's (seed ${rng.seed})`,
    async (i, prompt) => {
      const hidden: BigUint64Array[] = [];
      const res = await runGeneration(
        c.clientUrls,
        {
          shareId: cfg.shareId,
          promptLen: prompt.length,
          maxNewTokens: 20,
          revealLogits: false,
          revealHidden: i === 0,
        },
        [...prompt],
        SPEC.vocab,
        { ...OPTS, tls: c.clientTls },
        {
          onHidden: (_l, v) => {
            hidden.push(v);
          },
        },
      );
      const ref = await emulate(modelDir, [...prompt], 20);
      expect(res.tokens).toEqual(ref.tokens);
      if (i === 0) {
        // hidden states of every layer of every forward call: tolerance zero
        expect(hidden.length).toBe(ref.hidden.length);
        hidden.forEach((h, k) => expect(h).toEqual(ref.hidden[k]));
      }
      // decode-step online bytes grow with the cache: later steps cost more than earlier ones
      const steps = Object.keys(res.reports[0].phases).filter((k) => k.startsWith('decode.'));
      expect(steps.length).toBe(19);
      expect(res.reports[0].phases['decode.18']!.sentBytes).toBeGreaterThan(
        res.reports[0].phases['decode.0']!.sentBytes,
      );
      // the embedding lookups cost the parties only the one-hot check of the client's input: one round of REPS elements
      const embed = res.reports.flatMap((r) =>
        Object.entries(r.labels).filter(([label]) => operationOf(label) === 'embed'),
      );
      expect(embed.length).toBeGreaterThan(0);
      const checkFrame = tensorFrameBytes([{ kind: 'u64', data: new BigUint64Array(CLIENT_CHECK_REPS) }]);
      for (const [, t] of embed) expect(t.sentBytes).toBe(t.rounds * checkFrame);
    },
    120000,
  );

  test('a client that disconnects mid-generation ends only its session', async () => {
    const { links } = await openSession(
      c.clientUrls,
      {
        kind: 'generate',
        params: { shareId: cfg.shareId, promptLen: 3, maxNewTokens: 10, revealLogits: false, revealHidden: false },
      },
      { ...OPTS, tls: c.clientTls },
    );
    const f = await links[0]!.nextTensor('mask');
    expect(f.type).toBe(MASK_FRAME);
    for (const l of links) l.close('client gone');
    for (const p of [c.party0, c.party1]) {
      for (let i = 0; i < 100 && !/E_PEER_CLOSED.*session aborted/.test(p.stderr.join('')); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(p.stderr.join('')).toMatch(/E_PEER_CLOSED.*session aborted/);
    }
    const res = await runGeneration(
      c.clientUrls,
      { shareId: cfg.shareId, promptLen: 3, maxNewTokens: 2, revealLogits: false, revealHidden: false },
      [1, 2, 3],
      SPEC.vocab,
      { ...OPTS, tls: c.clientTls },
    );
    expect(res.tokens.length).toBe(2);
  }, 60000);
});
