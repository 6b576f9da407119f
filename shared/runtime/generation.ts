/**
 * Private generation: the program every role runs (parties over shares, the dealer over shapes),
 * and the token I/O through the client.
 *
 * Per session: prefill the prompt (the client supplies the prompt's one-hot rows masked, so token
 * ids never reach a server), then per step: secure argmax → the index is revealed to the client
 * only → the client returns the next token's masked one-hot. Phases are metered as 'prefill'
 * (prompt forward + first argmax) and 'decode.<s>' (forward of generated token s + its argmax).
 * The number of steps is public; a client may stop early, which reveals the output length.
 */
import { z } from 'zod';
import { MpcError } from '../util/errors.js';
import { FRAC_BITS } from '../ring/fixed.js';
import type { AnyTensor, Share } from '../ring/tensor.js';
import type { Link } from '../net/link.js';
import type { Part } from '../net/frame.js';
import type { ClientIO } from '../protocol/ctx.js';
import type { FixedMatrix } from '../protocol/fixed-mask.js';
import type { FixedHandle, Prims } from '../protocol/prims/types.js';
import { createState, forward } from '../model/forward.js';
import type { ModelParams } from '../model/ops/types.js';
import { RingOps, type RingNonlinear, type RingTokenIO, type RingTypes } from '../model/ring/ops.js';
import { HIDDEN_FRAME, MASK_FRAME, MASKED_FRAME, PROGRESS_FRAME, REVEAL_FRAME, STOP_TAG } from './wire.js';

export const GenerateParams = z.object({
  shareId: z.string().regex(/^[0-9a-f]{32}$/),
  promptLen: z.number().int().min(1),
  maxNewTokens: z.number().int().min(1).max(8192),
  /** Opt-in: the client also receives the logits (for sampling); otherwise only token ids. */
  revealLogits: z.boolean().default(false),
  /** Test hook: the client also receives every layer's residual stream. Never for production. */
  revealHidden: z.boolean().default(false),
});
export type GenerateParams = z.infer<typeof GenerateParams>;

/** A token handle on a server: the count is public, the ids are known to the client only. */
export interface ClientTokens { readonly length: number }

export type RingModel<T extends AnyTensor, F extends FixedHandle> = ModelParams<RingTypes<T, F, ClientTokens>>;

/** Thrown inside a party's program when the client ends generation early (not an error). */
export class ClientStopped extends Error {
  constructor() { super('the client stopped the generation'); }
}

export interface GenerationHooks<T> {
  onHidden?: (index: number, hidden: T) => void | Promise<void>;
}

export async function generationProgram<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>, nl: RingNonlinear, io: RingTokenIO<T, F, ClientTokens>, model: RingModel<T, F>, p: GenerateParams, hooks: GenerationHooks<T> = {},
): Promise<void> {
  const c = model.config;
  if (p.promptLen + p.maxNewTokens - 1 > c.nPositions) {
    throw new MpcError('E_INPUT', `prompt of ${p.promptLen} tokens + ${p.maxNewTokens} new tokens exceeds the model's context of ${c.nPositions}`);
  }
  const ops = new RingOps<T, F, ClientTokens>(P, nl, io, FRAC_BITS);
  const state = createState(ops, c, p.promptLen + p.maxNewTokens - 1);
  const opts = hooks.onHidden ? { onHidden: hooks.onHidden } : {};
  try {
    P.phase('prefill');
    let logits = await forward(ops, model, state, { length: p.promptLen }, opts);
    for (let s = 0; ; s++) {
      await ops.argmax(logits!);
      if (s === p.maxNewTokens - 1) break;
      P.phase(`decode.${s}`);
      logits = await forward(ops, model, state, { length: 1 }, opts);
    }
  } finally {
    for (const cache of state.caches) cache.reset();
  }
}

/** The dealer's token I/O: only the correlations matter. */
export const DEALER_TOKEN_IO: RingTokenIO<AnyTensor, FixedHandle, ClientTokens> = {
  embedTokens: (P, wte, tokens) => P.fixedMatmulClient(wte, tokens.length, 'nn', 0),
  emitTokens: async (_P, idx) => ({ length: idx.shape[0]! }),
};

/** A party's token I/O and client-assisted inputs over its client link. */
export class PartyClientIO implements ClientIO, RingTokenIO<Share, FixedMatrix, ClientTokens> {
  constructor(private readonly client: Link, private readonly p: GenerateParams) {}

  sendMask(r: BigUint64Array): void {
    this.client.sendTensor({ type: MASK_FRAME, seq: 0n, tag: 0, check: 0, parts: [{ kind: 'u64', data: r }] });
  }

  async receiveMasked(n: number): Promise<BigUint64Array> {
    const f = await this.client.nextTensor('the masked next token');
    if (f.type !== MASKED_FRAME) throw new MpcError('E_PROTOCOL', `expected a masked input, got frame type ${f.type}`);
    if (f.tag === STOP_TAG) throw new ClientStopped();
    const part = f.parts[0];
    if (f.parts.length !== 1 || part?.kind !== 'u64' || part.data.length !== n) {
      throw new MpcError('E_SHAPE', `masked input: expected ${n} ring elements`);
    }
    return part.data;
  }

  embedTokens(P: Prims<Share, FixedMatrix>, wte: FixedMatrix, tokens: ClientTokens): Promise<Share> {
    return P.fixedMatmulClient(wte, tokens.length, 'nn', 0);
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
    this.client.sendTensor({ type: HIDDEN_FRAME, seq: BigInt(index), tag: 0, check: 0, parts: [{ kind: 'u64', data: h.data }] });
  }
}
