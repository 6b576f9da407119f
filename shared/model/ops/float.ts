/**
 * The float64 backend: the plaintext reference every other backend is measured against.
 *
 * Tensors are row-major Float64Arrays. Linear weights are stored transposed ([out, in]) so that
 * every product is a dot product of contiguous rows, and the tied output head is `wte` itself.
 * The KV cache stores keys and values per head, [H, capacity, hd], preallocated.
 */
import { MpcError, invariant } from '../../util/index.js';
import type { Gpt2Weights, LinearWeights, NormWeights } from '../weights.js';
import { FloatKVCache, dims, floatTensor, type FloatTensor } from './float-cache.js';
import {
  argmaxRows,
  causalSoftmaxRows,
  gemmNT,
  geluTanh,
  layerNormRows,
  matmulNT,
  transpose,
} from './float-kernels.js';
import type { AttnMask, ModelParams, Ops, PlainTypes } from './types.js';
import { groupHeads, prepareLlama, rmsNorm, rotaryQkv, swiglu } from './float-llama.js';

export { FloatKVCache, floatTensor, type FloatTensor } from './float-cache.js';

/** A linear layer with its weight transposed to [outDim, inDim]. */
export interface FloatLinear {
  readonly inDim: number;
  readonly outDim: number;
  readonly weightT: Float64Array;
  readonly bias: Float64Array | null;
}

export interface FloatNorm extends NormWeights {
  readonly eps: number;
}

export interface FloatEmbedding {
  readonly wte: Float64Array;
  /** Position embeddings, or null (Llama: positions enter through RoPE). */
  readonly wpe: Float64Array | null;
  readonly vocabSize: number;
  readonly positions: number;
  readonly width: number;
}

export interface FloatTypes extends PlainTypes {
  readonly tensor: FloatTensor;
  readonly linear: FloatLinear;
  readonly norm: FloatNorm;
  readonly embedding: FloatEmbedding;
  readonly cache: FloatKVCache;
}

function prepareLinear(w: LinearWeights): FloatLinear {
  return { inDim: w.inDim, outDim: w.outDim, weightT: transpose(w.weight, w.inDim, w.outDim), bias: w.bias };
}

async function prepare(w: Gpt2Weights): Promise<ModelParams<FloatTypes>> {
  const c = w.config;
  const norm = (n: NormWeights): FloatNorm => ({ ...n, eps: c.lnEps });
  return {
    config: c,
    embedding: { wte: w.wte, wpe: w.wpe, vocabSize: c.vocabSize, positions: c.nPositions, width: c.nEmbd },
    blocks: w.blocks.map((b) => ({
      ln1: norm(b.ln1),
      attnQkv: prepareLinear(b.attnQkv),
      attnProj: prepareLinear(b.attnProj),
      ln2: norm(b.ln2),
      mlpFc: prepareLinear(b.mlpFc),
      mlpProj: prepareLinear(b.mlpProj),
    })),
    lnF: norm(w.lnF),
    // lm_head is stored [V, d], which is already the transposed layout of a d → V linear layer.
    head: { inDim: c.nEmbd, outDim: c.vocabSize, weightT: w.lmHead, bias: null },
  };
}

async function embed(tokens: readonly number[], positions: readonly number[], e: FloatEmbedding): Promise<FloatTensor> {
  invariant(
    tokens.length === positions.length,
    'E_SHAPE',
    `embed: ${tokens.length} tokens but ${positions.length} positions`,
  );
  const d = e.width;
  const out = new Float64Array(tokens.length * d);
  tokens.forEach((id, i) => {
    if (!Number.isInteger(id) || id < 0 || id >= e.vocabSize)
      throw new MpcError('E_INPUT', `token id at index ${i} is outside the vocabulary of ${e.vocabSize}`);
    const pos = positions[i] as number;
    if (!Number.isInteger(pos) || pos < 0 || pos >= e.positions)
      throw new MpcError('E_INPUT', `position ${pos} is outside 0..${e.positions - 1}`);
    for (let k = 0; k < d; k++) out[i * d + k] = (e.wte[id * d + k] as number) + (e.wpe?.[pos * d + k] ?? 0);
  });
  return floatTensor([tokens.length, d], out);
}

async function linear(x: FloatTensor, p: FloatLinear): Promise<FloatTensor> {
  const [n, inDim] = dims(x, 2, 'linear');
  invariant(inDim === p.inDim, 'E_SHAPE', () => `linear: input width ${inDim}, layer expects ${p.inDim}`);
  return floatTensor([n as number, p.outDim], matmulNT(x.data, p.weightT, p.bias, n as number, p.inDim, p.outDim));
}

function splitHeads(qkv: FloatTensor, heads: number): { q: FloatTensor; k: FloatTensor; v: FloatTensor } {
  const [n, w] = dims(qkv, 2, 'splitHeads') as [number, number];
  const d = w / 3;
  const hd = d / heads;
  invariant(Number.isInteger(hd), 'E_SHAPE', () => `splitHeads: width ${w} is not 3 × ${heads} heads`);
  const parts = [0, 1, 2].map((part) => {
    const out = new Float64Array(n * d);
    for (let h = 0; h < heads; h++) {
      for (let i = 0; i < n; i++) {
        const src = i * w + part * d + h * hd;
        out.set(qkv.data.subarray(src, src + hd), (h * n + i) * hd);
      }
    }
    return floatTensor([heads, n, hd], out);
  });
  return { q: parts[0] as FloatTensor, k: parts[1] as FloatTensor, v: parts[2] as FloatTensor };
}

function mergeHeads(x: FloatTensor): FloatTensor {
  const [heads, n, hd] = dims(x, 3, 'mergeHeads') as [number, number, number];
  const out = new Float64Array(x.data.length);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < n; i++)
      out.set(x.data.subarray((h * n + i) * hd, (h * n + i + 1) * hd), i * heads * hd + h * hd);
  }
  return floatTensor([n, heads * hd], out);
}

function visibleKeys(mask: AttnMask, t: number): (row: number) => number {
  invariant(
    mask.kind === 'causal' && Number.isInteger(mask.offset) && mask.offset >= 0,
    'E_INPUT',
    () => `unsupported attention mask ${JSON.stringify(mask)}`,
  );
  return (i) => Math.min(t, mask.offset + i + 1);
}

async function attnScores(q: FloatTensor, cache: FloatKVCache, mask: AttnMask): Promise<FloatTensor> {
  const [heads, n, hd] = dims(q, 3, 'attnScores') as [number, number, number];
  invariant(
    heads % cache.heads === 0 && hd === cache.headDim,
    'E_SHAPE',
    () => `attnScores: q [${q.shape.join(', ')}] vs cache ${cache.heads} × ${cache.headDim}`,
  );
  const per = heads / cache.heads; // query heads per key/value head
  const t = cache.length;
  const out = new Float64Array(heads * n * t);
  const cols = visibleKeys(mask, t);
  for (let h = 0; h < heads; h++) {
    gemmNT({
      x: q.data,
      xOff: h * n * hd,
      xStride: hd,
      w: cache.keys,
      wOff: Math.floor(h / per) * cache.capacity * hd,
      wStride: hd,
      out,
      outOff: h * n * t,
      outStride: t,
      rows: n,
      cols,
      inner: () => hd,
    });
  }
  const scale = 1 / Math.sqrt(hd);
  for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) * scale;
  return floatTensor([heads, n, t], out);
}

async function softmax(scores: FloatTensor, mask: AttnMask): Promise<FloatTensor> {
  const [, n, t] = dims(scores, 3, 'softmax') as [number, number, number];
  return floatTensor(scores.shape, causalSoftmaxRows(scores.data, n, t, visibleKeys(mask, t)));
}

async function attnMix(p: FloatTensor, cache: FloatKVCache): Promise<FloatTensor> {
  const [heads, n, t] = dims(p, 3, 'attnMix') as [number, number, number];
  invariant(
    heads % cache.heads === 0 && t === cache.length,
    'E_SHAPE',
    () => `attnMix: p [${p.shape.join(', ')}] vs cache of ${cache.heads} heads, ${cache.length} entries`,
  );
  const hd = cache.headDim,
    per = heads / cache.heads;
  const out = new Float64Array(heads * n * hd);
  // Each row of p only up to its last nonzero entry: masked keys have probability exactly 0.
  const inner = (row: number) => {
    let j = t;
    while (j > 0 && p.data[row * t + j - 1] === 0) j--;
    return j;
  };
  for (let h = 0; h < heads; h++) {
    gemmNT({
      x: p.data,
      xOff: h * n * t,
      xStride: t,
      w: cache.valuesT,
      wOff: Math.floor(h / per) * hd * cache.capacity,
      wStride: cache.capacity,
      out,
      outOff: h * n * hd,
      outStride: hd,
      rows: n,
      cols: () => hd,
      inner: (i) => inner(h * n + i),
    });
  }
  return floatTensor([heads, n, hd], out);
}

/** The float64 reference backend. */
export const floatOps: Ops<FloatTypes> = {
  name: 'float64',
  prepare,
  prepareLlama,
  createCache: (heads, headDim, capacity) => new FloatKVCache(heads, headDim, capacity),
  embed,
  layerNorm: async (x, p) =>
    floatTensor(x.shape, layerNormRows(x.data, p.weight, p.bias, x.shape[x.shape.length - 1] as number, p.eps)),
  linear,
  rmsNorm,
  rotaryQkv,
  swiglu,
  groupHeads,
  gelu: async (x) => floatTensor(x.shape, geluTanh(x.data)),
  add: (a, b) => {
    invariant(
      a.shape.join() === b.shape.join(),
      'E_SHAPE',
      () => `add: [${a.shape.join(', ')}] vs [${b.shape.join(', ')}]`,
    );
    return floatTensor(
      a.shape,
      a.data.map((v, i) => v + (b.data[i] as number)),
    );
  },
  splitHeads,
  mergeHeads,
  rows: (x, start, end) => {
    const w = x.shape.slice(1).reduce((a, d) => a * d, 1);
    invariant(
      start >= 0 && start <= end && end <= (x.shape[0] as number),
      'E_SHAPE',
      () => `rows ${start}..${end} of [${x.shape.join(', ')}]`,
    );
    return floatTensor([end - start, ...x.shape.slice(1)], x.data.slice(start * w, end * w));
  },
  attnScores,
  softmax,
  attnMix,
  lmHead: linear,
  argmax: async (logits) => argmaxRows(logits.data, logits.shape[logits.shape.length - 1] as number),
  revealLogits: async (logits) => logits.data.slice(),
};
