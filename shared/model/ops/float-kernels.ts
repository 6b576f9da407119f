/**
 * Float64 kernels for the plaintext reference backend: plain loops over row-major arrays.
 *
 * Accuracy over speed, but not wastefully slow: products are written as dot products of
 * contiguous rows (weights are stored transposed, [out, in]) with four outputs per pass so that
 * each activation load is reused; this runs the tiny model's 2K-token prefill in seconds.
 */

/**
 * out[i, j] = bias[j] + Σ_k x[i, k] · wt[j, k] for x [n, inDim], wt [outDim, inDim].
 * Returns a new [n, outDim] array.
 */
export function matmulNT(x: Float64Array, wt: Float64Array, bias: Float64Array | null, n: number, inDim: number, outDim: number): Float64Array {
  const out = new Float64Array(n * outDim);
  const j4 = outDim - (outDim % 4);
  for (let i = 0; i < n; i++) {
    const xi = i * inDim;
    const oi = i * outDim;
    for (let j = 0; j < j4; j += 4) {
      const w0 = j * inDim, w1 = w0 + inDim, w2 = w1 + inDim, w3 = w2 + inDim;
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
      for (let k = 0; k < inDim; k++) {
        const xv = x[xi + k] as number;
        s0 += xv * (wt[w0 + k] as number);
        s1 += xv * (wt[w1 + k] as number);
        s2 += xv * (wt[w2 + k] as number);
        s3 += xv * (wt[w3 + k] as number);
      }
      out[oi + j] = s0; out[oi + j + 1] = s1; out[oi + j + 2] = s2; out[oi + j + 3] = s3;
    }
    for (let j = j4; j < outDim; j++) {
      let s = 0;
      const w = j * inDim;
      for (let k = 0; k < inDim; k++) s += (x[xi + k] as number) * (wt[w + k] as number);
      out[oi + j] = s;
    }
    if (bias !== null) for (let j = 0; j < outDim; j++) out[oi + j] = (out[oi + j] as number) + (bias[j] as number);
  }
  return out;
}

/** [rows, cols] → [cols, rows]. */
export function transpose(a: Float64Array, rows: number, cols: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = a[r * cols + c] as number;
  return out;
}

/** PyTorch LayerNorm over rows of width d: (x − mean) / sqrt(var + eps) · g + b, biased variance. */
export function layerNormRows(x: Float64Array, g: Float64Array, b: Float64Array, d: number, eps: number): Float64Array {
  const out = new Float64Array(x.length);
  for (let r = 0; r < x.length; r += d) {
    let mean = 0;
    for (let k = 0; k < d; k++) mean += x[r + k] as number;
    mean /= d;
    // Two passes: the one-pass E[x²] − mean² form cancels badly when |mean| ≫ std.
    let variance = 0;
    for (let k = 0; k < d; k++) {
      const c = (x[r + k] as number) - mean;
      variance += c * c;
    }
    const inv = 1 / Math.sqrt(variance / d + eps);
    for (let k = 0; k < d; k++) out[r + k] = ((x[r + k] as number) - mean) * inv * (g[k] as number) + (b[k] as number);
  }
  return out;
}

const GELU_C = Math.sqrt(2 / Math.PI);

/** HF `gelu_new`: 0.5 · x · (1 + tanh(sqrt(2/π) · (x + 0.044715 · x³))). */
export function geluTanh(x: Float64Array): Float64Array {
  const out = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i] as number;
    out[i] = 0.5 * v * (1 + Math.tanh(GELU_C * (v + 0.044715 * v * v * v)));
  }
  return out;
}

/**
 * Causal softmax over rows of length t: row r = (h, i) sees entries 0 ..= offset + i; the rest
 * are set to exactly 0. The max is subtracted before exp so that large scores cannot overflow.
 */
export function causalSoftmaxRows(s: Float64Array, rowsPerHead: number, t: number, offset: number): Float64Array {
  const out = new Float64Array(s.length);
  for (let r = 0; r * t < s.length; r++) {
    const base = r * t;
    const visible = Math.min(t, offset + (r % rowsPerHead) + 1);
    let max = -Infinity;
    for (let j = 0; j < visible; j++) max = Math.max(max, s[base + j] as number);
    let sum = 0;
    for (let j = 0; j < visible; j++) {
      const e = Math.exp((s[base + j] as number) - max);
      out[base + j] = e;
      sum += e;
    }
    const inv = 1 / sum;
    for (let j = 0; j < visible; j++) out[base + j] = (out[base + j] as number) * inv;
  }
  return out;
}

/** Index of the largest value in each row of width w (first one on ties; NaN never wins). */
export function argmaxRows(x: Float64Array, w: number): number[] {
  const ids: number[] = [];
  for (let r = 0; r < x.length; r += w) {
    let best = 0;
    let bestVal = -Infinity;
    for (let j = 0; j < w; j++) {
      const v = x[r + j] as number;
      if (v > bestVal) { bestVal = v; best = j; }
    }
    ids.push(best);
  }
  return ids;
}
