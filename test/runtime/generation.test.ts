/**
 * Generation runtime plumbing over real WebSockets (dealer and both parties as services in this
 * process): model-load session, client-assisted embedding, argmax revealed to the client only,
 * early stop, bad requests. Secure tokens and every layer's hidden states must equal the
 * fixed-point emulation's bit for bit. Uses test/util/simple-nonlinear.ts as the recipes.
 */
import { runGeneration } from '../../shared/runtime/gen-client.js';
import type { GenerateRequest } from '../../shared/runtime/generation.js';
import { DEFAULT_LIMITS } from '../../shared/net/limits.js';
import { MpcError } from '../../shared/util/index.js';
import { loadGpt2 } from '../../shared/model/weights.js';
import { RingOps } from '../../shared/model/ring/ops.js';
import { CLEAR_TOKEN_IO } from '../../shared/model/ring/io-clear.js';
import { ClearPrims } from '../../shared/protocol/prims/clear.js';
import { Kernels } from '../../shared/ring/kernels.js';
import { createState, forward } from '../../shared/model/forward.js';
import { FRAC_BITS } from '../../shared/ring/fixed-point.js';
import { SIMPLE_NL } from '../util/simple-nonlinear.js';
import { TINY } from '../model/tiny-model.js';
import { startParties, writeTinyShares, type InProcessParties } from '../util/party-fixture.js';
import { seeded } from '../util/rng.js';

const LIMITS = { ...DEFAULT_LIMITS, timeoutMs: 8000 };

async function emulate(dir: string, prompt: number[], steps: number) {
  const weights = loadGpt2(dir);
  const ops = new RingOps(new ClearPrims(new Kernels()), SIMPLE_NL, CLEAR_TOKEN_IO, FRAC_BITS);
  const params = await ops.prepare(weights);
  const state = createState(ops, weights.config, prompt.length + steps);
  const hidden = new Map<string, BigUint64Array>();
  let call = 0;
  const onHidden = (i: number, h: { data: BigUint64Array }) => {
    hidden.set(`${call}:${i}`, h.data);
  };
  let logits = await forward(ops, params, state, prompt, { onHidden });
  const tokens: number[] = [];
  for (let s = 0; s < steps; s++) {
    const [t] = await ops.argmax(logits!);
    tokens.push(t!);
    if (s === steps - 1) break;
    call++;
    logits = await forward(ops, params, state, [t!], { onHidden });
  }
  return { tokens, hidden };
}

describe('private generation runtime (socket suite, services in process)', () => {
  const rng = seeded();
  const { modelDir, sharesDir, cfg, remove } = writeTinyShares('mpc-gen-', TINY, rng);
  let parties: InProcessParties, urls: [string, string], opts: InProcessParties['opts'];

  beforeAll(async () => {
    parties = await startParties(sharesDir, {
      nl: SIMPLE_NL,
      limits: LIMITS,
      powers: { testHooks: true, revealedPrefill: true },
    });
    ({ urls, opts } = parties);
  });
  afterAll(async () => {
    await parties.close();
    remove();
  });

  test(`secure tokens and hidden states equal the emulation's (seed ${rng.seed})`, async () => {
    const prompt = [3, 1, 4, 1, 5, 9, 2];
    const steps = 6;
    const hidden = new Map<string, BigUint64Array>();
    let call = 0,
      lastLayer = -1;
    const res = await runGeneration(
      urls,
      { shareId: cfg.shareId, promptLen: prompt.length, maxNewTokens: steps, revealLogits: false, revealHidden: true },
      prompt,
      TINY.vocab,
      opts,
      {
        onHidden: (i, v) => {
          if (i <= lastLayer) call++;
          lastLayer = i;
          hidden.set(`${call}:${i}`, v);
        },
      },
    );
    const ref = await emulate(modelDir, prompt, steps);
    expect(res.tokens).toEqual(ref.tokens);
    expect(hidden.size).toBe(ref.hidden.size);
    for (const [k, v] of ref.hidden) expect({ k, v: hidden.get(k) }).toEqual({ k, v });
    expect(res.reports[0].phases['prefill']).toBeDefined();
    expect(res.reports[0].phases[`decode.${steps - 2}`]).toBeDefined();
  });

  test('the client can stop early; the servers serve the next session', async () => {
    const prompt = [1, 2, 3];
    const res = await runGeneration(
      urls,
      { shareId: cfg.shareId, promptLen: 3, maxNewTokens: 8, revealLogits: false, revealHidden: false },
      prompt,
      TINY.vocab,
      opts,
      { onToken: (_t, step) => step === 1 },
    );
    expect(res.tokens.length).toBe(2);
    expect(res.stopped).toBe(true);
    const again = await runGeneration(
      urls,
      { shareId: cfg.shareId, promptLen: 3, maxNewTokens: 3, revealLogits: false, revealHidden: false },
      prompt,
      TINY.vocab,
      opts,
    );
    expect(again.tokens.slice(0, 2)).toEqual(res.tokens);
  });

  test('bad requests get coded errors: empty prompt, unknown token id, too long a prompt, shares of another model', async () => {
    const code = async (p: Promise<unknown>) => {
      try {
        await p;
        return 'ok';
      } catch (e) {
        return e instanceof MpcError ? e.code : String(e);
      }
    };
    const base = { shareId: cfg.shareId, revealLogits: false, revealHidden: false };
    expect(await code(runGeneration(urls, { ...base, promptLen: 0, maxNewTokens: 2 }, [], TINY.vocab, opts))).toBe(
      'E_INPUT',
    );
    expect(await code(runGeneration(urls, { ...base, promptLen: 2, maxNewTokens: 2 }, [1, 99], TINY.vocab, opts))).toBe(
      'E_INPUT',
    );
    expect(
      await code(
        runGeneration(urls, { ...base, promptLen: 20, maxNewTokens: 10 }, Array(20).fill(1), TINY.vocab, opts),
      ),
    ).toBe('E_INPUT');
    expect(
      await code(
        runGeneration(
          urls,
          { ...base, shareId: 'f'.repeat(32), promptLen: 2, maxNewTokens: 2 },
          [1, 2],
          TINY.vocab,
          opts,
        ),
      ),
    ).toBe('E_MODEL');
    const ok = await runGeneration(urls, { ...base, promptLen: 2, maxNewTokens: 2 }, [1, 2], TINY.vocab, opts);
    expect(ok.tokens.length).toBe(2);
  });

  test('parties started without --allow-test-hooks refuse every test hook and still serve plain jobs', async () => {
    const plainParties = await startParties(sharesDir, { nl: SIMPLE_NL, limits: LIMITS });
    const plain = plainParties.urls;
    try {
      const base = { shareId: cfg.shareId, promptLen: 2, maxNewTokens: 2, revealLogits: false, revealHidden: false };
      const err = async (req: GenerateRequest) => {
        try {
          await runGeneration(plain, req, [1, 2], TINY.vocab, plainParties.opts);
          return 'ok';
        } catch (e) {
          return e instanceof MpcError ? `${e.code}: ${e.message}` : String(e);
        }
      };
      for (const hook of [
        { revealHidden: true },
        { revealSelections: true, policy: 'streamingllm' },
        { prefill: 'revealed' as const },
      ]) {
        expect(await err({ ...base, ...hook })).toMatch(/^E_INPUT: .*--allow-(test-hooks|revealed-prefill)/);
      }
      expect((await runGeneration(plain, base, [1, 2], TINY.vocab, plainParties.opts)).tokens.length).toBe(2);
    } finally {
      await plainParties.close();
    }
  });
});
