/**
 * Random tiny GPT-2 models for tests: HF-style config, HF tensor names, written to safetensors,
 * plus a naive forward pass written independently of shared/model (plain nested arrays, Conv1D
 * weights used in their stored [in, out] layout, attention recomputed from scratch).
 */
import type { TestRng } from '../util/rng.js';
import { encodeSafetensors, type FloatDtype, type TensorToWrite } from '../../shared/model/index.js';

export interface TinySpec {
  nLayer: number;
  nHead: number;
  nEmbd: number;
  nPositions: number;
  vocab: number;
}

export const TINY: TinySpec = { nLayer: 2, nHead: 2, nEmbd: 8, nPositions: 24, vocab: 13 };

export function hfConfig(s: TinySpec, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    model_type: 'gpt2',
    n_layer: s.nLayer,
    n_head: s.nHead,
    n_embd: s.nEmbd,
    n_positions: s.nPositions,
    vocab_size: s.vocab,
    layer_norm_epsilon: 1e-5,
    activation_function: 'gelu_new',
    tokenizer: 'byte',
    eot_token_id: s.vocab - 1,
    ...extra,
  };
}

/** Random weights by HF name (no prefix), shapes as GPT-2 stores them. */
export function randomTensors(s: TinySpec, rng: TestRng, dtype: FloatDtype = 'F64'): Record<string, TensorToWrite> {
  const d = s.nEmbd;
  const t: Record<string, TensorToWrite> = {};
  const put = (name: string, shape: number[], scale: number, mean = 0) => {
    const n = shape.reduce((a, b) => a * b, 1);
    t[name] = { dtype, shape, data: Float64Array.from({ length: n }, () => mean + scale * rng.normal()) };
  };
  put('wte.weight', [s.vocab, d], 0.5);
  put('wpe.weight', [s.nPositions, d], 0.3);
  for (let i = 0; i < s.nLayer; i++) {
    put(`h.${i}.ln_1.weight`, [d], 0.1, 1);
    put(`h.${i}.ln_1.bias`, [d], 0.1);
    put(`h.${i}.attn.c_attn.weight`, [d, 3 * d], 0.6);
    put(`h.${i}.attn.c_attn.bias`, [3 * d], 0.1);
    put(`h.${i}.attn.c_proj.weight`, [d, d], 0.3);
    put(`h.${i}.attn.c_proj.bias`, [d], 0.1);
    put(`h.${i}.ln_2.weight`, [d], 0.1, 1);
    put(`h.${i}.ln_2.bias`, [d], 0.1);
    put(`h.${i}.mlp.c_fc.weight`, [d, 4 * d], 0.4);
    put(`h.${i}.mlp.c_fc.bias`, [4 * d], 0.1);
    put(`h.${i}.mlp.c_proj.weight`, [4 * d, d], 0.2);
    put(`h.${i}.mlp.c_proj.bias`, [d], 0.1);
  }
  put('ln_f.weight', [d], 0.1, 1);
  put('ln_f.bias', [d], 0.1);
  return t;
}

export function withPrefix(t: Record<string, TensorToWrite>, prefix: string): Record<string, TensorToWrite> {
  return Object.fromEntries(Object.entries(t).map(([k, v]) => [prefix + k, v]));
}

export function toFile(t: Record<string, TensorToWrite>): Uint8Array {
  return encodeSafetensors(t);
}

// ---- naive reference ------------------------------------------------------------------------

type Mat = number[][];

function w(t: Record<string, TensorToWrite>, name: string): ArrayLike<number> {
  const x = t[name];
  if (!x) throw new Error(`no tensor ${name}`);
  return x.data;
}

function rowsOf(data: ArrayLike<number>, cols: number): Mat {
  const out: Mat = [];
  for (let r = 0; r * cols < data.length; r++)
    out.push(Array.from({ length: cols }, (_, c) => data[r * cols + c] as number));
  return out;
}

function conv1d(x: Mat, weight: ArrayLike<number>, bias: ArrayLike<number>, inDim: number, outDim: number): Mat {
  return x.map((row) =>
    Array.from({ length: outDim }, (_, j) => {
      let s = bias[j] as number;
      for (let k = 0; k < inDim; k++) s += (row[k] as number) * (weight[k * outDim + j] as number);
      return s;
    }),
  );
}

function ln(x: Mat, g: ArrayLike<number>, b: ArrayLike<number>): Mat {
  return x.map((row) => {
    const mean = row.reduce((a, v) => a + v, 0) / row.length;
    const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / row.length;
    return row.map((v, k) => ((v - mean) / Math.sqrt(variance + 1e-5)) * (g[k] as number) + (b[k] as number));
  });
}

const gelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));

function attention(qkv: Mat, heads: number, d: number): Mat {
  const hd = d / heads;
  return qkv.map((_, i) => {
    const out: number[] = [];
    for (let h = 0; h < heads; h++) {
      const q = (qkv[i] as number[]).slice(h * hd, (h + 1) * hd);
      const scores = qkv
        .slice(0, i + 1)
        .map(
          (r) =>
            r.slice(d + h * hd, d + (h + 1) * hd).reduce((a, kv, c) => a + kv * (q[c] as number), 0) / Math.sqrt(hd),
        );
      const m = Math.max(...scores);
      const e = scores.map((s) => Math.exp(s - m));
      const z = e.reduce((a, v) => a + v, 0);
      for (let c = 0; c < hd; c++)
        out.push(e.reduce((a, p, j) => a + (p / z) * ((qkv[j] as number[])[2 * d + h * hd + c] as number), 0));
    }
    return out;
  });
}

/** Logits [n][V] of a whole sequence, computed from scratch. */
export function naiveLogits(s: TinySpec, t: Record<string, TensorToWrite>, tokens: number[]): Mat {
  const d = s.nEmbd;
  const wte = rowsOf(w(t, 'wte.weight'), d);
  const wpe = rowsOf(w(t, 'wpe.weight'), d);
  let x: Mat = tokens.map((id, i) => (wte[id] as number[]).map((v, k) => v + ((wpe[i] as number[])[k] as number)));
  const add = (a: Mat, b: Mat) => a.map((r, i) => r.map((v, k) => v + ((b[i] as number[])[k] as number)));
  for (let l = 0; l < s.nLayer; l++) {
    const p = `h.${l}.`;
    const qkv = conv1d(
      ln(x, w(t, p + 'ln_1.weight'), w(t, p + 'ln_1.bias')),
      w(t, p + 'attn.c_attn.weight'),
      w(t, p + 'attn.c_attn.bias'),
      d,
      3 * d,
    );
    x = add(x, conv1d(attention(qkv, s.nHead, d), w(t, p + 'attn.c_proj.weight'), w(t, p + 'attn.c_proj.bias'), d, d));
    const fc = conv1d(
      ln(x, w(t, p + 'ln_2.weight'), w(t, p + 'ln_2.bias')),
      w(t, p + 'mlp.c_fc.weight'),
      w(t, p + 'mlp.c_fc.bias'),
      d,
      4 * d,
    );
    x = add(
      x,
      conv1d(
        fc.map((r) => r.map(gelu)),
        w(t, p + 'mlp.c_proj.weight'),
        w(t, p + 'mlp.c_proj.bias'),
        4 * d,
        d,
      ),
    );
  }
  const f = ln(x, w(t, 'ln_f.weight'), w(t, 'ln_f.bias'));
  const head = t['lm_head.weight'] ? rowsOf(w(t, 'lm_head.weight'), d) : wte;
  return f.map((row) => head.map((hr) => hr.reduce((a, v, k) => a + v * (row[k] as number), 0)));
}

/** Logits at the last position only, recomputing the whole prefix (the "full recomputation" oracle). */
export function naiveLastLogits(s: TinySpec, t: Record<string, TensorToWrite>, tokens: number[]): number[] {
  return naiveLogits(s, t, tokens)[tokens.length - 1] as number[];
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Infinity;
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}
