/**
 * Multi-key needle in a haystack (RULER niah_multikey): needles
 * "One of the special magic numbers for KEY is: VALUE." with KEY six random lowercase letters and VALUE
 * seven digits; numDistractors other needles (default 3, as RULER's 4-key setting) at random depths.
 * Query 1 asks the needle at `depth`; further queries (numQueries ≤ needles) ask other needles.
 *
 *   question: "What is the special magic number for KEY? The special magic number for KEY is:"
 *   answer:   " VALUE"
 *
 * Haystack defaults to 'text' (public-domain prose).
 */
import type { Tokenizer } from '../model/tokenizer/index.js';
import { MpcError } from '../util/index.js';
import { fillerSource } from './filler.js';
import { layoutContext, type Needle } from './layout.js';
import { resolveOptions } from './options.js';
import { TaskRng } from './rng.js';
import { finishSample, tailTokens } from './sample.js';
import type { TaskGenerator, TaskOptions, TaskSample } from './types.js';

const NAME = 'niah';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';

/** `count` distinct random words (distinct keys keep every question answerable). */
export function distinctWords(rng: TaskRng, alphabet: string, len: number, count: number): string[] {
  const seen = new Set<string>();
  while (seen.size < count) seen.add(rng.word(alphabet, len));
  return [...seen];
}

export const niah: TaskGenerator = {
  name: NAME,
  maxAnswerTokens: 10, // " 1234567" + STOP, with a token to spare
  generate(opts: TaskOptions, tok: Tokenizer): TaskSample {
    const rng = new TaskRng(opts.seed);
    const o = resolveOptions(
      NAME,
      opts,
      {
        numQueries: { default: 1, min: 1, max: 64 },
        numDistractors: { default: 3, min: 0, max: 255 },
        haystack: 'text',
      },
      rng,
    );
    const n = 1 + o.numDistractors;
    if (o.numQueries > n) {
      return rejectQueries(o.numQueries, n);
    }
    const keys = distinctWords(rng, LOWER, 6, n);
    const values = keys.map(() => rng.digits(7));
    const texts = keys.map((k, i) => `One of the special magic numbers for ${k} is: ${values[i]}.`);
    const needles: Needle[] = texts.map((text, i) => ({ text, depth: i === 0 ? o.depth : rng.float() }));
    const asked = [0, ...rng.shuffle(keys.map((_, i) => i).slice(1))].slice(0, o.numQueries);
    const queries = asked.map((i) => ({
      question: `What is the special magic number for ${keys[i]}? The special magic number for ${keys[i]} is:`,
      answer: ` ${values[i]}`,
    }));
    const layout = layoutContext(NAME, tok, o.length, tailTokens(queries, tok), needles, fillerSource(o.haystack, rng));
    return finishSample(NAME, tok, layout, queries, o.placement, {
      target: o.length,
      seed: o.seed,
      needle: 0,
      needleText: texts[0]!,
      extra: { needles: n },
    });
  },
};

function rejectQueries(q: number, n: number): never {
  throw new MpcError('E_INPUT', `task ${NAME}: numQueries ${q} exceeds the ${n} needles`);
}
