/**
 * The `Ops` interface: everything the GPT-2 forward pass asks of a backend.
 *
 * Three backends implement it: float64 (the plaintext reference, `float.ts`), fixed-point
 * emulation (exact ring arithmetic, Z_2^64 with 16 fractional bits) and secure two-party
 * computation (each party runs the same forward over its shares). The forward never sees how a
 * tensor is stored, so the same model code runs in all three and their results can be compared
 * stage by stage.
 *
 * Rules that keep the secure backend efficient:
 * - every method that computes is `async` (it may talk to the other party); only structural,
 *   local operations (slicing, reshaping heads, residual add) are synchronous;
 * - calls are whole-tensor, one per layer stage: attention works on all heads at once, as
 *   [H, n, hd] tensors and [H, n, T] scores; nothing is called per element, head or token;
 * - weights are opaque handles the backend builds once (`prepare`): the secure backend holds
 *   masked weights and shares, not Float64Arrays;
 * - attention is split into scores → softmax(mask) → mix over a per-layer `KVCache`, so that a
 *   KV-cache policy can select or evict between the steps; masks are public descriptions;
 * - token ids enter only through `embed` and leave only through `argmax` (the secure backend
 *   involves the client in both, so the servers never see ids in the clear); logits are revealed
 *   only through the explicit, optional `revealLogits`.
 */
import type { Shape } from '../../ring/index.js';
import type { Gpt2Config } from '../config.js';
import type { Gpt2Weights } from '../weights.js';
import type { LlamaConfig } from '../llama-config.js';
import type { LlamaWeights } from '../llama-weights.js';

/** The least a backend tensor handle exposes: its (public) shape. */
export interface TensorLike {
  readonly shape: Shape;
}

/**
 * The types one backend works with. Each backend fixes them; the forward pass is generic over
 * them, so passing a norm where a linear layer is expected fails to compile.
 */
export interface BackendTypes {
  /** Activation tensor (a float array, a ring tensor, or this party's share). */
  readonly tensor: TensorLike;
  /** Token ids as the backend sees them (plain ids in plaintext; a client-assisted handle in MPC). */
  readonly tokens: { readonly length: number };
  /** A linear layer (weight and optional bias), prepared for products with activations. */
  readonly linear: unknown;
  /** A LayerNorm's gain and bias. */
  readonly norm: unknown;
  /** Token and position embedding tables. */
  readonly embedding: unknown;
  /** One layer's KV cache. */
  readonly cache: KVCache<this['tensor']>;
}

/** Backends whose token ids are plain numbers: float64 and the fixed-point emulation. */
export interface PlainTypes extends BackendTypes {
  readonly tokens: readonly number[];
}

export interface BlockParams<B extends BackendTypes> {
  readonly ln1: B['norm'];
  /** Fused q, k, v projection d → 3d (GPT-2's c_attn). */
  readonly attnQkv: B['linear'];
  readonly attnProj: B['linear'];
  readonly ln2: B['norm'];
  readonly mlpFc: B['linear'];
  readonly mlpProj: B['linear'];
}

/** A model's weights in a backend's own representation. */
export interface ModelParams<B extends BackendTypes> {
  readonly config: Gpt2Config;
  readonly embedding: B['embedding'];
  readonly blocks: readonly BlockParams<B>[];
  readonly lnF: B['norm'];
  /** Output projection d → V (the tied token embedding, transposed). */
  readonly head: B['linear'];
}

export interface LlamaBlockParams<B extends BackendTypes> {
  /** RMSNorm before attention (its gain is folded into `qkv` by the ring backends). */
  readonly attnNorm: B['norm'];
  /** Fused q, k, v projection d → (H + 2G)·hd, no bias. */
  readonly qkv: B['linear'];
  readonly o: B['linear'];
  readonly mlpNorm: B['norm'];
  /** Fused gate and up projection d → 2I. */
  readonly gateUp: B['linear'];
  readonly down: B['linear'];
}

/** A Llama model's weights in a backend's own representation. */
export interface LlamaParams<B extends BackendTypes> {
  readonly config: LlamaConfig;
  /** Token embeddings only (positions enter through RoPE). */
  readonly embedding: B['embedding'];
  readonly blocks: readonly LlamaBlockParams<B>[];
  readonly norm: B['norm'];
  readonly head: B['linear'];
}

/** Parameters of either architecture; `config.arch` tells which. */
export type AnyModelParams<B extends BackendTypes> = ModelParams<B> | LlamaParams<B>;

/** The public shape of a rotary attention projection: H query heads, G key/value heads of hd. */
export interface RotaryShape {
  readonly heads: number;
  readonly kvHeads: number;
  readonly headDim: number;
  /** RoPE base θ: pair j of a head turns by position · θ^(−2j/hd). */
  readonly theta: number;
}

/**
 * One layer's key/value store. Keys and values are kept per head, in the order appended; the
 * length is public (it is a function of the schedule, never of the data).
 */
export interface KVCache<T extends TensorLike> {
  readonly heads: number;
  readonly headDim: number;
  /** Most tokens the cache can hold (storage is allocated up front). */
  readonly capacity: number;
  /** Tokens stored so far. */
  readonly length: number;
  /**
   * Stores the keys and values of `n` new tokens, both [H, n, hd].
   * @throws MpcError E_SHAPE on a shape mismatch, E_INPUT if the cache would exceed its capacity.
   */
  append(k: T, v: T): Promise<void>;
  /** Empties the cache for reuse (keeps its storage). */
  reset(): void;
}

/**
 * Which cache entries each query may see, as a public description.
 * `causal`: query i (of n) sees cache entries 0 ..= offset + i. With all n queries appended last,
 * offset = length − n; for a single decoding step this means every entry.
 * Eviction policies do not widen this: they attend to a cache built from the selected rows
 * (kvcache/eviction-ops.ts `gatherCache`), whose own entries are all visible.
 */
export type AttnMask = { readonly kind: 'causal'; readonly offset: number };

/**
 * The operations a backend provides. Shapes in brackets; n tokens, H heads, T cached entries.
 * The operations eviction policies need besides these are declared in kvcache/eviction-ops.ts.
 */
export interface Ops<B extends BackendTypes> {
  /** Short name for logs and reports ('float64', 'fixed', 'secure'). */
  readonly name: string;

  /** Builds this backend's parameter handles from plain weights (once per model). */
  prepare(weights: Gpt2Weights): Promise<ModelParams<B>>;
  /** Allocates an empty KV cache for one layer. */
  createCache(heads: number, headDim: number, capacity: number): B['cache'];

  /** Builds this backend's parameter handles from plain Llama weights (once per model). */
  prepareLlama(weights: LlamaWeights): Promise<LlamaParams<B>>;

  /** Token embedding plus position embedding (if the table has one): n ids and n positions → [n, d]. */
  embed(tokens: B['tokens'], positions: readonly number[], table: B['embedding']): Promise<B['tensor']>;
  /** LayerNorm over the last axis (biased variance, eps inside the square root, as PyTorch). */
  layerNorm(x: B['tensor'], p: B['norm']): Promise<B['tensor']>;
  /** [n, in] → [n, out]: x · W + b. */
  linear(x: B['tensor'], p: B['linear']): Promise<B['tensor']>;
  /** GeLU, tanh approximation (HF `gelu_new`), element-wise. */
  gelu(x: B['tensor']): Promise<B['tensor']>;
  /** RMSNorm over the last axis, x / sqrt(mean(x²) + eps) · γ (as HF LlamaRMSNorm). */
  rmsNorm(x: B['tensor'], p: B['norm']): Promise<B['tensor']>;
  /**
   * Llama's attention inputs: x [n, d] through the fused q, k, v projection, then rotary
   * positions (HF's rotate-half pairing: channel c with c ± hd/2) applied to q and k at the public
   * `positions` — a public linear map, so the ring backends fold it into the projection's
   * truncation. → q [H, n, hd], k and v [G, n, hd].
   */
  rotaryQkv(
    x: B['tensor'],
    p: B['linear'],
    shape: RotaryShape,
    positions: readonly number[],
  ): Promise<{ q: B['tensor']; k: B['tensor']; v: B['tensor'] }>;
  /** SwiGLU: [n, 2I] (gate | up) → SiLU(gate) · up, [n, I]. */
  swiglu(x: B['tensor']): Promise<B['tensor']>;
  /**
   * Sums consecutive blocks of heads: [H, n, w] → [G, n, w], group g the sum of heads
   * g·H/G .. (g + 1)·H/G − 1 (the query heads sharing key/value head g). Local; x itself if G = H.
   */
  groupHeads(x: B['tensor'], groups: number): B['tensor'];
  /** Residual sum of two same-shaped tensors (local in every backend). */
  add(a: B['tensor'], b: B['tensor']): B['tensor'];

  /** Splits a fused [n, 3d] projection into q, k, v, each [H, n, hd]. */
  splitHeads(qkv: B['tensor'], heads: number): { q: B['tensor']; k: B['tensor']; v: B['tensor'] };
  /** [H, n, hd] → [n, H·hd], the inverse of the head split. */
  mergeHeads(x: B['tensor']): B['tensor'];
  /** Rows start..end (exclusive) of an [n, ...] tensor. */
  rows(x: B['tensor'], start: number, end: number): B['tensor'];

  /**
   * q [H, n, hd] against every cached key → scores [H, n, T], scaled by 1/sqrt(hd). Entries the
   * mask hides are 0 and need not be computed (half the work of a causal prefill). A cache of
   * G < H heads (grouped-query attention) serves query heads g·H/G .. (g + 1)·H/G − 1 from head g;
   * `attnMix` pairs them the same way.
   */
  attnScores(q: B['tensor'], cache: B['cache'], mask: AttnMask): Promise<B['tensor']>;
  /** Softmax over the last axis of [H, n, T]; masked entries get probability exactly 0. */
  softmax(scores: B['tensor'], mask: AttnMask): Promise<B['tensor']>;
  /**
   * Probabilities [H, n, T] times cached values → [H, n, hd]. With the mask the probabilities came
   * from, the values it hides need not be read (their probabilities are 0).
   */
  attnMix(p: B['tensor'], cache: B['cache'], mask?: AttnMask): Promise<B['tensor']>;
  /**
   * Optional: causal attention of q over the cache (append done), equal to attnScores → softmax →
   * attnMix, when the backend has a leaner way for these shapes (the ring backend: chunk by chunk
   * of query positions, never holding [H, n, T] unless `withP` asks for the probabilities); null
   * otherwise.
   */
  attendCausal?(
    q: B['tensor'],
    cache: B['cache'],
    mask: AttnMask,
    withP: boolean,
  ): Promise<{ out: B['tensor']; p: B['tensor'] | null } | null>;
  /**
   * Optional: appends k, v [H, n, hd] and returns softmax(scores)·V for q, when the backend has a
   * cheaper way than append → attnScores → softmax → attnMix (the ring backend shares the
   * appends' round with the scores and never forms the probabilities); null, with nothing
   * appended, when it has none for these shapes. Its own function (rounding), the same in every role.
   */
  attendAppending?(q: B['tensor'], k: B['tensor'], v: B['tensor'], cache: B['cache']): Promise<B['tensor'] | null>;

  /** [n, d] → logits [n, V] through the output projection. */
  lmHead(x: B['tensor'], head: B['linear']): Promise<B['tensor']>;
  /** Index of the largest logit of each row (first on ties); the secure backend reveals it to the client only. */
  argmax(logits: B['tensor']): Promise<B['tokens']>;
  /** Opt-in: the logits in the clear, row-major (the secure backend reveals them to the client for sampling). */
  revealLogits?(logits: B['tensor']): Promise<Float64Array>;
  /** Optional metering scope: the forward labels each layer and stage ('l3.attn'); backends that meter nest their labels under it. */
  scope?<R>(label: string, fn: () => Promise<R>): Promise<R>;
}
