/**
 * Correlation kinds: declared once, used by the dealer and by both parties.
 *
 * A kind lists its fields. A *free* field is plain randomness: each party expands its share from
 * its own seed, and the dealer expands both to learn the true value. A *correlated* field is a
 * function of the free fields (a·b, bits of a mask, B·r, …): party 0 still expands its share from
 * its seed, and the dealer sends party 1 the only explicit bytes of the scheme, the correction
 * `true − share0` (or `true ⊕ share0` for XOR fields). So dealer traffic to party 0 is its seed.
 *
 * `derive` is the dealer's maths as a pure function of the free fields' true values (plus the
 * dealer's registry of fixed masks for product kinds). Each kind is declared inside its
 * primitive's record (protocol/primitives/), next to the relation the registry test checks.
 */
import type { z } from 'zod';
import type { WireRound } from '../net/frame.js';
import { MpcError, invariant } from '../util/errors.js';
import type { DealerEnv } from './env.js';

/** 'ring': u64 elements, additive shares mod 2^64. 'xor': bytes, XOR shares (packed bits or small words). */
export type FieldType = 'ring' | 'xor';

export interface FieldSpec {
  readonly name: string;
  readonly type: FieldType;
  /** ring: number of u64 elements; xor: number of bytes. */
  readonly count: number;
  readonly correlated: boolean;
}

/** Values of a set of fields (shares on a party, true values on the dealer). */
export class Material {
  constructor(private readonly values: Map<string, BigUint64Array | Uint8Array> = new Map()) {}

  set(name: string, v: BigUint64Array | Uint8Array): this {
    this.values.set(name, v);
    return this;
  }

  ring(name: string): BigUint64Array {
    const v = this.values.get(name);
    invariant(v instanceof BigUint64Array, 'E_INTERNAL', `correlation field '${name}' is not a ring field`);
    return v;
  }

  xor(name: string): Uint8Array {
    const v = this.values.get(name);
    invariant(v instanceof Uint8Array, 'E_INTERNAL', `correlation field '${name}' is not an xor field`);
    return v;
  }

  has(name: string): boolean {
    return this.values.has(name);
  }
}

export interface CorrKind<P> {
  /** Stable name; its hash is the wire tag. */
  readonly name: string;
  /** Public parameters only (shapes, bit widths, fixed-mask ids). */
  readonly params: z.ZodType<P>;
  /**
   * The declared cost of the protocol step that consumes one item: what each party sends, round
   * by round (every interactive step takes exactly one item, so the item names the step).
   */
  rounds(p: P): WireRound[];
  fields(p: P): FieldSpec[];
  /**
   * True values of the correlated fields from the true values of the free ones (and, for kinds
   * whose relation involves a party's own share, party 0's material: e.g. the sign of an
   * XOR-shared one-hot, protocol/primitives/xlut.ts).
   */
  derive(free: Material, p: P, env: DealerEnv, share0: Material): Material;
}

/**
 * Checks an item's parameters against the kind's schema where the item is taken (corr/stream.ts):
 * they come from public shapes, so a failure is a caller's bug, never data.
 * @throws MpcError E_INTERNAL naming the kind and the first failing path.
 */
export function checkParams<P>(kind: CorrKind<P>, p: P): void {
  const r = kind.params.safeParse(p);
  if (r.success) return;
  const issue = r.error.issues[0];
  throw new MpcError(
    'E_INTERNAL',
    `${kind.name}: bad parameters at '${issue?.path.join('.') ?? ''}': ${issue?.message ?? 'invalid'}`,
  );
}

/** Declares a kind with type inference for its parameters. */
export function defineKind<P>(k: CorrKind<P>): CorrKind<P> {
  return Object.freeze(k);
}

export const ring = (name: string, count: number, correlated = false): FieldSpec => ({
  name,
  type: 'ring',
  count,
  correlated,
});
export const xor = (name: string, count: number, correlated = false): FieldSpec => ({
  name,
  type: 'xor',
  count,
  correlated,
});

/** Bytes that party 1 receives explicitly for one item (the kind's dealer cost). */
export function correctionBytes(fields: readonly FieldSpec[]): number {
  return fields.filter((f) => f.correlated).reduce((s, f) => s + (f.type === 'ring' ? 8 * f.count : f.count), 0);
}
