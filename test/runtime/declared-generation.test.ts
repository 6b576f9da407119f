/**
 * The declared cost of a generation (scripts/bench/declared.ts: the program on shapes, no protocol)
 * equals what a secure run over real sockets meters, phase by phase: online frame bytes each way,
 * rounds, and dealer frame bytes to party 1 (the decoding steps after a revealed prefill too; the
 * revealed prefill's own openings are declared by no correlation). The eviction Pareto report relies
 * on it (socket suite, services in process).
 */
import { DEFAULT_LIMITS } from '../../shared/net/limits.js';
import { runGeneration } from '../../shared/runtime/gen-client.js';
import { CLIENT_INPUT_MAX_ELEMENTS, embedClientTokens } from '../../shared/runtime/generation.js';
import type { FixedHandle, Prims } from '../../shared/protocol/prims/types.js';
import type { AnyTensor } from '../../shared/ring/tensor.js';
import { RingOps } from '../../shared/model/ring/ops.js';
import { CLEAR_TOKEN_IO } from '../../shared/model/ring/io-clear.js';
import { ClearPrims } from '../../shared/protocol/prims/clear.js';
import { Kernels } from '../../shared/ring/kernels.js';
import { FRAC_BITS } from '../../shared/ring/fixed-point.js';
import { generate } from '../../shared/model/index.js';
import { STANDARD_NL } from '../../shared/model/ring/recipes.js';
import { loadGpt2 } from '../../shared/model/weights.js';
import { declaredGeneration } from '../../scripts/bench/declared.js';
import type { TinySpec } from '../model/tiny-model.js';
import { startParties, writeTinyShares, type InProcessParties } from '../util/party-fixture.js';
import { seeded } from '../util/rng.js';

const SPEC: TinySpec = { nLayer: 2, nHead: 2, nEmbd: 8, nPositions: 64, vocab: 13 };
const LIMITS = { ...DEFAULT_LIMITS, timeoutMs: 20000 };

describe('declared generation cost equals the meter (socket suite, services in process)', () => {
  const rng = seeded();
  const tiny = writeTinyShares('mpc-decl-', SPEC, rng);
  let P: InProcessParties;
  beforeAll(async () => {
    P = await startParties(tiny.sharesDir, { nl: STANDARD_NL, limits: LIMITS, powers: { revealedPrefill: true } });
  });
  afterAll(async () => {
    await P.close();
    tiny.remove();
  });

  test.each([
    ['full, secure prefill', {}],
    [
      'mpcache static only, revealed prefill',
      {
        policy: 'mpcache',
        policyOptions: { staticRatio: 0.5, dynamicRatio: 1, denseLayers: 0 },
        prefill: 'revealed' as const,
      },
    ],
    [
      'mpcache with the dynamic step',
      { policy: 'mpcache', policyOptions: { clusters: [8, 4], budget: 16, staticRatio: 0.7 } },
    ],
  ])(
    `%s (seed ${rng.seed})`,
    async (_name, extra) => {
      const prompt = Array.from({ length: 34 }, () => rng.int(0, SPEC.vocab));
      const request = { shareId: tiny.cfg.shareId, promptLen: prompt.length, maxNewTokens: 4, ...extra };
      const res = await runGeneration(P.urls, request, prompt, SPEC.vocab, P.opts);
      const declared = await declaredGeneration(loadGpt2(tiny.modelDir).config, request);
      // a revealed prefill opens its inputs in rounds of its own, which no correlation declares: decoding only
      for (const phase of [...('prefill' in extra ? [] : ['prefill']), 'decode.0', 'decode.1', 'decode.2']) {
        const d = declared.get(phase)!,
          a = res.reports[0].phases[phase]!,
          b = res.reports[1].phases[phase]!;
        expect({ phase, p0: a.sentBytes, p1: b.sentBytes, rounds: a.rounds, dealer: b.dealerRecvBytes }).toEqual({
          phase,
          p0: d.frameBytes,
          p1: d.frameBytes,
          rounds: d.rounds,
          dealer: d.dealerFrameBytes,
        });
      }
    },
    60000,
  );
});

describe('a prompt larger than one client input goes in chunks of rows (socket suite, services in process)', () => {
  // GPT-2's vocabulary: a chunk holds ⌊2^23 / 50 257⌋ = 166 one-hot rows, so 200 tokens take two
  const SPEC_BIG: TinySpec = { nLayer: 1, nHead: 2, nEmbd: 8, nPositions: 256, vocab: 50257 };
  const rng = seeded();
  const tiny = writeTinyShares('mpc-chunk-', SPEC_BIG, rng);
  let P: InProcessParties;
  beforeAll(async () => {
    P = await startParties(tiny.sharesDir, { nl: STANDARD_NL, limits: LIMITS });
  });
  afterAll(async () => {
    await P.close();
    tiny.remove();
  });

  test(`two chunks: tokens equal the emulation, prefill declared == metered (seed ${rng.seed})`, async () => {
    const rows = Math.floor(CLIENT_INPUT_MAX_ELEMENTS / SPEC_BIG.vocab);
    const prompt = Array.from({ length: rows + 34 }, () => rng.int(0, SPEC_BIG.vocab));
    const request = { shareId: tiny.cfg.shareId, promptLen: prompt.length, maxNewTokens: 2 };
    const res = await runGeneration(P.urls, request, prompt, SPEC_BIG.vocab, P.opts);
    const ops = new RingOps(new ClearPrims(new Kernels()), STANDARD_NL, CLEAR_TOKEN_IO, FRAC_BITS);
    const params = await ops.prepare(loadGpt2(tiny.modelDir));
    expect(res.tokens).toEqual((await generate(ops, params, prompt, { maxNewTokens: 2, eot: -1 })).tokens);
    const d = (await declaredGeneration(loadGpt2(tiny.modelDir).config, request)).get('prefill')!;
    const a = res.reports[0].phases['prefill']!;
    expect({ p0: a.sentBytes, rounds: a.rounds }).toEqual({ p0: d.frameBytes, rounds: d.rounds });
    // the rows each client-assisted product took
    const taken: number[] = [];
    const counting = {
      fixedMatmulClient: async (_w: unknown, K: number) => (taken.push(K), K),
      concatFirst: (xs: number[]) => xs.reduce((x, y) => x + y, 0),
    } as unknown as Prims<AnyTensor, FixedHandle>;
    const wte = { rowsCap: SPEC_BIG.vocab } as FixedHandle;
    expect(await embedClientTokens(counting, wte, prompt.length)).toBe(prompt.length);
    expect(taken).toEqual([rows, 34]);
  }, 120000);
});
