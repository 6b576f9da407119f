/**
 * Control messages between processes (msgpack, validated with zod on receipt) and the session
 * protocol they make. Every connection is TLS with role certificates (net/tls.ts): who may send
 * which first message is fixed by the listener's role check before anything is read.
 *
 * Per session, fresh connections are opened, so a failure ends one session's sockets, never the
 * servers. Session ids are made by party 0 (128 random bits, 32 hex digits); party 1 and the dealer
 * accept an id only once, and no id can spell a model scope (`model/…`, `session/…` below).
 *
 *   client → party 0:  run {job} (+ INPUT frame for ops)   ← session {session}
 *   client → party 1:  join {session, job} (+ INPUT frame) — matched with party 0's peer hello
 *   party 0 → party 1: peer {session, jobHash, loadId?, load?}   ← peer-ok {session}
 *   party  → dealer:   open {session, job, loadId?}   ← seed {session, seed, common}
 *                      party 1 then reads the correction stream and returns credit
 *   party → client:    result {outputs, report} after the output shares (type OUTPUT), or abort
 *   party 0 → party 1, party 0 → dealer: presence {} — held open while party 0 serves a model, so
 *                      party 0 notices a restart of either and reloads the model when it is back
 */
import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';

export {
  HIDDEN_FRAME,
  INPUT_FRAME,
  MASK_FRAME,
  MASKED_FRAME,
  OUTPUT_FRAME,
  PROGRESS_FRAME,
  REVEAL_FRAME,
  SELECTION_FRAME,
} from '../net/frame-types.js';
/** Tag of a MASKED frame by which the client ends generation. */
export const STOP_TAG = 1;

export const SessionId = z.string().regex(/^[0-9a-f]{32}$/, 'session ids are 32 hex digits made by party 0');

/** A fresh, unguessable session id (party 0 only). */
export function newSessionId(): string {
  return randomBytes(16).toString('hex');
}

/** How logs and error messages name a session: its first 8 hex digits (the full id is a join token). */
export const shortId = (id: string): string => id.slice(0, 8);

/** Prefix of the fixed-mask ids of a model load and of a session: disjoint name spaces. */
export const modelScope = (loadId: string): string => `model/${loadId}`;
export const sessionScope = (session: string): string => `session/${session}`;

const Scalar = z.union([z.number(), z.string().max(4096), z.boolean()]);
const Flat = z.union([Scalar, z.array(z.number()).max(256)]);

/** A job names what the session computes; everything in it is public. */
export const Job = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('op'), op: z.string().max(64), params: z.record(z.string(), Scalar) }),
  z.object({ kind: z.literal('generate'), params: z.record(z.string(), z.union([Flat, z.record(z.string(), Flat)])) }),
  z.object({
    kind: z.literal('load'),
    shareId: z.string().regex(/^[0-9a-f]{32}$/),
    model: z.record(z.string(), z.unknown()),
  }),
]);
export type Job = z.infer<typeof Job>;

export function jobHash(job: Job): string {
  return createHash('sha256').update(JSON.stringify(job)).digest('hex').slice(0, 32);
}

export const RunMsg = z.object({ t: z.literal('run'), job: Job });
export const SessionMsg = z.object({ t: z.literal('session'), session: SessionId });
export const JoinMsg = z.object({ t: z.literal('join'), session: SessionId, job: Job });
export const PeerMsg = z.object({
  t: z.literal('peer'),
  session: SessionId,
  jobHash: z.string().max(64),
  loadId: SessionId.optional(),
  load: z.boolean().optional(),
});
export const PeerOkMsg = z.object({ t: z.literal('peer-ok'), session: SessionId });
export const PresenceMsg = z.object({ t: z.literal('presence') });
export const OpenMsg = z.object({ t: z.literal('open'), session: SessionId, job: Job, loadId: SessionId.optional() });
const Seed16 = z.instanceof(Uint8Array).refine((s) => s.length === 16, 'seeds are 16 bytes');
/** `common`: a seed both parties receive and the client never sees (challenges of client-input checks). */
export const SeedMsg = z.object({ t: z.literal('seed'), session: SessionId, seed: Seed16, common: Seed16 });

/**
 * Preprocessing ahead (`preprocess: 'ahead'`): the dealer tells party 1 that the run's material is
 * all dealt (`complete`) or that its window is full; party 1 then tells party 0 on the peer link.
 */
export const AheadMsg = z.object({ t: z.literal('ahead'), complete: z.boolean() });

const TrafficSchema = z.object({
  sentBytes: z.number(),
  recvBytes: z.number(),
  rounds: z.number(),
  frames: z.number(),
});
const LinkName = z.enum(['peer', 'dealer', 'client']);
/** net/meter.ts MeterReport, as a party sends it to the client. */
export const MeterReportSchema = z.object({
  links: z.record(LinkName, TrafficSchema),
  phases: z.record(
    z.string(),
    TrafficSchema.extend({
      ms: z.number(),
      dealerRecvBytes: z.number(),
      dealerSentBytes: z.number(),
      waitMs: z.record(LinkName, z.number()),
    }),
  ),
  labels: z.record(z.string(), TrafficSchema),
});

export const OutputSpec = z.object({
  shape: z.array(z.number().int().nonnegative()).max(8),
  fracBits: z.number().int().min(0).max(63),
});
export const ResultMsg = z.object({
  t: z.literal('result'),
  session: SessionId,
  outputs: z.array(OutputSpec).max(64),
  report: MeterReportSchema,
  ms: z.number(),
});
export type ResultMsg = z.infer<typeof ResultMsg>;

/** First messages a listener accepts (the TLS role check has already chosen who may send them). */
export const PeerFirstMsg = z.discriminatedUnion('t', [PeerMsg, PresenceMsg]);
export const DealerFirstMsg = z.discriminatedUnion('t', [OpenMsg, PresenceMsg]);
