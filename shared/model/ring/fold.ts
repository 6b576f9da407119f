/**
 * The model as the ring backends hold it: LayerNorm gains and biases folded into the linear layer
 * that follows, the attention scale 1/√hd folded into the query projection, weights transposed to
 * [out, in] (products run as dot products), everything encoded in Z_2^64 fixed point.
 *
 * Folding is exact algebra (LN(x)·W + b = norm(x)·(diag γ·W) + (β·W + b)), done once in float64
 * by the model owner before sharing, so the secure pipeline never multiplies by γ at run time.
 * Weights are encoded with f fractional bits; biases with 2f, because they are added to products
 * (scale 2f) before the one truncation that ends each linear layer. The fixed-point emulation and
 * the share files are both made from this one function, so they hold identical ring values.
 */
import { encodeArray, FRAC_BITS } from '../../ring/fixed-point.js';
import type { Gpt2Config } from '../config.js';
import type { Gpt2Weights, LinearWeights, NormWeights } from '../weights.js';

export interface RingTensorSpec {
  readonly shape: readonly number[];
  readonly fracBits: number;
}

export interface EncodedTensor extends RingTensorSpec {
  readonly data: BigUint64Array;
}

/** Names and shapes of the ring model's tensors for a config, in a fixed order. */
export function ringModelSpec(c: Gpt2Config, f = FRAC_BITS): Array<[string, RingTensorSpec]> {
  const d = c.nEmbd,
    inner = c.nInner;
  const out: Array<[string, RingTensorSpec]> = [
    ['wte', { shape: [c.vocabSize, d], fracBits: f }],
    ['wpe', { shape: [c.nPositions, d], fracBits: f }],
  ];
  for (let l = 0; l < c.nLayer; l++) {
    out.push(
      [`h.${l}.qkv.w`, { shape: [3 * d, d], fracBits: f }],
      [`h.${l}.qkv.b`, { shape: [3 * d], fracBits: 2 * f }],
      [`h.${l}.proj.w`, { shape: [d, d], fracBits: f }],
      [`h.${l}.proj.b`, { shape: [d], fracBits: 2 * f }],
      [`h.${l}.fc.w`, { shape: [inner, d], fracBits: f }],
      [`h.${l}.fc.b`, { shape: [inner], fracBits: 2 * f }],
      [`h.${l}.mproj.w`, { shape: [d, inner], fracBits: f }],
      [`h.${l}.mproj.b`, { shape: [d], fracBits: 2 * f }],
    );
  }
  out.push(['head.w', { shape: [c.vocabSize, d], fracBits: f }], ['head.b', { shape: [c.vocabSize], fracBits: 2 * f }]);
  return out;
}

/** Folds a preceding LayerNorm (γ, β) into a linear layer; returns [out, in] weight and bias. */
export function foldLinear(
  lin: LinearWeights,
  ln: NormWeights | null,
  colScale?: (j: number) => number,
): { w: Float64Array; b: Float64Array } {
  const { inDim, outDim, weight } = lin;
  const w = new Float64Array(outDim * inDim),
    b = new Float64Array(outDim);
  for (let j = 0; j < outDim; j++) {
    const s = colScale ? colScale(j) : 1;
    let bj = lin.bias ? lin.bias[j]! : 0;
    for (let i = 0; i < inDim; i++) {
      const wij = weight[i * outDim + j]!;
      w[j * inDim + i] = (ln ? ln.weight[i]! : 1) * wij * s;
      if (ln) bj += ln.bias[i]! * wij;
    }
    b[j] = bj * s;
  }
  return { w, b };
}

/** Folded float64 tensors, same names and order as `ringModelSpec`. */
export function foldModel(weights: Gpt2Weights): Map<string, Float64Array> {
  const c = weights.config,
    d = c.nEmbd;
  const m = new Map<string, Float64Array>();
  m.set('wte', weights.wte);
  m.set('wpe', weights.wpe);
  const qScale = 1 / Math.sqrt(c.headDim);
  weights.blocks.forEach((blk, l) => {
    const qkv = foldLinear(blk.attnQkv, blk.ln1, (j) => (j < d ? qScale : 1));
    const proj = foldLinear(blk.attnProj, null);
    const fc = foldLinear(blk.mlpFc, blk.ln2);
    const mproj = foldLinear(blk.mlpProj, null);
    m.set(`h.${l}.qkv.w`, qkv.w).set(`h.${l}.qkv.b`, qkv.b).set(`h.${l}.proj.w`, proj.w).set(`h.${l}.proj.b`, proj.b);
    m.set(`h.${l}.fc.w`, fc.w).set(`h.${l}.fc.b`, fc.b).set(`h.${l}.mproj.w`, mproj.w).set(`h.${l}.mproj.b`, mproj.b);
  });
  // output head: logits = LN_f(x) · wteᵀ (tied) → fold γ_f and β_f into a [V, d] matrix and a bias
  const V = c.vocabSize,
    head = new Float64Array(V * d),
    hb = new Float64Array(V);
  const lmW = weights.lmHead;
  for (let v = 0; v < V; v++) {
    let s = 0;
    for (let i = 0; i < d; i++) {
      head[v * d + i] = weights.lnF.weight[i]! * lmW[v * d + i]!;
      s += weights.lnF.bias[i]! * lmW[v * d + i]!;
    }
    hb[v] = s;
  }
  m.set('head.w', head).set('head.b', hb);
  return m;
}

/** Folds and encodes: the exact ring values both the emulation and the share files hold. */
export function encodeRingModel(weights: Gpt2Weights, f = FRAC_BITS): Map<string, EncodedTensor> {
  const folded = foldModel(weights);
  const out = new Map<string, EncodedTensor>();
  for (const [name, spec] of ringModelSpec(weights.config, f)) {
    out.set(name, { ...spec, data: encodeArray(folded.get(name)!, spec.fracBits) });
  }
  return out;
}
