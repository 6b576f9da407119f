/**
 * GPT-2's byte-level BPE (OpenAI `r50k_base`, 50,257 ids, `<|endoftext|>` = 50256) through the
 * npm package `gpt-tokenizer`, behind the project's `Tokenizer` contract.
 *
 * Two deliberate differences from calling the package directly:
 * - `encode` treats the text "<|endoftext|>" as ordinary characters, as the byte tokenizer does,
 *   so user text can never inject a control token (the package would throw on it by default);
 * - `decode` flushes the package's shared streaming TextDecoder after every call. The package
 *   (4.0.0) decodes with `{ stream: true }` on a module-level decoder, so the bytes of a character
 *   cut at the end of one call (a generation stopped mid-character) were silently dropped and
 *   then prepended to the next call's output; flushing turns them into U+FFFD, here, instead.
 */
import { decoder as packageDecoder } from 'gpt-tokenizer/BytePairEncodingCore';
import { decode, encode, vocabularySize } from 'gpt-tokenizer/encoding/r50k_base';
import { MpcError } from '../../util/index.js';
import type { Tokenizer } from './types.js';

const EOT = 50256;
const NO_SPECIAL = { allowedSpecial: new Set<string>(), disallowedSpecial: new Set<string>() };

/** GPT-2's BPE tokenizer; `decode` writes `<|endoftext|>` for id 50256. */
export const gpt2Tokenizer: Tokenizer = Object.freeze({
  name: 'gpt2',
  vocabSize: vocabularySize,
  eot: EOT,
  bos: EOT,
  encode(text: string): number[] {
    return encode(text, NO_SPECIAL);
  },
  decode(ids: readonly number[]): string {
    ids.forEach((id, i) => {
      if (!Number.isInteger(id) || id < 0 || id >= vocabularySize) {
        throw new MpcError(
          'E_INPUT',
          `gpt2 tokenizer: token at index ${i} is not an integer in [0, ${vocabularySize})`,
        );
      }
    });
    return decode(ids) + packageDecoder.decode();
  },
});
