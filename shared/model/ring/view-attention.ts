/**
 * Attention over a `RingCacheView` (ring/cache.ts) without gathering its rows. Programs over Prims.
 *
 * Let U be the union of the pieces' source row segments (public). Per layer call, with H heads, n
 * queries, a selected piece of k one-hot rows over N clusters of b rows:
 *
 * viewScores(q, view): 1. Z = q · K_Uᵀ, one fixed product over the segments U (opens q: n·hd per
 *   head; dealer 8 B per score of U). 2. A rows piece takes its columns of Z (local). 3. A selected
 *   piece: sel · Z_region with Z_region [N, n·b] per head, one secret × secret product (opens the
 *   one-hot k·N and Z_region N·n·b per head, or the one-hot once for a selection shared by all
 *   heads; dealer 8 B per output). 4. One exact truncation of the n·L scores (L view rows).
 *   Rounds: 1 + 1 per selected piece + 2.
 * viewMix(p, view): 1. Each piece's probabilities go back to source rows: a rows piece by a local
 *   scatter, a selected piece as selᵀ · p_piece (one product: opens k·N + k·n·b per head). 2. Their
 *   sum X [n, |U|] per head meets the values in one fixed product over U (opens X: n·|U| per
 *   head). 3. One truncation of the n·hd outputs. Rounds: 1 per selected piece + 1 + 2.
 * Exact: one-hots are integers (fracBits 0), so selecting scores or scattering probabilities adds
 * no rounding; the result equals attention over the gathered rows bit for bit (ring sums are exact
 * and order-free). Compared with gathering the rows by the one-hot and re-masking them into a new
 * fixed-mask cache (k·N + 2·k·b·hd opened per head), this opens k·N·2 + N·b·(n + 1) + k·n·b: fewer
 * whenever the region is smaller than hd times the attended rows (docs/eviction-mpc.md).
 * Metering: the two one-hot products run under the scope 'gather' (the policy's selection
 * overhead); the fixed products and truncations are the attention's own work, as for a full cache.
 */
import { MpcError, invariant } from '../../util/errors.js';
import type { AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle, Prims } from '../../protocol/prims/types.js';
import { pieceRows, pieceSpan, type RingCacheView } from './cache.js';

/** Disjoint sorted segments covering the spans, and the column of a source row inside them. */
export function unionSegments(spans: readonly (readonly [number, number])[]): { segs: Array<[number, number]>; col: (row: number) => number; width: number } {
  const sorted = spans.filter(([a, b]) => b > a).map(([a, b]) => [a, b] as [number, number]).sort((x, y) => x[0] - y[0]);
  const segs: Array<[number, number]> = [];
  for (const [a, b] of sorted) {
    const last = segs[segs.length - 1];
    if (last && a <= last[1]) last[1] = Math.max(last[1], b);
    else segs.push([a, b]);
  }
  const starts: number[] = [];
  let width = 0;
  for (const [a, b] of segs) { starts.push(width); width += b - a; }
  const col = (row: number): number => {
    for (let j = 0; j < segs.length; j++) if (row >= segs[j]![0] && row < segs[j]![1]) return starts[j]! + row - segs[j]![0];
    throw new MpcError('E_INTERNAL', `row ${row} outside the view's segments`);
  };
  return { segs, col, width };
}

/** sel [G, k, N] · X [H, N, m] → [H, k, m]; G is H or 1 (one selection for all heads, opened once). */
export async function selMatmul<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, sel: T, X: T): Promise<T> {
  const [G, k, N] = sel.shape as [number, number, number], [H, , m] = X.shape as [number, number, number];
  if (G === H) return P.matmul(sel, X);
  invariant(G === 1, 'E_SHAPE', `selection of ${G} groups for ${H} heads`);
  // [H, N, m] → [N, H·m]; [k, N]·[N, H·m] → [k, H·m] → [H, k, m]
  const xs = P.pick(X, [N, H * m], Int32Array.from({ length: N * H * m }, (_, e) => { const c = Math.floor(e / (H * m)), h = Math.floor((e % (H * m)) / m); return (h * N + c) * m + (e % m); }));
  const y = await P.matmul(P.reshape(sel, [k, N]), xs);
  return P.pick(y, [H, k, m], Int32Array.from({ length: H * k * m }, (_, e) => { const h = Math.floor(e / (k * m)), i = Math.floor((e % (k * m)) / m); return i * H * m + h * m + (e % m); }));
}

/** selᵀ · Y: sel [G, k, N], Y [H, k, m] → [H, N, m] (scatters rows back to the items they came from). */
export async function selTMatmul<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, sel: T, Y: T): Promise<T> {
  const [G, k, N] = sel.shape as [number, number, number], [H, , m] = Y.shape as [number, number, number];
  if (G === H) return P.matmul(P.transposeLast(sel), Y);
  invariant(G === 1, 'E_SHAPE', `selection of ${G} groups for ${H} heads`);
  const ys = P.pick(Y, [k, H * m], Int32Array.from({ length: k * H * m }, (_, e) => { const i = Math.floor(e / (H * m)), h = Math.floor((e % (H * m)) / m); return (h * k + i) * m + (e % m); }));
  const y = await P.matmul(P.transposeLast(P.reshape(sel, [k, N])), ys);
  return P.pick(y, [H, N, m], Int32Array.from({ length: H * N * m }, (_, e) => { const h = Math.floor(e / (N * m)), c = Math.floor((e % (N * m)) / m); return c * H * m + h * m + (e % m); }));
}

/** Scores of q [H, n, hd] against a view's rows → [H, n, L] at q's scale (keys at scale f). */
export async function viewScores<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, f: number, q: T, view: RingCacheView<T, F>): Promise<T> {
  const src = view.src, [H, n] = q.shape as [number, number];
  invariant(src.k !== undefined, 'E_INTERNAL', 'attention over a view of an empty cache');
  const U = unionSegments(view.pieces.map(pieceSpan));
  const Z = await P.fixedMatmul(q, src.k, 'nt', { segs: U.segs }); // [H, n, |U|] at 2f
  const parts: T[] = [];
  for (const p of view.pieces) {
    if (pieceRows(p) === 0) continue;
    if (p.kind === 'rows') {
      const len = p.end - p.start;
      parts.push(P.pick(Z, [H, n, len], Int32Array.from({ length: H * n * len }, (_, e) => Math.floor(e / len) * U.width + U.col(p.start + (e % len)))));
      continue;
    }
    const N = p.sel.shape[2]!, k = p.sel.shape[1]!, b = p.block, m = n * b;
    // region scores as [H, N, n·b]: (h, c, a·b + s) ← Z[h, a, col(offset + c·b + s)]
    const zr = P.pick(Z, [H, N, m], Int32Array.from({ length: H * N * m }, (_, e) => {
      const h = Math.floor(e / (N * m)), c = Math.floor((e % (N * m)) / m), a = Math.floor((e % m) / b), s = e % b;
      return (h * n + a) * U.width + U.col(p.offset + c * b + s);
    }));
    const y = await P.scope('gather', () => selMatmul(P, p.sel, zr)); // [H, k, n·b]
    parts.push(P.pick(y, [H, n, k * b], Int32Array.from({ length: H * n * k * b }, (_, e) => {
      const h = Math.floor(e / (n * k * b)), a = Math.floor((e % (n * k * b)) / (k * b)), i = Math.floor((e % (k * b)) / b), s = e % b;
      return (h * k + i) * m + a * b + s;
    })));
  }
  return P.trunc(parts.length === 1 ? parts[0]! : P.concatLast(parts), f);
}

/** Probabilities p [H, n, L] over a view's rows times its values → [H, n, hd] at p's scale. */
export async function viewMix<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, f: number, p: T, view: RingCacheView<T, F>): Promise<T> {
  const src = view.src, [H, n, L] = p.shape as [number, number, number];
  invariant(src.v !== undefined, 'E_INTERNAL', 'attention over a view of an empty cache');
  const U = unionSegments(view.pieces.map(pieceSpan));
  let X: T | null = null;
  let at = 0;
  for (const piece of view.pieces) {
    const len = pieceRows(piece);
    if (len === 0) continue;
    let part: T;
    if (piece.kind === 'rows') {
      const idx = new Int32Array(H * n * U.width).fill(-1);
      for (let r = 0; r < H * n; r++) for (let j = 0; j < len; j++) idx[r * U.width + U.col(piece.start + j)] = r * L + at + j;
      part = P.pick(p, [H, n, U.width], idx);
    } else {
      const N = piece.sel.shape[2]!, k = piece.sel.shape[1]!, b = piece.block, m = n * b;
      // p_piece as [H, k, n·b]: (h, i, a·b + s) ← p[h, a, at + i·b + s]
      const pk = P.pick(p, [H, k, m], Int32Array.from({ length: H * k * m }, (_, e) => {
        const h = Math.floor(e / (k * m)), i = Math.floor((e % (k * m)) / m), a = Math.floor((e % m) / b), s = e % b;
        return (h * n + a) * L + at + i * b + s;
      }));
      const y = await P.scope('gather', () => selTMatmul(P, piece.sel, pk)); // [H, N, n·b]
      const idx = new Int32Array(H * n * U.width).fill(-1);
      for (let h = 0; h < H; h++) for (let a = 0; a < n; a++) for (let c = 0; c < N; c++) for (let s = 0; s < b; s++) {
        idx[(h * n + a) * U.width + U.col(piece.offset + c * b + s)] = (h * N + c) * m + a * b + s;
      }
      part = P.pick(y, [H, n, U.width], idx);
    }
    X = X === null ? part : P.add(X, part);
    at += len;
  }
  invariant(X !== null && at === L, 'E_SHAPE', `probabilities over ${L} rows for a view of ${at}`);
  return P.trunc(await P.fixedMatmul(X, src.v, 'nn', { segs: U.segs }), f);
}
