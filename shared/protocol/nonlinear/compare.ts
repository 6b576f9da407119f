/**
 * Comparison-based functions: DReLU, ReLU, ≥, equality, clip, select. All exact.
 *
 * Protocol choice: full-range inputs use the core sign test `cmpMul` (primitives/cmp.ts: 4 rounds,
 * ~13 B online, 61–69 B dealer per element). When the caller knows a bound (`width` k: every
 * compared value lies in [−2^(k−1), 2^(k−1))), the bounded comparison `cmpK` opens only k bits:
 * k = 32 costs 6.5 B online and 37 B dealer (+32 B dealer for a fused product), same 4 rounds;
 * the bound is a precondition, not a clip (beyond it the value is read wrapped to k bits, equally in
 * the emulation). Equality runs the same tree on "all blocks equal" ('eq' mode, fewer node bits).
 *
 * | function            | kinds        | rounds | online B/elem (k = 32)       | dealer B/elem (k = 32) |
 * |---------------------|--------------|--------|------------------------------|------------------------|
 * | drelu / ge          | cmp or cmpk  | 4      | 13 (full) · 6.5              | 61 · 37                |
 * | relu                | cmp or cmpk  | 4      | 13 (full) · 6.5              | 69 · 69                |
 * | eq (secret/public)  | cmpk 'eq'    | 4      | 4 + 1 + 0.25 + 0.125 = 5.4   | 33                     |
 * | clip(lo, hi)        | cmpk, 2 thr  | 4      | 4 + 2·2.5 = 9                | 122                    |
 * | select b·y          | bitmul       | 1      | 8.125                        | 16                     |
 * Declared costs: protocol/cost.ts (`declaredCost`), checked against the meter by the tests.
 */
import type { AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle, Prims } from '../prims/types.js';

export interface WidthOpt {
  /** Bound on compared values: |v| < 2^(width−1) in ring units (64 = no bound, the core sign test). */
  width?: number;
  /**
   * Width ≤ 36: one-node comparisons with 5-bit blocks — 3 rounds instead of 4, ~0.6 B less online,
   * ~24 B more dealer per comparison. Default off here (DReLU's dealer target), on in the recipes
   * whose rounds add up (max trees, exp, GeLU, softmax).
   */
  fewerRounds?: boolean;
}

const full = (o: WidthOpt): boolean => (o.width ?? 64) === 64;

/** [x ≥ 0] as an integer share (fracBits 0). */
export async function drelu<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  o: WidthOpt = {},
): Promise<T> {
  if (full(o)) return (await P.cmpMul(x, [])).bit;
  return P.reshape((await P.cmpK(x, { width: o.width!, fewerRounds: o.fewerRounds })).bits, x.shape);
}

/** max(x, 0), exact. */
export async function relu<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  o: WidthOpt = {},
): Promise<T> {
  if (full(o)) return (await P.cmpMul(x, [x])).prods[0]!;
  return (await P.cmpK(x, { width: o.width!, self: [0], fewerRounds: o.fewerRounds })).self[0]!;
}

/** [x ≥ y] for secret x, y (the width bounds x − y). */
export async function ge<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  y: T,
  o: WidthOpt = {},
): Promise<T> {
  return drelu(P, P.sub(x, y), o);
}

/** [x = y] for secret y, or [x = c] for a public real c (at x's scale). Width default 64. */
export async function eq<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  y: T | number,
  o: WidthOpt = {},
): Promise<T> {
  const width = o.width ?? 64;
  const d = typeof y === 'number' ? x : P.sub(x, y);
  const t = typeof y === 'number' ? y : 0;
  return P.reshape((await P.cmpK(d, { width, eq: true, thresholds: [t], fewerRounds: o.fewerRounds })).bits, x.shape);
}

/** min(max(x, lo), hi) for public lo ≤ hi, exact: lo + relu(x − lo) − relu(x − hi), one opening. */
export async function clip<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  lo: number,
  hi: number,
  o: WidthOpt = {},
): Promise<T> {
  const { self } = await P.cmpK(x, {
    width: o.width ?? 64,
    thresholds: [lo, hi],
    self: [0, 1],
    fewerRounds: o.fewerRounds,
  });
  return P.addPublic(P.sub(self[0]!, self[1]!), lo);
}

/** b·y for a secret bit b (fracBits 0) and secret y. */
export async function select<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, b: T, y: T): Promise<T> {
  return (await P.mulBit(b, [y]))[0]!;
}

/** b ? a : c for a secret bit b: c + b·(a − c). */
export async function mux<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, b: T, a: T, c: T): Promise<T> {
  return P.add(c, await select(P, b, P.sub(a, c)));
}
