/**
 * Opening: both parties send their shares of some values in one round and combine what they
 * receive. The only place where a protocol makes a value public: `open` (and the typed helpers
 * below) are the only callers of `ctx.exchange` (test/protocol/openings.test.ts checks it), so
 * searching for `open` lists every leakage point. Every caller opens a value masked by fresh dealer
 * randomness, or a final output by design, and says which in its header.
 *
 * What one round can carry (any mix, in order, one frame each way):
 *   ring    additive shares mod 2^64              u64 part, 8 bytes per element
 *   low     additive shares mod 2^k (k ≤ 64)      k bits per element (a share reduced mod 2^k is
 *                                                 still a share mod 2^k)
 *   bits    XOR-shared bits, one per byte          packed, 1 bit per element
 *   bytes   XOR-shared bytes                       1 byte per element
 *   fields  XOR-shared k-bit fields (k ≤ 8)        k bits per element (k = 8: a bytes part)
 */
import { invariant } from '../util/errors.js';
import { packBits, unpackBits, type Part } from '../net/frame.js';
import { maskLowInto } from '../ring/u64.js';
import type { PartyCtx } from './ctx.js';
import { packFields, packLow, unpackFields, unpackLow } from './pack.js';

export type Opening =
  | { readonly ring: BigUint64Array }
  | { readonly low: BigUint64Array; readonly k: number }
  | { readonly bits: Uint8Array }
  | { readonly bytes: Uint8Array }
  | { readonly fields: Uint8Array; readonly k: number };

/** What an opening gives back: ring values for `ring` and `low` (mod 2^k), bytes otherwise. */
export type Opened<I> = I extends { ring: unknown } | { low: unknown } ? BigUint64Array : Uint8Array;

function partOf(o: Opening): Part {
  if ('ring' in o) return { kind: 'u64', data: o.ring };
  if ('low' in o)
    return o.k === 64
      ? { kind: 'u64', data: o.low }
      : { kind: 'bits', data: packLow(o.low, o.k), count: o.low.length * o.k };
  if ('bits' in o) return { kind: 'bits', data: packBits(o.bits), count: o.bits.length };
  if ('bytes' in o) return { kind: 'bytes', data: o.bytes };
  return o.k === 8
    ? { kind: 'bytes', data: o.fields }
    : { kind: 'bits', data: packFields(o.fields, o.k), count: o.fields.length * o.k };
}

/**
 * Mine combined with the peer's part (new arrays). The channel (ctx.ts) has already checked that
 * each part has the kind and length of ours.
 */
function combine(o: Opening, p: Part): BigUint64Array | Uint8Array {
  if ('ring' in o || 'low' in o) {
    const mine = 'ring' in o ? o.ring : o.low,
      k = 'ring' in o ? 64 : o.k;
    invariant(p.kind === (k === 64 ? 'u64' : 'bits'), 'E_PROTOCOL', 'expected a ring or low-bits part');
    const theirs = p.kind === 'u64' ? p.data : unpackLow(p.data, mine.length, k);
    const out = new BigUint64Array(mine.length);
    for (let j = 0; j < out.length; j++) out[j] = mine[j]! + theirs[j]!;
    return maskLowInto(out, k);
  }
  if ('bits' in o) {
    invariant(p.kind === 'bits', 'E_PROTOCOL', 'expected a bits part');
    const theirs = unpackBits(p.data, o.bits.length);
    for (let j = 0; j < theirs.length; j++) theirs[j]! ^= o.bits[j]!;
    return theirs;
  }
  const mine = 'bytes' in o ? o.bytes : o.fields,
    k = 'bytes' in o ? 8 : o.k;
  invariant(p.kind === (k === 8 ? 'bytes' : 'bits'), 'E_PROTOCOL', 'expected a bytes or fields part');
  const theirs = p.kind === 'bytes' ? p.data : unpackFields(p.data as Uint8Array, mine.length, k);
  const out = new Uint8Array(mine.length),
    mask = (1 << k) - 1;
  for (let j = 0; j < out.length; j++) out[j] = (mine[j]! ^ theirs[j]!) & mask;
  return out;
}

/** Opens every item in one round (one frame each way) and returns the reconstructed values. */
export async function open<const I extends readonly Opening[]>(
  ctx: PartyCtx,
  step: string,
  items: I,
): Promise<{ -readonly [K in keyof I]: Opened<I[K]> }> {
  const got = await ctx.exchange(step, items.map(partOf));
  return items.map((o, i) => combine(o, got[i]!)) as { -readonly [K in keyof I]: Opened<I[K]> };
}

/** Opens several ring vectors in one round. */
export async function openRing(
  ctx: PartyCtx,
  step: string,
  shares: readonly BigUint64Array[],
): Promise<BigUint64Array[]> {
  return open(
    ctx,
    step,
    shares.map((ring) => ({ ring })),
  ) as Promise<BigUint64Array[]>;
}

/** Opens XOR-shared bits (one per byte, 0/1) in one round, packed on the wire. */
export async function openBits(ctx: PartyCtx, step: string, shares: readonly Uint8Array[]): Promise<Uint8Array[]> {
  return open(
    ctx,
    step,
    shares.map((bits) => ({ bits })),
  ) as Promise<Uint8Array[]>;
}

/** Opens XOR-shared k-bit fields (the low k bits of each byte; higher bits are ignored), k bits each. */
export async function openFields(ctx: PartyCtx, step: string, shares: Uint8Array, k: number): Promise<Uint8Array> {
  const [v] = await open(ctx, step, [{ fields: shares, k }]);
  return v;
}
