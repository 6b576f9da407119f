/**
 * Llama in the ring backends: the folded, encoded model (`llamaRingSpec`, `encodeLlamaModel`),
 * loading it as fixed-mask matrices, and the layer steps that differ from GPT-2. Programs over
 * Prims, so the emulation, each party and the dealer run the same code.
 *
 * Folding: RMSNorm gains go into the following projection (RMSNorm(x)·γ·W = norm(x)·(diag γ·W)),
 * the attention scale 1/√hd into the query columns (a scalar commutes with the rotation). No
 * biases (configs with biases are refused).
 *
 * RoPE (`rotaryQkv`): the rotation of q and k at public positions is a public linear map, so it
 * is applied to the projection's product y = x·W while still at 2f fractional bits, with cos and
 * sin encoded at f: q and k reach 3f, v is shifted to 3f (× 2^f, exact), and the one exact
 * truncation by 2f every linear layer ends in brings all three to f. No communication beyond the
 * projection's own (its input's opening and the truncation: the same bytes and rounds as a plain
 * linear layer of that width); k enters the fixed-mask cache already rotated. Error: cos and sin
 * carry 2^−17 each, so a rotated value is off by at most |x|·2^−16 plus the truncation's 2^−16.
 * Domain: |q|, |k|, |v| < 2^13 (3f = 48 bits plus the sum of two products below 2^62).
 *
 * SwiGLU (`swiglu`): SiLU(gate) at 2f (the recipe skips its own truncation), one Beaver product
 * with up (3f), one exact truncation by 2f. Per element of the hidden layer: SiLU's cost without
 * its truncation, a product (16 B) and a truncation (8.4 B).
 */
import { invariant } from '../../util/errors.js';
import { encodeArray, FRAC_BITS } from '../../ring/fixed-point.js';
import type { AnyTensor } from '../../ring/tensor.js';
import type { FixedHandle, Prims } from '../../protocol/prims/types.js';
import type { LlamaConfig } from '../llama-config.js';
import type { LlamaWeights } from '../llama-weights.js';
import type { LlamaParams, RotaryShape } from '../ops/types.js';
import { rotaryTables } from '../ops/float-llama.js';
import { foldLinear, type EncodedTensor, type RingTensorSpec } from './fold.js';
import type { RingLinear, RingTypes } from './ops.js';

/** Names and shapes of a Llama ring model's tensors, in a fixed order. */
export function llamaRingSpec(c: LlamaConfig, f = FRAC_BITS): Array<[string, RingTensorSpec]> {
  const d = c.nEmbd,
    hd = c.headDim;
  const out: Array<[string, RingTensorSpec]> = [['wte', { shape: [c.vocabSize, d], fracBits: f }]];
  for (let l = 0; l < c.nLayer; l++)
    out.push(
      [`h.${l}.qkv.w`, { shape: [(c.nHead + 2 * c.nKvHead) * hd, d], fracBits: f }],
      [`h.${l}.o.w`, { shape: [d, c.nHead * hd], fracBits: f }],
      [`h.${l}.gu.w`, { shape: [2 * c.nInner, d], fracBits: f }],
      [`h.${l}.down.w`, { shape: [d, c.nInner], fracBits: f }],
    );
  out.push(['head.w', { shape: [c.vocabSize, d], fracBits: f }]);
  return out;
}

/** Folded float64 tensors, same names and order as `llamaRingSpec`. */
export function foldLlama(w: LlamaWeights): Map<string, Float64Array> {
  const c = w.config,
    qCols = c.nHead * c.headDim,
    qScale = 1 / Math.sqrt(c.headDim);
  const gain = (g: Float64Array) => ({ weight: g, bias: new Float64Array(g.length) });
  const m = new Map<string, Float64Array>([['wte', w.wte]]);
  w.blocks.forEach((b, l) => {
    m.set(`h.${l}.qkv.w`, foldLinear(b.qkv, gain(b.attnNorm), (j) => (j < qCols ? qScale : 1)).w);
    m.set(`h.${l}.o.w`, foldLinear(b.o, null).w);
    m.set(`h.${l}.gu.w`, foldLinear(b.gateUp, gain(b.mlpNorm)).w);
    m.set(`h.${l}.down.w`, foldLinear(b.down, null).w);
  });
  const V = c.vocabSize,
    d = c.nEmbd,
    head = new Float64Array(V * d);
  for (let v = 0; v < V; v++) for (let i = 0; i < d; i++) head[v * d + i] = w.norm[i]! * w.lmHead[v * d + i]!;
  return m.set('head.w', head);
}

/** Folds and encodes: the ring values both the emulation and share files hold. */
export function encodeLlamaModel(w: LlamaWeights, f = FRAC_BITS): Map<string, EncodedTensor> {
  const folded = foldLlama(w);
  return new Map(
    llamaRingSpec(w.config, f).map(([name, spec]) => [
      name,
      { ...spec, data: encodeArray(folded.get(name)!, spec.fracBits) },
    ]),
  );
}

/** Registers a Llama ring model's weights as fixed-mask matrices (each opened once). */
export async function loadRingLlama<
  T extends AnyTensor,
  F extends FixedHandle,
  Tok extends { readonly length: number },
>(P: Prims<T, F>, config: LlamaConfig, get: (name: string) => T): Promise<LlamaParams<RingTypes<T, F, Tok>>> {
  const spec = new Map(llamaRingSpec(config));
  const linear = async (name: string): Promise<RingLinear<T, F>> => {
    const { shape, fracBits } = spec.get(name)!;
    const [rows, cols] = shape as [number, number];
    const w = await P.fixedAlloc(name, 1, rows, cols, fracBits);
    await P.fixedAppend(w, P.reshape(get(name), [1, rows, cols]));
    return { w, b: null, inDim: cols, outDim: rows };
  };
  const norm = { eps: config.rmsEps };
  const embedding = { wte: (await linear('wte')).w, wpe: null };
  const blocks = [];
  for (let l = 0; l < config.nLayer; l++)
    blocks.push({
      attnNorm: norm,
      qkv: await linear(`h.${l}.qkv.w`),
      o: await linear(`h.${l}.o.w`),
      mlpNorm: norm,
      gateUp: await linear(`h.${l}.gu.w`),
      down: await linear(`h.${l}.down.w`),
    });
  return { config, embedding, blocks, norm, head: await linear('head.w') };
}

/** RoPE on y [n, heads·hd] at scale s: → scale s + f (public per-element cos and ±sin, a public pairing). */
function rotate<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  f: number,
  y: T,
  heads: number,
  hd: number,
  t: { cos: Float64Array; sin: Float64Array },
): T {
  const n = y.shape[0]!,
    w = heads * hd,
    half = hd / 2;
  const c = new Float64Array(n * w),
    s = new Float64Array(n * w),
    partner = new Int32Array(n * w);
  for (let i = 0; i < n; i++)
    for (let h = 0; h < heads; h++)
      for (let j = 0; j < hd; j++) {
        const e = i * w + h * hd + j,
          jj = j % half;
        c[e] = t.cos[i * half + jj]!;
        s[e] = j < half ? -t.sin[i * half + jj]! : t.sin[i * half + jj]!;
        partner[e] = j < half ? e + half : e - half;
      }
  return P.add(P.mulPublic(y, c, f), P.mulPublic(P.pick(y, [n, w], partner), s, f));
}

/**
 * x [n, d] at f → q [H, n, hd], k, v [G, n, hd] at f, q and k rotated (see the header).
 * `rows` runs the truncation in row chunks (RingOps.byRows).
 */
export async function ringRotaryQkv<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  f: number,
  rows: (x: T, fn: (c: T) => Promise<T>) => Promise<T>,
  x: T,
  p: RingLinear<T, F>,
  s: RotaryShape,
  positions: readonly number[],
): Promise<{ q: T; k: T; v: T }> {
  const n = x.shape[0]!,
    hd = s.headDim,
    qw = s.heads * hd,
    kw = s.kvHeads * hd;
  invariant(p.outDim === qw + 2 * kw && positions.length === n, 'E_SHAPE', 'rotaryQkv: projection or positions');
  const y = await P.fixedMatmul(x, p.w, 'nt'); // [n, qw + 2kw] at 2f
  const t = rotaryTables(positions, hd, s.theta);
  const parts = [
    rotate(P, f, P.sliceLast(y, 0, qw), s.heads, hd, t),
    rotate(P, f, P.sliceLast(y, qw, qw + kw), s.kvHeads, hd, t),
    P.mulPublic(P.sliceLast(y, qw + kw, qw + 2 * kw), 1, f),
  ];
  const all = await rows(P.concatLast(parts), (c) => P.trunc(c, 2 * f));
  const toHeads = (a: number, heads: number): T =>
    P.transposeLast(P.reshape(P.transposeLast(P.sliceLast(all, a, a + heads * hd)), [heads, hd, n]));
  return { q: toHeads(0, s.heads), k: toHeads(qw, s.kvHeads), v: toHeads(qw + kw, s.kvHeads) };
}

/** [H, n, w] → [G, n, w], each group the sum of its H/G consecutive heads (local). */
export function ringGroupHeads<T extends AnyTensor, F extends FixedHandle>(P: Prims<T, F>, x: T, groups: number): T {
  const [h, n, w] = x.shape as [number, number, number];
  if (groups === h) return x;
  invariant(h % groups === 0, 'E_SHAPE', `groupHeads: ${h} heads into ${groups} groups`);
  const summed = P.sumLast(P.transposeLast(P.reshape(x, [groups, h / groups, n * w])));
  return P.reshape(summed, [groups, n, w]);
}
