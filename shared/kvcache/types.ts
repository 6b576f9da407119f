/**
 * The KV-cache policy interface: one shape for the full cache, MPCache and every baseline, written
 * against `Ops` so that the same code runs in plaintext (quality studies) and under MPC (cost).
 *
 * A sequence runs as: one prefill call (the whole prompt, full causal attention in every policy),
 * after which the policy decides once, per layer, what it stores (the *static* decision); then one
 * decoding step per token, in which the policy stores the new key and value and decides what the
 * query attends to (the *dynamic* decision), possibly evicting again.
 *
 * Rules that keep a policy MPC-safe (DESIGN §2, §7):
 * - counts are public: budgets, cluster sizes, ratios, the prompt length and the step number fix
 *   how many tokens are stored and attended at every step; nothing counts data;
 * - choices that depend on data are selection tensors (`EvictionOps`), never index arrays, and
 *   are used only through `Ops`; a policy that makes such choices says so (`inputDependent`);
 * - every choice is a deterministic function of the values (ties go to the lowest index), so the
 *   fixed-point emulation and the secure run choose identical sets.
 */
import type { BackendTypes, Ops } from '../model/index.js';
import type { SelectionHook } from './ring-eviction.js';

/** Reads a tensor in the clear: plaintext inspection only (tests, studies), never on an MPC path. */
export type Inspector<T> = (t: T) => { readonly shape: readonly number[]; readonly data: Float64Array };

/** Public facts about one sequence, known when its prefill starts. */
export interface SequenceInfo<T> {
  readonly heads: number;
  readonly headDim: number;
  /** Tokens of the prompt (prefilled in one call). */
  readonly promptTokens: number;
  /** Most tokens the sequence may reach: the prompt plus every decoding step. */
  readonly capacity: number;
  /** If given, sessions record which original positions they store and attend (plaintext only). */
  readonly inspect?: Inspector<T>;
  /** If given (ring backends), sees every selection the policy makes (tests; the revealSelections hook). */
  readonly onSelection?: SelectionHook<T>;
}

/**
 * What a layer's prefill hands the policy; q is [G, n, hd], p the causal probabilities [G, n, n],
 * per key/value head (under grouped-query attention each the sum over the query heads sharing it).
 */
export interface PrefillInput<B extends BackendTypes> {
  readonly q: B['tensor'];
  readonly p: B['tensor'];
  /** The layer's cache holding all n prompt tokens; it now belongs to the session (keep or compact it). */
  readonly cache: B['cache'];
}

/** One decoding step at one layer: the new token's q, k, v, each [H, 1, hd], and its position. */
export interface DecodeInput<B extends BackendTypes> {
  readonly q: B['tensor'];
  readonly k: B['tensor'];
  readonly v: B['tensor'];
  readonly position: number;
}

/** Original positions a layer stores and attended at its last step, per head (plaintext inspection). */
export interface LayerTrace {
  readonly stored: readonly (readonly number[])[];
  readonly attended: readonly (readonly number[])[];
}

/** One sequence's state under a policy. Layers are called in order 0..L−1 at every step. */
export interface KvSession<B extends BackendTypes> {
  /** The static decision for `layer`, after its full-attention prefill. */
  prefill(layer: number, input: PrefillInput<B>): Promise<void>;
  /** Stores the step's key and value and returns the attention output [H, 1, hd]. */
  decode(layer: number, input: DecodeInput<B>): Promise<B['tensor']>;
  /** What `layer` stores and attended, if the sequence was started with an inspector; else null. */
  trace(layer: number): LayerTrace | null;
}

export interface KvPolicy {
  readonly name: string;
  /** True if what it stores or attends to depends on the data: its selections must stay secret. */
  readonly inputDependent: boolean;
  /** Public settings for reports (budget rule, ratios, cluster sizes, layers). */
  readonly settings: Readonly<Record<string, string | number | boolean>>;
  /**
   * Most tokens a query attends to at any decoding step in a non-dense layer, for a prompt of n
   * tokens (the current token included): the budget comparisons are made at. MPCache without its
   * dynamic step keeps about this many prompt tokens and attends every generated token besides
   * (B + t at step t), as the paper's generated tokens are never evicted.
   */
  budget(promptTokens: number): number;
  /**
   * Checks, before any work, that the policy can run on a prompt of this length (its public
   * options against the public length).
   * @throws MpcError E_CONFIG e.g. when the budget is below the clusters it always attends.
   */
  check?(promptTokens: number): void;
  /**
   * Starts a sequence.
   * @throws MpcError E_CONFIG if the policy's settings cannot be met for this sequence (e.g. a
   *   budget smaller than the clusters it must always attend).
   */
  begin<B extends BackendTypes>(ops: Ops<B>, seq: SequenceInfo<B['tensor']>): KvSession<B>;
}
