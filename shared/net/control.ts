/**
 * Control messages: msgpack behind a 4-byte magic, validated with zod on receipt.
 * Only small structured data travels here (session set-up, errors, reports); tensors never do.
 */
import { Packr } from 'msgpackr';
import { z } from 'zod';
import { MpcError } from '../util/errors.js';
import { CONTROL_MAGIC } from './frame.js';

// useRecords:false keeps the encoding plain msgpack (no msgpackr record extension), so any
// msgpack peer can read it; int64AsType 'number' for safety with plain JSON-like payloads.
const packr = new Packr({ useRecords: false, moreTypes: false, int64AsType: 'number' });

export function encodeControl(msg: unknown): Buffer {
  const body = packr.pack(msg);
  const out = Buffer.allocUnsafe(4 + body.length);
  out.writeUInt32LE(CONTROL_MAGIC, 0);
  body.copy(out, 4);
  return out;
}

/** @throws MpcError E_FRAME if the bytes are not msgpack. */
export function decodeControlRaw(buf: Uint8Array): unknown {
  try {
    return packr.unpack(buf.subarray(4));
  } catch (e) {
    throw new MpcError('E_FRAME', `control message is not valid msgpack (${(e as Error).message})`);
  }
}

/** Validates a decoded control message; the error names the schema path, never values. */
export function parseControl<T>(schema: z.ZodType<T>, raw: unknown, what: string): T {
  const r = schema.safeParse(raw);
  if (!r.success) {
    const issue = r.error.issues[0];
    const where = issue ? issue.path.join('.') || '(root)' : '(root)';
    throw new MpcError('E_FRAME', `${what}: invalid control message at ${where}: ${issue?.message ?? 'unknown'}`);
  }
  return r.data;
}
