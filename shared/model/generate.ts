/**
 * Greedy generation on a backend with plain token ids (float64, fixed-point emulation).
 *
 * Order of work, matching the two question placements of the evaluation protocol
 * (research/kv-eviction-and-models.md §5.2): prefill the prompt in one call; then feed the
 * optional `extra` tokens (a question placed after the context) one decoding step each, as
 * Quest's passkey evaluation does; then generate greedily until EOT, the stop rule, or
 * `maxNewTokens`. The secure runtime drives its own loop (the servers never see the ids).
 */
import { MpcError } from '../util/index.js';
import { createState, forward, resetState, type AttentionPolicy, type ForwardState } from './forward.js';
import type { ModelParams, Ops, PlainTypes } from './ops/types.js';

export interface GenerateOptions<B extends PlainTypes> {
  readonly maxNewTokens: number;
  /** Tokens fed one step each after the prefill, before generating ('decode' placement). */
  readonly extra?: readonly number[];
  /** Stop after a token for which this returns true (the token is kept); e.g. a task's answer rule. */
  readonly stop?: (generated: readonly number[]) => boolean;
  /** Stop before this token (it is not kept); defaults to the model's EOT id. */
  readonly eot?: number;
  readonly policy?: AttentionPolicy;
  /** A state to reuse (it is reset first); saves reallocating the caches for every sample. */
  readonly state?: ForwardState<B>;
}

export interface GenerateResult {
  readonly tokens: number[];
  readonly stoppedBy: 'eot' | 'stop' | 'max';
}

/** Positions a generation run occupies: the last generated token is never fed back. */
export function positionsNeeded(promptTokens: number, extraTokens: number, maxNewTokens: number): number {
  return promptTokens + extraTokens + Math.max(0, maxNewTokens - 1);
}

/**
 * Greedy decoding: prefill `prompt`, feed `extra`, then generate.
 * @throws MpcError E_INPUT if the prompt is empty, maxNewTokens < 1, or the run would need more
 *   positions than the model (or the supplied state) has.
 */
export async function generate<B extends PlainTypes>(
  ops: Ops<B>, params: ModelParams<B>, prompt: readonly number[], opts: GenerateOptions<B>,
): Promise<GenerateResult> {
  const extra = opts.extra ?? [];
  if (prompt.length < 1) throw new MpcError('E_INPUT', 'generate needs a non-empty prompt');
  if (!Number.isInteger(opts.maxNewTokens) || opts.maxNewTokens < 1) throw new MpcError('E_INPUT', `maxNewTokens ${opts.maxNewTokens} must be a positive integer`);
  const need = positionsNeeded(prompt.length, extra.length, opts.maxNewTokens);
  const state = opts.state ?? createState(ops, params.config, Math.min(need, params.config.nPositions));
  resetState(state);
  const capacity = state.caches[0]?.capacity ?? 0;
  if (need > params.config.nPositions || need > capacity) {
    throw new MpcError('E_INPUT', `prompt ${prompt.length} + extra ${extra.length} + ${opts.maxNewTokens} new tokens need ${need} positions; the model has ${params.config.nPositions}, the state ${capacity}`);
  }
  const fwd = (t: readonly number[], last: boolean) => forward(ops, params, state, t as B['tokens'], { policy: opts.policy, logits: last ? 'last' : 'none' });
  let logits = await fwd(prompt, extra.length === 0);
  for (let i = 0; i < extra.length; i++) logits = await fwd([extra[i] as number], i === extra.length - 1);
  const eot = opts.eot ?? params.config.eotTokenId;
  const tokens: number[] = [];
  for (;;) {
    const [next] = await ops.argmax(logits as B['tensor']);
    if (next === eot) return { tokens, stoppedBy: 'eot' };
    tokens.push(next as number);
    if (opts.stop?.(tokens)) return { tokens, stoppedBy: 'stop' };
    if (tokens.length >= opts.maxNewTokens) return { tokens, stoppedBy: 'max' };
    logits = await fwd([next as number], true);
  }
}
