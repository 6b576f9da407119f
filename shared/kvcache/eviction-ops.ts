/**
 * `EvictionOps`: what KV-cache eviction policies ask of a backend on top of the forward pass's
 * operations (`Ops`, model/). Declared and implemented here, beside the policies, so that adding a
 * policy never edits the model layer: float-eviction.ts for the float64 backend, ring-eviction.ts
 * for the ring backends (emulation, parties, dealer); kv-ops.ts joins a backend's Ops with them.
 *
 * A *selection* is a tensor of one-hot rows, [G, k, N]: row i picks item j of N (a token, a cluster,
 * a candidate) with a 1 and has 0 elsewhere; rows are in ascending item order (never score order), and G
 * is the number of heads (one choice per head) or 1 (one choice shared by all heads). Its k is public;
 * which items it picks is secret whenever the choice depends on data (integer ring values,
 * fracBits 0, in the ring backends), so every later use goes through an operation here rather than
 * through a plain index array. The float64 backend stores 0/1 doubles.
 *
 * Cost notes say what each operation will cost under MPC, per party, with the project's measured
 * unit costs (research/mpc-anchors.md and measurements): public adds and scales are free (a scale
 * needs a truncation if it is fractional: exact ≈ 8.4 B per element); a secret×secret product is
 * ≈ 16 B per element plus truncation, 3 rounds; a comparison step ≈ 13 B per element, 4 rounds; a
 * one-hot gather from a fixed-masked matrix opens only the one-hot (one element per candidate).
 * Row counts below: n queries, T cached tokens, C clusters, hd head width, G groups.
 *
 * Why these and no more: each is one step a policy cannot express with the forward's operations
 * without reading secret data (structural ones are listed too because secret tensors cannot be
 * reshaped by reading them).
 */
import type { TensorLike } from '../model/index.js';

/**
 * One piece of a cache gather (`gatherCache`): public rows [start, end) of every head, or the blocks
 * a selection picks. `block` rows per chosen item; item j covers rows offset + j·block ..
 * offset + (j + 1)·block − 1 of the source; the selection's G is 1 (same rows for every head) or H.
 */
export type CachePiece<T> =
  | { readonly rows: readonly [number, number] }
  | { readonly select: T; readonly block: number; readonly offset: number };

/**
 * How a cluster of keys is scored against a query from its channel-wise bounds kmax, kmin:
 * `blend` is MPCache's linearised score Σ_i q_i·(α·kmax_i + (1 − α)·kmin_i); `bound` is Quest's
 * Σ_i max(q_i·kmax_i, q_i·kmin_i), an upper bound on q·k for every key k of the cluster.
 */
/**
 * What a gathered cache is for: 'store' (kept, appended to, read again: the default) or 'attend'
 * (attended once by `attnScores`/`attnMix` and dropped; never appended to or read otherwise), which
 * lets a backend skip building the rows (the ring backends return a lazy view).
 */
export type GatherUse = 'store' | 'attend';

/** How `blockScores` combines a block's keys (and its lookback's). */
export type BlockAgg = 'sum' | 'max';

/**
 * Identity of a growing series of cluster bounds (a `ClusterIndex` keeps one per level): the
 * bounds passed with it only gain rows at the end (earlier rows never change) and never exceed
 * `maxClusters`. A backend may keep state per series: the ring backends keep the blended bounds
 * under a fixed mask, so that each step's scores open only the query.
 */
export interface ClusterSeries {
  readonly maxClusters: number;
}

export type ClusterScoreRule = { readonly kind: 'blend'; readonly alpha: number } | { readonly kind: 'bound' };

export interface EvictionOps<T extends TensorLike, C> {
  // ------------------------------------------------------------------ structural (local, free)

  /**
   * Elements start..end (exclusive) of one axis. Local in every backend.
   * @throws MpcError E_SHAPE on a bad axis or range.
   */
  slice(x: T, axis: number, start: number, end: number): T;
  /**
   * Joins tensors along one axis (all other dimensions equal). Local in every backend.
   * @throws MpcError E_SHAPE if shapes disagree or the list is empty.
   */
  concat(xs: readonly T[], axis: number): T;
  /**
   * The children of selected clusters: for a selection [G, k, C] of clusters that each split into r
   * consecutive sub-clusters, the selection [G, k·r, n] of all their children, in ascending order
   * (row i·r + c picks child r·j + c where row i picks j); n ≥ C·r leaves room for sub-clusters
   * that have no parent yet (columns C·r.. are 0). Local: it only places the same secret elements
   * at other positions.
   * @throws MpcError E_INPUT if r < 1 or n < C·r.
   */
  expandSelection(sel: T, r: number, n: number): T;
  /**
   * A selection of items known in public (e.g. "all clusters" when a budget covers them), as
   * [groups, indices.length, n]. Local: a public constant.
   * @throws MpcError E_INPUT if an index is outside 0..n−1 or the indices are not ascending.
   */
  publicSelection(groups: number, indices: readonly number[], n: number): T;
  /**
   * Keys of cached rows start..end, [H, end − start, hd]. Local: rows of a fixed-masked matrix at
   * public positions are this party's share without communication (`fixedRows`).
   * @throws MpcError E_SHAPE if the range is outside the cache.
   */
  cacheKeys(cache: C, start: number, end: number): T;

  // ------------------------------------------------------------------ computing

  /**
   * The k largest entries of each row of the last axis as a selection: x [..., N] → [G, k, N] with G
   * the product of the leading dimensions. Ties go to the lowest index (an entry is chosen iff fewer
   * than k entries are larger, or equal with a lower index), so the set is a deterministic function
   * of the values and the fixed-point emulation and the secure run pick the same one. k ≥ N picks
   * everything without comparing.
   *
   * MPC: append the reversed index as low-order bits (public shift and add: free) so that all entries
   * differ and the tie rule is plain comparison; then either k tournament passes (k·(N − 1)
   * comparisons ≈ 13 B each, k·⌈log₂N⌉·4 rounds) or a sorting network (≈ N·log²N/4 comparisons,
   * O(log²N) rounds), whichever is smaller for the given k and N; the one-hot rows in ascending order
   * come from the k-hot mask by prefix sums (free) and k·N equality tests.
   * @throws MpcError E_INPUT if k < 0; E_SHAPE on a rank-0 input.
   */
  topk(x: T, k: number): Promise<T>;
  /**
   * Applies a selection (or any weights) as a product. 'rows': sel [G, k, N] · x [G' , N, w] → [G, k, w]
   * (the chosen rows). 'last': x [G', m, N] · selᵀ → [G, m, k] (the chosen entries of each row).
   * G' is G or 1 (broadcast).
   *
   * MPC: a secret×secret product, k·N·w (or m·N·k) elements at ≈ 16 B and no truncation (a one-hot
   * has fracBits 0); free if x is public; if x is a fixed-masked matrix only the selection is opened.
   * Policies call it on small operands: cluster scores, summaries and selections, never the cache.
   * @throws MpcError E_SHAPE on mismatched shapes.
   */
  gather(sel: T, x: T, layout: 'rows' | 'last'): Promise<T>;
  /**
   * A new cache holding, in order, the rows the pieces pick from `src` (per head for a per-head
   * selection). It can be attended to with `attnScores`/`attnMix` like any cache and has room for
   * `capacity` rows in total, so a policy also uses it to compact what it stores.
   *
   * MPC: public row ranges are local; a selected piece from the fixed-masked cache opens its one-hot
   * (k·C elements per group, one round) and multiplies it with the masked rows locally, with a
   * product correlation from the dealer (no truncation). The result is secret-shared: a backend may
   * re-mask it under a fresh fixed mask (one opening per element, worth it when the rows are
   * stored and attended for many steps) or use it directly (secret×secret scores and mix).
   * Selecting at cluster granularity is what makes this cheap (C candidates instead of T).
   * With `use` = 'attend' (capacity = the rows picked) a backend may gather nothing and attend
   * through the pieces instead (ring backends: ring/view-attention.ts).
   * @throws MpcError E_SHAPE on ranges outside the cache, a bad selection, or more rows than capacity.
   */
  gatherCache(src: C, pieces: readonly CachePiece<T>[], capacity: number, use?: GatherUse): Promise<C>;
  /**
   * Channel-wise bounds of consecutive blocks of b rows: the maximum of `hi` and the minimum of `lo`
   * over each block, [G, N·b, w] → two [G, N, w]. Keys give cluster summaries (hi = lo = keys);
   * bounds of b sub-clusters give a coarser cluster's bounds (hi = their kmax, lo = their kmin).
   *
   * MPC: 2·N·w·(b − 1) comparisons (≈ 13 B each) in ⌈log₂b⌉ tree levels of 4 rounds. A policy
   * runs it only for clusters that have just filled, never again for the same cluster.
   * @throws MpcError E_SHAPE if the row count is not a multiple of b or the shapes differ.
   */
  blockMinMax(hi: T, lo: T, b: number): Promise<{ max: T; min: T }>;
  /**
   * Scores of clusters against queries from their bounds: q [H, n, hd] with kmax, kmin [H, C, hd] →
   * [H, n, C], by `rule` (unscaled: only the order matters).
   *
   * MPC, `blend`: α·kmax + (1 − α)·kmin is a public scale (free plus one truncation per element;
   * a backend can keep it per cluster since a full cluster's bounds never change), then one product,
   * C·hd elements at ≈ 16 B plus a truncation per score, 3 rounds. `bound`: 2·C·hd products and
   * C·hd comparisons (the max) — what the blend removes. With a `series` (see ClusterSeries) the
   * ring backends open each cluster's bounds once, when it first appears, and then only q per step.
   * @throws MpcError E_SHAPE on mismatched shapes.
   */
  clusterScores(q: T, kmax: T, kmin: T, rule: ClusterScoreRule, series?: ClusterSeries): Promise<T>;
  /**
   * Optional: announces a series' bounds as they grow (at prefill and whenever clusters fill), so
   * that a backend prepares its per-series state then rather than at the next scoring (ring
   * backends: the new clusters' rows are masked and opened once here, under 'scores').
   */
  prepareScores?(kmax: T, kmin: T, rule: ClusterScoreRule, series: ClusterSeries): Promise<void>;
  /**
   * Optional: the scores of a finer level's candidates — the r children of each cluster the parents
   * selection [H, k', C'] picks, in order, then the orphans C'·r .. C − 1 — exactly
   * `gather(cand, clusterScores(q, kmax, kmin, rule, series), 'last')` with
   * cand = concat(expandSelection(parents, r, C), publicSelection(orphans)). A backend may score only
   * the candidates (ring: the parents' one-hot picks blocks of r rows of the series, opening the
   * parents' one-hot instead of the candidates' and every score).
   */
  childScores?(
    q: T,
    kmax: T,
    kmin: T,
    rule: ClusterScoreRule,
    series: ClusterSeries,
    parents: T,
    r: number,
  ): Promise<T>;
  /**
   * Optional: the selection [H, k, C] a pick over those candidates makes, exactly
   * `gather(pick, cand, 'rows')` (ring: one product of the pick with the parents' one-hot).
   */
  childSelection?(pick: T, parents: T, r: number, c: number): Promise<T>;
  /**
   * Attention probabilities p [H, n, T] summed over query rows from..to (exclusive), per head
   * ([H, 1, T]) or averaged over heads ([1, 1, T]): how much attention each key received.
   *
   * MPC: additions are free; the head mean is a public scale by 1/H (one truncation per output,
   * ≈ 8.4 B exact, or local probabilistic truncation). The probabilities are the ones the
   * attention already computed, so scoring keys this way adds no softmax.
   * @throws MpcError E_SHAPE on a bad row range.
   */
  sumQueries(p: T, from: number, to: number, meanOverHeads: boolean): Promise<T>;
  /**
   * The most attention each key received from one query of rows from..to, averaged over heads:
   * max over those rows of mean_h p[h, i, j] → [1, 1, T]. The fixed-count form of the released
   * MPCache code's static rule (keep a key if any window query gives it a head-mean score above a
   * threshold); unlike a sum, one query that retrieves a key is enough to rank it high.
   *
   * MPC: head sums are local; a comparison tree over the rows (rows − 1 comparisons of width 32
   * per key, 3 rounds per level), then the 1/H scale and one exact truncation per key.
   * @throws MpcError E_SHAPE on a bad row range.
   */
  maxQueries(p: T, from: number, to: number): Promise<T>;
  /**
   * Scores of blocks of `block` consecutive keys: x [G, 1, T] → [G, 1, ⌊T/block⌋], block b's
   * score the sum (`agg` 'sum') or the largest (`agg` 'max') of x over its own keys and those of
   * the `lookback` blocks before it (those that exist). The lookback credits a block for attention
   * paid just before it: a query that reads a key usually reads on from it (copying, retrieval), at
   * decoding steps no prefill query saw. 'max' keeps a block for one strongly read key; a sum also
   * rewards many weakly read ones (repeated filler that a copying head reads back), which crowded
   * out single-token anchors on our model (docs/eviction-study.md). 'max' expects x ≥ 0 (attention
   * scores): the ring backends pad the lookback before the first block with 0.
   *
   * MPC: 'sum' is local (integer-coefficient sums of shares); 'max' is a comparison tree over each
   * block (block − 1 comparisons of width 32) and one over the lookback (lookback comparisons):
   * about 13 B per comparison, 3 rounds per tree level.
   * @throws MpcError E_SHAPE / E_INPUT on a bad shape, block or lookback.
   */
  blockScores(x: T, block: number, lookback: number, agg: BlockAgg): Promise<T>;
  /**
   * Max-pooling along the last axis with an odd window `kernel`, stride 1, same length (the window
   * is cut at the ends): SnapKV's smoothing, so that neighbours of a strong key survive with it.
   *
   * MPC: (kernel − 1) comparisons per element (≈ 13 B each), ⌈log₂kernel⌉·4 rounds.
   * @throws MpcError E_INPUT if kernel is not a positive odd integer.
   */
  maxPool(x: T, kernel: number): Promise<T>;
}
