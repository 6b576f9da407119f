/**
 * Tensor kinds. Every ring tensor carries its shape, its u64 data and its fixed-point scale.
 * The `kind` tag is both a compile-time brand and a runtime check: a `Share` (one party's
 * additive share) cannot be passed where a `Clear` (an emulation value) is expected.
 *
 * - `Share`:     this party's additive share of a secret, x = x0 + x1 mod 2^64.
 * - `Clear`:     a plaintext value in the fixed-point emulation (no party, no secret).
 * - `ShapeOnly`: shape and scale without data, what the dealer's copy of a program holds.
 *
 * There is no `Public` tensor: an opened value lives only inside one protocol step (as the raw
 * arrays protocol/open.ts returns), and public constants are numbers (`PublicConst`). Bit shares
 * are ring shares of 0/1 (fracBits 0), or XOR bits one per byte inside a step.
 *
 * Build tensors only with the factories below; they check `data.length` against the shape.
 */
import { invariant } from '../util/errors.js';

export type Shape = readonly number[];

interface RingTensorOf<K extends string> {
  readonly kind: K;
  readonly shape: Shape;
  readonly data: BigUint64Array;
  /** Fractional bits of the fixed-point encoding (0 for ring integers and bits). */
  readonly fracBits: number;
}

export type Share = RingTensorOf<'share'>;
export type Clear = RingTensorOf<'clear'>;

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) {
    invariant(Number.isInteger(d) && d >= 0, 'E_SHAPE', () => `bad dimension ${d} in [${shape.join(', ')}]`);
    n *= d;
  }
  return n;
}

export function shapeEq(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function fmtShape(s: Shape): string {
  return `[${s.join(', ')}]`;
}

function make<K extends 'share' | 'clear'>(
  kind: K,
  shape: Shape,
  data: BigUint64Array,
  fracBits: number,
): RingTensorOf<K> {
  invariant(
    data.length === numel(shape),
    'E_SHAPE',
    () => `${kind} data length ${data.length} does not match shape ${fmtShape(shape)}`,
  );
  invariant(Number.isInteger(fracBits) && fracBits >= 0 && fracBits < 64, 'E_INTERNAL', `bad fracBits ${fracBits}`);
  return Object.freeze({ kind, shape: Object.freeze([...shape]), data, fracBits });
}

export function share(shape: Shape, data: BigUint64Array, fracBits: number): Share {
  return make('share', shape, data, fracBits);
}
export function clear(shape: Shape, data: BigUint64Array, fracBits: number): Clear {
  return make('clear', shape, data, fracBits);
}

/** A tensor with no data: what the dealer's copy of a program manipulates (it only needs shapes). */
export interface ShapeOnly {
  readonly kind: 'shape';
  readonly shape: Shape;
  readonly fracBits: number;
}

export function shapeOnly(shape: Shape, fracBits: number): ShapeOnly {
  numel(shape);
  return Object.freeze({ kind: 'shape' as const, shape: Object.freeze([...shape]), fracBits });
}

/** Anything a program over `Prims` can hold. */
export type AnyTensor = Share | Clear | ShapeOnly;
