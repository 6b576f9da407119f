/**
 * Consuming correlations on a party, and producing them on the dealer.
 *
 * Identity: every item is (session, seq, kind, params); `take` first checks the params against the
 * kind's zod schema (corr/kind.ts `checkParams`). Party 1 receives each item's corrections
 * in a frame carrying seq, the kind's tag and a hash of its params, and `take` checks all three
 * (E_CORR_MISMATCH). Party 0 derives everything from its seed; both parties fold each item's
 * identity into a running digest that travels in every exchange frame, so a party whose schedule
 * diverged from its peer's is caught on the next round. An item is handed out once; the stream
 * position only moves forward, so reuse is impossible by construction.
 *
 * Flow control: the dealer keeps at most `windowBytes` of unacknowledged corrections in flight;
 * party 1 returns credit as it consumes items.
 */
import { z } from 'zod';
import { MpcError, invariant } from '../util/errors.js';
import { Prg } from '../ring/prg.js';
import { hash32, tensorFrameBytes, type Part } from '../net/frame.js';
import { CORR_FRAME } from '../net/frame-types.js';
import type { Link } from '../net/link.js';
import type { Meter } from '../net/meter.js';
import { Material, checkParams, correctionBytes, type CorrKind, type FieldSpec } from './kind.js';
import { assembleParty1, dealItem, expandShare } from './expand.js';
import type { DealerEnv } from './env.js';

/** Stream ids under one seed: session material vs. model-scope fixed masks. */
export const STREAM_SESSION = 1n;

export function paramsHash(kindName: string, p: unknown): number {
  return hash32(JSON.stringify(p), hash32(kindName));
}

function foldDigest(d: number, tag: number, ph: number): number {
  return hash32(`${tag}:${ph}`, d);
}

const Credit = z.object({
  t: z.literal('credit'),
  session: z.string(),
  seq: z.number().int().nonnegative(),
  bytes: z.number().nonnegative(),
});

/** What a protocol needs to take correlations (implemented by both parties and by the dealer). */
export interface CorrSource {
  take<P>(kind: CorrKind<P>, params: P): Promise<Material>;
  readonly digest: number;
  readonly seq: number;
}

/** Party-side stream of one session. */
export class PartyCorrStream implements CorrSource {
  private prg: Prg;
  private nextSeq = 0;
  private digestValue = 0x12345678;
  private consumedBytes = 0;
  private creditedBytes = 0;

  /**
   * @param me       0 or 1
   * @param seed     this party's session seed (from the dealer)
   * @param dealer   the dealer link (party 1 reads corrections from it; party 0 never does)
   */
  constructor(
    private readonly me: 0 | 1,
    seed: Uint8Array,
    private readonly session: string,
    private readonly dealer: Link | undefined,
    private readonly meter?: Meter,
    private readonly creditEvery = 4 * 1024 * 1024,
  ) {
    this.prg = new Prg(seed, STREAM_SESSION);
    invariant(me === 0 || dealer !== undefined, 'E_INTERNAL', 'party 1 needs a dealer link');
  }

  get digest(): number {
    return this.digestValue;
  }
  get seq(): number {
    return this.nextSeq;
  }

  async take<P>(kind: CorrKind<P>, params: P): Promise<Material> {
    checkParams(kind, params);
    const seq = this.nextSeq++;
    const tag = hash32(kind.name);
    const ph = paramsHash(kind.name, params);
    this.digestValue = foldDigest(this.digestValue, tag, ph);
    const fields = kind.fields(params);
    if (this.me === 0) return expandShare(this.prg, fields, false);
    const pending = this.dealer!.nextTensor(`correlation #${seq} (${kind.name})`);
    const f = this.meter ? await this.meter.waitOn('dealer', pending) : await pending;
    if (f.type !== CORR_FRAME)
      throw new MpcError('E_CORR_MISMATCH', `expected correlation #${seq}, got frame type ${f.type}`);
    if (f.seq !== BigInt(seq))
      throw new MpcError('E_CORR_MISMATCH', `expected correlation #${seq} (${kind.name}), the dealer sent #${f.seq}`);
    if (f.tag !== tag)
      throw new MpcError(
        'E_CORR_MISMATCH',
        `correlation #${seq}: expected kind ${kind.name}, the dealer sent another kind (tag ${f.tag})`,
      );
    if (f.check !== ph)
      throw new MpcError(
        'E_CORR_MISMATCH',
        `correlation #${seq} (${kind.name}): parameters differ from the dealer's (shape mismatch)`,
      );
    const corrections = partsToCorrections(f.parts, fields, seq, kind.name);
    const m = assembleParty1(this.prg, fields, corrections);
    this.consumedBytes += correctionBytes(fields);
    this.meter?.recordDealerItem(tensorFrameBytes(f.parts));
    if (this.consumedBytes - this.creditedBytes >= this.creditEvery) this.sendCredit(seq);
    return m;
  }

  private sendCredit(seq: number): void {
    this.creditedBytes = this.consumedBytes;
    if (!this.dealer!.failed)
      this.dealer!.sendControl({ t: 'credit', session: this.session, seq, bytes: this.consumedBytes });
  }
}

function partsToCorrections(
  parts: Part[],
  fields: readonly FieldSpec[],
  seq: number,
  name: string,
): Array<BigUint64Array | Uint8Array> {
  const corr = fields.filter((f) => f.correlated);
  if (parts.length !== corr.length)
    throw new MpcError(
      'E_CORR_MISMATCH',
      `correlation #${seq} (${name}): ${parts.length} parts, expected ${corr.length}`,
    );
  return corr.map((f, i) => {
    const p = parts[i]!;
    if (f.type === 'ring') {
      if (p.kind !== 'u64' || p.data.length !== f.count)
        throw new MpcError(
          'E_CORR_MISMATCH',
          `correlation #${seq} (${name}).${f.name}: expected ${f.count} ring elements`,
        );
      return p.data;
    }
    if (p.kind !== 'bytes' || p.data.length !== f.count)
      throw new MpcError('E_CORR_MISMATCH', `correlation #${seq} (${name}).${f.name}: expected ${f.count} bytes`);
    return p.data;
  });
}

/**
 * Dealer-side producer for one session: deals items in schedule order and streams party 1's
 * corrections with a bounded window. `take` is the same call a party makes, so the dealer can
 * run the parties' program to produce the schedule.
 */
export class DealerCorrSink implements CorrSource {
  private readonly prg0: Prg;
  private readonly prg1: Prg;
  private nextSeq = 0;
  private digestValue = 0x12345678;
  private sentBytes = 0;
  private ackedBytes = 0;
  private creditWaiter: (() => void) | undefined;
  /** Bytes of corrections produced (= dealer bytes to party 1 excluding frame headers). */
  dealtBytes = 0;
  /** Called when the window is full and the dealer starts waiting for party 1's credit. */
  onWindowFull: (() => void) | undefined;
  /** The same per correlation kind (for reports: which protocols the dealer's traffic pays for). */
  readonly bytesByKind = new Map<string, number>();

  constructor(
    seed0: Uint8Array,
    seed1: Uint8Array,
    private readonly session: string,
    private readonly party1: Link,
    private readonly env: DealerEnv,
    private readonly windowBytes: number,
  ) {
    this.prg0 = new Prg(seed0, STREAM_SESSION);
    this.prg1 = new Prg(seed1, STREAM_SESSION);
  }

  get digest(): number {
    return this.digestValue;
  }
  get seq(): number {
    return this.nextSeq;
  }

  /** Feed a credit message from party 1 (the dealer's link reader calls this). */
  credit(raw: unknown): void {
    const c = Credit.parse(raw);
    if (c.session !== this.session) return;
    this.ackedBytes = Math.max(this.ackedBytes, c.bytes);
    const w = this.creditWaiter;
    this.creditWaiter = undefined;
    w?.();
  }

  static isCredit(raw: unknown): boolean {
    return Credit.safeParse(raw).success;
  }

  /** Feeds party 1's credit from its link to `credit` until the link closes or fails; other messages are ignored. */
  async readCredit(): Promise<void> {
    for (;;) {
      let msg: unknown;
      try {
        msg = await this.party1.nextControl(z.unknown(), 'credit', 0);
      } catch {
        return;
      }
      if (DealerCorrSink.isCredit(msg)) this.credit(msg);
    }
  }

  async take<P>(kind: CorrKind<P>, params: P): Promise<Material> {
    checkParams(kind, params);
    const seq = this.nextSeq++;
    const tag = hash32(kind.name);
    const ph = paramsHash(kind.name, params);
    this.digestValue = foldDigest(this.digestValue, tag, ph);
    const fields = kind.fields(params);
    const corrections = dealItem(kind, params, fields, this.prg0, this.prg1, this.env);
    const bytes = correctionBytes(fields);
    if (this.sentBytes - this.ackedBytes > this.windowBytes) this.onWindowFull?.();
    while (this.sentBytes - this.ackedBytes > this.windowBytes) {
      await new Promise<void>((resolve, reject) => {
        this.creditWaiter = resolve;
        this.party1.onFailure(reject);
      });
    }
    const parts: Part[] = corrections.map((c) =>
      c instanceof BigUint64Array ? { kind: 'u64', data: c } : { kind: 'bytes', data: c },
    );
    this.party1.sendTensor({ type: CORR_FRAME, seq: BigInt(seq), tag, check: ph, parts });
    this.sentBytes += bytes;
    this.dealtBytes += bytes;
    this.bytesByKind.set(kind.name, (this.bytesByKind.get(kind.name) ?? 0) + bytes);
    return new Material(); // the dealer's program never reads material
  }
}

export { Material };
