/**
 * Turning a TaskSample into tokens, and scoring generated answers. Training (scripts/gen-train-data.ts)
 * and every evaluator use these, so the prompt format cannot drift between them.
 */
import { MpcError } from '../util/index.js';
import type { Tokenizer } from '../model/tokenizer/index.js';
import type { Layout } from './layout.js';
import { STOP, type TaskQuery, type TaskSample } from './types.js';

/** The sample cut where a decoder sees it: a prompt to prefill, then per query what to feed and expect. */
export interface Segments {
  /** BOS · context (· question₁ when placement = 'prompt'). */
  prompt: number[];
  steps: Array<{
    /** Question tokens to feed after the prompt / previous answer (empty for question₁ in 'prompt'). */
    feed: number[];
    /** Reference answer tokens followed by the STOP token(s). */
    answer: number[];
  }>;
}

export function segments(sample: TaskSample, tok: Tokenizer): Segments {
  const prompt = [tok.bos, ...tok.encode(sample.context)];
  const stop = tok.encode(STOP);
  const steps = sample.queries.map((q, i) => {
    const question = tok.encode(q.question);
    const inPrompt = i === 0 && sample.placement === 'prompt';
    if (inPrompt) prompt.push(...question);
    return { feed: inPrompt ? [] : question, answer: [...tok.encode(q.answer), ...stop] };
  });
  return { prompt, steps };
}

/** Tokens prefilled before the first decoding step. */
export function promptTokens(sample: TaskSample, tok: Tokenizer): number[] {
  return segments(sample, tok).prompt;
}

/** Role of each token of the full sequence, as in the training data's mask file. */
export const ROLE = { context: 0, answer: 1, pad: 2 } as const;

/** The whole reference sequence and the role of each token (answers and their STOP are `answer`). */
export function sequenceTokens(sample: TaskSample, tok: Tokenizer): { tokens: number[]; roles: number[] } {
  const seg = segments(sample, tok);
  const tokens = seg.prompt.slice();
  const roles = new Array<number>(tokens.length).fill(ROLE.context);
  for (const s of seg.steps) {
    tokens.push(...s.feed, ...s.answer);
    roles.push(...s.feed.map(() => ROLE.context), ...s.answer.map(() => ROLE.answer));
  }
  return { tokens, roles };
}

/** The answer a decoder produced: its output up to the first STOP or `<|endoftext|>`, trimmed. */
export function answerSpan(output: string): string {
  let end = output.indexOf(STOP);
  if (end < 0) end = output.length;
  const eot = output.indexOf('<|endoftext|>');
  if (eot >= 0 && eot < end) end = eot;
  return output.slice(0, end).trim();
}

/**
 * Fraction of queries answered exactly (answer span equal to the reference, whitespace-trimmed).
 * @throws MpcError E_INPUT if there is not exactly one output per query.
 */
export function score(sample: TaskSample, outputs: readonly string[]): number {
  if (outputs.length !== sample.queries.length) {
    throw new MpcError('E_INPUT', `score: ${outputs.length} outputs for ${sample.queries.length} queries`);
  }
  let right = 0;
  sample.queries.forEach((q, i) => {
    if (answerSpan(outputs[i]!) === q.answer.trim()) right++;
  });
  return right / sample.queries.length;
}

/** Tokens of the questions, answers and stops: what the context budget must leave room for. */
export function tailTokens(queries: readonly TaskQuery[], tok: Tokenizer): number {
  const stop = tok.encode(STOP).length;
  return queries.reduce((n, q) => n + tok.encode(q.question).length + tok.encode(q.answer).length + stop, 0);
}

/** Assembles the sample and its common meta (see TaskSample.meta) from a layout. */
export function finishSample(
  task: string,
  tok: Tokenizer,
  layout: Layout,
  queries: TaskQuery[],
  placement: TaskSample['placement'],
  info: { target: number; seed: number; needle: number; needleText: string; extra?: Record<string, number | string> },
): TaskSample {
  const context = layout.context;
  const before = context.slice(0, layout.needleChars[info.needle]);
  const needleToken = 1 + tok.encode(before).length;
  const contextTokens = tok.encode(context).length;
  const sample: TaskSample = { task, context, queries, placement, meta: {} };
  sample.meta = {
    length: 1 + contextTokens + tailTokens(queries, tok),
    target: info.target,
    seed: info.seed,
    depth: (needleToken - 1) / contextTokens,
    needleToken,
    needleTokens: tok.encode(info.needleText).length,
    ...info.extra,
  };
  return sample;
}
