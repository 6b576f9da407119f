/**
 * Public layouts for row-wise protocols over ragged rows (a causal mask makes row r of a prefill
 * score matrix keep only its first r + 1 entries). Valid entries are packed into one flat
 * tensor with `pick`, so masked entries cost nothing and come back as exact zeros. All of this
 * is public data movement (the mask is public); nothing here is interactive.
 */
import { invariant } from '../../util/errors.js';
import type { AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle, Prims } from '../prims/types.js';

export interface RowMask {
  /** Row r keeps its first lengths[r] entries. */
  lengths?: readonly number[];
  /** Public 0/1 mask of shape [rows, n] (1 = keep); overrides `lengths`. */
  mask?: Uint8Array;
}

export interface Layout {
  readonly rows: number;
  readonly n: number;
  /** Flat index into [rows, n] of each kept entry, row by row. */
  readonly pos: Int32Array;
  readonly lens: readonly number[];
  /** Row of each kept entry. */
  readonly rowOf: Int32Array;
  readonly maxLen: number;
}

export function layoutOf(rows: number, n: number, m: RowMask = {}): Layout {
  const pos: number[] = [],
    lens: number[] = [];
  for (let r = 0; r < rows; r++) {
    let c = 0;
    if (m.mask) {
      invariant(m.mask.length === rows * n, 'E_SHAPE', `mask of ${m.mask.length} for ${rows}x${n}`);
      for (let j = 0; j < n; j++)
        if (m.mask[r * n + j]) {
          pos.push(r * n + j);
          c++;
        }
    } else {
      const len = m.lengths ? m.lengths[r]! : n;
      invariant(Number.isInteger(len) && len >= 0 && len <= n, 'E_SHAPE', `row length ${len} outside [0, ${n}]`);
      for (let j = 0; j < len; j++) pos.push(r * n + j);
      c = len;
    }
    lens.push(c);
  }
  const rowOf = new Int32Array(pos.length);
  let i = 0;
  lens.forEach((c, r) => {
    for (let e = 0; e < c; e++) rowOf[i++] = r;
  });
  return { rows, n, pos: Int32Array.from(pos), lens, rowOf, maxLen: Math.max(0, ...lens) };
}

/** True when every row keeps everything (no packing needed). */
export function isDense(L: Layout): boolean {
  return L.lens.every((c) => c === L.n);
}

/** Index that scatters the packed entries back to [rows, n], −1 (zero) elsewhere. */
export function scatterIndex(L: Layout): Int32Array {
  const idx = new Int32Array(L.rows * L.n).fill(-1);
  L.pos.forEach((p, i) => {
    idx[p] = i;
  });
  return idx;
}

/** Index of the packed entries laid out as [rows, maxLen], −1 (zero) padding. */
export function padIndex(L: Layout): Int32Array {
  const idx = new Int32Array(L.rows * L.maxLen).fill(-1);
  let i = 0;
  L.lens.forEach((c, r) => {
    for (let e = 0; e < c; e++) idx[r * L.maxLen + e] = i++;
  });
  return idx;
}

/** Sum of each row's packed entries → [rows] (local). */
export function rowSums<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, flat: T, L: Layout): T {
  if (L.maxLen === 0) return P.constant([L.rows], 0, flat.fracBits);
  return P.sumLast(P.pick(flat, [L.rows, L.maxLen], padIndex(L)));
}
