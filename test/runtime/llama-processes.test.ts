/**
 * Issue 15, the runtime path over real processes (socket suite, slow): the transformers Llama
 * fixture (4 query heads on 2 key/value heads) shared into two share files as `share-model` does,
 * the dealer and both parties as separate OS processes loading them (the share file's config and
 * the dealer's load job dispatch on `model_type: llama`), and a client generating privately. The
 * secure tokens equal the fixed-point emulation's, with the full cache and with MPCache.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { launchCluster, shareFlags, type Cluster } from '../../shared/runtime/launch.js';
import { runGeneration } from '../../shared/runtime/gen-client.js';
import { referenceGenerate } from '../../shared/runtime/reference.js';
import { encodeAnyModel, loadAnyModel } from '../../shared/model/ring/any-model.js';
import { sha256File, writeShares } from '../../shared/model/ring/share-file.js';
import { getPolicy } from '../../shared/kvcache/index.js';
import { LLAMA_DIRS } from '../model/llama-fixture.js';
import { seeded } from '../util/rng.js';

const OPTS = { timeoutMs: 30000, maxFrameBytes: 1 << 26 };
/** MPCache with static eviction and per-step clusters, at a budget that evicts from a 36-token prompt. */
const MPCACHE = { clusters: [8, 4], budget: 16, staticRatio: 0.7 };
const STEPS = 8;

describe('Llama private generation across three processes (socket suite, slow)', () => {
  const rng = seeded();
  const modelDir = LLAMA_DIRS[0]!;
  const weights = loadAnyModel(modelDir);
  const sharesDir = mkdtempSync(join(tmpdir(), 'mpc-llama-'));
  const cfg = writeShares(
    sharesDir,
    JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as Record<string, unknown>,
    sha256File(join(modelDir, 'model.safetensors')),
    encodeAnyModel(weights),
  );
  let c: Cluster;

  beforeAll(async () => {
    c = await launchCluster({ timeoutMs: OPTS.timeoutMs, extra: shareFlags(sharesDir) });
  }, 60000);
  afterAll(async () => {
    await c.stop();
    rmSync(sharesDir, { recursive: true, force: true });
  });

  test('the share file holds a Llama model', () => {
    expect(weights.config.arch).toBe('llama');
    expect(cfg.model['model_type']).toBe('llama');
  });

  test.each([
    ['full', undefined, undefined],
    ['mpcache', 'mpcache', MPCACHE],
  ] as const)(
    `%s: ${STEPS} secure tokens equal the emulation's (seed ${rng.seed})`,
    async (_name, policy, policyOptions) => {
      const prompt = Array.from({ length: 36 }, () => rng.int(0, weights.config.vocabSize));
      const res = await runGeneration(
        c.clientUrls,
        {
          shareId: cfg.shareId,
          promptLen: prompt.length,
          maxNewTokens: STEPS,
          revealLogits: false,
          revealHidden: false,
          ...(policy ? { policy, policyOptions } : {}),
        },
        prompt,
        weights.config.vocabSize,
        { ...OPTS, tls: c.clientTls },
      );
      const ref = await referenceGenerate(weights, prompt, STEPS, policy ? getPolicy(policy, policyOptions) : null);
      expect(res.tokens).toHaveLength(STEPS);
      expect(res.tokens).toEqual(ref.fixed);
    },
    120000,
  );
});
