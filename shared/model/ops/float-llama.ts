/**
 * The Llama parts of the float64 reference backend: RMSNorm, rotary positions, SwiGLU, head
 * groups, and turning `LlamaWeights` into the backend's parameters. Written from the formulas of
 * HF's `modeling_llama` (rotate-half RoPE, RMSNorm with eps inside the root), all in float64.
 */
import { invariant } from '../../util/index.js';
import type { LlamaWeights } from '../llama-weights.js';
import type { LinearWeights } from '../weights.js';
import { dims, floatTensor, type FloatTensor } from './float-cache.js';
import { matmulNT, transpose } from './float-kernels.js';
import type { LlamaParams, RotaryShape } from './types.js';
import type { FloatLinear, FloatNorm, FloatTypes } from './float.js';

function prepareLinear(w: LinearWeights): FloatLinear {
  return { inDim: w.inDim, outDim: w.outDim, weightT: transpose(w.weight, w.inDim, w.outDim), bias: w.bias };
}

export async function prepareLlama(w: LlamaWeights): Promise<LlamaParams<FloatTypes>> {
  const c = w.config;
  const zero = new Float64Array(c.nEmbd);
  const norm = (g: Float64Array): FloatNorm => ({ weight: g, bias: zero, eps: c.rmsEps });
  return {
    config: c,
    embedding: { wte: w.wte, wpe: null, vocabSize: c.vocabSize, positions: c.nPositions, width: c.nEmbd },
    blocks: w.blocks.map((b) => ({
      attnNorm: norm(b.attnNorm),
      qkv: prepareLinear(b.qkv),
      o: prepareLinear(b.o),
      mlpNorm: norm(b.mlpNorm),
      gateUp: prepareLinear(b.gateUp),
      down: prepareLinear(b.down),
    })),
    norm: norm(w.norm),
    head: { inDim: c.nEmbd, outDim: c.vocabSize, weightT: w.lmHead, bias: null },
  };
}

export async function rmsNorm(x: FloatTensor, p: FloatNorm): Promise<FloatTensor> {
  const d = x.shape[x.shape.length - 1] as number,
    out = new Float64Array(x.data.length);
  for (let r = 0; r < x.data.length; r += d) {
    let ss = 0;
    for (let k = 0; k < d; k++) ss += (x.data[r + k] as number) ** 2;
    const inv = 1 / Math.sqrt(ss / d + p.eps);
    for (let k = 0; k < d; k++) out[r + k] = (x.data[r + k] as number) * inv * (p.weight[k] as number);
  }
  return floatTensor(x.shape, out);
}

/**
 * cos and sin of every (position, pair) angle, [n, hd/2] each: pair j turns by pos · θ^(−2j/hd).
 * Shared with the ring backends, which encode the same tables.
 */
export function rotaryTables(
  positions: readonly number[],
  headDim: number,
  theta: number,
): { cos: Float64Array; sin: Float64Array } {
  const half = headDim / 2,
    cos = new Float64Array(positions.length * half),
    sin = new Float64Array(positions.length * half);
  positions.forEach((pos, i) => {
    for (let j = 0; j < half; j++) {
      const a = pos * theta ** ((-2 * j) / headDim);
      cos[i * half + j] = Math.cos(a);
      sin[i * half + j] = Math.sin(a);
    }
  });
  return { cos, sin };
}

/** Rotates heads [heads, n, hd] in place: (a, b) = (x_c, x_{c+hd/2}) → (a·cos − b·sin, b·cos + a·sin). */
function rotate(x: Float64Array, heads: number, n: number, hd: number, t: { cos: Float64Array; sin: Float64Array }) {
  const half = hd / 2;
  for (let h = 0; h < heads; h++)
    for (let i = 0; i < n; i++) {
      const at = (h * n + i) * hd;
      for (let j = 0; j < half; j++) {
        const a = x[at + j] as number,
          b = x[at + j + half] as number,
          c = t.cos[i * half + j] as number,
          s = t.sin[i * half + j] as number;
        x[at + j] = a * c - b * s;
        x[at + j + half] = b * c + a * s;
      }
    }
}

/** Columns [from, from + heads·hd) of [n, w] as [heads, n, hd]. */
function heads(y: Float64Array, n: number, w: number, from: number, count: number, hd: number): Float64Array {
  const out = new Float64Array(count * n * hd);
  for (let h = 0; h < count; h++)
    for (let i = 0; i < n; i++)
      out.set(y.subarray(i * w + from + h * hd, i * w + from + (h + 1) * hd), (h * n + i) * hd);
  return out;
}

export async function rotaryQkv(
  x: FloatTensor,
  p: FloatLinear,
  s: RotaryShape,
  positions: readonly number[],
): Promise<{ q: FloatTensor; k: FloatTensor; v: FloatTensor }> {
  const [n] = dims(x, 2, 'rotaryQkv') as [number];
  const hd = s.headDim,
    w = (s.heads + 2 * s.kvHeads) * hd;
  invariant(p.outDim === w && positions.length === n, 'E_SHAPE', 'rotaryQkv: projection or positions do not match');
  const y = matmulNT(x.data, p.weightT, p.bias, n, p.inDim, w);
  const q = heads(y, n, w, 0, s.heads, hd),
    k = heads(y, n, w, s.heads * hd, s.kvHeads, hd),
    v = heads(y, n, w, (s.heads + s.kvHeads) * hd, s.kvHeads, hd);
  const t = rotaryTables(positions, hd, s.theta);
  rotate(q, s.heads, n, hd, t);
  rotate(k, s.kvHeads, n, hd, t);
  return {
    q: floatTensor([s.heads, n, hd], q),
    k: floatTensor([s.kvHeads, n, hd], k),
    v: floatTensor([s.kvHeads, n, hd], v),
  };
}

export async function swiglu(x: FloatTensor): Promise<FloatTensor> {
  const [n, w2] = dims(x, 2, 'swiglu') as [number, number];
  const w = w2 / 2,
    out = new Float64Array(n * w);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < w; j++) {
      const g = x.data[i * w2 + j] as number;
      out[i * w + j] = (g / (1 + Math.exp(-g))) * (x.data[i * w2 + w + j] as number);
    }
  return floatTensor([n, w], out);
}

export function groupHeads(x: FloatTensor, groups: number): FloatTensor {
  const [h, n, w] = dims(x, 3, 'groupHeads') as [number, number, number];
  if (groups === h) return x;
  invariant(h % groups === 0, 'E_SHAPE', () => `groupHeads: ${h} heads into ${groups} groups`);
  const r = h / groups,
    out = new Float64Array(groups * n * w);
  for (let hh = 0; hh < h; hh++) {
    const g = Math.floor(hh / r);
    for (let e = 0; e < n * w; e++)
      out[g * n * w + e] = (out[g * n * w + e] as number) + (x.data[hh * n * w + e] as number);
  }
  return floatTensor([groups, n, w], out);
}
