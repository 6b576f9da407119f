/**
 * Small matrix helpers over u64 arrays and arena regions (mod 2^64): a plain TS product for
 * per-call operands, a transpose, and products of a small operand with rows of a matrix held in
 * the kernel arena (a fixed-mask matrix's view), which run on the WebAssembly kernels.
 */
import type { Kernels, Region } from './kernels.js';

/** out (batch·m·n) += a (batch·m·k) · b (batch·k·n), mod 2^64. */
export function matmulAddInto(
  out: BigUint64Array,
  a: BigUint64Array,
  b: BigUint64Array,
  p: { batch: number; m: number; k: number; n: number },
): void {
  const { m, k, n } = p;
  for (let t = 0; t < p.batch; t++) {
    const ao = t * m * k,
      bo = t * k * n,
      oo = t * m * n;
    for (let i = 0; i < m; i++) {
      for (let l = 0; l < k; l++) {
        const av = a[ao + i * k + l]!;
        if (av === 0n) continue;
        const brow = bo + l * n,
          orow = oo + i * n;
        for (let j = 0; j < n; j++) out[orow + j] = out[orow + j]! + av * b[brow + j]!;
      }
    }
  }
}

/** [rows, cols] → [cols, rows]. */
export function transpose(x: BigUint64Array, rows: number, cols: number): BigUint64Array {
  const out = new BigUint64Array(x.length);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[j * rows + i] = x[i * cols + j]!;
  return out;
}

/** Rows of group g's view as a [rows, cols] region of a matrix stored at `base` with rowsCap rows per group. */
export function viewRegion(
  base: Region,
  rowsCap: number,
  cols: number,
  g: number,
  firstRow: number,
  rows: number,
): Region {
  return { offset: base.offset + (g * rowsCap + firstRow) * cols * 8, length: rows * cols };
}

/** out [m, q] = a [m, n] · region [n, q] (the region's rows contiguous, stride q). */
export function regionNN(
  kernels: Kernels,
  a: BigUint64Array,
  region: Region,
  m: number,
  n: number,
  q: number,
): BigUint64Array {
  const out = new BigUint64Array(m * q);
  if (m > 0 && n > 0) kernels.matmulNN(out, a, region, m, q, n, q);
  return out;
}

/** out [m, rows] = a [m, cols] · region [rows, cols]ᵀ. */
export function regionNT(
  kernels: Kernels,
  a: BigUint64Array,
  region: Region,
  m: number,
  rows: number,
  cols: number,
): BigUint64Array {
  const out = new BigUint64Array(m * rows);
  if (m > 0 && rows > 0) kernels.matmulNT(out, a, region, m, rows, cols, cols);
  return out;
}
