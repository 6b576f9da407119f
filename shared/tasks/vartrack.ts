/**
 * Variable tracking (after RULER's vt), reshaped so that a small model can answer it one retrieval at a
 * time: chains "VAR AAAAA = 12345." … "VAR BBBBB = VAR AAAAA." (hops variable-to-variable links, in
 * order, the value first at `depth` and the rest later) hidden in the haystack, plus numDistractors other
 * chains (default 1) with other values. The question asks a chain's last variable and the answer spells
 * the path, so each step copies what follows one earlier "VAR NAME =":
 *
 *   question: "Question: what is the value of VAR CCCCC? Answer: VAR CCCCC"
 *   answer:   " = VAR BBBBB = VAR AAAAA = 12345"
 *
 * Names: five random capitals, distinct; values: five digits, distinct per chain. hops 1..3 (default 2).
 */
import type { Tokenizer } from '../model/tokenizer/index.js';
import { MpcError } from '../util/index.js';
import { fillerSource } from './filler.js';
import { layoutContext, type Needle } from './layout.js';
import { distinctWords } from './niah.js';
import { resolveOptions } from './options.js';
import { TaskRng } from './rng.js';
import { finishSample, tailTokens } from './sample.js';
import type { TaskGenerator, TaskOptions, TaskQuery, TaskSample } from './types.js';

const NAME = 'vartrack';
const UPPER = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export const vartrack: TaskGenerator = {
  name: NAME,
  maxAnswerTokens: 46, // 3 × " = VAR XXXXX" + " = 12345" + STOP for the byte tokenizer, plus one
  generate(opts: TaskOptions, tok: Tokenizer): TaskSample {
    const rng = new TaskRng(opts.seed);
    const o = resolveOptions(
      NAME,
      opts,
      {
        numQueries: { default: 1, min: 1, max: 16 },
        numDistractors: { default: 1, min: 0, max: 15 },
        hops: { default: 2, min: 1, max: 3 },
        haystack: 'text',
      },
      rng,
    );
    const chains = 1 + o.numDistractors;
    if (o.numQueries > chains) {
      throw new MpcError('E_INPUT', `task ${NAME}: numQueries ${o.numQueries} exceeds the ${chains} chains`);
    }
    const names = distinctWords(rng, UPPER, 5, chains * (o.hops + 1));
    const values = distinctWords(rng, '0123456789', 5, chains).map((v) => (v[0] === '0' ? '1' + v.slice(1) : v));
    const needles: Needle[] = [];
    const queries: TaskQuery[] = [];
    for (let c = 0; c < chains; c++) {
      const vars = names.slice(c * (o.hops + 1), (c + 1) * (o.hops + 1));
      const start = c === 0 ? o.depth : rng.float();
      const later = Array.from({ length: o.hops }, () => start + (1 - start) * rng.float()).sort((a, b) => a - b);
      needles.push({ text: `VAR ${vars[0]} = ${values[c]}.`, depth: start });
      for (let h = 1; h <= o.hops; h++) {
        needles.push({ text: `VAR ${vars[h]} = VAR ${vars[h - 1]}.`, depth: later[h - 1]! });
      }
      const path = vars
        .slice(0, o.hops)
        .reverse()
        .map((v) => ` = VAR ${v}`)
        .join('');
      const head = vars[o.hops]!;
      queries.push({
        question: `Question: what is the value of VAR ${head}? Answer: VAR ${head}`,
        answer: `${path} = ${values[c]}`,
      });
    }
    const asked = [0, ...rng.shuffle(queries.map((_, i) => i).slice(1))].slice(0, o.numQueries);
    const kept = asked.map((i) => queries[i]!);
    const layout = layoutContext(NAME, tok, o.length, tailTokens(kept, tok), needles, fillerSource(o.haystack, rng));
    return finishSample(NAME, tok, layout, kept, o.placement, {
      target: o.length,
      seed: o.seed,
      needle: 0,
      needleText: needles[0]!.text,
      extra: { chains, hops: o.hops },
    });
  },
};
