/**
 * Query-aware selection of clusters of a layer's stored keys (MPCache §2.3 of the research notes;
 * Quest's pages are the one-level case). Everything here is public arithmetic on lengths plus `Ops`
 * calls on secret tensors.
 *
 * Layout of a store of T rows, with fine cluster size S (the last of `sizes`):
 *
 *   [ head: S rows, always attended | middle: M full fine clusters | tail: newest 1..S rows, always attended ]
 *
 * The head is the first fine cluster (the attention sinks; omitted when `forceHead` is off, as in
 * Quest); the tail is the newest fine cluster, partial or full, so the current token is always
 * attended. Middle clusters of every level are aligned at the head's end: level-ℓ cluster j covers
 * middle rows j·s_ℓ .. (j + 1)·s_ℓ − 1, and only full clusters count. A fine cluster whose coarse
 * parent is not full yet (an *orphan*) joins the candidates of the finer level directly.
 *
 * Summaries: channel-wise kmax/kmin per full cluster and level, computed once when a cluster
 * fills (from the stored keys for the finest level, from the children's bounds for coarser ones)
 * and never again: the middle only grows, one token per step.
 *
 * Selection at a step, coarse to fine: level 1 picks its top clusters by score; each finer level
 * scores the children of the chosen parents plus the orphans and picks its top k; the last level's
 * choice, a selection [H, k, M] over the middle's fine clusters, is gathered in blocks of S rows.
 * The top-k of a finer level runs over its candidates only (k·r + orphans entries): that is what the
 * hierarchy saves under MPC. Every head picks its own clusters.
 */
import type { BackendTypes } from '../model/index.js';
import type { KvOps } from './kv-ops.js';
import type { CachePiece, ClusterScoreRule, ClusterSeries } from './eviction-ops.js';
import { rowsPiece } from './session.js';

export interface ClusterConfig {
  /** Cluster sizes from coarse to fine, each dividing the previous. */
  readonly sizes: readonly number[];
  readonly rule: ClusterScoreRule;
  /** Always attend the first fine cluster. */
  readonly forceHead: boolean;
  /** Fraction of each coarser level's clusters kept as parents (at least enough for the next level). */
  readonly levelRatio: number;
  /** Fine clusters chosen per step (public, from the budget). */
  readonly select: number;
}

/** Public layout of a store of `length` rows; null when head and tail cover everything. */
export interface ClusterLayout {
  /** First middle row (S with a forced head, else 0). */
  readonly base: number;
  /** First tail row. */
  readonly tailStart: number;
  /** Full clusters per level, coarse to fine (the last is M). */
  readonly counts: readonly number[];
}

export function clusterLayout(cfg: ClusterConfig, length: number): ClusterLayout | null {
  const s = cfg.sizes[cfg.sizes.length - 1] as number;
  const base = cfg.forceHead ? s : 0;
  const tailStart = s * (Math.ceil(length / s) - 1);
  if (tailStart <= base) return null;
  const rows = tailStart - base;
  return { base, tailStart, counts: cfg.sizes.map((size) => Math.floor(rows / size)) };
}

/**
 * Clusters chosen per level for a layout, fine level last: the fine count is the configured one
 * (capped by what exists); a coarser level keeps `levelRatio` of its clusters, and at least enough
 * parents that their children and the orphans can supply the next level's count.
 */
export function levelCounts(cfg: ClusterConfig, counts: readonly number[]): number[] {
  const want = counts.map(() => 0);
  const last = counts.length - 1;
  want[last] = Math.min(cfg.select, counts[last] as number);
  for (let l = last - 1; l >= 0; l--) {
    const r = (cfg.sizes[l] as number) / (cfg.sizes[l + 1] as number);
    const orphans = (counts[l + 1] as number) - (counts[l] as number) * r;
    const need = Math.ceil(Math.max(0, (want[l + 1] as number) - orphans) / r);
    want[l] = Math.min(counts[l] as number, Math.max(need, Math.floor(cfg.levelRatio * (counts[l] as number))));
  }
  return want;
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, i) => a + i);

/** One layer's cluster summaries and the per-step selection over them. */
export class ClusterIndex<B extends BackendTypes> {
  private readonly kmax: (B['tensor'] | null)[];
  private readonly kmin: (B['tensor'] | null)[];
  /** One series identity per level (its bounds only grow), so a backend can keep per-level state. */
  private readonly series: (ClusterSeries | null)[];

  constructor(
    private readonly ops: KvOps<B>,
    readonly cfg: ClusterConfig,
  ) {
    this.kmax = cfg.sizes.map(() => null);
    this.kmin = cfg.sizes.map(() => null);
    this.series = cfg.sizes.map(() => null);
  }

  /** Clusters summarised so far, per level. */
  summarised(): number[] {
    return this.kmax.map((t) => (t === null ? 0 : (t.shape[1] as number)));
  }

  /** The bounds of every level ({max, min} [H, C, hd] or null when none yet); for tests. */
  bounds(level: number): { max: B['tensor']; min: B['tensor'] } | null {
    const max = this.kmax[level],
      min = this.kmin[level];
    return max && min ? { max, min } : null;
  }

  /** Summarises the clusters that filled since the last call (all of them at the first). */
  async update(cache: B['cache']): Promise<void> {
    const lay = clusterLayout(this.cfg, cache.length);
    if (lay === null) return;
    const { ops, cfg } = this;
    const have = this.summarised();
    const fine = cfg.sizes.length - 1;
    const s = cfg.sizes[fine] as number;
    cfg.sizes.forEach((size, l) => {
      this.series[l] ??= { maxClusters: Math.floor(cache.capacity / size) };
    });
    for (let l = fine; l >= 0; l--) {
      const from = have[l] as number,
        to = lay.counts[l] as number;
      if (to <= from) continue;
      let add: { max: B['tensor']; min: B['tensor'] };
      if (l === fine) {
        const keys = ops.cacheKeys(cache, lay.base + from * s, lay.base + to * s);
        add = await ops.blockMinMax(keys, keys, s);
      } else {
        const r = (cfg.sizes[l] as number) / (cfg.sizes[l + 1] as number);
        const hi = ops.slice(this.kmax[l + 1] as B['tensor'], 1, from * r, to * r);
        const lo = ops.slice(this.kmin[l + 1] as B['tensor'], 1, from * r, to * r);
        add = await ops.blockMinMax(hi, lo, r);
      }
      const mx = this.kmax[l] ?? null,
        mn = this.kmin[l] ?? null;
      this.kmax[l] = mx === null ? add.max : ops.concat([mx, add.max], 1);
      this.kmin[l] = mn === null ? add.min : ops.concat([mn, add.min], 1);
      await ops.prepareScores?.(
        this.kmax[l] as B['tensor'],
        this.kmin[l] as B['tensor'],
        cfg.rule,
        this.series[l] as ClusterSeries,
      );
    }
  }

  /**
   * What the query q [H, 1, hd] attends to in a store of `length` rows (summaries up to date):
   * head, the chosen fine clusters, tail; null if that is everything.
   */
  async select(q: B['tensor'], length: number): Promise<CachePiece<B['tensor']>[] | null> {
    const { cfg } = this;
    const lay = clusterLayout(cfg, length);
    if (lay === null) return null;
    const fine = cfg.sizes.length - 1;
    const want = levelCounts(cfg, lay.counts);
    if ((want[fine] as number) >= (lay.counts[fine] as number)) return null;
    const pieces: CachePiece<B['tensor']>[] = [...rowsPiece(0, lay.base)];
    if ((want[fine] as number) > 0) {
      const sel = await this.choose(q, lay.counts, want);
      pieces.push({ select: sel, block: cfg.sizes[fine] as number, offset: lay.base });
    }
    pieces.push(...rowsPiece(lay.tailStart, length));
    return pieces;
  }

  /** The fine-level selection [H, want_fine, M], level by level. */
  private async choose(q: B['tensor'], counts: readonly number[], want: readonly number[]): Promise<B['tensor']> {
    const { ops, cfg } = this;
    const heads = q.shape[0] as number;
    let sel: B['tensor'] | null = null;
    for (let l = 0; l < counts.length; l++) {
      const c = counts[l] as number,
        k = want[l] as number;
      // Candidates: every cluster at the first level; children of the chosen parents plus orphans below.
      let cand: B['tensor'] | null = null;
      if (l > 0) {
        const r = (cfg.sizes[l - 1] as number) / (cfg.sizes[l] as number);
        const parents = (counts[l - 1] as number) * r;
        const parts: B['tensor'][] = [];
        if (sel !== null && (sel.shape[1] as number) > 0) parts.push(ops.expandSelection(sel, r, c));
        if (c > parents) parts.push(ops.publicSelection(heads, range(parents, c), c));
        cand =
          parts.length === 0
            ? ops.publicSelection(heads, [], c)
            : parts.length === 1
              ? (parts[0] as B['tensor'])
              : ops.concat(parts, 1);
      }
      const nCand = cand === null ? c : (cand.shape[1] as number);
      if (k >= nCand) {
        sel = cand ?? ops.publicSelection(heads, range(0, c), c);
        continue;
      }
      const kmax = this.kmax[l] as B['tensor'],
        kmin = this.kmin[l] as B['tensor'],
        series = this.series[l] ?? undefined;
      const parents = sel;
      if (
        cand !== null &&
        parents !== null &&
        (parents.shape[1] as number) > 0 &&
        series &&
        ops.childScores &&
        ops.childSelection
      ) {
        // the same candidates and choice, computed from the parents' selection (EvictionOps.childScores)
        const r = (cfg.sizes[l - 1] as number) / (cfg.sizes[l] as number);
        const pick = await ops.topk(await ops.childScores(q, kmax, kmin, cfg.rule, series, parents, r), k);
        sel = await ops.childSelection(pick, parents, r, c);
        continue;
      }
      const scores = await ops.clusterScores(q, kmax, kmin, cfg.rule, series);
      if (cand === null) {
        sel = await ops.topk(scores, k);
      } else {
        const pick = await ops.topk(await ops.gather(cand, scores, 'last'), k);
        sel = await ops.gather(pick, cand, 'rows');
      }
    }
    return sel as B['tensor'];
  }
}
