/**
 * One layer's stored keys and values under a policy, and the cache views a query attends to.
 *
 * Every change goes through `Ops` (append; `gatherCache` to compact or to build a view), so the
 * store is the same under MPC. With an inspector (plaintext only) it also tracks which original
 * position each stored row holds, per head, by reading the selections: that is how tests and
 * studies see what a policy kept, without the policy code ever reading a selection itself.
 */
import type { BackendTypes } from '../model/index.js';
import type { KvOps } from './kv-ops.js';
import type { CachePiece } from './eviction-ops.js';
import { invariant } from '../util/index.js';
import type { Inspector, LayerTrace } from './types.js';

/** Pieces that pick everything from a cache of `length` rows. */
export const allRows = (length: number): CachePiece<never>[] => [{ rows: [0, length] }];

/** Rows picked by pieces, per head, mapped through `positions` (the source's row → position). */
export function pickPositions<T>(
  positions: readonly (readonly number[])[],
  pieces: readonly CachePiece<T>[],
  read: Inspector<T>,
): number[][] {
  const out: number[][] = positions.map(() => []);
  for (const p of pieces) {
    if ('rows' in p) {
      positions.forEach((src, h) => {
        for (let r = p.rows[0]; r < p.rows[1]; r++) out[h]!.push(src[r] as number);
      });
      continue;
    }
    const { shape, data } = read(p.select);
    const [g, k, n] = shape as [number, number, number];
    positions.forEach((src, h) => {
      const gi = g === 1 ? 0 : h;
      for (let i = 0; i < k; i++) {
        const j = data.subarray((gi * k + i) * n, (gi * k + i + 1) * n).indexOf(1);
        invariant(j >= 0, 'E_INTERNAL', 'trace: a selection row is empty');
        for (let r = 0; r < p.block; r++) out[h]!.push(src[p.offset + j * p.block + r] as number);
      }
    });
  }
  return out;
}

export class Store<B extends BackendTypes> {
  private positions: number[][] | null;
  private attended: number[][] | null = null;

  /** Takes over a cache that holds the prompt (positions 0..length−1). */
  constructor(
    private readonly ops: KvOps<B>,
    public cache: B['cache'],
    private readonly inspect?: Inspector<B['tensor']>,
  ) {
    this.positions = inspect
      ? Array.from({ length: cache.heads }, () => Array.from({ length: cache.length }, (_, i) => i))
      : null;
  }

  get length(): number {
    return this.cache.length;
  }

  async append(k: B['tensor'], v: B['tensor'], position: number): Promise<void> {
    await this.cache.append(k, v);
    this.positions?.forEach((list) => list.push(position));
  }

  /** Keeps only what the pieces pick, in that order, with room for `capacity` rows. */
  async compact(pieces: readonly CachePiece<B['tensor']>[], capacity: number): Promise<void> {
    const old = this.cache;
    this.cache = await this.ops.gatherCache(old, pieces, capacity);
    old.reset(); // the store owned it; nothing else reads it (frees ring backends' fixed-mask storage)
    if (this.positions && this.inspect) this.positions = pickPositions(this.positions, pieces, this.inspect);
  }

  /** The cache a query attends to: everything (null) or what the pieces pick. */
  async view(pieces: readonly CachePiece<B['tensor']>[] | null): Promise<B['cache']> {
    if (this.positions && this.inspect) {
      this.attended =
        pieces === null ? this.positions.map((l) => l.slice()) : pickPositions(this.positions, pieces, this.inspect);
    }
    if (pieces === null) return this.cache;
    const rows = pieces.reduce(
      (a, p) => a + ('rows' in p ? p.rows[1] - p.rows[0] : (p.select.shape[1] as number) * p.block),
      0,
    );
    return this.ops.gatherCache(this.cache, pieces, rows, 'attend');
  }

  trace(): LayerTrace | null {
    return this.positions
      ? { stored: this.positions.map((l) => l.slice()), attended: (this.attended ?? []).map((l) => l.slice()) }
      : null;
  }
}
