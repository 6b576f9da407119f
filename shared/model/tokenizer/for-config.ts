/**
 * The tokenizer a model was trained with, chosen from its config (`"tokenizer": "byte"` for the
 * project's tiny models; GPT-2 BPE otherwise), checked against the model's vocabulary.
 *
 * Llama configs: `"tokenizer": "byte"` is the byte tokenizer; a 256-entry vocabulary (no room for
 * id 256) uses bytes only, with the config's EOT id (`eot_token_id` or `eos_token_id`) as the end
 * marker, so that id doubles as a byte (the transformers test fixtures). `"hf"` (a checkpoint's
 * tokenizer.json) is not supported yet.
 */
import { MpcError } from '../../util/index.js';
import type { Gpt2Config } from '../config.js';
import type { ModelConfig } from '../llama-config.js';
import { byteTokenizer } from './byte.js';
import { gpt2Tokenizer } from './gpt2-bpe.js';
import type { Tokenizer } from './types.js';

/** The byte tokenizer over a 256-entry vocabulary, with `eot` (one of the bytes) as end marker. */
function bytesWithEot(eot: number): Tokenizer {
  return Object.freeze({
    name: 'byte',
    vocabSize: 256,
    eot,
    encode: (text: string) => byteTokenizer.encode(text),
    decode: (ids: readonly number[]) => {
      const bad = ids.findIndex((id) => !Number.isInteger(id) || id < 0 || id > 255);
      if (bad >= 0)
        throw new MpcError('E_INPUT', `byte tokenizer: token at index ${bad} is not an integer in [0, 256)`);
      return byteTokenizer.decode(ids);
    },
  });
}

function llamaTokenizer(config: Extract<ModelConfig, { arch: 'llama' }>): Tokenizer {
  if (config.tokenizer !== 'byte')
    throw new MpcError('E_MODEL', 'tokenizers from tokenizer.json are not supported yet (set "tokenizer": "byte")');
  return config.vocabSize === 256 ? bytesWithEot(config.eotTokenId) : byteTokenizer;
}

/**
 * @throws MpcError E_MODEL if the tokenizer's ids do not fit the model's vocabulary or the
 *   config's EOT id differs from the tokenizer's.
 */
export function tokenizerFor(config: ModelConfig): Tokenizer {
  const tok =
    config.arch === 'llama'
      ? llamaTokenizer(config)
      : (config as Gpt2Config).tokenizer === 'byte'
        ? byteTokenizer
        : gpt2Tokenizer;
  // Checkpoints may pad the vocabulary (ids the tokenizer never produces), never shrink it.
  if (config.vocabSize < tok.vocabSize) {
    throw new MpcError(
      'E_MODEL',
      `vocab_size ${config.vocabSize} is smaller than the ${tok.name} tokenizer's ${tok.vocabSize}`,
    );
  }
  if (config.eotTokenId !== tok.eot) {
    throw new MpcError(
      'E_MODEL',
      `EOT id ${config.eotTokenId} in the config differs from the ${tok.name} tokenizer's ${tok.eot}`,
    );
  }
  return tok;
}
