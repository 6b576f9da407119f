/**
 * A program is a function over `Prims`: the same code runs on each party (secure), on the dealer
 * (which thereby deals its correlations) and as the fixed-point emulation (clear).
 */
import type { AnyTensor } from '../ring/tensor.js';
import type { FixedHandle, Prims } from '../protocol/prims/types.js';

export type Program = <T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  inputs: readonly T[],
) => Promise<T[]>;

/** A program input: real values with a shape, encoded at `fracBits`. */
export interface ProgramInput {
  shape: readonly number[];
  values: Float64Array;
  fracBits: number;
}
