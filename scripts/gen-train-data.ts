/**
 * Writes a shard of task sequences for training or evaluating the embedded model, so that Python
 * (scripts/train/train_tiny_gpt2.py) reads exactly the tokens TypeScript generates.
 *
 *   node dist/scripts/gen-train-data.js --out DIR/name --length 1024 --count 2000 --seed 1 \
 *        [--mix passkey=25,niah=30,mqar=15,vartrack=15,text=15]       # training recipe (default)
 *        [--task niah --depth stratified|random|0.5 --num-queries 1 --num-distractors 3 --hops 2
 *         --haystack text|noise]                                        # one fixed task, for evaluation
 *
 * Output, every sequence exactly --length tokens (short samples are padded with EOT):
 *   name.tokens.u16   count × length little-endian uint16 token ids (byte tokenizer, BOS = 256 first)
 *   name.mask.u8      count × length roles: 0 context/question, 1 answer (+ STOP), 2 padding
 *   name.jsonl        one line per sequence: task, meta, prompt lengths for both placements, and per
 *                     query [feedStart, answerStart, answerEnd) offsets and the answer text
 *   name.json         header: length, count, vocab, eot, stop (the token ending each answer), seed,
 *                     recipe, and with --task the task's maxAnswerTokens (the evaluator reads these)
 * The 'text' component is plain public-domain prose (LM objective), all roles 0. The 'copy' component
 * (training only) is random strings each followed by a repeat, the repeats marked as answers: it trains
 * the induction/copy heads that every retrieval task needs with a dense signal. The 'fib' component
 * (training only) is digit runs with x[t+1] = (x[t] + x[t-1]) mod 10 restarted from random pairs: every
 * predictable digit needs the previous token, which grows the previous-token heads induction builds on.
 */
import { writeFileSync } from 'node:fs';
import { z } from 'zod';
import { commandFlags } from '../shared/config/index.js';
import { byteTokenizer as tok } from '../shared/model/tokenizer/index.js';
import {
  getTask,
  proseSentences,
  ROLE,
  segments,
  STOP,
  TaskRng,
  type TaskOptions,
  type TaskSample,
} from '../shared/tasks/index.js';
import { MpcError, toMpcError } from '../shared/util/index.js';

interface Args {
  out: string;
  length: number;
  count: number;
  seed: number;
  mix: Array<[string, number]>;
  task?: string;
  depth: string;
  fixed: Partial<TaskOptions>;
}

const DEFAULT_MIX = 'passkey=25,niah=30,mqar=15,vartrack=15,text=15';

const whole = z.number().int().min(0);

const GEN_TRAIN_DATA = {
  usage: 'node dist/scripts/gen-train-data.js --out DIR/name --length n --count n [--seed s] [--mix …] [--task name …]',
  summary:
    'Writes a shard of task sequences (tokens, roles, per-query offsets) for training or evaluating the embedded model.',
  flags: z.object({
    out: z.string().describe('path prefix of the shard files (.tokens.u16, .mask.u8, .jsonl, .json)'),
    length: whole.describe('tokens per sequence'),
    count: whole.describe('sequences'),
    seed: whole.default(0).describe('seed of the shard'),
    mix: z.string().default(DEFAULT_MIX).describe('training recipe: task=weight,… (tasks, text, copy, fib)'),
    task: z.string().optional().describe('one fixed task instead of the mix (for evaluation)'),
    depth: z.string().default('random').describe('with --task: needle depth, stratified, random or a number in [0, 1]'),
    numQueries: whole.optional().describe('with --task: queries per sample'),
    numDistractors: whole.optional().describe('with --task: distractors per sample'),
    hops: whole.optional().describe('with --task: hops (vartrack)'),
    haystack: z.enum(['text', 'noise']).optional().describe('with --task: the haystack'),
  }),
};

function parseArgs(argv: string[]): Args {
  const { flags: f } = commandFlags(GEN_TRAIN_DATA, argv);
  const mix = f.mix.split(',').map((p) => {
    const [name, w] = p.split('=');
    if (name !== 'text' && name !== 'copy' && name !== 'fib') getTask(name!);
    return [name!, Number(w)] as [string, number];
  });
  const fixed: Partial<TaskOptions> = {
    ...(f.numQueries !== undefined ? { numQueries: f.numQueries } : {}),
    ...(f.numDistractors !== undefined ? { numDistractors: f.numDistractors } : {}),
    ...(f.hops !== undefined ? { hops: f.hops } : {}),
    ...(f.haystack !== undefined ? { haystack: f.haystack } : {}),
  };
  if (f.task !== undefined) getTask(f.task);
  return {
    out: f.out,
    length: f.length,
    count: f.count,
    seed: f.seed,
    mix,
    ...(f.task ? { task: f.task } : {}),
    depth: f.depth,
    fixed,
  };
}

/** Randomised options for a training sample of a task at length T (sized so that they fit). */
function trainOptions(task: string, T: number, rng: TaskRng): Partial<TaskOptions> {
  const haystack = rng.float() < (task === 'passkey' ? 0.2 : 0.7) ? 'text' : 'noise';
  if (task === 'passkey') return { haystack: haystack === 'text' ? 'text' : 'noise' };
  if (task === 'mqar') return { numQueries: rng.int(1, 9) };
  if (task === 'niah') {
    const numQueries = rng.int(1, 5);
    const room = Math.floor((0.6 * T - 106 * numQueries) / 57);
    const numDistractors = Math.max(numQueries - 1, rng.int(0, Math.max(1, Math.min(8, room))));
    return { haystack, numQueries, numDistractors };
  }
  const hops = rng.int(1, 4);
  const numDistractors = rng.int(0, 3);
  return { haystack, hops, numDistractors, numQueries: rng.int(1, 2 + numDistractors) };
}

function depthFor(spec: string, i: number, count: number): TaskOptions['depth'] {
  if (spec === 'random') return 'random';
  if (spec === 'stratified') return count <= 1 ? 0.5 : i / (count - 1);
  const d = Number(spec);
  if (!(d >= 0 && d <= 1)) throw new MpcError('E_CONFIG', '--depth must be random, stratified or a number in [0, 1]');
  return d;
}

/** One task sample, retrying with the task's default sizes if the random sizes do not fit. */
function makeSample(task: string, opts: TaskOptions): TaskSample {
  try {
    return getTask(task).generate(opts, tok);
  } catch (err) {
    if (!(err instanceof MpcError) || err.code !== 'E_INPUT') throw err;
    return getTask(task).generate(
      { length: opts.length, seed: opts.seed, depth: opts.depth, numQueries: 1, numDistractors: 0, hops: 1 },
      tok,
    );
  }
}

function proseSequence(T: number, rng: TaskRng): number[] {
  const s = proseSentences();
  let i = rng.int(0, s.length);
  let text = '';
  while (text.length < T) text += (text ? ' ' : '') + s[i++ % s.length];
  return [tok.bos, ...tok.encode(text).slice(0, T - 1)];
}

const COPY_ALPHABET = 'abcdefghijklmnopqrstuvwxyz0123456789      ';

/** BOS, then random strings each written twice ("s\ns\n"); roles mark the second copies as answers. */
function copySequence(T: number, rng: TaskRng): { seq: number[]; roles: number[] } {
  const seq = [tok.bos];
  const roles: number[] = [ROLE.context];
  while (seq.length < T) {
    const len = rng.int(8, Math.max(9, Math.floor(T / 3)));
    const s = tok.encode(rng.word(COPY_ALPHABET, len).trim() || 'x');
    const block = [...s, 10];
    seq.push(...block, ...block);
    roles.push(...block.map(() => ROLE.context), ...block.map(() => ROLE.answer));
  }
  return { seq: seq.slice(0, T), roles: roles.slice(0, T) };
}

/** BOS, then space-separated digit runs x[t+1] = (x[t] + x[t-1]) mod 10 from random seed pairs. */
function fibSequence(T: number, rng: TaskRng): { seq: number[]; roles: number[] } {
  const seq = [tok.bos];
  const roles: number[] = [ROLE.context];
  while (seq.length < T) {
    let a = rng.int(0, 10);
    let b = rng.int(0, 10);
    seq.push(48 + a, 48 + b);
    roles.push(ROLE.context, ROLE.context);
    for (let n = rng.int(6, 30); n > 0; n--) {
      [a, b] = [b, (a + b) % 10];
      seq.push(48 + b);
      roles.push(ROLE.answer);
    }
    seq.push(32);
    roles.push(ROLE.context);
  }
  return { seq: seq.slice(0, T), roles: roles.slice(0, T) };
}

/** One sequence of the shard: its tokens, their roles, and its line of name.jsonl. */
interface Sequence {
  seq: number[];
  roles: number[];
  line: string;
}

/** A training component by its weight in the mix. */
function pickFromMix(mix: Args['mix'], total: number, rng: TaskRng): string {
  let r = rng.float() * total;
  return mix.find(([, w]) => (r -= w) < 0)?.[0] ?? mix[mix.length - 1]![0];
}

/** A task sample as one sequence: the prompt, then each query's feed and answer (answers marked). */
function taskSequence(a: Args, name: string, n: number, seed: number, rng: TaskRng): Sequence {
  const T = a.length;
  const opts: TaskOptions = {
    length: T,
    seed,
    depth: depthFor(a.depth, n, a.count),
    ...(a.task ? a.fixed : trainOptions(name, T, rng)),
  };
  const sample = makeSample(name, opts);
  const seg = segments(sample, tok);
  const seq = seg.prompt.slice();
  const roles: number[] = seq.map(() => ROLE.context);
  const queries: Array<[number, number, number, string]> = [];
  for (const [i, st] of seg.steps.entries()) {
    const feedStart =
      seq.length - (i === 0 && sample.placement === 'prompt' ? tok.encode(sample.queries[0]!.question).length : 0);
    seq.push(...st.feed);
    const answerStart = seq.length;
    seq.push(...st.answer);
    roles.push(...st.feed.map(() => ROLE.context), ...st.answer.map(() => ROLE.answer));
    queries.push([feedStart, answerStart, seq.length, sample.queries[i]!.answer]);
  }
  return { seq, roles, line: JSON.stringify({ task: name, meta: sample.meta, queries }) };
}

/** Sequence number n of component `name`: prose, copy, fib or a task. */
function sequenceOf(a: Args, name: string, n: number, seed: number, rng: TaskRng): Sequence {
  if (name === 'text') {
    const seq = proseSequence(a.length, rng);
    return { seq, roles: seq.map(() => ROLE.context), line: JSON.stringify({ task: 'text' }) };
  }
  if (name === 'copy' || name === 'fib') {
    const { seq, roles } = (name === 'copy' ? copySequence : fibSequence)(a.length, rng);
    return { seq, roles, line: JSON.stringify({ task: name }) };
  }
  return taskSequence(a, name, n, seed, rng);
}

/** Writes the shard's four files: tokens, roles, one JSON line per sequence, and the header. */
function writeShard(a: Args, tokens: DataView, mask: Uint8Array, lines: readonly string[]): void {
  writeFileSync(`${a.out}.tokens.u16`, new Uint8Array(tokens.buffer));
  writeFileSync(`${a.out}.mask.u8`, mask);
  writeFileSync(`${a.out}.jsonl`, lines.join('\n') + '\n');
  const recipe = a.task ? { task: a.task, depth: a.depth, ...a.fixed } : { mix: Object.fromEntries(a.mix) };
  const header = {
    length: a.length,
    count: a.count,
    vocab: tok.vocabSize,
    eot: tok.eot,
    stop: tok.encode(STOP)[0],
    tokenizer: tok.name,
    seed: a.seed,
    recipe,
    ...(a.task ? { maxAnswerTokens: getTask(a.task).maxAnswerTokens } : {}),
  };
  writeFileSync(`${a.out}.json`, JSON.stringify(header, null, 2) + '\n');
}

function main(): void {
  const a = parseArgs(process.argv.slice(2));
  const T = a.length;
  const tokens = new DataView(new ArrayBuffer(a.count * T * 2));
  const mask = new Uint8Array(a.count * T).fill(ROLE.pad);
  const lines: string[] = [];
  const rng = new TaskRng(a.seed);
  const total = a.mix.reduce((s, [, w]) => s + w, 0);
  for (let n = 0; n < a.count; n++) {
    const seed = rng.u32() * 2 ** 20 + n; // distinct per sample, reproducible from --seed
    const name = a.task ?? pickFromMix(a.mix, total, rng);
    const { seq, roles, line } = sequenceOf(a, name, n, seed, rng);
    lines.push(line);
    if (seq.length > T) throw new MpcError('E_INTERNAL', `sample ${n} has ${seq.length} > ${T} tokens`);
    // padded with EOT, role pad
    for (let t = 0; t < T; t++) {
      tokens.setUint16((n * T + t) * 2, t < seq.length ? seq[t]! : tok.eot, true);
      if (t < seq.length) mask[n * T + t] = roles[t]!;
    }
  }
  writeShard(a, tokens, mask, lines);
}

try {
  main();
} catch (e) {
  process.stderr.write(`gen-train-data: ${toMpcError(e).message}\n`);
  process.exitCode = 2;
}
