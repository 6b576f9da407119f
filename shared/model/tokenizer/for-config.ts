/**
 * The tokenizer a model was trained with, chosen from its config (`"tokenizer": "byte"` for the
 * project's tiny models; GPT-2 BPE otherwise), checked against the model's vocabulary.
 */
import { MpcError } from '../../util/index.js';
import type { Gpt2Config } from '../config.js';
import { byteTokenizer } from './byte.js';
import { gpt2Tokenizer } from './gpt2-bpe.js';
import type { Tokenizer } from './types.js';

/**
 * @throws MpcError E_MODEL if the tokenizer's ids do not fit the model's vocabulary or the
 *   config's EOT id differs from the tokenizer's.
 */
export function tokenizerFor(config: Gpt2Config): Tokenizer {
  const tok = config.tokenizer === 'byte' ? byteTokenizer : gpt2Tokenizer;
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
