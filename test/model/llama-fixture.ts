/** The transformers Llama fixtures (scripts/fixtures/tiny-llama.py) and their recorded logits. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const FIXTURES = join(import.meta.dirname, 'fixtures');

/** Untied F16 and tied BF16: 2 layers, width 64, 4 query heads on 2 key/value heads of 16, vocabulary 256. */
export const LLAMA_DIRS = ['tiny-llama', 'tiny-llama-tied'].map((d) => join(FIXTURES, d));

/**
 * Tied F32 with the embedded model's byte tokenizer (vocabulary 257, EOT 256), 512 positions and
 * rope_theta 500000: long enough for the task generators, so eval and study run on it.
 */
export const LLAMA_BYTES_DIR = join(FIXTURES, 'tiny-llama-bytes');

export interface LlamaReference {
  tokens: number[];
  /** float64 logits of every position [n][V]. */
  logits: number[][];
}

export function reference(dir: string): LlamaReference {
  return JSON.parse(readFileSync(join(dir, 'logits.json'), 'utf8')) as LlamaReference;
}
