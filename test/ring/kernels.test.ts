import { Kernels, matmulNNRef, matmulNTRef } from '../../shared/ring/kernels.js';
import { seeded } from '../util/rng.js';

describe('WebAssembly kernels equal their TypeScript references', () => {
  const rng = seeded();
  const k = new Kernels();

  test.each([
    [1, 7, 13],
    [3, 16, 5],
    [4, 33, 64],
    [1, 1, 1],
    [2, 9, 0],
  ])(`matmulNT K=%i rows=%i cols=%i (seed ${rng.seed})`, (K, rows, cols) => {
    const stride = cols + 3;
    const w = rng.ring(Math.max(1, rows * stride)),
      x = rng.ring(K * cols);
    const reg = k.alloc(w.length);
    k.u64(reg).set(w);
    const out = new BigUint64Array(K * rows),
      ref = new BigUint64Array(K * rows);
    k.matmulNT(out, x, reg, K, rows, cols, stride);
    matmulNTRef(ref, x, w, K, rows, cols, stride);
    expect(out).toEqual(ref);
    k.release(reg);
  });

  test.each([
    [1, 7, 13],
    [3, 16, 5],
    [2, 64, 33],
    [4, 9, 6],
    [7, 5, 11],
    [13, 32, 3],
  ])(`matmulNN K=%i rows=%i cols=%i`, (K, rows, cols) => {
    const stride = rows + 2;
    const w = rng.ring(cols * stride),
      x = rng.ring(K * cols);
    const reg = k.alloc(w.length);
    k.u64(reg).set(w);
    const out = new BigUint64Array(K * rows),
      ref = new BigUint64Array(K * rows);
    k.matmulNN(out, x, reg, K, rows, cols, stride);
    matmulNNRef(ref, x, w, K, rows, cols, stride);
    expect(out).toEqual(ref);
    k.release(reg);
  });

  test('element-wise kernels and arithmetic shift', () => {
    const n = 1001;
    const a = k.alloc(n),
      b = k.alloc(n),
      o = k.alloc(n);
    const av = rng.ring(n),
      bv = rng.ring(n);
    k.u64(a).set(av);
    k.u64(b).set(bv);
    k.addRegions(o, a, b);
    expect(k.u64(o)).toEqual(av.map((v, i) => v + bv[i]!));
    k.subRegions(o, a, b);
    expect(k.u64(o)).toEqual(av.map((v, i) => v - bv[i]!));
    k.mulRegions(o, a, b);
    expect(k.u64(o)).toEqual(av.map((v, i) => v * bv[i]!));
    k.shrRegions(o, a, 17);
    expect(k.u64(o)).toEqual(av.map((v) => BigInt.asUintN(64, BigInt.asIntN(64, v) >> 17n)));
    for (const r of [a, b, o]) k.release(r);
  });

  test('arena survives growth and reuses freed blocks', () => {
    const a = k.alloc(10);
    k.u64(a).fill(7n);
    const big = k.alloc(8 << 20); // forces WebAssembly.Memory.grow
    expect(k.u64(a)[9]).toBe(7n);
    k.release(big);
    const again = k.alloc(4 << 20);
    expect(again.offset).toBe(big.offset);
    k.release(again);
    k.release(a);
  });
});
