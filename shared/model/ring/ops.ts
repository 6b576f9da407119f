/**
 * The ring backend of the model: one implementation of `Ops` over `Prims`, so the same code is
 * the fixed-point emulation (ClearPrims), each party's share of the secure pipeline (SecurePrims)
 * and the dealer's schedule (DealerPrims). Secure and emulated runs are therefore bit-identical
 * by construction; `RingTokenIO` is the only part that differs (how token ids get in and out).
 *
 * Linear layers and the KV cache are fixed-mask matrices: a product opens only its input. Every
 * linear layer ends in one exact truncation (bias added at scale 2f before it). LayerNorm gains,
 * biases and the attention scale are folded into the weights (fold.ts). Non-linear functions come
 * from a `RingNonlinear` implementation (protocol/nonlinear).
 */
import { invariant } from '../../util/errors.js';
import { clear, type AnyTensor, type Shape } from '../../ring/tensor.js';
import type { FixedHandle, Prims } from '../../protocol/prims/types.js';
import type { Network } from '../../protocol/cost-model.js';
import type { Gpt2Config } from '../config.js';
import type { Gpt2Weights } from '../weights.js';
import type { LlamaWeights } from '../llama-weights.js';
import type { AttnMask, BackendTypes, LlamaParams, ModelParams, Ops, RotaryShape } from '../ops/types.js';
import { encodeLlamaModel, loadRingLlama, ringGroupHeads, ringRotaryQkv } from './llama.js';
import { RingCacheView, RingKVCache } from './cache.js';
import { viewMix, viewScores } from './view-attention.js';

export { RingCacheView, RingKVCache } from './cache.js';
import { encodeRingModel, ringModelSpec } from './fold.js';

/** Largest row chunk a row-wise non-linear step processes at once (see `RingOps.byRows`). */
export const CHUNK_ELEMENTS = 1 << 16;
/** Largest [heads, positions, keys] block of a causal attention's products (see `causalChunks`). */
export const CAUSAL_CHUNK_ELEMENTS = 1 << 20;

/**
 * Query positions [a, b) of a causal attention of n queries over t keys, in chunks of at most
 * CAUSAL_CHUNK_ELEMENTS scores, each with the keys it sees (tb = offset + b, the last row's): the
 * chunks' products skip what the mask hides (about half of a prefill's) and bound a long prefill's
 * tensors. One chunk when nothing is hidden or everything fits. Shapes only, so every role agrees.
 */
export function causalChunks(
  heads: number,
  n: number,
  t: number,
  offset: number,
  limit = CAUSAL_CHUNK_ELEMENTS,
): [number, number, number][] {
  const per = Math.max(1, Math.floor(limit / Math.max(1, heads * t)));
  if (offset + n >= t && n <= per) return [[0, n, t]];
  const out: [number, number, number][] = [];
  for (let a = 0; a < n; a += per) {
    const b = Math.min(n, a + per);
    out.push([a, b, Math.min(t, offset + b)]);
  }
  return out;
}

export interface RingLinear<T, F> {
  readonly w: F;
  /** Bias at scale 2f, or null (Llama). */
  readonly b: T | null;
  readonly inDim: number;
  readonly outDim: number;
}
export interface RingNorm {
  readonly eps: number;
}
export interface RingEmbedding<F> {
  readonly wte: F;
  /** Position embeddings, or null (Llama: RoPE). */
  readonly wpe: F | null;
}

/** Non-linear recipes over Prims the ring backend needs (protocol/nonlinear provides them). */
export interface RingNonlinear {
  /**
   * apply(softmax(x)) over rows with `valid` entries, without the probabilities (apply is linear
   * over the last axis, gets the exponentials at 24 fractional bits and returns [.., c] at
   * 24 + f; `outShape` is its output shape). Optional: softmax then apply otherwise.
   */
  attention?<T extends AnyTensor, F extends FixedHandle>(
    P: Prims<T, F>,
    x: T,
    valid: readonly number[],
    apply: (e: T) => Promise<T>,
    outShape: Shape,
  ): Promise<T>;
  /** ⌊x / 2^s⌋ for a bulk truncation (linear layers' outputs), by the recipes' protocol (optional). */
  trunc?<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T, s: number): Promise<T>;
  /**
   * The same recipes with their designs chosen for a named network (protocol/cost-model.ts):
   * different costs, the same values.
   */
  tuned?(network: Network): RingNonlinear;
  /** Normalises the last axis (biased variance, eps inside the root); output scale f. */
  layerNorm<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T, eps: number): Promise<T>;
  /** RMSNorm without gain (x / √(mean x² + eps)); output scale f. Llama only. */
  rmsNorm?<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T, eps: number): Promise<T>;
  /** SiLU, element-wise, at any output scale ≥ f (the caller truncates). Llama only. */
  silu?<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T): Promise<T>;
  /** GeLU, tanh form, element-wise; output scale f. */
  gelu<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T): Promise<T>;
  /**
   * Optional: GeLU with its output left at 2f (no truncation of its own), for a fixed-mask product
   * that truncates anyway (RingOps: the MLP's down projection then truncates by 2f).
   */
  geluWide?<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T): Promise<T>;
  /** Softmax over the last axis; row r sees its first `valid[r]` entries, the rest are exactly 0. */
  softmax<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T, valid: readonly number[]): Promise<T>;
  /** Index of the largest element of each row (lowest index on ties), as integers (scale 0). */
  argmax<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T): Promise<T>;
}

/** How token ids enter and leave: plain ids (emulation) or the client (secure, dealer). */
export interface RingTokenIO<T extends AnyTensor, F extends FixedHandle, Tok extends { readonly length: number }> {
  /** Token embeddings [n, d] at scale f (without positions). */
  embedTokens(P: Prims<T, F>, wte: F, tokens: Tok): Promise<T>;
  /**
   * Turns secret argmax indices into the backend's token handle (secure: revealed to the client
   * only). `logits` are passed along for backends that reveal them to the client on request.
   */
  emitTokens(P: Prims<T, F>, idx: T, logits: T): Promise<Tok>;
}

export interface RingTypes<
  T extends AnyTensor,
  F extends FixedHandle,
  Tok extends { readonly length: number },
> extends BackendTypes {
  readonly tensor: T;
  readonly tokens: Tok;
  readonly linear: RingLinear<T, F>;
  readonly norm: RingNorm;
  readonly embedding: RingEmbedding<F>;
  readonly cache: RingKVCache<T, F>;
}

/**
 * Registers a ring model's weights as fixed-mask matrices (opening each masked matrix once) and
 * returns the backend's parameters. `get(name)` yields each tensor of `ringModelSpec` in this
 * holder's form (clear value, party share, or shape on the dealer).
 */
export async function loadRingModel<
  T extends AnyTensor,
  F extends FixedHandle,
  Tok extends { readonly length: number },
>(P: Prims<T, F>, config: Gpt2Config, get: (name: string) => T): Promise<ModelParams<RingTypes<T, F, Tok>>> {
  const spec = new Map(ringModelSpec(config));
  const fixed = async (name: string): Promise<F> => {
    const [rows, cols] = spec.get(name)!.shape as [number, number];
    const w = await P.fixedAlloc(name, 1, rows, cols, spec.get(name)!.fracBits);
    await P.fixedAppend(w, P.reshape(get(name), [1, rows, cols]));
    return w;
  };
  const linear = async (base: string): Promise<RingLinear<T, F>> => {
    const [outDim, inDim] = spec.get(`${base}.w`)!.shape as [number, number];
    return { w: await fixed(`${base}.w`), b: get(`${base}.b`), inDim, outDim };
  };
  const embedding = { wte: await fixed('wte'), wpe: await fixed('wpe') };
  const blocks = [];
  for (let l = 0; l < config.nLayer; l++) {
    const norm = { eps: config.lnEps };
    blocks.push({
      ln1: norm,
      attnQkv: await linear(`h.${l}.qkv`),
      attnProj: await linear(`h.${l}.proj`),
      ln2: norm,
      mlpFc: await linear(`h.${l}.fc`),
      mlpProj: await linear(`h.${l}.mproj`),
    });
  }
  return { config, embedding, blocks, lnF: { eps: config.lnEps }, head: await linear('head') };
}

export class RingOps<
  T extends AnyTensor,
  F extends FixedHandle,
  Tok extends { readonly length: number },
> implements Ops<RingTypes<T, F, Tok>> {
  readonly name: string;
  private caches = 0;
  readonly f: number;

  constructor(
    readonly P: Prims<T, F>,
    readonly nl: RingNonlinear,
    readonly io: RingTokenIO<T, F, Tok>,
    fracBits: number,
  ) {
    this.name = P.mode === 'clear' ? 'fixed' : P.mode;
    this.f = fracBits;
  }

  /** Largest block of a causal attention's products (`causalChunks`); tests lower it to see chunks. */
  causalChunk = CAUSAL_CHUNK_ELEMENTS;

  /** The emulation's path from plain weights; parties load shares through `loadRingModel` instead. */
  async prepare(weights: Gpt2Weights): Promise<ModelParams<RingTypes<T, F, Tok>>> {
    invariant(this.P.mode === 'clear', 'E_INTERNAL', 'only the emulation prepares plain weights; parties load shares');
    const enc = encodeRingModel(weights, this.f);
    // in the emulation T is Clear: the tensors are the encoded values themselves
    return loadRingModel(this.P, weights.config, (name) => {
      const t = enc.get(name)!;
      return clear(t.shape, t.data, t.fracBits) as AnyTensor as T;
    });
  }

  /** The emulation's path from plain Llama weights (parties load shares). */
  async prepareLlama(weights: LlamaWeights): Promise<LlamaParams<RingTypes<T, F, Tok>>> {
    invariant(this.P.mode === 'clear', 'E_INTERNAL', 'only the emulation prepares plain weights; parties load shares');
    const enc = encodeLlamaModel(weights, this.f);
    return loadRingLlama(this.P, weights.config, (name) => {
      const t = enc.get(name)!;
      return clear(t.shape, t.data, t.fracBits) as AnyTensor as T;
    });
  }

  createCache(heads: number, headDim: number, capacity: number): RingKVCache<T, F> {
    return new RingKVCache(this.P, `kv${this.caches++}`, heads, headDim, capacity);
  }

  async embed(tokens: Tok, positions: readonly number[], table: RingEmbedding<F>): Promise<T> {
    const P = this.P;
    invariant(tokens.length === positions.length, 'E_SHAPE', 'one position per token');
    const tok = await this.io.embedTokens(P, table.wte, tokens);
    if (table.wpe === null) return tok;
    const pos = P.reshape(P.fixedRows(table.wpe, positions), [positions.length, table.wpe.cols]);
    return P.add(tok, pos);
  }

  layerNorm(x: T, p: RingNorm): Promise<T> {
    return this.byRows(x, (c) => this.nl.layerNorm(this.P, c, p.eps));
  }
  /** GeLU; at 2f when the recipes offer it (the next linear layer truncates by 2f instead of f). */
  gelu(x: T): Promise<T> {
    const nl = this.nl;
    return this.byRows(x, (c) => (nl.geluWide ? nl.geluWide(this.P, c) : nl.gelu(this.P, c)));
  }
  rmsNorm(x: T, p: RingNorm): Promise<T> {
    const rms = this.nl.rmsNorm?.bind(this.nl); // the recipes may be a class's methods
    invariant(rms !== undefined, 'E_INTERNAL', 'these non-linear recipes have no RMSNorm');
    return this.byRows(x, (c) => rms(this.P, c, p.eps));
  }
  rotaryQkv(
    x: T,
    p: RingLinear<T, F>,
    shape: RotaryShape,
    positions: readonly number[],
  ): Promise<{ q: T; k: T; v: T }> {
    return ringRotaryQkv(this.P, this.f, (y, fn) => this.byRows(y, fn), x, p, shape, positions);
  }
  /** SiLU(gate) · up per row chunk: SiLU at its own scale, one product, one truncation back to f. */
  swiglu(x: T): Promise<T> {
    const P = this.P,
      silu = this.nl.silu?.bind(this.nl),
      w = x.shape[1]! / 2;
    invariant(silu !== undefined, 'E_INTERNAL', 'these non-linear recipes have no SiLU');
    return this.byRows(x, async (c) => {
      const y = await P.mul(await silu(P, P.sliceLast(c, 0, w)), P.sliceLast(c, w, 2 * w));
      return P.trunc(y, y.fracBits - this.f);
    });
  }
  groupHeads(x: T, groups: number): T {
    return ringGroupHeads(this.P, x, groups);
  }

  /**
   * Runs a row-wise function over row chunks of at most CHUNK_ELEMENTS elements, one after the other.
   * A long prefill would otherwise take one correlation item of gigabytes (softmax needs ~2 KB of
   * dealer material per score) in one frame and in memory; chunks bound both, at the price of more
   * rounds during prefill. The chunking is a function of shapes only, so all roles agree on it.
   */
  async byRows(x: T, fn: (chunk: T, start: number, end: number) => Promise<T>): Promise<T> {
    const P = this.P,
      shape = x.shape,
      last = shape[shape.length - 1]!,
      rows = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    const per = Math.max(1, Math.floor(CHUNK_ELEMENTS / Math.max(1, last)));
    if (rows <= per) return fn(x, 0, rows);
    const flat = P.reshape(x, [rows, last]),
      outs: T[] = [];
    for (let r = 0; r < rows; r += per)
      outs.push(await fn(P.sliceFirst(flat, r, Math.min(rows, r + per)), r, Math.min(rows, r + per)));
    const out = P.concatFirst(outs);
    return P.reshape(out, [...shape.slice(0, -1), out.shape[out.shape.length - 1]!]);
  }
  add(a: T, b: T): T {
    return this.P.add(a, b);
  }

  async linear(x: T, p: RingLinear<T, F>): Promise<T> {
    const P = this.P,
      n = x.shape[0]!;
    const y = await P.fixedMatmul(x, p.w, 'nt'); // [n, out] at x's scale + f (2f, or 3f after a wide GeLU)
    const b = p.b;
    const biased =
      b === null
        ? y
        : P.add(
            y,
            P.concatFirst(
              Array.from({ length: n }, () => P.mulPublic(P.reshape(b, [1, p.outDim]), 1, x.fracBits - this.f)),
            ),
          );
    return this.byRows(biased, (c) => this.trunc(c, c.fracBits - this.f));
  }

  /** The bulk truncation of a product back to f, by the protocol the recipes choose for its size. */
  private trunc(x: T, s = this.f): Promise<T> {
    return this.nl.trunc ? this.nl.trunc(this.P, x, s) : this.P.trunc(x, s);
  }

  splitHeads(qkv: T, heads: number): { q: T; k: T; v: T } {
    const P = this.P,
      n = qkv.shape[0]!,
      d = qkv.shape[1]! / 3,
      hd = d / heads;
    // [n, d] → [n, H·hd] → [H·hd, n] → [H, hd, n] → [H, n, hd]
    const toHeads = (x: T): T => P.transposeLast(P.reshape(P.transposeLast(x), [heads, hd, n]));
    return {
      q: toHeads(P.sliceLast(qkv, 0, d)),
      k: toHeads(P.sliceLast(qkv, d, 2 * d)),
      v: toHeads(P.sliceLast(qkv, 2 * d, 3 * d)),
    };
  }

  mergeHeads(x: T): T {
    const P = this.P,
      [heads, n, hd] = x.shape as [number, number, number];
    return P.transposeLast(P.reshape(P.transposeLast(x), [heads * hd, n]));
  }

  rows(x: T, start: number, end: number): T {
    return this.P.sliceFirst(x, start, end);
  }

  scope<R>(label: string, fn: () => Promise<R>): Promise<R> {
    return this.P.scope(label, fn);
  }

  /**
   * q [H, n, hd] as [G, (H/G)·n, hd]: grouped-query attention is then an ordinary product of each
   * key/value head with the rows of its H/G query heads (a reshape, no data moves).
   */
  private byKvHead(x: T, cache: RingKVCache<T, F>): T {
    const [h, n, w] = x.shape as [number, number, number];
    invariant(h % cache.heads === 0, 'E_SHAPE', `${h} query heads over a cache of ${cache.heads} heads`);
    return h === cache.heads ? x : this.P.reshape(x, [cache.heads, (h / cache.heads) * n, w]);
  }

  async attnScores(q: T, cache: RingKVCache<T, F>, mask: AttnMask): Promise<T> {
    const P = this.P,
      [h, n] = q.shape as [number, number];
    if (cache instanceof RingCacheView) {
      const s = await viewScores(P, this.f, this.byKvHead(q, cache), cache);
      return h === cache.heads ? s : P.reshape(s, [h, n, s.shape[2]!]);
    }
    invariant(cache.k !== undefined, 'E_INTERNAL', 'attention over an empty cache');
    // per chunk of query positions, the keys they see; hidden scores are 0 (never computed)
    const t = cache.length,
      parts: T[] = [];
    for (const [a, b, tb] of causalChunks(h, n, t, mask.offset, this.causalChunk))
      parts.push(padKeys(P, await this.chunkScores(q, cache, a, b, tb), t));
    return concatMid(P, parts);
  }

  softmax(scores: T, mask: AttnMask): Promise<T> {
    return this.P.scope('softmax', () => this.softmaxIn(scores, mask.offset));
  }

  /** Softmax of [H, m, T] scores of query positions from `first` on (position i sees first + i + 1 keys). */
  private softmaxIn(scores: T, first: number): Promise<T> {
    const [heads, n, t] = scores.shape as [number, number, number];
    const valid = Array.from({ length: heads * n }, (_, r) => Math.min(t, first + (r % n) + 1));
    return this.byRows(scores, (c, a, b) => this.nl.softmax(this.P, c, valid.slice(a, b)));
  }

  async attnMix(p: T, cache: RingKVCache<T, F>, mask?: AttnMask): Promise<T> {
    const P = this.P,
      [h, n, t] = p.shape as [number, number, number];
    if (cache instanceof RingCacheView) {
      const o = await viewMix(P, this.f, this.byKvHead(p, cache), cache);
      return h === cache.heads ? o : P.reshape(o, [h, n, o.shape[2]!]);
    }
    invariant(cache.v !== undefined, 'E_INTERNAL', 'attention over an empty cache');
    // hidden probabilities are 0: each chunk of positions needs only the values it sees
    const parts: T[] = [];
    for (const [a, b, tb] of causalChunks(h, n, t, mask?.offset ?? t, this.causalChunk)) {
      const rows = midRows(P, p, a, b);
      parts.push(await this.chunkMix(tb < t ? P.sliceLast(rows, 0, tb) : rows, cache));
    }
    return concatMid(P, parts);
  }

  /**
   * Causal attention over a plain cache chunk by chunk of query positions (`causalChunks`): each
   * chunk's scores against the keys it sees, their softmax and the product with those values, so
   * no [H, n, T] tensor exists unless the probabilities are asked for (`withP`: a policy's
   * prefill). Equal, value for value, to attnScores → softmax → attnMix. Null for a view or when
   * one chunk is all (that path then).
   */
  async attendCausal(
    q: T,
    cache: RingKVCache<T, F>,
    mask: AttnMask,
    withP: boolean,
  ): Promise<{ out: T; p: T | null } | null> {
    const P = this.P,
      [h, n] = q.shape as [number, number];
    if (cache instanceof RingCacheView) return null;
    const t = cache.length,
      chunks = causalChunks(h, n, t, mask.offset, this.causalChunk);
    if (chunks.length === 1) return null;
    const outs: T[] = [],
      ps: T[] = [];
    for (const [a, b, tb] of chunks) {
      const s = await this.chunkScores(q, cache, a, b, tb);
      const p = await P.scope('softmax', () => this.softmaxIn(s, mask.offset + a));
      outs.push(await this.chunkMix(p, cache));
      if (withP) ps.push(padKeys(P, p, t));
    }
    return { out: concatMid(P, outs), p: withP ? concatMid(P, ps) : null };
  }

  /** Scores [H, b − a, tb] of query positions [a, b) against the first tb keys. */
  private async chunkScores(q: T, cache: RingKVCache<T, F>, a: number, b: number, tb: number): Promise<T> {
    const P = this.P,
      h = q.shape[0]!;
    const qc = this.byKvHead(midRows(P, q, a, b), cache);
    // the 1/√hd scale is folded into the query projection
    const raw = await P.fixedMatmul(qc, cache.k!, 'nt', tb);
    return P.reshape(await this.byRows(raw, (c) => this.trunc(c)), [h, b - a, tb]);
  }

  /** Probabilities [H, m, tb] over the first tb cached values → [H, m, hd]. */
  private async chunkMix(p: T, cache: RingKVCache<T, F>): Promise<T> {
    const P = this.P,
      [h, m, tb] = p.shape as [number, number, number];
    const o = await P.fixedMatmul(this.byKvHead(p, cache), cache.v!, 'nn', tb);
    return P.reshape(await this.byRows(o, (c) => this.trunc(c)), [h, m, cache.headDim]);
  }

  /**
   * Appends k, v and attends q over the cache, softmax(scores)·V without the probabilities, when
   * the recipes offer it and the scores fit one row chunk (decoding): the appends and the scores'
   * product share one round (cache.ts `appendWith`), then (e·V)/Σe with one division per output
   * (RingNonlinear.attention). Under grouped-query attention the query heads of one key/value head
   * are its rows (byKvHead). Null, with nothing appended, otherwise.
   */
  async attendAppending(q: T, k: T, v: T, cache: RingKVCache<T, F>): Promise<T | null> {
    const nl = this.nl,
      P = this.P;
    const [heads, n] = q.shape as [number, number];
    const t = cache.length + n;
    if (!nl.attention || cache instanceof RingCacheView || heads * n * t > CHUNK_ELEMENTS) return null;
    const qg = this.byKvHead(q, cache);
    const [raw] = await cache.appendWith(k, v, [() => P.fixedMatmul(qg, cache.k!, 'nt', t)]);
    const scores = await this.byRows(raw!, (c) => this.trunc(c));
    // row r of a group is query position r mod n (a group's rows are its query heads' n rows each)
    const valid = Array.from({ length: heads * n }, (_, r) => Math.min(t, t - n + (r % n) + 1));
    const apply = (e: T): Promise<T> => P.fixedMatmul(e, cache.v!, 'nn', t);
    const o = await P.scope('softmax', () =>
      nl.attention!(P, scores, valid, apply, [cache.heads, (heads / cache.heads) * n, cache.headDim]),
    );
    return heads === cache.heads ? o : P.reshape(o, [heads, n, cache.headDim]);
  }

  lmHead(x: T, head: RingLinear<T, F>): Promise<T> {
    return this.linear(x, head);
  }

  async argmax(logits: T): Promise<Tok> {
    const idx = await this.P.scope('argmax', () => this.nl.argmax(this.P, logits));
    return this.io.emitTokens(this.P, idx, logits);
  }
}

/** Positions [a, b) of [H, n, w] (the middle axis; the whole tensor when that is all of it). */
function midRows<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T, a: number, b: number): T {
  const [h, n, w] = x.shape as [number, number, number];
  if (a === 0 && b === n) return x;
  return P.reshape(P.sliceLast(P.reshape(x, [h, n * w]), a * w, b * w), [h, b - a, w]);
}

/** [H, m_i, w] pieces joined along the middle axis. */
function concatMid<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, xs: readonly T[]): T {
  if (xs.length === 1) return xs[0]!;
  const [h, , w] = xs[0]!.shape as [number, number, number];
  const m = xs.reduce((s, x) => s + x.shape[1]!, 0);
  return P.reshape(P.concatLast(xs.map((x) => P.reshape(x, [h, x.shape[1]! * w]))), [h, m, w]);
}

/** [H, m, tb] widened to [H, m, t] with zeros (the keys a causal mask hides). */
function padKeys<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T, t: number): T {
  const [h, m, tb] = x.shape as [number, number, number];
  return tb < t ? P.concatLast([x, P.constant([h, m, t - tb], 0, x.fracBits)]) : x;
}
