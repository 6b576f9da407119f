/**
 * The tokenizer a model was trained with, chosen from its config, checked against the model's
 * vocabulary:
 * - `"tokenizer": "byte"`: the project's byte tokenizer (its tiny models, the bench's random shapes);
 * - GPT-2 configs without the key (or `"gpt2"`): GPT-2's BPE (gpt-tokenizer's r50k_base);
 * - Llama configs without the key, and any config with `"tokenizer": "hf"`: the model folder's
 *   `tokenizer.json` (hf-json.ts), with the config's EOT id (`eot_token_id`, else the first
 *   `eos_token_id`) as end marker and its `bos_token_id` (else the EOT) first in every sequence,
 *   both among that file's special tokens.
 *
 * Llama configs with `"tokenizer": "byte"` and a 256-entry vocabulary (no room for id 256) use bytes
 * only, with the config's EOT id as the end marker, so that id doubles as a byte (the transformers
 * test fixtures).
 */
import { join, resolve } from 'node:path';
import { MpcError } from '../../util/index.js';
import type { ModelConfig } from '../llama-config.js';
import { byteTokenizer } from './byte.js';
import { gpt2Tokenizer } from './gpt2-bpe.js';
import { hfTokenizer } from './hf-json.js';
import type { Tokenizer } from './types.js';

/** The byte tokenizer over a 256-entry vocabulary, with `eot` (one of the bytes) as end marker. */
function bytesWithEot(eot: number): Tokenizer {
  return Object.freeze({
    name: 'byte',
    vocabSize: 256,
    eot,
    bos: eot,
    encode: (text: string) => byteTokenizer.encode(text),
    decode: (ids: readonly number[]) => {
      const bad = ids.findIndex((id) => !Number.isInteger(id) || id < 0 || id > 255);
      if (bad >= 0)
        throw new MpcError('E_INPUT', `byte tokenizer: token at index ${bad} is not an integer in [0, 256)`);
      return byteTokenizer.decode(ids);
    },
  });
}

function tokenizerJson(modelDir: string | undefined, eot: number, bos: number): Tokenizer {
  if (modelDir === undefined)
    throw new MpcError(
      'E_MODEL',
      "the config's tokenizer is the model folder's tokenizer.json, but no folder was given",
    );
  return hfTokenizer(join(resolve(modelDir), 'tokenizer.json'), eot, bos);
}

function chosen(config: ModelConfig, modelDir: string | undefined): Tokenizer {
  if (config.tokenizer === 'hf') return tokenizerJson(modelDir, config.eotTokenId, config.bosTokenId);
  if (config.tokenizer === 'gpt2') return gpt2Tokenizer;
  return config.arch === 'llama' && config.vocabSize === 256 ? bytesWithEot(config.eotTokenId) : byteTokenizer;
}

/**
 * The tokenizer of a model; `modelDir` is the model's folder, read when the tokenizer is its
 * tokenizer.json (every caller that has the folder passes it).
 * @throws MpcError E_MODEL if the tokenizer's ids do not fit the model's vocabulary, the config's
 *   EOT id differs from the tokenizer's, or tokenizer.json is needed and missing, unreadable,
 *   unsupported or without the EOT id among its special tokens.
 */
export function tokenizerFor(config: ModelConfig, modelDir?: string): Tokenizer {
  const tok = chosen(config, modelDir);
  // Checkpoints may pad the vocabulary (ids the tokenizer never produces), never shrink it.
  if (config.vocabSize < tok.vocabSize) {
    const file = tok.name === 'hf' ? ` (${join(resolve(modelDir!), 'tokenizer.json')})` : '';
    throw new MpcError(
      'E_MODEL',
      `vocab_size ${config.vocabSize} is smaller than the ${tok.name} tokenizer's ${tok.vocabSize}${file}`,
    );
  }
  for (const [which, want, got] of [
    ['EOT', config.eotTokenId, tok.eot],
    ['BOS', config.bosTokenId, tok.bos],
  ] as const) {
    if (want !== got)
      throw new MpcError(
        'E_MODEL',
        `${which} id ${want} in the config differs from the ${tok.name} tokenizer's ${got}`,
      );
  }
  return tok;
}
