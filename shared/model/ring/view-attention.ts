/**
 * Attention over a `RingCacheView` (ring/cache.ts) without gathering its rows. Programs over Prims.
 *
 * A view's pieces are public row ranges of a source cache and one-hot selections of blocks of its
 * rows. Per layer call, with H heads, n queries, and a selected piece of k one-hot rows over N
 * blocks of b rows:
 *
 * viewScores(q, view): 1. one fixed product of q with the source keys over the union U of the
 *   public ranges (opens q; dealer 8 B per score); 2. per selected piece one `fixedSelect` 'nt'
 *   (protocol/fixed-select.ts): q against the rows the one-hot picks, opening q and the one-hot
 *   only (k·N per head, or once for a selection shared by all heads); 3. one exact truncation of
 *   the n·L scores. Rounds: 1 + 1 per selected piece + truncation.
 * viewMix(p, view): the public ranges' probabilities meet the values in one fixed product over U
 *   (opens n·|U| per head); each selected piece's probabilities in one `fixedSelect` 'nn' (opens
 *   them, n·k·b, and the one-hot); the sum is truncated once.
 * So a step attends to L = |U| + k·b rows and opens, per head, about what attention over L stored
 * rows would (q, the L probabilities) plus the one-hot twice: the chosen rows are never gathered,
 * re-masked or opened in any form. Exact: equal, bit for bit, to attention over the gathered rows
 * (ring sums are exact and order-free; a one-hot adds no rounding).
 * Metering: the selected products run under the scope 'gather' (the policy's selection
 * overhead, including their q / probability openings); the rest is the attention's own work.
 */
import { MpcError, invariant } from '../../util/errors.js';
import type { AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle, Prims } from '../../protocol/prims/types.js';
import { pieceRows, pieceSpan, type RingCacheView } from './cache.js';

/** Disjoint sorted segments covering the spans, and the column of a source row inside them. */
export function unionSegments(spans: readonly (readonly [number, number])[]): {
  segs: Array<[number, number]>;
  col: (row: number) => number;
  width: number;
} {
  const sorted = spans
    .filter(([a, b]) => b > a)
    .map(([a, b]) => [a, b] as [number, number])
    .sort((x, y) => x[0] - y[0]);
  const segs: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = segs[segs.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else segs.push([a, b]);
  }
  const starts: number[] = [];
  let width = 0;
  for (const [a, b] of segs) {
    starts.push(width);
    width += b - a;
  }
  const col = (row: number): number => {
    for (let j = 0; j < segs.length; j++)
      if (row >= segs[j]![0] && row < segs[j]![1]) return starts[j]! + row - segs[j]![0];
    throw new MpcError('E_INTERNAL', `row ${row} outside the view's segments`);
  };
  return { segs, col, width };
}

/** Scores of q [H, n, hd] against a view's rows → [H, n, L] at q's scale (keys at scale f). */
export async function viewScores<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  f: number,
  q: T,
  view: RingCacheView<T, F>,
): Promise<T> {
  const src = view.src,
    [H, n] = q.shape as [number, number];
  invariant(src.k !== undefined, 'E_INTERNAL', 'attention over a view of an empty cache');
  const K = src.k;
  const U = unionSegments(view.pieces.filter((p) => p.kind === 'rows').map(pieceSpan));
  const Z = U.width > 0 ? await P.fixedMatmul(q, K, 'nt', { segs: U.segs }) : null; // [H, n, |U|] at 2f
  const parts: T[] = [];
  for (const p of view.pieces) {
    if (pieceRows(p) === 0) continue;
    if (p.kind === 'rows') {
      const len = p.end - p.start;
      parts.push(
        P.pick(
          Z!,
          [H, n, len],
          Int32Array.from(
            { length: H * n * len },
            (_, e) => Math.floor(e / len) * U.width + U.col(p.start + (e % len)),
          ),
        ),
      );
    } else {
      parts.push(await P.scope('gather', () => P.fixedSelect(q, p.sel, K, 'nt', { offset: p.offset, block: p.block }))); // [H, n, k·b]
    }
  }
  return P.trunc(parts.length === 1 ? parts[0]! : P.concatLast(parts), f);
}

/** Probabilities p [H, n, L] over a view's rows times its values → [H, n, hd] at p's scale. */
export async function viewMix<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  f: number,
  p: T,
  view: RingCacheView<T, F>,
): Promise<T> {
  return P.trunc(await viewMixRaw(P, p, view), f);
}

/** Weights w [H, n, L] over a view's rows times its values → [H, n, hd], untruncated (w's scale + f). */
export async function viewMixRaw<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  p: T,
  view: RingCacheView<T, F>,
): Promise<T> {
  const src = view.src,
    [H, n, L] = p.shape as [number, number, number];
  invariant(src.v !== undefined, 'E_INTERNAL', 'attention over a view of an empty cache');
  const V = src.v;
  const U = unionSegments(view.pieces.filter((x) => x.kind === 'rows').map(pieceSpan));
  const idx = new Int32Array(H * n * U.width).fill(-1);
  const outs: T[] = [];
  let at = 0;
  for (const piece of view.pieces) {
    const len = pieceRows(piece);
    if (len === 0) continue;
    if (piece.kind === 'rows') {
      // rows pieces meet the values in one product over their segments; a row in two pieces would
      // keep only the last piece's probability here, so views never overlap (checked below)
      for (let j = 0; j < len; j++)
        invariant(idx[U.col(piece.start + j)] === -1, 'E_INTERNAL', `view pieces overlap at row ${piece.start + j}`);
      for (let r = 0; r < H * n; r++)
        for (let j = 0; j < len; j++) idx[r * U.width + U.col(piece.start + j)] = r * L + at + j;
    } else {
      const ps = P.pick(
        p,
        [H, n, len],
        Int32Array.from({ length: H * n * len }, (_, e) => Math.floor(e / len) * L + at + (e % len)),
      );
      outs.push(
        await P.scope('gather', () =>
          P.fixedSelect(ps, piece.sel, V, 'nn', { offset: piece.offset, block: piece.block }),
        ),
      );
    }
    at += len;
  }
  invariant(at === L, 'E_SHAPE', `probabilities over ${L} rows for a view of ${at}`);
  if (U.width > 0) outs.unshift(await P.fixedMatmul(P.pick(p, [H, n, U.width], idx), V, 'nn', { segs: U.segs }));
  return outs.reduce((a, b) => P.add(a, b));
}
