import { beforeAll, describe, expect, test } from '@jest/globals';
import {
  createState,
  floatOps,
  forward,
  generate,
  GreedySession,
  gpt2WeightsFromSafetensors,
  parseGpt2Config,
  parseSafetensors,
  type FloatTensor,
  type FloatTypes,
  type ModelParams,
} from '../../shared/model/index.js';
import { MpcError } from '../../shared/util/index.js';
import { seeded } from '../util/rng.js';
import { TINY, hfConfig, maxAbsDiff, naiveLastLogits, naiveLogits, randomTensors, toFile } from './tiny-model.js';

const rng = seeded();
const tensors = randomTensors(TINY, rng, 'F64');
const config = parseGpt2Config(hfConfig(TINY));
const weights = gpt2WeightsFromSafetensors(config, parseSafetensors(toFile(tensors)));
const tokens = Array.from({ length: 17 }, () => rng.int(0, TINY.vocab));
const seedNote = `seed ${rng.seed}`;
let params: ModelParams<FloatTypes>;

const TOL = 1e-10;

async function logitsAll(toks: number[]): Promise<FloatTensor> {
  const state = createState(floatOps, config, toks.length);
  return (await forward(floatOps, params, state, toks, { logits: 'all' })) as FloatTensor;
}

beforeAll(async () => {
  params = await floatOps.prepare(weights);
});

describe('float64 forward pass', () => {
  test(`matches a naive implementation at every position (${seedNote})`, async () => {
    const got = await logitsAll(tokens);
    expect(got.shape).toEqual([tokens.length, TINY.vocab]);
    const want = naiveLogits(TINY, tensors, tokens).flat();
    expect(maxAbsDiff(got.data, want)).toBeLessThan(TOL);
  });

  test(`prefill then one token at a time equals full recomputation (${seedNote})`, async () => {
    const state = createState(floatOps, config, tokens.length);
    const prefill = 5;
    let logits = (await forward(floatOps, params, state, tokens.slice(0, prefill))) as FloatTensor;
    expect(logits.shape).toEqual([1, TINY.vocab]);
    expect(maxAbsDiff(logits.data, naiveLastLogits(TINY, tensors, tokens.slice(0, prefill)))).toBeLessThan(TOL);
    for (let i = prefill; i < tokens.length; i++) {
      logits = (await forward(floatOps, params, state, [tokens[i] as number])) as FloatTensor;
      expect(maxAbsDiff(logits.data, naiveLastLogits(TINY, tensors, tokens.slice(0, i + 1)))).toBeLessThan(TOL);
    }
    expect(state.position).toBe(tokens.length);
    expect(state.caches.map((c) => c.length)).toEqual([tokens.length, tokens.length]);
  });

  test('chunked prefill (several tokens per call) equals one prefill', async () => {
    const whole = await logitsAll(tokens);
    const state = createState(floatOps, config, tokens.length);
    const parts: number[] = [];
    for (const [a, b] of [
      [0, 3],
      [3, 4],
      [4, 11],
      [11, 17],
    ] as const) {
      const l = (await forward(floatOps, params, state, tokens.slice(a, b), { logits: 'all' })) as FloatTensor;
      parts.push(...l.data);
    }
    expect(maxAbsDiff(parts, whole.data)).toBeLessThan(1e-12);
  });

  test('reports the residual stream after the embedding and after every block', async () => {
    const seen: [number, readonly number[]][] = [];
    const state = createState(floatOps, config, 4);
    await forward(floatOps, params, state, tokens.slice(0, 4), {
      onHidden: (i, h) => {
        seen.push([i, h.shape]);
      },
    });
    expect(seen).toEqual([
      [0, [4, 8]],
      [1, [4, 8]],
      [2, [4, 8]],
    ]);
  });

  test('refuses positions past n_positions, a full cache and ids outside the vocabulary', async () => {
    const codeOf = async (p: Promise<unknown>) =>
      p.then(
        () => 'no error',
        (e: unknown) => (e instanceof MpcError ? e.code : String(e)),
      );
    expect(() => createState(floatOps, config, TINY.nPositions + 1)).toThrow(/outside 1\.\.24/);
    const state = createState(floatOps, config, 3);
    expect(await codeOf(forward(floatOps, params, state, [1, 2, 3, 4]))).toBe('E_INPUT');
    expect(await codeOf(forward(floatOps, params, createState(floatOps, config, 3), [TINY.vocab]))).toBe('E_INPUT');
    expect(await codeOf(forward(floatOps, params, createState(floatOps, config, 3), []))).toBe('E_INPUT');
    const long = createState(floatOps, config, TINY.nPositions);
    long.position = TINY.nPositions - 1;
    expect(await codeOf(forward(floatOps, params, long, [1, 2]))).toBe('E_INPUT');
  });
});

describe('greedy generation', () => {
  /** Reference: argmax of the naive logits, recomputed from scratch each step. */
  function naiveGreedy(prompt: number[], steps: number): number[] {
    const seq = [...prompt];
    const out: number[] = [];
    for (let s = 0; s < steps; s++) {
      const l = naiveLastLogits(TINY, tensors, seq);
      const next = l.indexOf(Math.max(...l));
      out.push(next);
      seq.push(next);
    }
    return out;
  }

  test(`matches naive greedy decoding (${seedNote})`, async () => {
    const prompt = tokens.slice(0, 6);
    const want = naiveGreedy(prompt, 8);
    const cut = want.indexOf(config.eotTokenId);
    const got = await generate(floatOps, params, prompt, { maxNewTokens: 8 });
    if (cut >= 0) expect(got).toEqual({ tokens: want.slice(0, cut), stoppedBy: 'eot' });
    else expect(got).toEqual({ tokens: want, stoppedBy: 'max' });
  });

  test('decode placement (extra tokens fed one by one) gives the same tokens as one prefill', async () => {
    const noEot = { maxNewTokens: 6, eot: -1 };
    const a = await generate(floatOps, params, tokens.slice(0, 10), noEot);
    const b = await generate(floatOps, params, tokens.slice(0, 4), { ...noEot, extra: tokens.slice(4, 10) });
    expect(b).toEqual(a);
    expect(a.stoppedBy).toBe('max');
    const stopped = await generate(floatOps, params, tokens.slice(0, 10), { ...noEot, stop: (g) => g.length === 2 });
    expect(stopped).toEqual({ tokens: a.tokens.slice(0, 2), stoppedBy: 'stop' });
  });

  test('stops on EOT without keeping it, and reuses a supplied state', async () => {
    const first = (await generate(floatOps, params, tokens.slice(0, 5), { maxNewTokens: 1, eot: -1 }))
      .tokens[0] as number;
    const state = createState(floatOps, config, 12);
    const r = await generate(floatOps, params, tokens.slice(0, 5), { maxNewTokens: 4, eot: first, state });
    expect(r).toEqual({ tokens: [], stoppedBy: 'eot' });
    const again = await generate(floatOps, params, tokens.slice(0, 5), { maxNewTokens: 1, eot: -1, state });
    expect(again.tokens).toEqual([first]);
  });

  test('a session continues after an answer: feed, generate, feed, generate', async () => {
    const noEot = { maxNewTokens: 3, eot: -1 };
    const session = new GreedySession(floatOps, params, createState(floatOps, config, 20));
    await session.prefill(tokens.slice(0, 5));
    const a1 = await session.generate(noEot);
    await session.feed(tokens.slice(5, 8));
    const a2 = await session.generate(noEot);
    expect(session.positions).toBe(5 + 3 + 3 + 3);
    // The same stream as one sequence: the answer's last token is fed before the next question.
    const again = await generate(floatOps, params, [...tokens.slice(0, 5), ...a1.tokens, ...tokens.slice(5, 8)], noEot);
    expect(again.tokens).toEqual(a2.tokens);
    await expect(session.prefill([1])).rejects.toThrow(/first call/);
  });

  test('refuses runs that need more positions than available', async () => {
    await expect(generate(floatOps, params, tokens, { maxNewTokens: TINY.nPositions })).rejects.toThrow(
      /need 40 positions; only 24 available/,
    );
    await expect(generate(floatOps, params, [], { maxNewTokens: 1 })).rejects.toThrow(/non-empty prompt/);
  });
});
