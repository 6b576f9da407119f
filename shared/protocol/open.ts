/**
 * Opening: both parties send their shares and add what they receive. The only place (with
 * `revealTo*` in the runtime) where a value becomes public; every caller opens a value that is
 * masked by fresh dealer randomness, or a final output by design.
 */
import { invariant } from '../util/errors.js';
import { packBits, unpackBits, type Part } from '../net/frame.js';
import type { PartyCtx } from './ctx.js';

/** Opens several ring vectors in one round; returns the reconstructed values (new arrays). */
export async function openRing(ctx: PartyCtx, step: string, shares: readonly BigUint64Array[]): Promise<BigUint64Array[]> {
  const got = await ctx.exchange(step, shares.map((d) => ({ kind: 'u64', data: d }) as Part));
  return shares.map((mine, i) => {
    const p = got[i]!;
    invariant(p.kind === 'u64', 'E_PROTOCOL', 'expected a ring part');
    const out = new BigUint64Array(mine.length);
    for (let j = 0; j < out.length; j++) out[j] = mine[j]! + p.data[j]!;
    return out;
  });
}

/** Opens XOR-shared bits (one per byte, 0/1) in one round, packed on the wire. */
export async function openBits(ctx: PartyCtx, step: string, shares: readonly Uint8Array[]): Promise<Uint8Array[]> {
  const got = await ctx.exchange(step, shares.map((b) => ({ kind: 'bits', data: packBits(b), count: b.length }) as Part));
  return shares.map((mine, i) => {
    const p = got[i]!;
    invariant(p.kind === 'bits', 'E_PROTOCOL', 'expected a bits part');
    const theirs = unpackBits(p.data, mine.length);
    for (let j = 0; j < theirs.length; j++) theirs[j]! ^= mine[j]!;
    return theirs;
  });
}

/** Opens XOR-shared small words given as bytes (e.g. k-bit fields packed by the caller). */
export async function openBytes(ctx: PartyCtx, step: string, shares: readonly Uint8Array[]): Promise<Uint8Array[]> {
  const got = await ctx.exchange(step, shares.map((b) => ({ kind: 'bytes', data: b }) as Part));
  return shares.map((mine, i) => {
    const p = got[i]!;
    invariant(p.kind === 'bytes', 'E_PROTOCOL', 'expected a bytes part');
    const out = new Uint8Array(mine.length);
    for (let j = 0; j < out.length; j++) out[j] = mine[j]! ^ p.data[j]!;
    return out;
  });
}

/** Packs n values of k bits each (k ≤ 8) into a bit stream, LSB first. */
export function packFields(vals: Uint8Array, k: number): Uint8Array {
  const out = new Uint8Array(Math.ceil((vals.length * k) / 8));
  let bit = 0;
  for (let i = 0; i < vals.length; i++) {
    const v = vals[i]!;
    for (let b = 0; b < k; b++, bit++) if ((v >> b) & 1) out[bit >> 3]! |= 1 << (bit & 7);
  }
  return out;
}

export function unpackFields(packed: Uint8Array, n: number, k: number, out = new Uint8Array(n)): Uint8Array {
  let bit = 0;
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let b = 0; b < k; b++, bit++) v |= ((packed[bit >> 3]! >> (bit & 7)) & 1) << b;
    out[i] = v;
  }
  return out;
}

/**
 * Opens XOR-shared k-bit fields (the low k bits of each byte; higher bits are ignored),
 * sending exactly k bits each.
 */
export async function openFields(ctx: PartyCtx, step: string, shares: Uint8Array, k: number): Promise<Uint8Array> {
  if (k === 8) return (await openBytes(ctx, step, [shares]))[0]!;
  const [p] = await ctx.exchange(step, [{ kind: 'bits', data: packFields(shares, k), count: shares.length * k }]);
  invariant(p !== undefined && p.kind === 'bits', 'E_PROTOCOL', 'expected a bits part');
  const theirs = unpackFields(p.data, shares.length, k);
  const mask = (1 << k) - 1;
  for (let i = 0; i < theirs.length; i++) theirs[i] = (theirs[i]! ^ shares[i]!) & mask;
  return theirs;
}
