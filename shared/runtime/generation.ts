/**
 * Private generation: the program every role runs (parties over shares, the dealer over shapes),
 * and the token I/O through the client.
 *
 * Per session: prefill the prompt (the client supplies the prompt's one-hot rows masked, so token
 * ids never reach a server), then per step: secure argmax → the index is revealed to the client
 * only → the client returns the next token's masked one-hot. Phases are metered as 'prefill'
 * (prompt forward + first argmax) and 'decode.<s>' (forward of generated token s + its argmax).
 * The number of steps is public; a client may stop early, which reveals the output length.
 *
 * KV-cache policy: `policy` (a name from kvcache/) and `policyOptions` are public job parameters,
 * so both parties and the dealer run the same policy program (PolicyAttention over RingOps: its
 * selections stay secret-shared one-hots). Policies that are plaintext references only (oracle)
 * are refused. `prefill: 'revealed'` is a benchmark mode (protocol/prims/reveal.ts): the prefill is
 * computed in the clear by both parties, so only the decoding steps are private and measured.
 */
import { z } from 'zod';
import { MpcError } from '../util/errors.js';
import { FRAC_BITS } from '../ring/fixed-point.js';
import type { AnyTensor, Share } from '../ring/tensor.js';
import type { Link } from '../net/link.js';
import type { Part } from '../net/frame.js';
import type { ClientIO } from '../protocol/ctx.js';
import type { ClientChallenges } from '../protocol/client-check.js';
import type { FixedMatrix } from '../protocol/fixed-mask.js';
import type { FixedHandle, Prims } from '../protocol/prims/types.js';
import { createState, forward } from '../model/forward.js';
import type { AnyModelParams } from '../model/ops/types.js';
import { RingOps, type RingNonlinear, type RingTokenIO, type RingTypes } from '../model/ring/ops.js';
import { PolicyAttention, getPolicy, type KvPolicy, type SelectionHook } from '../kvcache/index.js';
import { Kernels } from '../ring/kernels.js';
import { ClearPrims } from '../protocol/prims/clear.js';
import { RevealPrims } from '../protocol/prims/reveal.js';
import {
  HIDDEN_FRAME,
  MASK_FRAME,
  MASKED_FRAME,
  PROGRESS_FRAME,
  REVEAL_FRAME,
  SELECTION_FRAME,
  STOP_TAG,
} from './wire.js';

export const GenerateParams = z.object({
  shareId: z.string().regex(/^[0-9a-f]{32}$/),
  promptLen: z.number().int().min(1),
  maxNewTokens: z.number().int().min(1).max(8192),
  /** Opt-in: the client also receives the logits (for sampling); otherwise only token ids. */
  revealLogits: z.boolean().default(false),
  /** Test hook: the client also receives every layer's residual stream. Never for production. */
  revealHidden: z.boolean().default(false),
  /** KV-cache policy by name (kvcache/ registry); absent: the full cache (no policy layer). */
  policy: z.string().max(64).optional(),
  /** The policy's public options (kvcache/options.ts), validated with the policy. */
  policyOptions: z
    .record(z.string(), z.union([z.number(), z.boolean(), z.string().max(64), z.array(z.number()).max(16)]))
    .optional(),
  /** 'revealed': BENCHMARK MODE, the prefill is computed in the clear (not private); decoding stays secure. */
  prefill: z.enum(['secure', 'revealed']).default('secure'),
  /**
   * 'ahead': the dealer deals the run's material before the parties start (up to its memory-bound
   * window), so online latency is measured without waiting on the dealer; 'streamed' (default):
   * material is dealt while the parties compute.
   */
  preprocess: z.enum(['streamed', 'ahead']).default('streamed'),
  /** Test hook: the client also receives every selection the policy makes. Never for production. */
  revealSelections: z.boolean().default(false),
  /**
   * The network the non-linear recipes' designs are chosen for (protocol/cost-model.ts): public,
   * changes costs (rounds against bytes), never values. Default: the recipes' own (LAN).
   */
  network: z.enum(['lan', 'wan']).optional(),
});
export type GenerateParams = z.infer<typeof GenerateParams>;
/** What a client asks for (defaults not yet applied). */
export type GenerateRequest = z.input<typeof GenerateParams>;

/**
 * A generation job's parameters, validated (client, parties and dealer alike).
 * @throws MpcError E_INPUT naming the first bad field.
 */
export function parseGenerateParams(raw: unknown): GenerateParams {
  const r = GenerateParams.safeParse(raw);
  if (!r.success)
    throw new MpcError('E_INPUT', `generate: ${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message}`);
  return r.data;
}

/**
 * The job's KV-cache policy (null: full cache without a policy layer).
 * With `promptLen`, also checks that the policy can run on a prompt of that length.
 * @throws MpcError E_CONFIG on an unknown policy, invalid options, a plaintext-only policy, or a
 * budget that does not fit the prompt.
 */
export function policyOf(
  p: Pick<GenerateParams, 'policy' | 'policyOptions'> & { promptLen?: number },
): KvPolicy | null {
  if (p.policy === undefined) {
    if (p.policyOptions !== undefined) throw new MpcError('E_CONFIG', 'policy options without a policy');
    return null;
  }
  const policy = getPolicy(p.policy, p.policyOptions ?? {});
  if (policy.settings['plaintextOnly'] === true) {
    throw new MpcError(
      'E_CONFIG',
      `policy "${policy.name}" is a plaintext reference (it needs every exact attention score and a top-k over the whole cache per head and step) and cannot run under MPC`,
    );
  }
  if (p.promptLen !== undefined) policy.check?.(p.promptLen);
  return policy;
}

/** A token handle on a server: the count is public, the ids are known to the client only. */
export interface ClientTokens {
  readonly length: number;
}

export type RingModel<T extends AnyTensor, F extends FixedHandle> = AnyModelParams<RingTypes<T, F, ClientTokens>>;

/** Thrown inside a party's program when the client ends generation early (not an error). */
export class ClientStopped extends Error {
  constructor() {
    super('the client stopped the generation');
  }
}

export interface GenerationHooks<T> {
  onHidden?: (index: number, hidden: T) => void | Promise<void>;
  /** Every selection the policy makes (test hook, see RingOps). */
  onSelection?: SelectionHook<T>;
}

export async function generationProgram<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  nl: RingNonlinear,
  io: RingTokenIO<T, F, ClientTokens>,
  model: RingModel<T, F>,
  p: GenerateParams,
  hooks: GenerationHooks<T> = {},
): Promise<void> {
  const c = model.config;
  if (p.promptLen + p.maxNewTokens - 1 > c.nPositions) {
    throw new MpcError(
      'E_INPUT',
      `prompt of ${p.promptLen} tokens + ${p.maxNewTokens} new tokens exceeds the model's context of ${c.nPositions}`,
    );
  }
  const policy = policyOf(p);
  const Q =
    p.prefill === 'revealed' ? new RevealPrims(P, P.mode === 'secure' ? new ClearPrims(new Kernels()) : undefined) : P;
  const ops = new RingOps<T, F, ClientTokens>(Q, p.network && nl.tuned ? nl.tuned(p.network) : nl, io, FRAC_BITS);
  const state = createState(ops, c, p.promptLen + p.maxNewTokens - 1);
  const opts = {
    ...(hooks.onHidden ? { onHidden: hooks.onHidden } : {}),
    ...(policy ? { policy: PolicyAttention.of(policy, undefined, hooks.onSelection) } : {}),
  };
  try {
    // meter labels start with the phase kind: 'prefill.l2.attn.softmax…', 'decode.l2.attn.topk…'
    Q.phase('prefill');
    if (Q instanceof RevealPrims) Q.revealing = true;
    await Q.scope('prefill', async () => {
      const logits = await forward(ops, model, state, { length: p.promptLen }, opts);
      await ops.argmax(logits!);
    });
    if (Q instanceof RevealPrims) Q.revealing = false;
    for (let s = 0; s < p.maxNewTokens - 1; s++) {
      Q.phase(`decode.${s}`);
      await Q.scope('decode', async () => {
        const logits = await forward(ops, model, state, { length: 1 }, opts);
        await ops.argmax(logits!);
      });
    }
  } finally {
    for (const cache of state.caches) cache.reset();
  }
}

/**
 * Most ring elements one client input carries. The prompt's one-hot rows ([n, vocab], 8 bytes each:
 * 412 MB for 1024 tokens of GPT-2's 50 257) go in chunks of rows under this size, one client-assisted
 * product each, so that no process holds more than one chunk's masks and rows at a time (a public
 * function of n and the vocabulary: the embedded model's prompts stay one chunk; GPT-2's take 166
 * rows per chunk, one more client round trip per chunk).
 */
export const CLIENT_INPUT_MAX_ELEMENTS = 1 << 23;

/** Token embeddings of `n` client tokens, [n, d]: client-assisted products over row chunks. */
export async function embedClientTokens<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  wte: F,
  n: number,
): Promise<T> {
  const rows = Math.max(1, Math.floor(CLIENT_INPUT_MAX_ELEMENTS / wte.rowsCap));
  if (n <= rows) return P.fixedMatmulClient(wte, n, 'nn', 0, true);
  const parts: T[] = [];
  for (let a = 0; a < n; a += rows) parts.push(await P.fixedMatmulClient(wte, Math.min(rows, n - a), 'nn', 0, true));
  return P.concatFirst(parts);
}

/** The dealer's token I/O: only the correlations matter. */
export const DEALER_TOKEN_IO: RingTokenIO<AnyTensor, FixedHandle, ClientTokens> = {
  embedTokens: (P, wte, tokens) => embedClientTokens(P, wte, tokens.length),
  emitTokens: async (_P, idx) => ({ length: idx.shape[0]! }),
};

/** A party's token I/O and client-assisted inputs over its client link. */
export class PartyClientIO implements ClientIO, RingTokenIO<Share, FixedMatrix, ClientTokens> {
  /** @param challenges from the session's common seed (protocol/client-check.ts) */
  constructor(
    private readonly client: Link,
    private readonly p: GenerateParams,
    readonly challenges: ClientChallenges,
  ) {}

  sendMask(r: BigUint64Array): void {
    this.client.sendTensor({ type: MASK_FRAME, seq: 0n, tag: 0, check: 0, parts: [{ kind: 'u64', data: r }] });
  }

  async receiveMasked(n: number): Promise<BigUint64Array> {
    const next = this.client.nextTensor('the masked next token');
    const f = this.client.opts.meter ? await this.client.opts.meter.waitOn('client', next) : await next;
    if (f.type !== MASKED_FRAME) throw new MpcError('E_PROTOCOL', `expected a masked input, got frame type ${f.type}`);
    if (f.tag === STOP_TAG) throw new ClientStopped();
    const part = f.parts[0];
    if (f.parts.length !== 1 || part?.kind !== 'u64' || part.data.length !== n) {
      throw new MpcError('E_SHAPE', `masked input: expected ${n} ring elements`);
    }
    return part.data;
  }

  embedTokens(P: Prims<Share, FixedMatrix>, wte: FixedMatrix, tokens: ClientTokens): Promise<Share> {
    return embedClientTokens(P, wte, tokens.length);
  }

  /** revealToClient: the index share (and the logits share on opt-in) go to the client only. */
  async emitTokens(_P: Prims<Share, FixedMatrix>, idx: Share, logits: Share): Promise<ClientTokens> {
    const parts: Part[] = [{ kind: 'u64', data: idx.data }];
    if (this.p.revealLogits) parts.push({ kind: 'u64', data: logits.data });
    this.client.sendTensor({ type: REVEAL_FRAME, seq: 0n, tag: 0, check: 0, parts });
    return { length: idx.shape[0]! };
  }

  /** Progress: layer `index` of the current forward call is done (public: the schedule is). */
  progress(index: number): void {
    this.client.sendTensor({ type: PROGRESS_FRAME, seq: BigInt(index), tag: 0, check: 0, parts: [] });
  }

  /** revealToClient (test hook): a layer's residual stream. */
  revealHidden(index: number, h: Share): void {
    this.client.sendTensor({
      type: HIDDEN_FRAME,
      seq: BigInt(index),
      tag: 0,
      check: 0,
      parts: [{ kind: 'u64', data: h.data }],
    });
  }

  private selections = 0;

  /** revealToClient (test hook): a selection's one-hots, in the order the policy made them. */
  revealSelection(what: 'topk' | 'gather', sel: Share): void {
    const shape = BigUint64Array.from(sel.shape, (d) => BigInt(d));
    this.client.sendTensor({
      type: SELECTION_FRAME,
      seq: BigInt(this.selections++),
      tag: what === 'topk' ? 0 : 1,
      check: 0,
      parts: [
        { kind: 'u64', data: sel.data },
        { kind: 'u64', data: shape },
      ],
    });
  }
}
