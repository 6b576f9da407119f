/**
 * Passkey retrieval (Mohtashami & Jaggi 2023; text as in Quest's evaluation/passkey/passkey.py, without
 * the instruction line, which would only spend tokens): the classic filler block repeated, with
 * "The pass key is N. Remember it. N is the pass key." at the requested depth, N uniform in 1..50000.
 *
 *   question: "What is the pass key? The pass key is"   answer: " N"
 *
 * One needle, one query: numQueries and numDistractors must be 1 and 0; haystack defaults to 'noise'.
 */
import type { Tokenizer } from '../model/tokenizer/index.js';
import { fillerSource } from './filler.js';
import { layoutContext } from './layout.js';
import { resolveOptions } from './options.js';
import { TaskRng } from './rng.js';
import { finishSample, tailTokens } from './sample.js';
import type { TaskGenerator, TaskOptions, TaskSample } from './types.js';

const NAME = 'passkey';

export const passkey: TaskGenerator = {
  name: NAME,
  maxAnswerTokens: 8, // " 50000" + STOP for the byte tokenizer; never more for BPE
  generate(opts: TaskOptions, tok: Tokenizer): TaskSample {
    const rng = new TaskRng(opts.seed);
    const o = resolveOptions(
      NAME,
      opts,
      { numQueries: { default: 1, min: 1, max: 1 }, numDistractors: { default: 0, min: 0, max: 0 }, haystack: 'noise' },
      rng,
    );
    const key = String(rng.int(1, 50001));
    const needle = `The pass key is ${key}. Remember it. ${key} is the pass key.`;
    const queries = [{ question: 'What is the pass key? The pass key is', answer: ` ${key}` }];
    const layout = layoutContext(
      NAME,
      tok,
      o.length,
      tailTokens(queries, tok),
      [{ text: needle, depth: o.depth }],
      fillerSource(o.haystack, rng),
    );
    return finishSample(NAME, tok, layout, queries, o.placement, {
      target: o.length,
      seed: o.seed,
      needle: 0,
      needleText: needle,
    });
  },
};
