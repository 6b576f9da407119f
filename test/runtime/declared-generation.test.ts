/**
 * The declared cost of a generation (scripts/bench/declared.ts: the program on shapes, no protocol)
 * equals what a secure run over real sockets meters, phase by phase: online frame bytes each way,
 * rounds, and dealer frame bytes to party 1 (the decoding steps after a revealed prefill too; the
 * revealed prefill's own openings are declared by no correlation). The eviction Pareto report relies
 * on it (socket suite, services in process).
 */
import { DEFAULT_LIMITS } from '../../shared/net/limits.js';
import { runGeneration } from '../../shared/runtime/gen-client.js';
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
