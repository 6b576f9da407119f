/**
 * WebAssembly kernels for Z_2^64 and the memory arena they run in.
 *
 * Large operands that are reused (fixed-mask weights, the KV cache) live in the arena, a
 * WebAssembly.Memory, so products run without copying them. Small per-call operands (activation
 * vectors) are copied into a scratch region, which costs O(input + output), not O(weights).
 * Growing a WebAssembly.Memory detaches its old ArrayBuffer, so regions hold offsets and views
 * are re-derived through `u64()` on every use.
 *
 * Every kernel has a plain TypeScript reference (`*Ref`) used by tests and by the benchmark.
 */
import { invariant } from '../util/errors.js';
import { WASM_BASE64 } from './kernels/ring-wasm.generated.js';

const PAGE = 65536;
const ALIGN = 64;

interface RingExports {
  add(out: number, a: number, b: number, n: number): void;
  sub(out: number, a: number, b: number, n: number): void;
  mul(out: number, a: number, b: number, n: number): void;
  shr_s(out: number, a: number, n: number, s: number): void;
  matmul_nt(out: number, x: number, w: number, K: number, rows: number, cols: number, wstride: number): void;
  matmul_nn(out: number, x: number, w: number, K: number, rows: number, cols: number, wstride: number): void;
}

/** A block of `length` u64 elements at byte `offset` of the arena. */
export interface Region {
  readonly offset: number;
  readonly length: number;
}

let compiled: WebAssembly.Module | undefined;
function wasmModule(): WebAssembly.Module {
  compiled ??= new WebAssembly.Module(Buffer.from(WASM_BASE64, 'base64'));
  return compiled;
}

/** A WebAssembly memory with a first-fit allocator and the ring kernels bound to it. */
export class Kernels {
  readonly memory: WebAssembly.Memory;
  private readonly k: RingExports;
  /** Free blocks as [offset, bytes], sorted by offset. */
  private free: Array<[number, number]> = [];
  private top = ALIGN; // offset 0 stays unused so that 0 never looks like a valid region
  private scratch: Region | undefined;
  private buf: ArrayBuffer;
  private view: BigUint64Array;

  constructor(initialBytes = 16 * PAGE) {
    this.memory = new WebAssembly.Memory({ initial: Math.ceil(initialBytes / PAGE), maximum: 65536 });
    const inst = new WebAssembly.Instance(wasmModule(), { env: { memory: this.memory } });
    this.k = inst.exports as unknown as RingExports;
    this.buf = this.memory.buffer;
    this.view = new BigUint64Array(this.buf);
  }

  /** Allocates `n` elements (contents unspecified). */
  alloc(n: number): Region {
    invariant(Number.isInteger(n) && n >= 0, 'E_INTERNAL', `bad allocation size ${n}`);
    const bytes = Math.max(ALIGN, Math.ceil((n * 8) / ALIGN) * ALIGN);
    for (let i = 0; i < this.free.length; i++) {
      const [off, size] = this.free[i]!;
      if (size >= bytes) {
        if (size === bytes) this.free.splice(i, 1);
        else this.free[i] = [off + bytes, size - bytes];
        return { offset: off, length: n };
      }
    }
    const off = this.top;
    this.top += bytes;
    this.ensure(this.top);
    return { offset: off, length: n };
  }

  /** Returns a region to the allocator; the caller must drop every view of it. */
  release(r: Region): void {
    const bytes = Math.max(ALIGN, Math.ceil((r.length * 8) / ALIGN) * ALIGN);
    let i = 0;
    while (i < this.free.length && this.free[i]![0] < r.offset) i++;
    this.free.splice(i, 0, [r.offset, bytes]);
    // merge neighbours
    for (let j = Math.max(0, i - 1); j < this.free.length - 1;) {
      const a = this.free[j]!,
        b = this.free[j + 1]!;
      if (a[0] + a[1] === b[0]) {
        this.free.splice(j, 2, [a[0], a[1] + b[1]]);
      } else j++;
      if (j > i) break;
    }
    const last = this.free[this.free.length - 1];
    if (last && last[0] + last[1] === this.top) {
      this.top = last[0];
      this.free.pop();
    }
  }

  /** Bytes currently handed out (for leak checks in tests). */
  usedBytes(): number {
    return (
      this.top -
      ALIGN -
      this.free.reduce((s, [, b]) => s + b, 0) -
      (this.scratch ? Math.max(ALIGN, Math.ceil((this.scratch.length * 8) / ALIGN) * ALIGN) : 0)
    );
  }

  private ensure(bytes: number): void {
    const have = this.memory.buffer.byteLength;
    if (bytes > have) this.memory.grow(Math.ceil((bytes - have) / PAGE));
    this.refresh();
  }

  private refresh(): void {
    if (this.buf !== this.memory.buffer) {
      this.buf = this.memory.buffer;
      this.view = new BigUint64Array(this.buf);
    }
  }

  /** A fresh view of a region (valid until the next allocation that grows memory). */
  u64(r: Region, start = 0, length = r.length - start): BigUint64Array {
    this.refresh();
    return this.view.subarray(r.offset / 8 + start, r.offset / 8 + start + length);
  }

  /** Scratch space for `n` elements, reused across calls (one kernel call at a time). */
  private scratchOf(n: number): Region {
    if (!this.scratch || this.scratch.length < n) {
      if (this.scratch) this.release(this.scratch);
      this.scratch = this.alloc(Math.max(n, 4096));
    }
    return this.scratch;
  }

  /**
   * out[k][j] = Σ_i x[k][i] · w[j][i] mod 2^64, for a fixed operand `w` held in the arena as
   * `rows` rows of `cols` elements with row stride `stride`. x: K×cols, out: K×rows.
   */
  matmulNT(
    out: BigUint64Array,
    x: BigUint64Array,
    w: Region,
    K: number,
    rows: number,
    cols: number,
    stride = cols,
  ): void {
    this.checkFixed(w, rows, cols, stride, true);
    invariant(
      x.length === K * cols && out.length === K * rows,
      'E_SHAPE',
      `matmulNT: x ${x.length} / out ${out.length} do not fit K=${K}, ${rows}x${cols}`,
    );
    const s = this.scratchOf(K * cols + K * rows);
    this.u64(s, 0, K * cols).set(x);
    const xOff = s.offset,
      outOff = s.offset + K * cols * 8;
    this.k.matmul_nt(outOff, xOff, w.offset, K, rows, cols, stride);
    out.set(this.u64(s, K * cols, K * rows));
  }

  /**
   * out[k][j] = Σ_i x[k][i] · w[i][j] mod 2^64, for `w` held as `cols` rows of `rows` elements
   * (row stride `stride`). x: K×cols, out: K×rows.
   */
  matmulNN(
    out: BigUint64Array,
    x: BigUint64Array,
    w: Region,
    K: number,
    rows: number,
    cols: number,
    stride = rows,
  ): void {
    this.checkFixed(w, cols, rows, stride, false);
    invariant(
      x.length === K * cols && out.length === K * rows,
      'E_SHAPE',
      `matmulNN: x ${x.length} / out ${out.length} do not fit K=${K}, ${rows}x${cols}`,
    );
    const s = this.scratchOf(K * cols + K * rows);
    this.u64(s, 0, K * cols).set(x);
    this.k.matmul_nn(s.offset + K * cols * 8, s.offset, w.offset, K, rows, cols, stride);
    out.set(this.u64(s, K * cols, K * rows));
  }

  private checkFixed(w: Region, nRows: number, rowLen: number, stride: number, _nt: boolean): void {
    invariant(
      stride >= rowLen && (nRows === 0 || (nRows - 1) * stride + rowLen <= w.length),
      'E_SHAPE',
      `fixed operand of ${w.length} elements cannot hold ${nRows} rows of ${rowLen} (stride ${stride})`,
    );
  }

  /** Element-wise kernels on arena regions (no copies). */
  addRegions(out: Region, a: Region, b: Region, n = out.length): void {
    this.k.add(out.offset, a.offset, b.offset, n);
  }
  subRegions(out: Region, a: Region, b: Region, n = out.length): void {
    this.k.sub(out.offset, a.offset, b.offset, n);
  }
  mulRegions(out: Region, a: Region, b: Region, n = out.length): void {
    this.k.mul(out.offset, a.offset, b.offset, n);
  }
  shrRegions(out: Region, a: Region, s: number, n = out.length): void {
    this.k.shr_s(out.offset, a.offset, n, s);
  }
}

// ---- plain TypeScript references (also the fast path for small element-wise work on JS arrays) ----

export function matmulNTRef(
  out: BigUint64Array,
  x: BigUint64Array,
  w: BigUint64Array,
  K: number,
  rows: number,
  cols: number,
  stride = cols,
): void {
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < rows; j++) {
      let s = 0n;
      for (let i = 0; i < cols; i++) s += x[k * cols + i]! * w[j * stride + i]!;
      out[k * rows + j] = BigInt.asUintN(64, s);
    }
  }
}

export function matmulNNRef(
  out: BigUint64Array,
  x: BigUint64Array,
  w: BigUint64Array,
  K: number,
  rows: number,
  cols: number,
  stride = rows,
): void {
  for (let k = 0; k < K; k++) {
    for (let j = 0; j < rows; j++) {
      let s = 0n;
      for (let i = 0; i < cols; i++) s += x[k * cols + i]! * w[i * stride + j]!;
      out[k * rows + j] = BigInt.asUintN(64, s);
    }
  }
}
