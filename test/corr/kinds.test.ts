/** Each correlation kind: party 0's expansion plus party 1's corrected share satisfy its relation. */
import { Prg } from '../../shared/ring/prg.js';
import { Kernels, matmulNTRef } from '../../shared/ring/kernels.js';
import { BLOCK4, BLOCK8, maskMonomials } from '../../shared/ring/bit-tables.js';
import { DealerEnv, Material, assembleParty1, dealItem, expandShare, type CorrKind } from '../../shared/corr/index.js';
import { CMP, CMP_L1, CMP_TOP, FIXED_ALLOC, FIXED_APPEND, FIXED_PRODUCT, FIXED_SELECT, MUL, SQUARE, TRUNC, TRUNC_NODES, truncBlocks, KINDS, TRUNC_LEAN, LEAN_TRUNC_NODES, leanBlocks } from '../../shared/corr/kinds/index.js';

function deal<P>(kind: CorrKind<P>, p: P, env: DealerEnv, seed = 1): { ring: (n: string) => BigUint64Array; xor: (n: string) => Uint8Array } {
  const fields = kind.fields(p);
  const s0 = new Uint8Array(16).fill(seed), s1 = new Uint8Array(16).fill(seed + 100);
  const corrections = dealItem(kind, p, fields, new Prg(s0), new Prg(s1), env);
  const m0 = expandShare(new Prg(s0), fields, false);
  const m1: Material = assembleParty1(new Prg(s1), fields, corrections);
  return {
    ring: (n) => m0.ring(n).map((v, i) => v + m1.ring(n)[i]!),
    xor: (n) => m0.xor(n).map((v, i) => v ^ m1.xor(n)[i]!),
  };
}

describe('correlation kinds satisfy their relations', () => {
  const env = new DealerEnv(new Kernels());

  test('names are unique', () => {
    expect(new Set(KINDS.map((k) => k.name)).size).toBe(KINDS.length);
  });

  test('mul (element-wise and row-broadcast) and square', () => {
    for (const p of [{ n: 50, m: 50 }, { n: 60, m: 6 }]) {
      const v = deal(MUL, p, env);
      const a = v.ring('a'), b = v.ring('b'), c = v.ring('c');
      for (let i = 0; i < p.n; i++) expect(c[i]).toBe(BigInt.asUintN(64, a[i]! * b[Math.floor(i / (p.n / p.m))]!));
    }
    const s = deal(SQUARE, { n: 40 }, env);
    s.ring('a').forEach((a, i) => expect(s.ring('c')[i]).toBe(BigInt.asUintN(64, a * a)));
  });

  test('fixed masks: the product correction is B·r for the registered B', () => {
    deal(FIXED_ALLOC, { id: 'k', groups: 2, rowsCap: 5, cols: 3 }, env);
    const app = deal(FIXED_APPEND, { id: 'k', groups: 2, rows: 4, cols: 3 }, env);
    const B = app.ring('b');
    const prod = deal(FIXED_PRODUCT, { id: 'k', layout: 'nt', groups: 2, K: 1, rows: 4, cols: 3 }, env, 7);
    const r = prod.ring('r'), c = prod.ring('c');
    for (let g = 0; g < 2; g++) {
      const ref = new BigUint64Array(4);
      matmulNTRef(ref, r.subarray(g * 3, g * 3 + 3), B.subarray(g * 12, g * 12 + 12), 1, 4, 3);
      expect(c.subarray(g * 4, g * 4 + 4)).toEqual(ref);
    }
    expect(() => deal(FIXED_PRODUCT, { id: 'k', layout: 'nt', groups: 2, K: 1, rows: 5, cols: 3 }, env)).toThrow(/E_CORR_MISMATCH/);
    expect(() => deal(FIXED_PRODUCT, { id: 'nope', layout: 'nt', groups: 1, K: 1, rows: 1, cols: 3 }, env)).toThrow(/E_CORR_MISMATCH/);
  });

  test('fixed-mask views: row segments, blocks of rows and a shared input give c = B_view·r (dealer == naive reference)', () => {
    deal(FIXED_ALLOC, { id: 'v', groups: 2, rowsCap: 12, cols: 2 }, env);
    const B = deal(FIXED_APPEND, { id: 'v', groups: 2, rows: 10, cols: 2 }, env).ring('b');
    const Bg = (g: number, row: number, col: number) => B[(g * 10 + row) * 2 + col]!; // as appended: 10 rows per group
    const cases = [
      { layout: 'nt' as const, K: 2, rows: 5, segs: [[1, 3], [6, 9]] as Array<[number, number]> },
      { layout: 'nn' as const, K: 2, rows: 5, segs: [[1, 3], [6, 9]] as Array<[number, number]> },
      { layout: 'nn' as const, K: 3, rows: 4, segs: [[2, 10]] as Array<[number, number]>, block: 2, shared: true },
      { layout: 'nt' as const, K: 1, rows: 2, segs: [[0, 2], [4, 6]] as Array<[number, number]>, block: 2 },
    ];
    for (const c of cases) {
      const p = { id: 'v', groups: 2, cols: 2, ...c };
      const v = deal(FIXED_PRODUCT, p, env, 9);
      const b = c.block ?? 1, rowLen = 2 * b, inLen = c.layout === 'nt' ? rowLen : c.rows, outLen = c.layout === 'nt' ? c.rows : rowLen;
      const viewRows = c.segs.flatMap(([a, e]) => Array.from({ length: (e - a) / b }, (_, i) => a + i * b));
      const r = v.ring('r'), got = v.ring('c');
      expect(r.length).toBe((c.shared ? 1 : 2) * c.K * inLen);
      for (let g = 0; g < 2; g++) {
        const rg = (k: number, i: number) => r[((c.shared ? 0 : g) * c.K + k) * inLen + i]!;
        const W = (item: number, e: number) => Bg(g, viewRows[item]! + Math.floor(e / 2), e % 2); // view row `item`, element e of block·cols
        for (let k = 0; k < c.K; k++) {
          for (let o = 0; o < outLen; o++) {
            let want = 0n;
            if (c.layout === 'nt') for (let e = 0; e < rowLen; e++) want += rg(k, e) * W(o, e);
            else for (let item = 0; item < c.rows; item++) want += rg(k, item) * W(item, o);
            expect(got[(g * c.K + k) * outLen + o]).toBe(BigInt.asUintN(64, want));
          }
        }
      }
    }
    expect(() => deal(FIXED_PRODUCT, { id: 'v', layout: 'nt', groups: 2, K: 1, rows: 2, cols: 2, segs: [[9, 11]] }, env)).toThrow(/E_CORR_MISMATCH/);
    expect(() => deal(FIXED_PRODUCT, { id: 'v', layout: 'nt', groups: 2, K: 1, rows: 1, cols: 2, segs: [[0, 3]], block: 2 }, env)).toThrow(/E_CORR_MISMATCH/);
  });

  test('fixed.select: RM = R·M, and U, T, O (nt) / V, Q, O (nn) as stated, per group or with a shared selection', () => {
    deal(FIXED_ALLOC, { id: 's', groups: 2, rowsCap: 9, cols: 2 }, env);
    const M = deal(FIXED_APPEND, { id: 's', groups: 2, rows: 9, cols: 2 }, env).ring('b');
    const W = (g: number, row: number, d: number) => M[(g * 9 + row) * 2 + d]!;
    const u = (x: bigint) => BigInt.asUintN(64, x);
    for (const layout of ['nt', 'nn'] as const) {
      for (const shared of [false, true]) {
        const p = { id: 's', layout, groups: 2, K: 2, k: 2, n: 3, block: 2, offset: 1, cols: 2, ...(shared ? { shared } : {}) };
        const v = deal(FIXED_SELECT, p, env, 11);
        const { K, k, n, block: S, cols } = p, inLen = layout === 'nt' ? cols : k * S;
        const R = v.ring('R'), r = v.ring('r'), RM = v.ring('RM'), O = v.ring('O');
        expect(R.length).toBe((shared ? 1 : 2) * k * n);
        for (let g = 0; g < 2; g++) {
          const Rg = (i: number, c: number) => R[(shared ? 0 : g) * k * n + i * n + c]!;
          const rg = (a: number, e: number) => r[(g * K + a) * inLen + e]!;
          const Mv = (c: number, s: number, d: number) => W(g, p.offset + c * S + s, d);
          const rm = (i: number, s: number, d: number) => { let t = 0n; for (let c = 0; c < n; c++) t += Rg(i, c) * Mv(c, s, d); return u(t); };
          for (let i = 0; i < k; i++) for (let s = 0; s < S; s++) for (let d = 0; d < cols; d++) expect(RM[g * k * S * cols + (i * S + s) * cols + d]).toBe(rm(i, s, d));
          if (layout === 'nt') {
            const U = v.ring('U'), T = v.ring('T');
            for (let a = 0; a < K; a++) for (let c = 0; c < n; c++) for (let s = 0; s < S; s++) {
              let t = 0n; for (let d = 0; d < cols; d++) t += rg(a, d) * Mv(c, s, d);
              expect(U[g * K * n * S + (a * n + c) * S + s]).toBe(u(t));
            }
            for (let c = 0; c < n; c++) for (let a = 0; a < K; a++) for (let i = 0; i < k; i++) for (let d = 0; d < cols; d++) {
              expect(T[g * n * K * k * cols + ((c * K + a) * k + i) * cols + d]).toBe(u(rg(a, d) * Rg(i, c)));
            }
            for (let a = 0; a < K; a++) for (let i = 0; i < k; i++) for (let s = 0; s < S; s++) {
              let t = 0n; for (let d = 0; d < cols; d++) t += rg(a, d) * rm(i, s, d);
              expect(O[g * K * k * S + a * k * S + i * S + s]).toBe(u(t));
            }
          } else {
            const V = v.ring('V'), Q = v.ring('Q');
            const q = (a: number, c: number, s: number) => { let t = 0n; for (let i = 0; i < k; i++) t += rg(a, i * S + s) * Rg(i, c); return u(t); };
            for (let c = 0; c < n; c++) for (let a = 0; a < K; a++) for (let i = 0; i < k; i++) for (let d = 0; d < cols; d++) {
              let t = 0n; for (let s = 0; s < S; s++) t += rg(a, i * S + s) * Mv(c, s, d);
              expect(V[g * n * K * k * cols + ((c * K + a) * k + i) * cols + d]).toBe(u(t));
            }
            for (let a = 0; a < K; a++) for (let c = 0; c < n; c++) for (let s = 0; s < S; s++) expect(Q[g * K * n * S + (a * n + c) * S + s]).toBe(q(a, c, s));
            for (let a = 0; a < K; a++) for (let d = 0; d < cols; d++) {
              let t = 0n; for (let c = 0; c < n; c++) for (let s = 0; s < S; s++) t += q(a, c, s) * Mv(c, s, d);
              expect(O[g * K * cols + a * cols + d]).toBe(u(t));
            }
          }
        }
      }
    }
    expect(() => deal(FIXED_SELECT, { id: 's', layout: 'nt', groups: 2, K: 1, k: 1, n: 5, block: 2, offset: 0, cols: 2 }, env)).toThrow(/E_CORR_MISMATCH/);
  });

  test('trunc: high part, msb, block monomials, mask monomials', () => {
    for (const s of [5, 16, 24]) {
      const n = 30, v = deal(TRUNC, { n, s }, env);
      const r = v.ring('r'), nb = truncBlocks(s), node = TRUNC_NODES[nb - 1]!;
      const mon = new Uint32Array(v.xor('mon').buffer), m = v.xor('m'), mm = v.ring('mm');
      for (let i = 0; i < n; i++) {
        expect(v.ring('rhi')[i]).toBe(r[i]! >> BigInt(s));
        expect(v.ring('rmsb')[i]).toBe(r[i]! >> 63n);
        const low = Number(r[i]! & ((1n << BigInt(s)) - 1n));
        for (let j = 0; j < nb; j++) {
          const rho = (low >>> (8 * j)) & 0xff;
          expect(Array.from(mon.subarray((i * nb + j) * 8, (i * nb + j) * 8 + 8))).toEqual(Array.from(BLOCK8.subsetInd.subarray(rho * 8, rho * 8 + 8)));
        }
        node.subsets.forEach((S, k) => expect(mm[i * node.subsets.length + k]).toBe((S & ~m[i]!) === 0 ? 1n : 0n));
      }
    }
  });

  test('trunc.lean: high part, msb, 4-bit block monomials, node monomials, select bit', () => {
    for (const s of [3, 16]) {
      const n = 30, v = deal(TRUNC_LEAN, { n, s }, env);
      const r = v.ring('r'), nb = leanBlocks(s), node = LEAN_TRUNC_NODES[nb - 1]!;
      const mon = new Uint16Array(v.xor('mon').buffer), mm = new Uint32Array(v.xor('mm').buffer);
      for (let i = 0; i < n; i++) {
        expect(v.ring('rhi')[i]).toBe(r[i]! >> BigInt(s));
        expect(v.ring('rmsb')[i]).toBe(r[i]! >> 63n);
        const low = Number(r[i]! & ((1n << BigInt(s)) - 1n));
        for (let j = 0; j < nb; j++) expect(mon[i * nb + j]).toBe(BLOCK4.subsetInd[(low >>> (4 * j)) & 0xf]);
        expect(mm[i]).toBe(maskMonomials(node, v.xor('m')[i]!) >>> 0);
        expect(v.ring('sA')[i]).toBe(BigInt(v.xor('sb')[i]! & 1));
      }
    }
  });

  test('cmp: bit 63, block monomials, node monomials, select products', () => {
    const n = 20, v = deal(CMP, { n, pay: ['x', 'y'] }, env);
    const r = v.ring('r'), mon = new Uint16Array(v.xor('mon').buffer), s = v.xor('s'), sA = v.ring('sA');
    const mm1 = new Uint32Array(v.xor('mm1').buffer), mm2 = new Uint32Array(v.xor('mm2').buffer);
    for (let i = 0; i < n; i++) {
      expect(v.xor('r63')[i]).toBe(Number(r[i]! >> 63n));
      for (let j = 0; j < 16; j++) {
        const rho = Number((r[i]! >> BigInt(4 * j)) & (j === 15 ? 7n : 15n));
        expect(mon[i * 16 + j]).toBe(BLOCK4.subsetInd[rho]);
      }
      for (let t = 0; t < 4; t++) expect(mm1[i * 4 + t]).toBe(maskMonomials(CMP_L1, v.xor('m1')[i * 4 + t]!) >>> 0);
      expect(mm2[i]).toBe(maskMonomials(CMP_TOP, v.xor('m2')[i]!) >>> 0);
      expect(sA[i]).toBe(BigInt(s[i]! & 1));
      expect(v.ring('sr0')[i]).toBe(BigInt.asUintN(64, sA[i]! * r[i]!));
      expect(v.ring('sr1')[i]).toBe(BigInt.asUintN(64, sA[i]! * v.ring('ry1')[i]!));
    }
  });
});
