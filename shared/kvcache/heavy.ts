/**
 * "Heavy hitters plus recent tokens", the shape shared by H2O and SnapKV: of a budget B, `recent`
 * slots go to the newest tokens (public positions, the current one included) and `heavy` slots to
 * the top-scoring older tokens (a secret per-head selection). Stored rows are kept as
 * [heavy | recent], so both regions stay at public row ranges.
 */
import type { BackendTypes } from '../model/index.js';
import type { KvOps } from './kv-ops.js';
import type { CachePiece } from './eviction-ops.js';
import { rowsPiece } from './session.js';
import type { Store } from './store.js';

export interface Split {
  readonly heavy: number;
  readonly recent: number;
}

/** B = heavy + recent with at least one recent slot (the current token). */
export function split(b: number, recent: number): Split {
  const r = Math.max(1, Math.min(b, recent));
  return { heavy: b - r, recent: r };
}

/**
 * Keeps the `heavy` best-scoring rows among all but the newest recent − 1, plus those: B − 1 rows,
 * room for the next token. `scores` is [G, 1, T] over the store's rows (G = heads or 1).
 * Returns the selection and the candidate count, or null if nothing had to go.
 */
export async function keepHeavyRecent<B extends BackendTypes>(
  ops: KvOps<B>,
  store: Store<B>,
  scores: B['tensor'],
  s: Split,
  capacity: number,
): Promise<{ sel: B['tensor']; cand: number } | null> {
  const t = store.length;
  const cand = t - (s.recent - 1);
  if (cand <= s.heavy) return null;
  const sel = await ops.topk(ops.slice(scores, 2, 0, cand), s.heavy);
  await store.compact([{ select: sel, block: 1, offset: 0 }, ...rowsPiece(cand, t)], capacity);
  return { sel, cand };
}

/** Rows a step attends to when heavy rows lead the store and recent tokens follow: null = all. */
export function heavyRecentView(t: number, s: Split): CachePiece<never>[] | null {
  if (t <= s.heavy + s.recent) return null;
  return [...rowsPiece(0, s.heavy), { rows: [t - s.recent, t] }];
}
