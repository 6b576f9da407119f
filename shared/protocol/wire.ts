/**
 * Declared wire cost of one round: the parts of the frame each party sends (u64 ring parts,
 * packed-bit parts, raw byte parts, in the protocol's order). Frame bytes include the header
 * exactly as net/frame.ts encodes it, so a test can compare a declaration with the meter byte
 * for byte.
 */
export interface WireRound {
  readonly u64?: readonly number[];
  readonly bits?: readonly number[];
  readonly bytes?: readonly number[];
}

const pad8 = (n: number): number => (n + 7) & ~7;
const HEADER_BYTES = 32;

/** Payload bytes of a round (what the protocol opens, without framing). */
export function roundPayload(r: WireRound): number {
  return (r.u64 ?? []).reduce((t, c) => t + 8 * c, 0) + (r.bits ?? []).reduce((t, c) => t + Math.ceil(c / 8), 0) + (r.bytes ?? []).reduce((t, c) => t + c, 0);
}

/** Encoded frame bytes of a round (header, part table and 8-byte padding included). */
export function roundFrameBytes(r: WireRound): number {
  const sizes = [...(r.u64 ?? []).map((c) => 8 * c), ...(r.bits ?? []).map((c) => Math.ceil(c / 8)), ...(r.bytes ?? [])];
  return pad8(HEADER_BYTES + 8 * sizes.length) + sizes.reduce((t, b) => t + pad8(b), 0);
}
