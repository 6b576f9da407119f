/**
 * Plugging policies into the forward pass (`AttentionPolicy`).
 *
 * `PolicyAttention` runs one policy: a call at position 0 is a prefill (full causal attention,
 * then the policy's static decision per layer) and starts a new session; every later call must
 * be a single decoding step. One instance serves one sequence at a time.
 *
 * `PrefillFanout` serves quality studies: every policy prefills with full attention, so one
 * prefill can feed many policies. It computes the prefill once, hands each policy its own copy of
 * each layer's cache and the shared probabilities, and then gives one decode-only
 * `PolicyAttention` per policy to continue from the same logits. Results equal separate runs.
 */
import type { AttentionPolicy, AttentionStep, BackendTypes } from '../model/index.js';
import { MpcError, invariant } from '../util/index.js';
import { attendAll } from './session.js';
import { kvOps } from './kv-ops.js';
import type { SelectionHook } from './ring-eviction.js';
import { allRows } from './store.js';
import type { Inspector, KvPolicy, KvSession, SequenceInfo } from './types.js';

type AnySession = KvSession<BackendTypes>;

/** Hooks that watch a policy: an inspector (plaintext traces) and a selection hook (ring backends). */
interface Watch {
  inspect?: Inspector<unknown> | undefined;
  onSelection?: SelectionHook<unknown> | undefined;
}

function sequenceInfo<B extends BackendTypes>(step: AttentionStep<B>, watch: Watch): SequenceInfo<B['tensor']> {
  const { cache, q } = step;
  return {
    heads: cache.heads,
    headDim: cache.headDim,
    promptTokens: q.shape[1] as number,
    capacity: cache.capacity,
    ...watch,
  } as SequenceInfo<B['tensor']>;
}

/** The full-attention prefill every policy shares: append, attend causally; output and probabilities. */
async function prefillAttention<B extends BackendTypes>(
  step: AttentionStep<B>,
): Promise<{ out: B['tensor']; p: B['tensor'] }> {
  invariant(
    step.cache.length === 0,
    'E_INPUT',
    () => `layer ${step.layer}: a prefill needs an empty cache (it holds ${step.cache.length})`,
  );
  await step.cache.append(step.k, step.v);
  return attendAll(step.ops, step.q, step.cache);
}

/**
 * What a policy's prefill sees: q and the probabilities per key/value head, each the sum over the
 * query heads sharing that head (grouped-query attention; unchanged when every query head has its
 * own). Policies select rows of the cache, which is stored per key/value head, so they score per
 * key/value head too; sums are local, and a head mean or a ranking is unchanged by the common factor.
 */
function perKvHead<B extends BackendTypes>(step: AttentionStep<B>, p: B['tensor'], cache: B['cache']) {
  const g = step.cache.heads;
  return { q: step.ops.groupHeads(step.q, g), p: step.ops.groupHeads(p, g), cache };
}

export class PolicyAttention implements AttentionPolicy {
  private current: AnySession | null;
  /** Continues a fanned-out prefill: a prefill call is an error. */
  private readonly decodeOnly: boolean;

  private constructor(
    readonly policy: KvPolicy,
    private readonly watch: Watch,
    resumed: AnySession | null,
  ) {
    this.current = resumed;
    this.decodeOnly = resumed !== null;
  }

  /**
   * Runs `policy`; with an inspector (for the backend's tensors, e.g. `floatInspector`), its
   * sessions record what they store and attend (plaintext only); `onSelection` (ring backends)
   * sees every selection it makes.
   */
  static of<T>(policy: KvPolicy, inspect?: Inspector<never>, onSelection?: SelectionHook<T>): PolicyAttention {
    return new PolicyAttention(
      policy,
      {
        inspect: inspect as Inspector<unknown> | undefined,
        onSelection: onSelection as SelectionHook<unknown> | undefined,
      },
      null,
    );
  }

  /** Continues a session prefilled elsewhere (by a fan-out): decoding steps only. */
  static resume(policy: KvPolicy, session: AnySession): PolicyAttention {
    return new PolicyAttention(policy, {}, session);
  }

  get name(): string {
    return this.policy.name;
  }

  /** The current sequence's session (null before the first prefill). */
  get session(): AnySession | null {
    return this.current;
  }

  async attend<B extends BackendTypes>(step: AttentionStep<B>): Promise<B['tensor']> {
    if (step.positions[0] === 0) {
      if (this.decodeOnly) throw new MpcError('E_INPUT', `${this.name}: a resumed session only decodes`);
      if (step.layer === 0)
        this.current = this.policy.begin(step.ops, sequenceInfo(step, this.watch)) as unknown as AnySession;
      const { out, p } = await prefillAttention(step);
      await this.sessionFor<B>(step).prefill(step.layer, perKvHead(step, p, step.cache));
      return out;
    }
    const n = step.q.shape[1] as number;
    if (n !== 1)
      throw new MpcError('E_INPUT', `${this.name}: decoding takes one token per call after the prefill (got ${n})`);
    return this.sessionFor<B>(step).decode(step.layer, {
      q: step.q,
      k: step.k,
      v: step.v,
      position: step.positions[0] as number,
    });
  }

  private sessionFor<B extends BackendTypes>(step: AttentionStep<B>): KvSession<B> {
    if (this.current === null)
      throw new MpcError('E_INPUT', `${this.name}: layer ${step.layer} called before a prefill at position 0`);
    return this.current as unknown as KvSession<B>;
  }
}

export class PrefillFanout implements AttentionPolicy {
  readonly name = 'fanout';
  private sessions: AnySession[] = [];

  private readonly inspect: Inspector<unknown> | undefined;

  constructor(
    private readonly policies: readonly KvPolicy[],
    inspect?: Inspector<never>,
  ) {
    invariant(policies.length > 0, 'E_INPUT', 'a fan-out needs at least one policy');
    this.inspect = inspect as Inspector<unknown> | undefined;
  }

  async attend<B extends BackendTypes>(step: AttentionStep<B>): Promise<B['tensor']> {
    if (step.positions[0] !== 0)
      throw new MpcError('E_INPUT', 'a prefill fan-out only prefills; decode with its decoders()');
    const ops = step.ops;
    if (step.layer === 0)
      this.sessions = this.policies.map(
        (p) => p.begin(ops, sequenceInfo(step, { inspect: this.inspect })) as unknown as AnySession,
      );
    const { out, p } = await prefillAttention(step);
    const n = step.cache.length;
    for (let i = 0; i < this.sessions.length; i++) {
      const last = i === this.sessions.length - 1;
      const cache = last ? step.cache : await kvOps(ops).gatherCache(step.cache, allRows(n), step.cache.capacity);
      await (this.sessions[i] as unknown as KvSession<B>).prefill(step.layer, perKvHead(step, p, cache));
    }
    return out;
  }

  /** One decode-only attention per policy, in the order given, continuing the prefilled sessions. */
  decoders(): PolicyAttention[] {
    invariant(this.sessions.length === this.policies.length, 'E_INPUT', 'decoders() before the fan-out prefilled');
    return this.policies.map((p, i) => PolicyAttention.resume(p, this.sessions[i] as AnySession));
  }
}
