/**
 * Byte-level tokenizer of the embedded default model: ids 0..255 are the UTF-8 bytes of the text and
 * 256 is `<|endoftext|>`. No merges, so token counts equal UTF-8 byte counts, which makes the synthetic
 * tasks' length targets exact and keeps the vocabulary (and the secure embedding lookup) tiny.
 */
import { MpcError } from '../../util/index.js';
import type { Tokenizer } from './types.js';

const EOT = 256;
const encoder = new TextEncoder();
// fatal: false turns broken sequences (a generation cut mid-character) into U+FFFD instead of throwing.
const decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/** The byte tokenizer; `decode` writes `<|endoftext|>` for id 256. */
export const byteTokenizer: Tokenizer = Object.freeze({
  name: 'byte',
  vocabSize: 257,
  eot: EOT,
  bos: EOT,
  encode(text: string): number[] {
    return Array.from(encoder.encode(text));
  },
  decode(ids: readonly number[]): string {
    let out = '';
    let run: number[] = [];
    const flush = (): void => {
      if (run.length > 0) out += decoder.decode(Uint8Array.from(run));
      run = [];
    };
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i]!;
      if (!Number.isInteger(id) || id < 0 || id > EOT) {
        throw new MpcError('E_INPUT', `byte tokenizer: token at index ${i} is not an integer in [0, 257)`);
      }
      if (id === EOT) {
        flush();
        out += '<|endoftext|>';
      } else run.push(id);
    }
    flush();
    return out;
  },
});
