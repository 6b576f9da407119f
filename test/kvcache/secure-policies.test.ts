/**
 * Issue 6, secure side (socket suite, services in process): every policy that may run under MPC
 * (full, MPCache and its five ablations, StreamingLLM, both H2O variants, SnapKV, Quest, TOVA)
 * runs inside private generation, and on three prompts the secure run's selections — secret-shared
 * one-hots, reconstructed only here through the revealSelections test hook — and tokens equal the
 * fixed-point emulation's bit for bit. The oracle is refused with a clear error. A tiny model and
 * small clusters keep it fast; test/util/simple-nonlinear.ts stands in for the non-linear recipes
 * (the selections depend on the values either way; the real recipes run in the process test).
 */
import { runGeneration } from '../../shared/runtime/gen-client.js';
import { DEFAULT_LIMITS } from '../../shared/net/limits.js';
import { MpcError } from '../../shared/util/index.js';
import { loadGpt2 } from '../../shared/model/weights.js';
import { RingOps } from '../../shared/model/ring/ops.js';
import { CLEAR_TOKEN_IO } from '../../shared/model/ring/io-clear.js';
import { ClearPrims } from '../../shared/protocol/prims/clear.js';
import { Kernels } from '../../shared/ring/kernels.js';
import { FRAC_BITS } from '../../shared/ring/fixed-point.js';
import { PolicyAttention, getPolicy } from '../../shared/kvcache/index.js';
import { STANDARD_NL } from '../../shared/model/ring/recipes.js';
import { generate } from '../../shared/model/index.js';
import type { TinySpec } from '../model/tiny-model.js';
import { startParties, writeTinyShares, type InProcessParties } from '../util/party-fixture.js';
import { seeded } from '../util/rng.js';

const SPEC: TinySpec = { nLayer: 3, nHead: 2, nEmbd: 8, nPositions: 64, vocab: 13 };
const LIMITS = { ...DEFAULT_LIMITS, timeoutMs: 20000 };
/** Small clusters, pages and windows so that a 30–40-token prompt is both evicted from and selected in. */
const SMALL = { clusters: [8, 4], page: 4, window: 4, budget: 16, staticRatio: 0.7 };
const STEPS = 3;

interface Sel {
  what: 'topk' | 'gather';
  shape: number[];
  data: BigUint64Array;
}

/** The default MPCache rule (static eviction only, no dynamic step) at a ratio that evicts from a short prompt. */
const STATIC_ONLY = { staticRatio: 0.6, windowRatio: 0.2, staticBlock: 4, lookback: 1 };

async function emulate(
  dir: string,
  name: string,
  prompt: number[],
  options: object = SMALL,
): Promise<{ tokens: number[]; sels: Sel[] }> {
  const weights = loadGpt2(dir);
  const sels: Sel[] = [];
  const ops = new RingOps(new ClearPrims(new Kernels()), STANDARD_NL, CLEAR_TOKEN_IO, FRAC_BITS);
  const onSelection = (what: 'topk' | 'gather', sel: { shape: readonly number[]; data: BigUint64Array }) => {
    sels.push({ what, shape: [...sel.shape], data: sel.data });
  };
  const params = await ops.prepare(weights);
  const { tokens } = await generate(ops, params, prompt, {
    maxNewTokens: STEPS,
    policy: PolicyAttention.of(getPolicy(name, options), undefined, onSelection),
    eot: -1,
  });
  return { tokens, sels };
}

/** Each row of a reconstructed selection holds exactly one 1 and zeros, in ascending column order. */
function ascendingOneHots(s: Sel): boolean {
  const [g, k, n] = s.shape as [number, number, number];
  for (let r = 0; r < g * k; r++) {
    const row = Array.from(s.data.subarray(r * n, (r + 1) * n));
    if (row.filter((v) => v === 1n).length !== 1 || row.some((v) => v !== 0n && v !== 1n)) return false;
    if (r % k > 0 && row.indexOf(1n) <= Array.from(s.data.subarray((r - 1) * n, r * n)).indexOf(1n)) return false;
  }
  return true;
}

describe('policies in private generation: selections and tokens equal the emulation (socket suite, services in process)', () => {
  const rng = seeded();
  const { modelDir, sharesDir, cfg, remove } = writeTinyShares('mpc-pol-', SPEC, rng);
  const prompts = [30, 34, 40].map((n) => Array.from({ length: n }, () => rng.int(0, SPEC.vocab)));
  let parties: InProcessParties, urls: [string, string], OPTS: InProcessParties['opts'];

  beforeAll(async () => {
    parties = await startParties(sharesDir, {
      nl: STANDARD_NL,
      limits: LIMITS,
      powers: { testHooks: true, revealedPrefill: true },
    });
    ({ urls, opts: OPTS } = parties);
  });
  afterAll(async () => {
    await parties.close();
    remove();
  });

  async function secure(
    name: string,
    prompt: number[],
    extra: object = {},
    options: Record<string, number | number[]> = SMALL,
  ): Promise<{ tokens: number[]; sels: Sel[] }> {
    const sels: Sel[] = [];
    const res = await runGeneration(
      urls,
      {
        shareId: cfg.shareId,
        promptLen: prompt.length,
        maxNewTokens: STEPS,
        policy: name,
        policyOptions: options,
        revealSelections: true,
        ...extra,
      },
      prompt,
      SPEC.vocab,
      OPTS,
      {
        onSelection: (i, what, shape, data) => {
          sels[i] = { what, shape, data };
        },
      },
    );
    return { tokens: res.tokens, sels };
  }

  const cases = ['full', 'mpcache', 'streamingllm', 'h2o', 'h2o-prefill', 'snapkv', 'quest', 'tova'].flatMap((n) =>
    [0, 1, 2].map((i) => [n, i] as const),
  );
  test.each(cases)(
    `%s on prompt %i (seed ${rng.seed})`,
    async (name, i) => {
      const prompt = prompts[i]!;
      const [got, want] = [await secure(name, prompt), await emulate(modelDir, name, prompt)];
      expect(got.tokens).toEqual(want.tokens);
      expect(got.sels.length).toBe(want.sels.length);
      got.sels.forEach((s, k) => expect({ k, ...s }).toEqual({ k, ...want.sels[k]! }));
      // input-dependent policies really select (and only through one-hots); the others never do
      const selects = getPolicy(name, SMALL).inputDependent;
      expect(want.sels.length > 0).toBe(selects);
      for (const s of got.sels) expect(ascendingOneHots(s)).toBe(true);
      if (name === 'mpcache') {
        // the static keep-set (one for all heads, over the prompt's blocks of 8 but the first) and per-head cluster choices at decoding steps
        expect(
          got.sels.some(
            (s) => s.what === 'topk' && s.shape[0] === 1 && s.shape[2] === Math.floor(prompt.length / 8) - 1,
          ),
        ).toBe(true);
        expect(
          got.sels.some((s) => s.what === 'gather' && s.shape[0] === SPEC.nHead && s.shape[2]! < prompt.length / 4),
        ).toBe(true);
      }
    },
    60000,
  );

  test.each([0, 1, 2])(
    `mpcache's default rule, static eviction only, on prompt %i (seed ${rng.seed})`,
    async (i) => {
      const [got, want] = [
        await secure('mpcache', prompts[i]!, {}, STATIC_ONLY),
        await emulate(modelDir, 'mpcache', prompts[i]!, STATIC_ONLY),
      ];
      expect(got.tokens).toEqual(want.tokens);
      expect(got.sels).toEqual(want.sels);
      // per layer one static keep-set (blocks of 4 but the first) and the compaction that uses it; nothing at decoding steps
      expect(got.sels.map((s) => s.what)).toEqual(Array.from({ length: SPEC.nLayer }, () => ['topk', 'gather']).flat());
    },
    60000,
  );

  test.each([
    'mpcache-dynamic',
    'mpcache-single',
    'mpcache-bound',
    'mpcache-share',
    'mpcache-nostatic',
    'mpcache-sumstatic',
  ])(
    'ablation %s on prompt 2',
    async (name) => {
      const [got, want] = [await secure(name, prompts[2]!), await emulate(modelDir, name, prompts[2]!)];
      expect(got.tokens).toEqual(want.tokens);
      expect(got.sels).toEqual(want.sels);
      expect(got.sels.length).toBeGreaterThan(0);
    },
    60000,
  );

  test('a revealed prefill (benchmark mode) leaves the same state: selections and tokens still equal the emulation', async () => {
    const [got, want] = [
      await secure('mpcache', prompts[1]!, { prefill: 'revealed' }),
      await emulate(modelDir, 'mpcache', prompts[1]!),
    ];
    expect(got.tokens).toEqual(want.tokens);
    expect(got.sels).toEqual(want.sels);
  }, 60000);

  test('the oracle, unknown policies and bad options are refused with E_CONFIG before any work', async () => {
    const code = async (p: Promise<unknown>) => {
      try {
        await p;
        return 'ok';
      } catch (e) {
        return e instanceof MpcError ? e.code : String(e);
      }
    };
    const base = { shareId: cfg.shareId, promptLen: 3, maxNewTokens: 2 };
    const run = (extra: object) => runGeneration(urls, { ...base, ...extra }, [1, 2, 3], SPEC.vocab, OPTS);
    const oracle = run({ policy: 'oracle' });
    await expect(oracle).rejects.toThrow(/plaintext reference/);
    expect(await code(run({ policy: 'oracle' }))).toBe('E_CONFIG');
    expect(await code(run({ policy: 'nope' }))).toBe('E_CONFIG');
    expect(await code(run({ policy: 'mpcache', policyOptions: { alpha: 2 } }))).toBe('E_CONFIG');
    expect((await run({ policy: 'mpcache', policyOptions: SMALL })).tokens.length).toBe(2);
  }, 60000);
});
