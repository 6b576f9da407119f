/**
 * Greedy generation on a backend with plain token ids (float64, fixed-point emulation).
 *
 * Order of work, matching the two question placements of the evaluation protocol
 * (research/kv-eviction-and-models.md §5.2): prefill the prompt in one call; then feed any
 * tokens placed after it (a question asked after the context) one decoding step each, as
 * Quest's passkey evaluation does; then generate greedily until EOT, the stop rule, or the token
 * limit. A `GreedySession` repeats feed-and-generate for multi-query tasks on one cache.
 * The secure runtime drives its own loop (the servers never see the ids).
 */
import { MpcError, invariant } from '../util/index.js';
import { createState, forward, resetState, type AttentionPolicy, type ForwardState } from './forward.js';
import type { AnyModelParams, Ops, PlainTypes } from './ops/types.js';

export interface GenerateLimits {
  readonly maxNewTokens: number;
  /** Stop after a token for which this returns true (the token is kept); e.g. a task's answer rule. */
  readonly stop?: (generated: readonly number[]) => boolean;
  /** Stop before this token (it is not kept); defaults to the model's EOT id. */
  readonly eot?: number;
}

export interface GenerateResult {
  readonly tokens: number[];
  readonly stoppedBy: 'eot' | 'stop' | 'max';
}

/**
 * One sequence on one cache: prefill, then any number of feed / generate rounds. The token that
 * ends a generation (EOT included) is fed lazily, before the next tokens, so a run that ends
 * there never pays for a step whose logits nobody reads.
 */
export class GreedySession<B extends PlainTypes> {
  private logits: B['tensor'] | null = null;
  private pending: number | null = null;

  /**
   * Resets `state` and starts a new sequence on it. (`prefilled` is for `resume`: the logits of a
   * prefill already in `state`, which is then kept.)
   */
  constructor(
    private readonly ops: Ops<B>,
    private readonly params: AnyModelParams<B>,
    readonly state: ForwardState<B>,
    private readonly policy?: AttentionPolicy,
    prefilled?: B['tensor'],
  ) {
    if (prefilled === undefined) resetState(state);
    else this.logits = prefilled;
  }

  /**
   * Continues a sequence whose prompt is already prefilled into `state`, from that prefill's
   * logits: e.g. one prefill shared by several attention policies, each continuing on its own
   * state object. Call `feed` and `generate` next, never `prefill`.
   * @throws MpcError E_INPUT if the state holds no tokens.
   */
  static resume<B extends PlainTypes>(
    ops: Ops<B>,
    params: AnyModelParams<B>,
    state: ForwardState<B>,
    logits: B['tensor'],
    policy?: AttentionPolicy,
  ): GreedySession<B> {
    if (state.position < 1) throw new MpcError('E_INPUT', 'resume needs a prefilled state');
    return new GreedySession(ops, params, state, policy, logits);
  }

  /** Tokens the sequence occupies, counting one that is generated but not yet fed. */
  get positions(): number {
    return this.state.position + (this.pending === null ? 0 : 1);
  }

  private async step(tokens: readonly number[], wantLogits: boolean): Promise<void> {
    const which = wantLogits ? 'last' : 'none';
    this.logits = await forward(this.ops, this.params, this.state, tokens as B['tokens'], {
      policy: this.policy,
      logits: which,
    });
  }

  /**
   * Processes the prompt in one forward call.
   * @throws MpcError E_INPUT if the session already holds tokens or the prompt is empty.
   */
  async prefill(prompt: readonly number[]): Promise<void> {
    if (this.positions !== 0) throw new MpcError('E_INPUT', 'prefill must be the first call of a session');
    if (prompt.length < 1) throw new MpcError('E_INPUT', 'prefill needs a non-empty prompt');
    await this.step(prompt, true);
  }

  /** Feeds tokens one decoding step each (after the pending generated token, if any). */
  async feed(tokens: readonly number[]): Promise<void> {
    const all = this.pending === null ? tokens : [this.pending, ...tokens];
    this.pending = null;
    for (let i = 0; i < all.length; i++) await this.step([all[i] as number], i === all.length - 1);
  }

  /**
   * Greedy decoding from the current logits.
   * @throws MpcError E_INPUT before prefill, or if maxNewTokens is not a positive integer.
   */
  async generate(limits: GenerateLimits): Promise<GenerateResult> {
    const { maxNewTokens, stop } = limits;
    if (!Number.isInteger(maxNewTokens) || maxNewTokens < 1)
      throw new MpcError('E_INPUT', `maxNewTokens ${maxNewTokens} must be a positive integer`);
    if (this.pending !== null) await this.feed([]);
    invariant(this.logits !== null, 'E_INPUT', 'generate needs a prefill first');
    const eot = limits.eot ?? this.params.config.eotTokenId;
    const tokens: number[] = [];
    for (;;) {
      const [next] = await this.ops.argmax(this.logits as B['tensor']);
      this.pending = next as number;
      this.logits = null;
      if (next === eot) return { tokens, stoppedBy: 'eot' };
      tokens.push(next as number);
      if (stop?.(tokens)) return { tokens, stoppedBy: 'stop' };
      if (tokens.length >= maxNewTokens) return { tokens, stoppedBy: 'max' };
      await this.feed([]);
    }
  }
}

/** Positions a single generate() run occupies: its last token is never fed back. */
export function positionsNeeded(promptTokens: number, extraTokens: number, maxNewTokens: number): number {
  return promptTokens + extraTokens + Math.max(0, maxNewTokens - 1);
}

export interface GenerateOptions<B extends PlainTypes> extends GenerateLimits {
  /** Tokens fed one step each after the prefill, before generating ('decode' placement). */
  readonly extra?: readonly number[];
  readonly policy?: AttentionPolicy;
  /** A state to reuse (it is reset first); saves reallocating the caches for every sample. */
  readonly state?: ForwardState<B>;
}

/**
 * Greedy decoding of one answer: prefill `prompt`, feed `extra`, then generate.
 * @throws MpcError E_INPUT if the prompt is empty, maxNewTokens < 1, or the run would need more
 *   positions than the model (or the supplied state) has.
 */
export async function generate<B extends PlainTypes>(
  ops: Ops<B>,
  params: AnyModelParams<B>,
  prompt: readonly number[],
  opts: GenerateOptions<B>,
): Promise<GenerateResult> {
  const extra = opts.extra ?? [];
  const need = positionsNeeded(prompt.length, extra.length, opts.maxNewTokens);
  const limit = Math.min(params.config.nPositions, opts.state?.caches[0]?.capacity ?? Infinity);
  if (need > limit) {
    throw new MpcError(
      'E_INPUT',
      `prompt ${prompt.length} + extra ${extra.length} + ${opts.maxNewTokens} new tokens need ${need} positions; only ${limit} available`,
    );
  }
  const state = opts.state ?? createState(ops, params.config, Math.max(1, need));
  const session = new GreedySession(ops, params, state, opts.policy);
  await session.prefill(prompt);
  if (extra.length > 0) await session.feed(extra);
  return session.generate(opts);
}
