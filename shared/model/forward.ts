/**
 * The GPT-2 forward pass over any `Ops` backend, with a KV cache per layer.
 *
 * One call processes n new tokens at the next positions: the whole prompt at prefill, then one
 * token per decoding step; keys and values of earlier tokens come from the caches in `state`,
 * so prefill followed by single steps computes exactly what a full recomputation would.
 *
 * Two architectures share it (`params.config.arch`): GPT-2 (learned positions, LayerNorm, GeLU)
 * and Llama (RoPE on q and k before k enters the cache, RMSNorm, SwiGLU, grouped-query attention:
 * the caches hold G key/value heads, each serving H/G query heads).
 *
 * Attention goes through an `AttentionPolicy`: the default (`FULL_ATTENTION`) appends the new
 * keys and values and attends causally to everything cached. Eviction policies (kvcache/) plug
 * in here, choosing what to store and what each query sees, without touching the model code.
 */
import { MpcError, invariant } from '../util/index.js';
import { kvHeadsOf, type ModelConfig } from './llama-config.js';
import type {
  AnyModelParams,
  BackendTypes,
  BlockParams,
  LlamaBlockParams,
  LlamaParams,
  ModelParams,
  Ops,
} from './ops/types.js';

/** What one layer's attention receives; q is [H, n, hd], k and v [G, n, hd] (G = H but for GQA) for the n new tokens. */
export interface AttentionStep<B extends BackendTypes> {
  readonly ops: Ops<B>;
  readonly layer: number;
  readonly q: B['tensor'];
  readonly k: B['tensor'];
  readonly v: B['tensor'];
  readonly cache: B['cache'];
  /** Absolute positions of the n new tokens (public). */
  readonly positions: readonly number[];
}

/** Decides, per layer and call, which keys and values are stored and attended to. */
export interface AttentionPolicy {
  readonly name: string;
  /** Returns the attention output [H, n, hd] for the step's queries. */
  attend<B extends BackendTypes>(step: AttentionStep<B>): Promise<B['tensor']>;
}

/** Full cache: keep every token, causal attention over all of them. */
export const FULL_ATTENTION: AttentionPolicy = {
  name: 'full',
  async attend({ ops, q, k, v, cache }) {
    const fused = await ops.attendAppending?.(q, k, v, cache);
    if (fused) return fused;
    await cache.append(k, v);
    const n = q.shape[1] as number;
    const mask = { kind: 'causal', offset: cache.length - n } as const;
    const chunked = await ops.attendCausal?.(q, cache, mask, false);
    if (chunked) return chunked.out;
    const p = await ops.softmax(await ops.attnScores(q, cache, mask), mask);
    return ops.attnMix(p, cache, mask);
  },
};

/**
 * The per-sequence state: one cache per layer and the number of tokens processed so far.
 * After `forward` throws, the caches may hold part of the failed call: reset before reuse.
 */
export interface ForwardState<B extends BackendTypes> {
  readonly caches: readonly B['cache'][];
  /** Position of the next token (tokens processed so far; unaffected by eviction). */
  position: number;
}

/**
 * Allocates the caches for one sequence of at most `capacity` tokens.
 * @throws MpcError E_INPUT if `capacity` is not in 1..n_positions.
 */
export function createState<B extends BackendTypes>(
  ops: Ops<B>,
  config: ModelConfig,
  capacity: number,
): ForwardState<B> {
  if (!Number.isInteger(capacity) || capacity < 1 || capacity > config.nPositions) {
    throw new MpcError('E_INPUT', `sequence capacity ${capacity} is outside 1..${config.nPositions} (n_positions)`);
  }
  const caches = Array.from({ length: config.nLayer }, () =>
    ops.createCache(kvHeadsOf(config), config.headDim, capacity),
  );
  return { caches, position: 0 };
}

/** Empties a state for the next sequence, keeping its storage. */
export function resetState<B extends BackendTypes>(state: ForwardState<B>): void {
  for (const c of state.caches) c.reset();
  state.position = 0;
}

export interface ForwardOptions<B extends BackendTypes> {
  /** Which positions get logits: the last (default), all, or none (e.g. context before a question). */
  readonly logits?: 'last' | 'all' | 'none';
  readonly policy?: AttentionPolicy;
  /**
   * Called with the residual stream [n, d]: index 0 after the embedding, index i after block i
   * (1..n_layer). Lets tests compare backends layer by layer; the tensor must not be mutated.
   */
  readonly onHidden?: (index: number, hidden: B['tensor']) => void | Promise<void>;
}

/** The backend's metering scope, or a pass-through. */
function scoped<B extends BackendTypes>(ops: Ops<B>): <R>(label: string, fn: () => Promise<R>) => Promise<R> {
  return ops.scope ? ops.scope.bind(ops) : (_label, fn) => fn();
}

async function block<B extends BackendTypes>(
  ops: Ops<B>,
  p: BlockParams<B>,
  x: B['tensor'],
  step: Omit<AttentionStep<B>, 'q' | 'k' | 'v'>,
  policy: AttentionPolicy,
): Promise<B['tensor']> {
  const heads = step.cache.heads;
  const sc = scoped(ops);
  const qkv = await sc('ln1', () => ops.layerNorm(x, p.ln1)).then((n) => sc('qkv', () => ops.linear(n, p.attnQkv)));
  const { q, k, v } = ops.splitHeads(qkv, heads);
  const attn = await sc('attn', () => policy.attend({ ...step, q, k, v }));
  const h = ops.add(x, await sc('proj', () => ops.linear(ops.mergeHeads(attn), p.attnProj)));
  const n2 = await sc('ln2', () => ops.layerNorm(h, p.ln2));
  const m = await sc('mlp', async () => ops.gelu(await ops.linear(n2, p.mlpFc)));
  return ops.add(h, await sc('mlp', () => ops.linear(m, p.mlpProj)));
}

async function llamaBlock<B extends BackendTypes>(
  ops: Ops<B>,
  p: LlamaBlockParams<B>,
  x: B['tensor'],
  step: Omit<AttentionStep<B>, 'q' | 'k' | 'v'>,
  policy: AttentionPolicy,
  params: LlamaParams<B>,
): Promise<B['tensor']> {
  const c = params.config,
    sc = scoped(ops);
  const shape = { heads: c.nHead, kvHeads: c.nKvHead, headDim: c.headDim, theta: c.ropeTheta };
  // the RMSNorms' meter scopes say which sublayer they feed (Meta's attention_norm / ffn_norm), not GPT-2's ln1 / ln2
  const n1 = await sc('attn_norm', () => ops.rmsNorm(x, p.attnNorm));
  const { q, k, v } = await sc('qkv', () => ops.rotaryQkv(n1, p.qkv, shape, step.positions));
  const attn = await sc('attn', () => policy.attend({ ...step, q, k, v }));
  const h = ops.add(x, await sc('proj', () => ops.linear(ops.mergeHeads(attn), p.o)));
  const n2 = await sc('mlp_norm', () => ops.rmsNorm(h, p.mlpNorm));
  const m = await sc('mlp', async () => ops.swiglu(await ops.linear(n2, p.gateUp)));
  return ops.add(h, await sc('mlp', () => ops.linear(m, p.down)));
}

function isLlama<B extends BackendTypes>(p: AnyModelParams<B>): p is LlamaParams<B> {
  return p.config.arch === 'llama';
}

/**
 * Runs `tokens` (n ≥ 1) through the model at positions state.position .. state.position + n − 1,
 * updating the caches, and returns the logits ([1, V] for 'last', [n, V] for 'all') or null.
 * @throws MpcError E_INPUT if there are no tokens or the positions would exceed n_positions;
 *   backends throw E_INPUT for ids outside the vocabulary or a full cache.
 */
export async function forward<B extends BackendTypes>(
  ops: Ops<B>,
  params: AnyModelParams<B>,
  state: ForwardState<B>,
  tokens: B['tokens'],
  opts: ForwardOptions<B> = {},
): Promise<B['tensor'] | null> {
  const n = tokens.length;
  const c = params.config;
  if (n < 1) throw new MpcError('E_INPUT', 'forward needs at least one token');
  if (state.position + n > c.nPositions) {
    throw new MpcError(
      'E_INPUT',
      `positions ${state.position}..${state.position + n - 1} exceed n_positions ${c.nPositions}`,
    );
  }
  invariant(state.caches.length === c.nLayer, 'E_INTERNAL', 'state does not match the model');
  const positions = Array.from({ length: n }, (_, i) => state.position + i);
  const policy = opts.policy ?? FULL_ATTENTION;
  const sc = scoped(ops);
  let x = await sc('embed', () => ops.embed(tokens, positions, params.embedding));
  await opts.onHidden?.(0, x);
  for (let l = 0; l < c.nLayer; l++) {
    const step = { ops, layer: l, cache: state.caches[l] as B['cache'], positions };
    const xin = x;
    x = await sc(`l${l}`, () =>
      isLlama(params)
        ? llamaBlock(ops, params.blocks[l] as LlamaBlockParams<B>, xin, step, policy, params)
        : block(ops, (params as ModelParams<B>).blocks[l] as BlockParams<B>, xin, step, policy),
    );
    await opts.onHidden?.(l + 1, x);
  }
  state.position += n;
  const which = opts.logits ?? 'last';
  if (which === 'none') return null;
  const last = which === 'last' ? ops.rows(x, n - 1, n) : x;
  const norm = (y: B['tensor']) => (isLlama(params) ? ops.rmsNorm(y, params.norm) : ops.layerNorm(y, params.lnF));
  return sc('head', async () => ops.lmHead(await norm(last), params.head));
}
