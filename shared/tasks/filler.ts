/**
 * Filler sentences for haystacks: the classic passkey block (also RULER's "noise" haystack) and
 * sentences of a public-domain prose excerpt (Bierce, *The Devil's Dictionary*, 1911; see
 * data/README.md). A filler is an endless sequence of sentences, each ending in punctuation.
 */
import { readFileSync } from 'node:fs';
import { projectPath } from '../util/index.js';
import type { TaskRng } from './rng.js';
import type { Haystack } from './types.js';

/** Mohtashami & Jaggi (2023) passkey filler, as used by Quest's evaluation/passkey/passkey.py. */
export const NOISE_SENTENCES = [
  'The grass is green.',
  'The sky is blue.',
  'The sun is yellow.',
  'Here we go.',
  'There and back again.',
] as const;

let proseCache: string[] | undefined;

/** Sentences of the prose excerpt, in reading order (entries stay contiguous). */
export function proseSentences(): readonly string[] {
  if (proseCache === undefined) {
    const text = readFileSync(projectPath('shared', 'tasks', 'data', 'devil.txt'), 'ascii');
    proseCache = text
      .split('\n')
      .flatMap((para) => para.split(/(?<=[.!?]["']?)\s+(?=["A-Z])/))
      .map((s) => s.trim())
      .filter((s) => s.length > 0);
  }
  return proseCache;
}

/** An endless sentence source: noise cycles the classic block; text reads on from a random sentence. */
export function fillerSource(kind: Haystack, rng: TaskRng): () => string {
  const sentences = kind === 'noise' ? NOISE_SENTENCES : proseSentences();
  // Noise always starts at the top of the block, as in the classic passkey prompt.
  let i = kind === 'noise' ? 0 : rng.int(0, sentences.length);
  return () => sentences[i++ % sentences.length]!;
}
