/**
 * The registry of primitives (shared/protocol/primitives/index.ts), one loop over the list. For
 * every record and a random invocation of it (its `example`):
 *  - kind relation: every item of its kind the example takes, dealt from seeds (expand + correct)
 *    and reconstructed from both parties' material, satisfies the record's `relation`;
 *  - secure == clear bit for bit, and metered == declared: rounds, frame bytes each way and dealer
 *    bytes equal the records' `rounds` and the kinds' correction bytes (test/util/nl.ts).
 */
import { Kernels } from '../../shared/ring/kernels.js';
import { Prg } from '../../shared/ring/prg.js';
import { shapeOnly } from '../../shared/ring/tensor.js';
import {
  DealerEnv,
  Material,
  assembleParty1,
  dealItem,
  expandShare,
  type CorrKind,
  type CorrSource,
} from '../../shared/corr/index.js';
import { DealerPrims } from '../../shared/protocol/prims/dealer.js';
import type { Dealt, Primitive } from '../../shared/protocol/primitive.js';
import {
  FIXED_ALLOC,
  FIXED_APPEND,
  FIXED_PRODUCT,
  FIXED_SELECT,
  KINDS,
  PRIMITIVES,
} from '../../shared/protocol/primitives/index.js';
import { runChecked } from '../util/nl.js';
import { seeded } from '../util/rng.js';

/** Both parties' material of one item, reconstructed: the true value of every field. */
function deal<P>(kind: CorrKind<P>, p: P, env: DealerEnv, seed: number): Dealt {
  const fields = kind.fields(p),
    s0 = new Uint8Array(16).fill(seed & 0xff),
    s1 = new Uint8Array(16).fill((seed + 100) & 0xff);
  const corrections = dealItem(kind, p, fields, new Prg(s0), new Prg(s1), env);
  const m0 = expandShare(new Prg(s0), fields, false),
    m1: Material = assembleParty1(new Prg(s1), fields, corrections);
  return {
    ring: (n) => m0.ring(n).map((v, i) => v + m1.ring(n)[i]!),
    xor: (n) => m0.xor(n).map((v, i) => v ^ m1.xor(n)[i]!),
    party0: m0,
  };
}

/**
 * Deals every item a program takes (so fixed masks are registered) and checks `prim`'s relation on
 * those of its kind: it holds, and it fails when any correlated field is off in one place.
 */
class CheckingSource implements CorrSource {
  readonly env = new DealerEnv(new Kernels());
  digest = 0;
  seq = 0;
  checked = 0;
  constructor(private readonly prim: Primitive) {}
  async take<P>(kind: CorrKind<P>, p: P): Promise<Material> {
    const v = deal(kind, p, this.env, ++this.seq);
    if (kind === this.prim.kind) {
      expect({ kind: kind.name, p, violation: this.prim.relation(v, p, this.env) }).toEqual({
        kind: kind.name,
        p,
        violation: undefined,
      });
      for (const f of kind.fields(p).filter((f) => f.correlated && f.count > 0)) {
        const at = (this.seq * 7919) % f.count,
          bad = f.type === 'ring' ? v.ring(f.name).slice() : v.xor(f.name).slice();
        if (bad instanceof BigUint64Array) bad[at] = bad[at]! + 1n;
        else bad[at] = bad[at]! ^ 1;
        const off = {
          ring: (n: string) => (n === f.name ? (bad as BigUint64Array) : v.ring(n)),
          xor: (n: string) => (n === f.name ? (bad as Uint8Array) : v.xor(n)),
          party0: v.party0,
        };
        expect({ field: f.name, violation: this.prim.relation(off, p, this.env) }).toEqual({
          field: f.name,
          violation: expect.any(String),
        });
      }
      this.checked++;
    }
    return new Material();
  }
}

const rng = seeded();

describe(`every primitive in the registry (seed ${rng.seed})`, () => {
  test("names and kinds are unique; every kind is some primitive's", () => {
    expect(new Set(PRIMITIVES.map((p) => p.name)).size).toBe(PRIMITIVES.length);
    expect(new Set(KINDS.map((k) => k.name)).size).toBe(KINDS.length);
  });

  test.each(PRIMITIVES.map((p) => [p.name, p] as const))(
    '%s: kind relation, secure == clear, metered == declared',
    async (_name, prim) => {
      const ex = prim.example(rng);
      const src = new CheckingSource(prim);
      await ex.program(
        new DealerPrims(src),
        ex.inputs.map((i) => shapeOnly(i.shape, i.fracBits)),
      );
      expect(src.checked).toBeGreaterThan(0);
      if (ex.inProcess !== false) await runChecked(ex.program, [...ex.inputs]);
    },
  );

  test('the dealer refuses fixed-mask items that do not fit the registered mask (E_CORR_MISMATCH)', () => {
    const env = new DealerEnv(new Kernels());
    deal(FIXED_ALLOC.kind, { id: 'v', groups: 2, rowsCap: 12, cols: 2 }, env, 1);
    deal(FIXED_APPEND.kind, { id: 'v', groups: 2, rows: 10, cols: 2 }, env, 2);
    const product = (p: object) => () =>
      deal(FIXED_PRODUCT.kind, { id: 'v', layout: 'nt', groups: 2, K: 1, cols: 2, ...p } as never, env, 3);
    expect(product({ rows: 11 })).toThrow(/E_CORR_MISMATCH/);
    expect(product({ rows: 2, segs: [[9, 11]] })).toThrow(/E_CORR_MISMATCH/);
    expect(product({ rows: 1, segs: [[0, 3]], block: 2 })).toThrow(/E_CORR_MISMATCH/);
    expect(product({ id: 'nope', groups: 1, rows: 1 })).toThrow(/E_CORR_MISMATCH/);
    expect(() =>
      deal(
        FIXED_SELECT.kind,
        { id: 'v', layout: 'nt', groups: 2, K: 1, k: 1, n: 6, block: 2, offset: 0, cols: 2 },
        env,
        4,
      ),
    ).toThrow(/E_CORR_MISMATCH/);
  });
});
