/**
 * Control messages between processes (msgpack, validated with zod on receipt).
 *
 * Per session, fresh connections are opened: client → each party, party 0 → party 1 (peer),
 * each party → dealer. A failure therefore ends one session's sockets, never the servers.
 *
 *   client → party:  run {session, job}, then the input shares as tensor frames (type INPUT)
 *   party  → client: result {outputs, report} after the output shares (type OUTPUT), or abort
 *   party0 → party1: peer {session, jobHash}  ← peer-ok
 *   party  → dealer: open {session, role, job} ← seed {session, seed}; party 1 then reads the
 *                    correction stream and returns credit; either side may abort.
 */
import { z } from 'zod';
import { createHash } from 'node:crypto';

export const INPUT_FRAME = 3;
export const OUTPUT_FRAME = 4;
/** Generation: party → client, this party's share of a client-assisted product's input mask. */
export const MASK_FRAME = 5;
/** Generation: client → party, the masked input x − r (tag STOP_TAG: the client ends generation). */
export const MASKED_FRAME = 6;
export const STOP_TAG = 1;
/** Generation: party → client, this party's share of the next token id (and of the logits on request). */
export const REVEAL_FRAME = 7;
/** Test hook (revealHidden): party → client, shares of a layer's residual stream. */
export const HIDDEN_FRAME = 8;
/** Generation: party → client, "layer `seq` done" (no data): progress on long prefills; keeps waits alive. */
export const PROGRESS_FRAME = 9;
/** Test hook (revealSelections): party → client, shares of a selection (seq = index, tag 0 top-k / 1 gather; parts: data, shape). */
export const SELECTION_FRAME = 10;

export const SessionId = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'session ids are 1-64 characters of [A-Za-z0-9_.-]');

const Scalar = z.union([z.number(), z.string().max(4096), z.boolean()]);
const Flat = z.union([Scalar, z.array(z.number()).max(256)]);

/** A job names what the session computes; everything in it is public. */
export const Job = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('op'), op: z.string().max(64), params: z.record(z.string(), Scalar) }),
  z.object({ kind: z.literal('generate'), params: z.record(z.string(), z.union([Flat, z.record(z.string(), Flat)])) }),
  z.object({ kind: z.literal('load'), shareId: z.string().regex(/^[0-9a-f]{32}$/), model: z.record(z.string(), z.unknown()) }),
]);
export type Job = z.infer<typeof Job>;

export function jobHash(job: Job): string {
  return createHash('sha256').update(JSON.stringify(job)).digest('hex').slice(0, 32);
}

export const RunMsg = z.object({ t: z.literal('run'), session: SessionId, job: Job });
export const PeerMsg = z.object({ t: z.literal('peer'), session: SessionId, jobHash: z.string().max(64) });
export const PeerOkMsg = z.object({ t: z.literal('peer-ok'), session: SessionId });
export const OpenMsg = z.object({ t: z.literal('open'), session: SessionId, role: z.union([z.literal(0), z.literal(1)]), job: Job });
export const SeedMsg = z.object({ t: z.literal('seed'), session: SessionId, seed: z.instanceof(Uint8Array).refine((s) => s.length === 16, 'seed must be 16 bytes') });

export const OutputSpec = z.object({ shape: z.array(z.number().int().nonnegative()).max(8), fracBits: z.number().int().min(0).max(63) });
export const ResultMsg = z.object({
  t: z.literal('result'),
  session: SessionId,
  outputs: z.array(OutputSpec).max(64),
  report: z.unknown(),
  ms: z.number(),
});
export type ResultMsg = z.infer<typeof ResultMsg>;

/** Any message a server may receive first on a new connection. */
export const FirstMsg = z.discriminatedUnion('t', [RunMsg, PeerMsg, OpenMsg]);
