/**
 * A hand-built GPT-2 that solves one-needle retrieval exactly (research notes §6.6 item 4), so the
 * token a policy must keep is known: the context holds one key token K_v among fillers; the query
 * token Q makes the retrieval heads attend (almost one-hot) to K_v and write the value token V_v,
 * which the tied output head then predicts.
 *
 * Residual coding: every feature is a ± pair (dimension t holds +x, dimension V + t holds −x), so
 * every residual vector has mean 0 and LayerNorm only rescales. Layer 0 is a pass-through (no
 * attention output); layers 1.. each have a retrieval head (head 0: q from Q, k from any K_v,
 * value = the one-hot of v) and an idle head (head 1: q = k = v = 0, uniform attention, no output).
 * MLPs and position embeddings are zero. Filler queries attend uniformly, so without Q in the
 * prompt every prompt key receives the same attention mass from the window (exact ties).
 */
import {
  encodeSafetensors,
  gpt2WeightsFromSafetensors,
  parseGpt2Config,
  parseSafetensors,
  type Gpt2Weights,
  type TensorToWrite,
} from '../../shared/model/index.js';
import { hfConfig } from '../model/tiny-model.js';

export const FILLERS = 8;
export const KEYS = 8;
export const key = (v: number) => FILLERS + v;
export const value = (v: number) => FILLERS + KEYS + v;
export const QUERY = FILLERS + 2 * KEYS;
export const EOT = QUERY + 1;
export const VOCAB = EOT + 1;
const D = 2 * VOCAB;
const HD = D / 2;

/** Retrieval query/key scale per layer: large enough for a near one-hot softmax at every layer. */
const Q_SCALE = [0, 2, 6, 9];
const K_SCALE = 2;
/** Residual weight of the copied value (two layers make it beat the current token). */
const COPY = 0.5;

export function retrievalWeights(layers = 3, positions = 512): Gpt2Weights {
  const t: Record<string, TensorToWrite> = {};
  const zeros = (name: string, shape: number[]) => {
    t[name] = { dtype: 'F64', shape, data: new Float64Array(shape.reduce((a, b) => a * b, 1)) };
    return t[name]!.data as Float64Array;
  };
  const ones = (name: string, n: number) => {
    zeros(name, [n]).fill(1);
  };
  const wte = zeros('wte.weight', [VOCAB, D]);
  for (let id = 0; id < VOCAB; id++) {
    wte[id * D + id] = 1;
    wte[id * D + VOCAB + id] = -1;
  }
  zeros('wpe.weight', [positions, D]);
  for (let l = 0; l < layers; l++) {
    const p = `h.${l}.`;
    ones(p + 'ln_1.weight', D);
    zeros(p + 'ln_1.bias', [D]);
    ones(p + 'ln_2.weight', D);
    zeros(p + 'ln_2.bias', [D]);
    const qkv = zeros(p + 'attn.c_attn.weight', [D, 3 * D]); // Conv1D layout [in, out]
    zeros(p + 'attn.c_attn.bias', [3 * D]);
    const proj = zeros(p + 'attn.c_proj.weight', [D, D]);
    zeros(p + 'attn.c_proj.bias', [D]);
    zeros(p + 'mlp.c_fc.weight', [D, 4 * D]);
    zeros(p + 'mlp.c_fc.bias', [4 * D]);
    zeros(p + 'mlp.c_proj.weight', [4 * D, D]);
    zeros(p + 'mlp.c_proj.bias', [D]);
    if (l === 0) continue;
    qkv[QUERY * 3 * D + 0] = Q_SCALE[Math.min(l, Q_SCALE.length - 1)] as number; // q, head 0, dim 0
    for (let v = 0; v < KEYS; v++) {
      qkv[key(v) * 3 * D + D + 0] = K_SCALE; // k, head 0, dim 0
      qkv[key(v) * 3 * D + 2 * D + v] = 1; // v, head 0, dim v
      proj[v * D + value(v)] = COPY;
      proj[v * D + VOCAB + value(v)] = -COPY;
    }
  }
  ones('ln_f.weight', D);
  zeros('ln_f.bias', [D]);
  const config = parseGpt2Config(
    hfConfig({ nLayer: layers, nHead: 2, nEmbd: D, nPositions: positions, vocab: VOCAB }, { eot_token_id: EOT }),
  );
  return gpt2WeightsFromSafetensors(config, parseSafetensors(encodeSafetensors(t)));
}

export const HEAD_DIM = HD;

/** BOS, `length − 1` filler tokens cycling through the fillers, with K_v at `at`; optionally Q last. */
export function needlePrompt(length: number, at: number, v: number, withQuery: boolean): number[] {
  const body = length - 1 - (withQuery ? 1 : 0);
  const toks = [EOT, ...Array.from({ length: body }, (_, i) => i % FILLERS)];
  toks[at] = key(v);
  if (withQuery) toks.push(QUERY);
  return toks;
}
