/**
 * Policies inside the forward pass: equivalence with FULL_ATTENTION, the prefill fan-out, and
 * generation with a hand-built retrieval model whose right answer needs one known token.
 */
import { beforeAll, describe, expect, test } from '@jest/globals';
import {
  FULL_ATTENTION,
  createState,
  floatOps,
  forward,
  generate,
  gpt2WeightsFromSafetensors,
  parseGpt2Config,
  parseSafetensors,
  type AttentionPolicy,
  type FloatTensor,
  type FloatTypes,
  type Gpt2Weights,
  type ModelParams,
} from '../../shared/model/index.js';
import { PolicyAttention, PrefillFanout, floatInspector, getPolicy, policyNames } from '../../shared/kvcache/index.js';
import { MpcError } from '../../shared/util/index.js';
import { seeded } from '../util/rng.js';
import { hfConfig, randomTensors, toFile, type TinySpec } from '../model/tiny-model.js';
import { QUERY, key, needlePrompt, retrievalWeights, value } from './retrieval-model.js';

const SPEC: TinySpec = { nLayer: 3, nHead: 2, nEmbd: 8, nPositions: 160, vocab: 13 };
const rng = seeded();
const weights: Gpt2Weights = gpt2WeightsFromSafetensors(
  parseGpt2Config(hfConfig(SPEC)),
  parseSafetensors(toFile(randomTensors(SPEC, rng))),
);
const prompt = Array.from({ length: 120 }, () => rng.int(0, SPEC.vocab));
const steps = Array.from({ length: 12 }, () => rng.int(0, SPEC.vocab));
const small = { clusters: [8, 4], page: 4, window: 4 };
let params: ModelParams<FloatTypes>;

beforeAll(async () => {
  params = await floatOps.prepare(weights);
});

/** Logits after the prompt and after every step, as arrays. */
async function run(policy: AttentionPolicy): Promise<number[][]> {
  const state = createState(floatOps, weights.config, SPEC.nPositions);
  const out = [Array.from(((await forward(floatOps, params, state, prompt, { policy })) as FloatTensor).data)];
  for (const tok of steps)
    out.push(Array.from(((await forward(floatOps, params, state, [tok], { policy })) as FloatTensor).data));
  return out;
}

describe('policies in the forward pass', () => {
  test('the full policy and MPCache with a budget covering everything equal FULL_ATTENTION bit for bit', async () => {
    const want = await run(FULL_ATTENTION);
    expect(await run(PolicyAttention.of(getPolicy('full')))).toEqual(want);
    expect(await run(PolicyAttention.of(getPolicy('mpcache', { budget: 1000, staticRatio: 1, ...small })))).toEqual(
      want,
    );
    expect(await run(PolicyAttention.of(getPolicy('mpcache', { budget: 16, ...small, denseLayers: 3 })))).toEqual(want); // all dense
  });

  test('an evicting policy changes the logits after prefill, not before', async () => {
    const want = await run(FULL_ATTENTION);
    const got = await run(PolicyAttention.of(getPolicy('mpcache', { budget: 16, ...small })));
    expect(got[0]).toEqual(want[0]);
    expect(got.slice(1)).not.toEqual(want.slice(1));
  });

  test('one fanned-out prefill gives every policy exactly what its own run gives', async () => {
    const names = policyNames();
    const policies = names.map((n) => getPolicy(n, { budget: 24, ...small }));
    const fan = new PrefillFanout(policies);
    const state = createState(floatOps, weights.config, SPEC.nPositions);
    const first = Array.from(((await forward(floatOps, params, state, prompt, { policy: fan })) as FloatTensor).data);
    const decoders = fan.decoders();
    for (let i = 0; i < policies.length; i++) {
      const own = { caches: state.caches, position: state.position };
      const got = [first];
      for (const tok of steps)
        got.push(
          Array.from(((await forward(floatOps, params, own, [tok], { policy: decoders[i]! })) as FloatTensor).data),
        );
      expect({ policy: names[i], got }).toEqual({ policy: names[i], got: await run(PolicyAttention.of(policies[i]!)) });
    }
  });

  test('misuse is a clear error: decoding before a prefill, several tokens per step, prefilling a resumed session', async () => {
    const codeOf = (p: Promise<unknown>) =>
      p.then(
        () => 'no error',
        (e: unknown) => (e instanceof MpcError ? e.code : String(e)),
      );
    const policy = PolicyAttention.of(getPolicy('h2o', { budget: 20 }));
    const state = createState(floatOps, weights.config, SPEC.nPositions);
    state.position = 5;
    expect(await codeOf(forward(floatOps, params, state, [1], { policy }))).toBe('E_INPUT');
    const fresh = createState(floatOps, weights.config, SPEC.nPositions);
    await forward(floatOps, params, fresh, prompt.slice(0, 30), { policy });
    expect(await codeOf(forward(floatOps, params, fresh, [1, 2], { policy }))).toBe('E_INPUT');
    const fan = new PrefillFanout([getPolicy('tova', { budget: 20 })]);
    await forward(floatOps, params, createState(floatOps, weights.config, SPEC.nPositions), prompt.slice(0, 30), {
      policy: fan,
    });
    expect(
      await codeOf(
        forward(floatOps, params, createState(floatOps, weights.config, SPEC.nPositions), [1], {
          policy: fan.decoders()[0]!,
        }),
      ),
    ).toBe('E_INPUT');
  });
});

describe('generation with a hand-built retrieval model', () => {
  const model = retrievalWeights(3, 512);
  let rparams: ModelParams<FloatTypes>;
  beforeAll(async () => {
    rparams = await floatOps.prepare(model);
  });
  const NEEDLE = 201,
    V = 5,
    LEN = 300;

  /** Answers to the query asked at a decoding step, and whether layer 1's retrieval head (head 0) attended the needle. */
  async function ask(
    name: string,
    options: object,
    withQuery: boolean,
    at = NEEDLE,
  ): Promise<{ answer: number; attended: boolean }> {
    // the paper's static ratio and window, a dense first layer: the setting these expectations are written for
    const policy = PolicyAttention.of(
      getPolicy(name, { budget: 64, staticRatio: 0.3, windowRatio: 0.2, denseLayers: 1, ...options }),
      floatInspector,
    );
    const extra = withQuery ? [value(V), QUERY] : [QUERY];
    const r = await generate(floatOps, rparams, needlePrompt(LEN, at, V, withQuery), {
      maxNewTokens: 1,
      extra,
      policy,
      eot: -1,
    });
    const trace = policy.session!.trace(1)!;
    return { answer: r.tokens[0]!, attended: trace.attended[0]!.includes(at) };
  }

  test('full attention answers; the question in the prompt lets MPCache keep and find the needle', async () => {
    expect(await ask('full', {}, true)).toEqual({ answer: value(V), attended: true });
    expect(await ask('mpcache', {}, true)).toEqual({ answer: value(V), attended: true });
    expect(await ask('quest', {}, true)).toEqual({ answer: value(V), attended: true });
    expect(await ask('oracle', {}, true)).toEqual({ answer: value(V), attended: true });
    const streaming = await ask('streamingllm', {}, true);
    expect(streaming.attended).toBe(false);
    expect(streaming.answer).not.toBe(value(V));
  });

  test('asked after prefill: the dynamic selection finds the needle; the static set keeps it only if it ranks', async () => {
    expect(await ask('mpcache-nostatic', {}, false)).toEqual({ answer: value(V), attended: true });
    // Without the question every prompt key gets the same window attention: ties keep the first 30 %.
    expect((await ask('mpcache', {}, false, NEEDLE)).attended).toBe(false);
    expect(await ask('mpcache', {}, false, 60)).toEqual({ answer: value(V), attended: true });
    expect(key(V)).toBeLessThan(QUERY);
  });
});
