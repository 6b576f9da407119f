/**
 * Multi-query associative recall (after Zoology's MQAR, in text form): the context is nothing but
 * key=value pairs "abcd=1234" (four random lowercase letters, four digits; keys distinct), as many as
 * fit, and numQueries (default 4) of them are asked. The first asked pair sits at `depth`, the others
 * anywhere. Dense by design: every token is a potential needle, the hard case for eviction.
 *
 *   question: "abcd="   answer: "1234"
 *
 * numDistractors and haystack do not apply (the other pairs are the distractors).
 */
import type { Tokenizer } from '../model/tokenizer/index.js';
import { MpcError } from '../util/index.js';
import { layoutContext, type Needle } from './layout.js';
import { distinctWords } from './niah.js';
import { resolveOptions } from './options.js';
import { TaskRng } from './rng.js';
import { finishSample, tailTokens } from './sample.js';
import type { TaskGenerator, TaskOptions, TaskSample } from './types.js';

const NAME = 'mqar';
const LOWER = 'abcdefghijklmnopqrstuvwxyz';

export const mqar: TaskGenerator = {
  name: NAME,
  maxAnswerTokens: 6, // "1234" + STOP, with a token to spare
  generate(opts: TaskOptions, tok: Tokenizer): TaskSample {
    const rng = new TaskRng(opts.seed);
    const o = resolveOptions(
      NAME,
      opts,
      {
        numQueries: { default: 4, min: 1, max: 64 },
        numDistractors: { default: 0, min: 0, max: 0 },
        haystack: 'noise',
      },
      rng,
    );
    const keys = distinctWords(rng, LOWER, 4, o.numQueries);
    const values = keys.map(() => rng.digits(4));
    const texts = keys.map((k, i) => `${k}=${values[i]}`);
    const needles: Needle[] = texts.map((text, i) => ({ text, depth: i === 0 ? o.depth : rng.float() }));
    const queries = keys.map((k, i) => ({ question: `${k}=`, answer: values[i]! }));
    const used = new Set(keys);
    let pairs = 0;
    const filler = (): string => {
      if (used.size > 200_000) throw new MpcError('E_INPUT', `task ${NAME}: length too large for 4-letter keys`);
      let k = rng.word(LOWER, 4);
      while (used.has(k)) k = rng.word(LOWER, 4);
      used.add(k);
      pairs++;
      return `${k}=${rng.digits(4)}`;
    };
    const layout = layoutContext(NAME, tok, o.length, tailTokens(queries, tok), needles, filler);
    // Pairs actually present: the asked ones plus the filler pairs that start before the cut.
    const present = layout.context.trimEnd().split(' ').length;
    return finishSample(NAME, tok, layout, queries, o.placement, {
      target: o.length,
      seed: o.seed,
      needle: 0,
      needleText: texts[0]!,
      extra: { pairs: Math.min(present, pairs + keys.length) },
    });
  },
};
