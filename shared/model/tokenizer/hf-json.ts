/**
 * A checkpoint's own tokenizer, read from its `tokenizer.json` (the Hugging Face `tokenizers` format:
 * Llama-3, SmolLM2 and most recent checkpoints), through the npm package `@huggingface/tokenizers`
 * (pure JS, no network: it is handed the parsed file), behind the project's `Tokenizer` contract.
 *
 * It behaves as the Python/Rust `tokenizers` library's `Tokenizer.from_file(path)` does, which reads
 * tokenizer.json only (test/model/tokenizer-hf.test.ts compares ids with that library's):
 * - `encode` is `encode(text, add_special_tokens=False)`: the post-processor adds no BOS and no
 *   template (callers put `bos` first: the config's bos_token_id, else the EOT). Added tokens written in the
 *   text (`<|im_start|>`, the EOS) are matched as the library does, so chat templates work; unlike
 *   this project's GPT-2 tokenizer, text can thus contain control tokens. Only the client tokenizes,
 *   and it writes the prompt.
 * - `decode` is `decode(ids, skip_special_tokens=False)`: the file's decoder, special tokens written
 *   out, no clean-up of spaces (transformers' `clean_up_tokenization_spaces` is a tokenizer_config.json
 *   setting, not read here), broken UTF-8 (a generation cut mid-character) as U+FFFD.
 *
 * Encoding is a pure function of the file's bytes and the package's pinned version, so the same in
 * every process.
 */
import { readFileSync } from 'node:fs';
import { Tokenizer as PackageTokenizer } from '@huggingface/tokenizers';
import { MpcError } from '../../util/index.js';
import type { Tokenizer } from './types.js';

/**
 * What is used of the package's `Tokenizer` (0.2.0), typed here: its .d.ts files import without
 * file extensions, which TypeScript's NodeNext resolution does not follow, so the class types as `any`.
 */
interface HfTokenizer {
  encode(text: string, options: { add_special_tokens: boolean }): { ids: (number | undefined)[] };
  decode(ids: number[], options: { skip_special_tokens: boolean }): string;
  id_to_token(id: number): string | undefined;
  get_vocab(withAddedTokens: boolean): Map<string, number>;
  get_added_tokens_decoder(): Map<number, { special: boolean }>;
}

/** Reads and parses a tokenizer.json. @throws MpcError E_MODEL naming the file. */
function loadFile(path: string): HfTokenizer {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new MpcError('E_MODEL', `${path}: cannot read tokenizer (${(err as Error).message})`, { cause: err });
  }
  try {
    return new PackageTokenizer(json as object, { clean_up_tokenization_spaces: false }) as HfTokenizer;
  } catch (err) {
    throw new MpcError('E_MODEL', `${path}: unsupported tokenizer (${(err as Error).message})`, { cause: err });
  }
}

/** Ids of the tokenizer's special added tokens (those `decode` could skip: EOS, BOS, chat markers). */
function specialIds(tok: HfTokenizer): Set<number> {
  const ids = new Set<number>();
  for (const [id, added] of tok.get_added_tokens_decoder()) if (added.special) ids.add(id);
  return ids;
}

/**
 * The tokenizer of `path` (a tokenizer.json) with `eot` as its end marker and `bos` as what callers
 * put first.
 * @throws MpcError E_MODEL if the file is unreadable or not a tokenizer the package supports, or if
 *   `eot` or `bos` is not one of its special tokens.
 */
export function hfTokenizer(path: string, eot: number, bos = eot): Tokenizer {
  const hf = loadFile(path);
  let vocabSize = 0;
  for (const id of hf.get_vocab(true).values()) vocabSize = Math.max(vocabSize, id + 1);
  const special = specialIds(hf);
  for (const [which, id] of [
    ['EOT', eot],
    ['BOS', bos],
  ] as const) {
    if (special.has(id)) continue;
    const what = hf.id_to_token(id) === undefined ? 'not an id of' : 'not a special token of';
    throw new MpcError('E_MODEL', `${path}: the config's ${which} id ${id} is ${what} this tokenizer`);
  }
  return Object.freeze({
    name: 'hf',
    vocabSize,
    eot,
    bos,
    encode(text: string): number[] {
      const ids = hf.encode(text, { add_special_tokens: false }).ids;
      if (ids.some((id) => id === undefined))
        throw new MpcError(
          'E_INPUT',
          `${path}: the text has a piece with no id (and the tokenizer has no unknown token)`,
        );
      return ids as number[];
    },
    decode(ids: readonly number[]): string {
      ids.forEach((id, i) => {
        if (!Number.isInteger(id) || id < 0 || id >= vocabSize || hf.id_to_token(id) === undefined) {
          throw new MpcError('E_INPUT', `hf tokenizer: token at index ${i} is not an id of ${path}`);
        }
      });
      // the package refuses an empty list; the library's answer is ''
      return ids.length === 0 ? '' : hf.decode([...ids], { skip_special_tokens: false });
    },
  });
}
