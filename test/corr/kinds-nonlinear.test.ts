/**
 * The non-linear suite's correlation kinds: party 0's expansion plus party 1's corrected share
 * satisfy each kind's relation (as test/corr/kinds.test.ts does for the core kinds).
 */
import { Prg } from '../../shared/ring/prg.js';
import { Kernels } from '../../shared/ring/kernels.js';
import { BLOCK4, BLOCK8, maskMonomials } from '../../shared/ring/bit-tables.js';
import { DealerEnv, Material, assembleParty1, dealItem, expandShare, type CorrKind } from '../../shared/corr/index.js';
import { BITMUL, CMPK, LUT, MATMUL, MUL_SEG, blockOf, cmpkPlan, lutBorrow, matmulAddInto } from '../../shared/corr/kinds/index.js';

function deal<P>(kind: CorrKind<P>, p: P, seed = 3): { ring: (n: string) => BigUint64Array; xor: (n: string) => Uint8Array } {
  const env = new DealerEnv(new Kernels()), fields = kind.fields(p);
  const s0 = new Uint8Array(16).fill(seed), s1 = new Uint8Array(16).fill(seed + 100);
  const corrections = dealItem(kind, p, fields, new Prg(s0), new Prg(s1), env);
  const m0 = expandShare(new Prg(s0), fields, false), m1: Material = assembleParty1(new Prg(s1), fields, corrections);
  return { ring: (n) => m0.ring(n).map((v, i) => v + m1.ring(n)[i]!), xor: (n) => m0.xor(n).map((v, i) => v ^ m1.xor(n)[i]!) };
}
const u16 = (b: Uint8Array) => new Uint16Array(b.slice().buffer);
const u32 = (b: Uint8Array) => new Uint32Array(b.slice().buffer);

describe('non-linear correlation kinds satisfy their relations', () => {
  test.each([[32, false, 4], [64, false, 4], [13, false, 4], [20, true, 4], [33, false, 8], [24, true, 8]] as const)('cmpk width %i eq=%s blocks of %i bits', (width, eq, bb) => {
    const n = 12, nt = 3, self = eq ? [] : [0, 2], p = { n, width, nt, eq, self, py: 1, ...(bb === 8 ? { bb: 8 as const } : {}) };
    const v = deal(CMPK, p), pl = cmpkPlan(width, eq, bb), n1 = pl.l1.length;
    const r = v.ring('r'), s = v.xor('s'), sA = v.ring('sA'), mon = u16(v.xor('mon')), mon32 = u32(v.xor('mon'));
    for (let i = 0; i < n; i++) {
      const rk = width === 64 ? r[i]! : r[i]! & ((1n << BigInt(width)) - 1n);
      if (!eq) expect(v.xor('rho')[i]).toBe(Number((rk >> BigInt(width - 1)) & 1n));
      const lo = Number(r[i]! & 0xffffffffn), hi = Number(r[i]! >> 32n);
      for (let b = 0; b < pl.nb; b++) {
        const rho = blockOf(lo, hi, b, pl.blockBits[b]!, bb);
        if (bb === 4) expect(mon[i * pl.nb + b]).toBe(BLOCK4.subsetInd[rho]);
        else expect(Array.from(mon32.subarray((i * pl.nb + b) * 8, (i * pl.nb + b + 1) * 8))).toEqual(Array.from(BLOCK8.subsetInd.subarray(rho * 8, rho * 8 + 8)));
      }
      for (let j = 0; j < nt; j++) {
        const e = i * nt + j;
        expect(sA[e]).toBe(BigInt(s[e]! & 1));
        for (let g = 0; g < n1; g++) expect(u32(v.xor('mm1'))[e * n1 + g]).toBe(maskMonomials(pl.l1[g]!, v.xor('m1')[e * n1 + g]!) >>> 0);
        if (pl.top) expect(u32(v.xor('mm2'))[e]).toBe(maskMonomials(pl.top, v.xor('m2')[e]!) >>> 0);
        expect(v.ring('sry0')[e]).toBe(BigInt.asUintN(64, sA[e]! * v.ring('ry0')[i]!));
      }
      self.forEach((j, q) => {
        const sj = sA[i * nt + j]!;
        if (width === 64) expect(v.ring('sr')[i * 2 + q]).toBe(BigInt.asUintN(64, sj * r[i]!));
        else {
          expect(v.ring('rk')[i]).toBe(rk);
          expect(v.ring('srk')[i * 2 + q]).toBe(sj * rk);
          expect(v.ring('rhos')[i * 2 + q]).toBe(sj * v.ring('rhoA')[i]!);
        }
      });
    }
  });

  test('lut: borrow material and the two branches of the rotated one-hot (with slope corrections)', () => {
    const n = 10, p = { n, k: 20, f: [{ s: 11, w: 5, lin: true }, { s: 0, w: 3, lin: false, times: 0 }, { s: 3, w: 4, lin: false, times: 0 }] };
    const v = deal(LUT, p), r = v.ring('r');
    p.f.forEach((f, q) => {
      const W = 1 << f.w, S = BigInt(f.s), { nb, blockBits, node } = lutBorrow(f.s);
      for (let i = 0; i < n; i++) {
        const rk = r[i]! & ((1n << 20n) - 1n), rl = rk & ((1n << S) - 1n), rh = Number((rk >> S) & BigInt(W - 1));
        const sp = f.s > 0 ? v.xor(`sp${q}`)[i]! & 1 : 0;
        const f0 = v.ring(`f0_${q}`).subarray(i * W, (i + 1) * W);
        expect(Array.from(f0, Number)).toEqual(Array.from({ length: W }, (_, j) => (j === ((rh + sp) & (W - 1)) ? 1 : 0)));
        if ('times' in f) {
          const ry = v.ring(`ry${q}`)[i]!;
          v.ring(`h0_${q}`).subarray(i * W, (i + 1) * W).forEach((h, j) => expect(h).toBe(BigInt.asUintN(64, f0[j]! * ry)));
          if (f.s > 0) v.ring(`h1_${q}`).subarray(i * W, (i + 1) * W).forEach((h, j) => expect(h).toBe(BigInt.asUintN(64, v.ring(`f1_${q}`)[i * W + j]! * ry)));
        }
        if (f.s === 0) continue;
        const f1 = v.ring(`f1_${q}`).subarray(i * W, (i + 1) * W);
        expect(Array.from(f1, Number)).toEqual(Array.from({ length: W }, (_, j) => (j === ((rh + 1 - sp) & (W - 1)) ? 1 : 0)));
        const lo = Number(r[i]! & 0xffffffffn);
        for (let b = 0; b < nb; b++) expect(u16(v.xor(`mon${q}`))[i * nb + b]).toBe(BLOCK4.subsetInd[blockOf(lo, 0, b, blockBits[b]!)]);
        if (node) expect(u32(v.xor(`mm${q}`))[i]).toBe(maskMonomials(node, v.xor(`m${q}`)[i]!) >>> 0);
        if (f.lin) {
          const g0 = v.ring(`g0_${q}`).subarray(i * W, (i + 1) * W), g1 = v.ring(`g1_${q}`).subarray(i * W, (i + 1) * W);
          g0.forEach((g, j) => expect(g).toBe(BigInt.asUintN(64, f0[j]! * (rl - (BigInt(sp) << S)))));
          g1.forEach((g, j) => expect(g).toBe(BigInt.asUintN(64, f1[j]! * (rl - (BigInt(1 - sp) << S)))));
        }
      }
    });
  });

  test('matmul, mul.seg and bitmul', () => {
    const mp = { batch: 2, m: 3, k: 4, n: 5 }, mm = deal(MATMUL, mp), c = new BigUint64Array(30);
    matmulAddInto(c, mm.ring('a'), mm.ring('b'), mp);
    expect(mm.ring('c')).toEqual(c);
    const seg = deal(MUL_SEG, { lengths: [3, 0, 2] }), a = seg.ring('a'), b = seg.ring('b');
    [0, 0, 0, 2, 2].forEach((r, i) => expect(seg.ring('c')[i]).toBe(BigInt.asUintN(64, a[i]! * b[r]!)));
    const bm = deal(BITMUL, { n: 8, py: 2 });
    for (let i = 0; i < 8; i++) {
      expect(bm.ring('sA')[i]).toBe(BigInt(bm.xor('s')[i]! & 1));
      for (const q of [0, 1]) expect(bm.ring(`sry${q}`)[i]).toBe(BigInt.asUintN(64, bm.ring('sA')[i]! * bm.ring(`ry${q}`)[i]!));
    }
  });
});
