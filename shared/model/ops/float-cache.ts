/**
 * Float64 tensors and the float64 KV cache: the data types of the plaintext reference backend.
 * The cache stores keys and values per head, [H, capacity, hd], preallocated (values transposed).
 */
import { MpcError, invariant } from '../../util/index.js';
import type { Shape } from '../../ring/index.js';
import type { KVCache } from './types.js';

/** A float64 tensor: row-major data of a given shape. */
export interface FloatTensor {
  readonly shape: Shape;
  readonly data: Float64Array;
}

/**
 * Builds a tensor, checking the data length against the shape.
 * @throws MpcError E_SHAPE if they disagree.
 */
export function floatTensor(shape: Shape, data: Float64Array): FloatTensor {
  const n = shape.reduce((p, d) => p * d, 1);
  invariant(
    data.length === n,
    'E_SHAPE',
    () => `float tensor data length ${data.length} does not match shape [${shape.join(', ')}]`,
  );
  return { shape: [...shape], data };
}

export function dims(x: FloatTensor, rank: number, what: string): number[] {
  invariant(
    x.shape.length === rank,
    'E_SHAPE',
    () => `${what}: expected rank ${rank}, got shape [${x.shape.join(', ')}]`,
  );
  return [...x.shape];
}

/**
 * One layer's float64 KV cache, valid up to `length`: `keys` [H, capacity, hd] and `valuesT`
 * [H, hd, capacity] (values transposed, so that p · V is a product of contiguous rows).
 */
export class FloatKVCache implements KVCache<FloatTensor> {
  readonly keys: Float64Array;
  readonly valuesT: Float64Array;
  private used = 0;

  constructor(
    readonly heads: number,
    readonly headDim: number,
    readonly capacity: number,
  ) {
    this.keys = new Float64Array(heads * capacity * headDim);
    this.valuesT = new Float64Array(heads * capacity * headDim);
  }

  get length(): number {
    return this.used;
  }

  async append(k: FloatTensor, v: FloatTensor): Promise<void> {
    const [h, n, hd] = dims(k, 3, 'kv append');
    invariant(
      h === this.heads && hd === this.headDim && v.shape.join() === k.shape.join(),
      'E_SHAPE',
      () =>
        `kv append: k [${k.shape.join(', ')}], v [${v.shape.join(', ')}] for a cache of ${this.heads} heads × ${this.headDim}`,
    );
    if (this.used + n > this.capacity) {
      throw new MpcError('E_INPUT', `kv cache full: ${this.used} + ${n} tokens exceed capacity ${this.capacity}`);
    }
    const cap = this.capacity;
    for (let head = 0; head < h; head++) {
      this.keys.set(k.data.subarray(head * n * hd, (head + 1) * n * hd), (head * cap + this.used) * hd);
      for (let i = 0; i < n; i++) {
        for (let c = 0; c < hd; c++)
          this.valuesT[(head * hd + c) * cap + this.used + i] = v.data[(head * n + i) * hd + c] as number;
      }
    }
    this.used += n;
  }

  /**
   * Appends rows of another cache with the same heads and width: head h gets src rows
   * `rows[h]` in that order (every head the same number). The float64 side of `gatherCache`.
   * @throws MpcError E_SHAPE on a row outside src or a shape mismatch; E_INPUT if full.
   */
  appendRows(src: FloatKVCache, rows: readonly ArrayLike<number>[]): void {
    invariant(
      src.heads === this.heads && src.headDim === this.headDim && rows.length === this.heads,
      'E_SHAPE',
      () =>
        `kv copy: ${rows.length} row lists from a ${src.heads}×${src.headDim} cache into ${this.heads}×${this.headDim}`,
    );
    const n = rows[0]?.length ?? 0;
    if (this.used + n > this.capacity) {
      throw new MpcError('E_INPUT', `kv cache full: ${this.used} + ${n} tokens exceed capacity ${this.capacity}`);
    }
    const hd = this.headDim,
      cap = this.capacity,
      scap = src.capacity;
    rows.forEach((list, head) => {
      invariant(list.length === n, 'E_SHAPE', 'kv copy: every head must receive the same number of rows');
      // Runs of consecutive rows are copied as blocks (keys) and column segments (values).
      for (let i = 0; i < n;) {
        const r = list[i] as number;
        let len = 1;
        while (i + len < n && list[i + len] === r + len) len++;
        invariant(
          Number.isInteger(r) && r >= 0 && r + len <= src.length,
          'E_SHAPE',
          () => `kv copy: row ${r} outside 0..${src.length - 1}`,
        );
        const dst = this.used + i;
        this.keys.set(src.keys.subarray((head * scap + r) * hd, (head * scap + r + len) * hd), (head * cap + dst) * hd);
        for (let c = 0; c < hd; c++) {
          const from = (head * hd + c) * scap + r;
          this.valuesT.set(src.valuesT.subarray(from, from + len), (head * hd + c) * cap + dst);
        }
        i += len;
      }
    });
    this.used += n;
  }

  reset(): void {
    this.used = 0;
  }
}
