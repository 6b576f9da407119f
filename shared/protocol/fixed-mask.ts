/**
 * Fixed-mask matrices (DESIGN §4): weights and KV-cache rows held as a public Ŵ = W − B, the mask B
 * secret-shared and known to the dealer, never used for anything but product correlations. (Not
 * to be confused with the fixed-point encoding, ring/fixed-point.ts.)
 *
 * A matrix is `groups` matrices of `rowsCap` rows × `cols` (row-major), the first `rowsUsed` rows
 * filled. Every role holds the same public handle; what it stores with it differs:
 *   party:     Ŵ (`pub`) and its online share W_i (`mine`: party 0 Ŵ + B₀, party 1 B₁), in the arena;
 *   emulation: the clear values W (`data`), in the arena;
 *   dealer:    the handle only (the true masks live in corr/env.ts).
 * The primitives over them: primitives/fixed-{alloc,append,copy,product,select,client}.ts.
 */
import { invariant } from '../util/errors.js';
import type { Kernels, Region } from '../ring/kernels.js';

export interface FixedHandle {
  readonly kind: 'fixed';
  readonly id: string;
  readonly groups: number;
  readonly rowsCap: number;
  readonly cols: number;
  readonly fracBits: number;
  rowsUsed: number;
}

/** A party's matrix: Ŵ (public) and this party's online share W_i. */
export interface FixedMatrix extends FixedHandle {
  readonly pub: Region;
  readonly mine: Region;
}

/** The emulation's matrix: the clear values. */
export interface ClearFixed extends FixedHandle {
  readonly data: Region;
}

/** Elements of a matrix's storage (every group, every row it can hold). */
export const capacityOf = (w: FixedHandle): number => w.groups * w.rowsCap * w.cols;

/** Rows at public indices of a matrix stored in `region` → [groups, rows.length, cols] (local). */
export function rowsAt(kernels: Kernels, region: Region, w: FixedHandle, rows: readonly number[]): BigUint64Array {
  const out = new BigUint64Array(w.groups * rows.length * w.cols);
  for (let g = 0; g < w.groups; g++) {
    rows.forEach((r, k) => {
      invariant(
        Number.isInteger(r) && r >= 0 && r < w.rowsUsed,
        'E_SHAPE',
        `row ${r} of fixed matrix '${w.id}' (${w.rowsUsed} rows)`,
      );
      out.set(kernels.u64(region, (g * w.rowsCap + r) * w.cols, w.cols), (g * rows.length + k) * w.cols);
    });
  }
  return out;
}
