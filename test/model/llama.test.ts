/**
 * Issue 15: Llama checkpoints. The float64 forward against logits that transformers'
 * LlamaForCausalLM computed in float64 (scripts/fixtures/tiny-llama.py; an untied F16 and a tied
 * BF16 model with grouped-query attention), and the config and loader's refusals.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  createState,
  floatOps,
  forward,
  loadLlama,
  parseLlamaConfig,
  parseModelConfig,
  tokenizerFor,
  type LlamaWeights,
} from '../../shared/model/index.js';
import { MpcError } from '../../shared/util/index.js';
import { LLAMA_DIRS, reference } from './llama-fixture.js';

/** Logits of every position for the prompt, in float64: the whole prompt at once, or token by token. */
async function floatLogits(w: LlamaWeights, tokens: number[], stepwise: boolean): Promise<Float64Array> {
  const params = await floatOps.prepareLlama(w);
  const state = createState(floatOps, w.config, tokens.length);
  if (!stepwise) return (await forward(floatOps, params, state, tokens, { logits: 'all' }))!.data;
  const rows: Float64Array[] = [];
  for (const t of tokens) rows.push((await forward(floatOps, params, state, [t]))!.data);
  return Float64Array.from(rows.flatMap((r) => [...r]));
}

function maxDiff(got: Float64Array, want: number[][]): number {
  const flat = want.flat();
  expect(got.length).toBe(flat.length);
  return flat.reduce((m, v, i) => Math.max(m, Math.abs(v - got[i]!)), 0);
}

describe('Llama float64 forward equals transformers (fixture)', () => {
  test.each(LLAMA_DIRS)('%s: logits within 1e-9, prefill and step by step', async (dir) => {
    const w = loadLlama(dir);
    const ref = reference(dir);
    expect(w.config).toMatchObject({ arch: 'llama', nHead: 4, nKvHead: 2, headDim: 16, ropeTheta: 10000 });
    expect(w.lmHead === w.wte).toBe(w.config.tieWordEmbeddings);
    const err = maxDiff(await floatLogits(w, ref.tokens, false), ref.logits);
    console.log(`${dir}: float64 vs transformers, largest logit difference ${err.toExponential(2)}`);
    expect(err).toBeLessThan(1e-9);
    expect(maxDiff(await floatLogits(w, ref.tokens, true), ref.logits)).toBeLessThan(1e-9);
  });

  test('the comparison can fail: a changed RoPE base or a swapped KV head moves the logits', async () => {
    const dir = LLAMA_DIRS[0]!;
    const w = loadLlama(dir);
    const ref = reference(dir);
    const theta = { ...w, config: { ...w.config, ropeTheta: 500 } };
    expect(maxDiff(await floatLogits(theta, ref.tokens, false), ref.logits)).toBeGreaterThan(1e-3);
    const mha = { ...w, config: { ...w.config, nKvHead: 1, nHead: 4 } };
    await expect(floatLogits(mha, ref.tokens, false)).rejects.toThrow();
  });
});

describe('Llama config and loader', () => {
  const base = JSON.parse(readFileSync(join(LLAMA_DIRS[0]!, 'config.json'), 'utf8')) as Record<string, unknown>;
  const code = (f: () => unknown): string => {
    try {
      f();
      return 'ok';
    } catch (e) {
      return e instanceof MpcError ? e.code : String(e);
    }
  };

  test('model_type picks the architecture; rope_theta may be top-level (transformers < 5) or in rope_parameters', () => {
    expect(parseModelConfig(base).arch).toBe('llama');
    const gpt2 = { n_layer: 1, n_head: 1, n_embd: 4, n_positions: 8, vocab_size: 50257 };
    expect(parseModelConfig({ ...gpt2, model_type: 'gpt2' }).arch).toBe('gpt2');
    expect(parseModelConfig(gpt2).arch).toBe('gpt2');
    expect(code(() => parseModelConfig({ ...base, model_type: 'gpt2' }))).toBe('E_MODEL');
    const old = { ...base, rope_parameters: undefined, rope_theta: 100000, eos_token_id: [7, 2] };
    expect(parseLlamaConfig(old)).toMatchObject({ ropeTheta: 100000, eotTokenId: 7, nKvHead: 2 });
    expect(parseLlamaConfig({ ...base, num_key_value_heads: undefined }).nKvHead).toBe(4);
  });

  test.each([
    ['biases', { attention_bias: true }],
    ['another activation', { hidden_act: 'gelu' }],
    ['scaled RoPE', { rope_parameters: { rope_theta: 1e4, rope_type: 'llama3', factor: 8 } }],
    ['old-style RoPE scaling', { rope_scaling: { type: 'linear', factor: 2 } }],
    ['uneven groups', { num_key_value_heads: 3 }],
    ['odd head width', { head_dim: 15 }],
    ['EOT outside the vocabulary', { eos_token_id: 256 }],
  ])('refuses %s with E_MODEL', (_what, change) => {
    expect(code(() => parseLlamaConfig({ ...base, ...change }))).toBe('E_MODEL');
  });
});

describe('Llama tokenizers', () => {
  const base = JSON.parse(readFileSync(join(LLAMA_DIRS[0]!, 'config.json'), 'utf8')) as Record<string, unknown>;
  test('"tokenizer": "byte" over 256 ids: bytes, with the config\'s EOT id as end marker', () => {
    const tok = tokenizerFor(parseLlamaConfig(base));
    expect(tok.name).toBe('byte');
    expect(tok.eot).toBe(2);
    expect(tok.encode('hé')).toEqual([104, 195, 169]);
    expect(tok.decode([104, 195, 169])).toBe('hé');
  });
  test('"tokenizer": "byte" with room for id 256: the byte tokenizer itself', () => {
    const tok = tokenizerFor(parseLlamaConfig({ ...base, vocab_size: 257, eos_token_id: 256 }));
    expect(tok.eot).toBe(256);
    expect(tok.vocabSize).toBe(257);
  });
  test('without "tokenizer": "byte", the folder\'s tokenizer.json: E_MODEL without a folder or that file', () => {
    const { tokenizer: _t, ...hf } = base;
    for (const dir of [undefined, LLAMA_DIRS[0]!]) {
      let got: unknown;
      try {
        tokenizerFor(parseLlamaConfig(hf), dir);
      } catch (e) {
        got = e;
      }
      expect(got).toBeInstanceOf(MpcError);
      expect((got as MpcError).code).toBe('E_MODEL');
    }
  });
});
