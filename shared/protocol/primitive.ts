/**
 * A primitive: one interactive two-party operation, declared once, in one record (one module per
 * primitive under primitives/, listed in primitives/index.ts). The record says everything a role
 * needs, so the Prims implementations (prims/) are short generic interpreters over the list:
 *
 *   kind      the correlation kind one invocation takes (exactly one item): its public
 *             parameters (zod), its rounds — the declared cost, what each party sends round by
 *             round (bytes: net/frame.ts) —, its fields and the dealer's derivation (corr/kind.ts);
 *   params    the item's parameters from the inputs' shapes and scales (and the checks on them);
 *   outputs   the outputs' shapes and scales;
 *   clear     the emulation: the exact ring function the protocol computes;
 *   secure    the protocol's numbered steps on this party's shares, given the item;
 *   relation  what the dealt material satisfies; `example` a random invocation.
 *
 * test/protocol/primitives.test.ts loops over the list: the relation holds on the dealt material,
 * secure == clear bit for bit, and the meter equals the kind's rounds and correction bytes.
 * Inputs are a list of tensors plus public options `O`; operations on fixed-mask matrices also get
 * the matrices they touch, each role in its own storage (fixed-mask.ts).
 */
import type { CorrKind, Material } from '../corr/kind.js';
import type { DealerEnv } from '../corr/env.js';
import type { Kernels } from '../ring/kernels.js';
import type { AnyTensor, Shape } from '../ring/tensor.js';
import type { PartyCtx } from './ctx.js';
import type { ClearFixed, FixedHandle, FixedMatrix } from './fixed-mask.js';
import type { Prims } from './prims/types.js';

/** What every role knows of a tensor. */
export interface Meta {
  readonly shape: Shape;
  readonly fracBits: number;
}

/** A tensor with data: this party's share, or a value of the emulation. */
export interface Held extends Meta {
  readonly data: BigUint64Array;
}

/** One invocation as the emulation and the parties see it. */
export interface Call<O, P, W> {
  readonly p: P;
  readonly o: O;
  readonly xs: readonly Held[];
  readonly ws: readonly W[];
}

/** True values of an item's fields (reconstructed from both parties' material), and party 0's shares. */
export interface Dealt {
  ring(name: string): BigUint64Array;
  xor(name: string): Uint8Array;
  readonly party0: { ring(name: string): BigUint64Array; xor(name: string): Uint8Array };
}

/** What examples draw from (test/util/rng.ts's TestRng has it). */
export interface SampleRng {
  uniform(lo: number, hi: number): number;
  int(lo: number, hi: number): number;
}

/** A random invocation: a program over Prims and its real inputs (encoded at `fracBits`). */
export interface Example {
  readonly inputs: ReadonlyArray<{
    readonly shape: readonly number[];
    readonly fracBits: number;
    readonly values: Float64Array;
  }>;
  readonly program: <T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, xs: readonly T[]) => Promise<T[]>;
  /** False when only the dealer can run it (client-assisted products need a client). */
  readonly inProcess?: boolean;
}

export interface Primitive<O = any, P = any> {
  /** The Prims method that runs it (and the label in reports and tests). */
  readonly name: string;
  readonly kind: CorrKind<P>;
  /** Runs the real protocol even in the revealed benchmark mode (prims/reveal.ts): fixed-mask ops. */
  readonly alwaysSecure?: boolean;
  /** @throws MpcError E_SHAPE (or E_INTERNAL) when the inputs do not fit. */
  params(xs: readonly Meta[], o: O, ws: readonly FixedHandle[]): P;
  outputs(p: P, xs: readonly Meta[], o: O, ws: readonly FixedHandle[]): Meta[];
  clear(c: Call<O, P, ClearFixed>, kernels: Kernels): BigUint64Array[];
  secure(ctx: PartyCtx, mat: Material, c: Call<O, P, FixedMatrix>): Promise<BigUint64Array[]>;
  /**
   * Bookkeeping every role does on the matrices when the step is taken, before its rounds (rows
   * appended or copied: the step writes rows [rowsUsed − added, rowsUsed)), so that a later step of
   * the same batched round (prims/batch.ts) already sees them.
   */
  reserve?(p: P, ws: readonly FixedHandle[]): void;
  /** The first violation of the relation by the item's true values, or undefined. */
  relation(v: Dealt, p: P, env: DealerEnv): string | undefined;
  example(rng: SampleRng): Example;
}

/** Declares a primitive with type inference for its options and parameters. */
export function definePrimitive<O, P>(p: Primitive<O, P>): Primitive<O, P> {
  return Object.freeze(p);
}

/** For relations: the first index where `got` differs from `want`, as a message. */
export function differs(
  what: string,
  got: ArrayLike<bigint | number>,
  want: ArrayLike<bigint | number>,
): string | undefined {
  if (got.length !== want.length) return `${what}: ${got.length} values, expected ${want.length}`;
  for (let i = 0; i < got.length; i++) {
    if (BigInt.asUintN(64, BigInt(got[i]!)) !== BigInt.asUintN(64, BigInt(want[i]!))) return `${what}[${i}] differs`;
  }
  return undefined;
}

/** Input of an example: `n` uniform reals in [lo, hi) with a shape. */
export function uniformInput(
  rng: SampleRng,
  shape: readonly number[],
  lo: number,
  hi: number,
  fracBits = 16,
): Example['inputs'][number] {
  const n = shape.reduce((a, b) => a * b, 1);
  return {
    shape,
    fracBits,
    values: Float64Array.from({ length: n }, () => Math.round(rng.uniform(lo, hi) * 2 ** fracBits) / 2 ** fracBits),
  };
}
