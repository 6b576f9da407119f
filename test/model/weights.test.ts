import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  gpt2WeightsFromSafetensors,
  loadGpt2,
  parseGpt2Config,
  parseSafetensors,
  type TensorToWrite,
} from '../../shared/model/index.js';
import { MpcError } from '../../shared/util/index.js';
import { seeded } from '../util/rng.js';
import { TINY, hfConfig, randomTensors, toFile, withPrefix } from './tiny-model.js';

function message(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof MpcError ? e.message : `non-MpcError: ${String(e)}`;
  }
  return 'no error';
}

describe('GPT-2 config', () => {
  test('parses an HF config and fills GPT-2 defaults', () => {
    const c = parseGpt2Config({
      n_layer: 12,
      n_head: 12,
      n_embd: 768,
      n_positions: 1024,
      vocab_size: 50257,
      n_ctx: 1024,
      architectures: ['GPT2LMHeadModel'],
    });
    expect(c).toMatchObject({
      nLayer: 12,
      headDim: 64,
      nInner: 3072,
      lnEps: 1e-5,
      tokenizer: 'gpt2',
      eotTokenId: 50256,
      tieWordEmbeddings: true,
    });
    const tiny = parseGpt2Config(hfConfig(TINY));
    expect(tiny).toMatchObject({ tokenizer: 'byte', eotTokenId: TINY.vocab - 1, vocabSize: TINY.vocab });
  });

  const bad: [string, Record<string, unknown>, RegExp][] = [
    ['missing n_head', { n_head: undefined }, /invalid n_head/],
    ['fractional n_layer', { n_layer: 1.5 }, /invalid n_layer/],
    ['indivisible heads', { n_head: 3 }, /not divisible by n_head 3/],
    ['other activation', { activation_function: 'relu' }, /activation_function "relu" is not supported/],
    ['other model type', { model_type: 'llama' }, /model_type "llama"/],
    ['scaled by layer index', { scale_attn_by_inverse_layer_idx: true }, /attention scaling/],
    ['byte model without EOT', { eot_token_id: undefined }, /needs eot_token_id/],
    ['EOT outside vocabulary', { eot_token_id: 99 }, /EOT id 99 is outside/],
    ['unknown tokenizer', { tokenizer: 'sentencepiece' }, /invalid tokenizer/],
  ];
  test.each(bad)('rejects %s with E_MODEL', (_, patch, msg) => {
    const got = message(() => parseGpt2Config({ ...hfConfig(TINY), ...patch }, 'cfg.json'));
    expect(got).toMatch(/^E_MODEL: cfg\.json: /);
    expect(got).toMatch(msg);
  });
});

describe('GPT-2 weights from safetensors', () => {
  const rng = seeded(11);
  const config = parseGpt2Config(hfConfig(TINY));
  const tensors = randomTensors(TINY, rng, 'F32');
  const load = (t: Record<string, TensorToWrite>) =>
    gpt2WeightsFromSafetensors(config, parseSafetensors(toFile(t), 'm.safetensors'));

  test('maps HF names, with or without the transformer. prefix, ignoring mask buffers', () => {
    const plain = load(tensors);
    expect(plain.blocks).toHaveLength(2);
    expect(plain.blocks[1]?.attnQkv).toMatchObject({ inDim: 8, outDim: 24 });
    expect(plain.lmHead).toBe(plain.wte); // tied
    const buffers = {
      'h.0.attn.bias': { dtype: 'F32', shape: [1, 1, 24, 24], data: new Float64Array(576) },
      'h.1.attn.masked_bias': { dtype: 'F32', shape: [], data: [-1e4] },
    } as const;
    const prefixed = load({ ...withPrefix({ ...tensors, ...buffers }, 'transformer.') });
    expect(prefixed.wpe).toEqual(plain.wpe);
    expect(prefixed.blocks[0]?.mlpProj.weight).toEqual(plain.blocks[0]?.mlpProj.weight);
  });

  test('uses an untied lm_head when present', () => {
    const head = {
      dtype: 'F32' as const,
      shape: [TINY.vocab, TINY.nEmbd],
      data: new Float64Array(TINY.vocab * TINY.nEmbd).fill(0.5),
    };
    const w = load({ ...withPrefix(tensors, 'transformer.'), 'lm_head.weight': head });
    expect(w.lmHead).not.toBe(w.wte);
    expect(w.lmHead[3]).toBe(0.5);
  });

  test('rejects missing, misshapen and unexpected tensors', () => {
    const { ['h.1.ln_2.bias']: _, ...missing } = tensors;
    expect(message(() => load(missing))).toMatch(/^E_MODEL: m\.safetensors: missing tensor "h\.1\.ln_2\.bias"/);
    const transposed = {
      ...tensors,
      'h.0.attn.c_attn.weight': { dtype: 'F32' as const, shape: [24, 8], data: new Float64Array(192) },
    };
    expect(message(() => load(transposed))).toMatch(
      /"h\.0\.attn\.c_attn\.weight" has shape \[24, 8\], config implies \[8, 24\]/,
    );
    const deeper = randomTensors({ ...TINY, nLayer: 3 }, rng, 'F32');
    expect(message(() => load(deeper))).toMatch(/unexpected tensors "h\.2\.ln_1\.weight".*config has 2 layers/);
    const both = { ...tensors, 'transformer.wte.weight': tensors['wte.weight'] as TensorToWrite };
    expect(message(() => load(both))).toMatch(/"wte\.weight" appears twice/);
    const untied = parseGpt2Config(hfConfig(TINY, { tie_word_embeddings: false }));
    expect(message(() => gpt2WeightsFromSafetensors(untied, parseSafetensors(toFile(tensors))))).toMatch(
      /missing tensor "lm_head\.weight"/,
    );
  });

  test('loads a model folder, and names the file when it is absent', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gpt2-'));
    try {
      writeFileSync(join(dir, 'config.json'), JSON.stringify(hfConfig(TINY)));
      expect(message(() => loadGpt2(dir))).toMatch(/^E_MODEL: .*model\.safetensors: cannot read \(ENOENT\)/);
      writeFileSync(join(dir, 'model.safetensors'), toFile(tensors));
      expect(loadGpt2(dir).config.nLayer).toBe(2);
      writeFileSync(join(dir, 'config.json'), '{"n_layer": ');
      expect(message(() => loadGpt2(dir))).toMatch(/^E_MODEL: .*config\.json: cannot read config/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
