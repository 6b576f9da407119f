/**
 * The context every protocol function takes first: who I am, the batched exchange with the
 * other party, the correlation stream, the meter and the kernels. No globals.
 *
 * `exchange(step, parts)` is the only way bytes reach the other party: one frame each way, one
 * round. Protocols never call it directly: every opening goes through open.ts. Every frame carries the round number, the step label's hash and the correlation digest;
 * a mismatch means the two parties are not running the same schedule, which aborts the session
 * (E_PROTOCOL / E_CORR_MISMATCH) instead of silently combining unrelated shares.
 */
import { MpcError } from '../util/errors.js';
import { hash32, type Part } from '../net/frame.js';
import { EXCHANGE_FRAME } from '../net/frame-types.js';
import type { Link } from '../net/link.js';
import type { Meter } from '../net/meter.js';
import type { Kernels } from '../ring/kernels.js';
import type { CorrSource } from '../corr/stream.js';
import type { Logger } from '../util/logger.js';
import type { ClientChallenges } from './client-check.js';

/**
 * A round's step: a protocol step's name (metered under the current scope), or a batched round
 * (prims/batch.ts): the tag both parties check and each protocol's full label and bytes.
 */
export type Step = string | { readonly tag: string; readonly split: readonly { label: string; bytes: number }[] };

export interface PartyCtx {
  readonly me: 0 | 1;
  readonly kernels: Kernels;
  readonly corr: CorrSource;
  readonly meter: Meter;
  /** One round: sends `parts`, returns the peer's parts (same layout). */
  exchange(step: Step, parts: Part[]): Promise<Part[]>;
  /** The client, for client-assisted inputs (absent in sessions without a client, e.g. model load). */
  readonly client?: ClientIO;
}

/** What a party needs from the client for client-assisted products. */
export interface ClientIO {
  /** Challenges of the one-hot check of the client's inputs (from a seed the client never sees). */
  readonly challenges: ClientChallenges;
  /** Sends this party's share of the input mask r to the client. */
  sendMask(r: BigUint64Array): void;
  /** Receives the client's masked input x − r (`n` elements). */
  receiveMasked(n: number): Promise<BigUint64Array>;
}

/** Exchanges over a peer link with round/label/digest checks. */
export class PeerChannel {
  private round = 0;
  constructor(
    private readonly link: Link,
    private readonly meter: Meter,
    private readonly corr: () => CorrSource,
    private readonly log?: Logger,
  ) {}

  async exchange(step: Step, parts: Part[]): Promise<Part[]> {
    const round = this.round++;
    const named = typeof step === 'string',
      at = named ? step : step.split;
    const label = named ? this.meter.currentLabel(step) : step.split[0]!.label;
    const tag = hash32(named ? step : step.tag);
    const digest = this.corr().digest;
    const t0 = this.log?.isLevelEnabled('debug') ? performance.now() : 0;
    const bytes = this.link.sendTensor({ type: EXCHANGE_FRAME, seq: BigInt(round), tag, check: digest, parts }, at);
    const f = await this.meter.waitOn('peer', this.link.nextTensor(`round ${round} (${label})`));
    if (f.type !== EXCHANGE_FRAME || f.seq !== BigInt(round)) {
      throw new MpcError('E_PROTOCOL', `round ${round} (${label}): peer sent frame type ${f.type} for round ${f.seq}`);
    }
    if (f.tag !== tag)
      throw new MpcError('E_PROTOCOL', `round ${round} (${label}): peer is at a different protocol step`);
    if (f.check !== digest)
      throw new MpcError('E_CORR_MISMATCH', `round ${round} (${label}): peer consumed different correlations`);
    if (f.parts.length !== parts.length)
      throw new MpcError(
        'E_PROTOCOL',
        `round ${round} (${label}): peer sent ${f.parts.length} parts, expected ${parts.length}`,
      );
    f.parts.forEach((p, i) => {
      const mine = parts[i]!;
      const ok =
        p.kind === mine.kind &&
        (p.kind === 'u64'
          ? p.data.length === (mine.data as BigUint64Array).length
          : p.kind === 'bits'
            ? p.count === (mine as { count: number }).count
            : p.data.length === mine.data.length);
      if (!ok)
        throw new MpcError(
          'E_PROTOCOL',
          `round ${round} (${label}): part ${i} has a different kind or length than ours`,
        );
    });
    this.meter.round(at);
    if (t0) this.log!.debug({ round, label, bytes, ms: +(performance.now() - t0).toFixed(3) }, 'round');
    return f.parts;
  }

  get rounds(): number {
    return this.round;
  }
}
