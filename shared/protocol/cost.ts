/**
 * Declared costs of programs over Prims, without running any protocol.
 *
 * Every interactive primitive takes exactly one correlation item per invocation (two or more for
 * trunc beyond 32 bits, one each), so a primitive's online cost is a function of its kind and
 * parameters: `ONLINE` maps each kind to the wire parts of its rounds, declared beside each
 * protocol (or here, mirroring the core protocols' files). `CostSource` is a correlation source
 * that, instead of dealing, adds up rounds, frame bytes, payload bytes and party 1's correction
 * bytes; running a program on `DealerPrims(new CostSource())` therefore yields its declared cost,
 * which tests compare with the meter byte for byte.
 */
import { MpcError } from '../util/errors.js';
import { Material, correctionBytes, type CorrKind } from '../corr/kind.js';
import type { CorrSource } from '../corr/stream.js';
import { truncBlocks, leanBlocks, fixedDims, fixedLayout, selectDims, type FixedSelectParams, type CmpParams, type FixedProductParams } from '../corr/kinds/index.js';
import { DealerPrims } from './prims/dealer.js';
import { cmpkRounds } from './compare-k.js';
import { lutRounds } from './lut.js';
import { productRounds } from './products.js';
import { roundFrameBytes, roundPayload, type WireRound } from './wire.js';
import { CLIENT_CHECK_REPS } from './client-check.js';

/** Wire rounds per kind. Core kinds mirror protocol/{beaver,trunc,compare,fixed-mask}.ts. */
export const ONLINE: Record<string, (p: any) => WireRound[]> = {
  mul: (p: { n: number; m: number }) => [{ u64: [p.n, p.m] }],
  square: (p: { n: number }) => [{ u64: [p.n] }],
  trunc: (p: { n: number; s: number }) => [{ u64: [p.n] }, { bits: [p.n * (2 * truncBlocks(p.s) - 1)] }],
  'trunc.lean': (p: { n: number; s: number }) => [{ u64: [p.n] }, { bits: [p.n * (2 * leanBlocks(p.s) - 1)] }, { bits: [p.n] }],
  cmp: (p: CmpParams) => [
    { u64: [p.n, ...p.pay.filter((k) => k === 'y').map(() => p.n)] }, { bytes: [4 * p.n] }, { bits: [7 * p.n] }, { bits: [p.n] },
  ],
  'fixed.alloc': () => [],
  'fixed.copy': () => [],
  'fixed.append': (p: { groups: number; rows: number; cols: number }) => [{ u64: [p.groups * p.rows * p.cols] }],
  // a client-assisted product opens nothing between the parties but the one-hot check (protocol/client-check.ts)
  'fixed.product': (p: FixedProductParams) => (p.client ? (p.squares ? [{ u64: [CLIENT_CHECK_REPS] }] : []) : [{ u64: [fixedLayout(p).inGroups * p.K * fixedDims(p).inLen] }]),
  'fixed.select': (p: FixedSelectParams) => [{ u64: [p.groups * p.K * selectDims(p).inLen, selectDims(p).selGroups * p.k * p.n] }],
  cmpk: cmpkRounds,
  lut: lutRounds,
  matmul: productRounds.matmul,
  'mul.seg': productRounds.mulSeg,
  bitmul: productRounds.bitmul,
};

export interface Cost {
  rounds: number;
  /** Bytes each party sends, frames included (what the meter records). */
  frameBytes: number;
  /** Bytes each party sends, payload only (what the protocol opens). */
  payloadBytes: number;
  /** Correction bytes the dealer sends to party 1. */
  dealerBytes: number;
  /** Correlation items taken. */
  items: number;
}

export class CostSource implements CorrSource {
  readonly cost: Cost = { rounds: 0, frameBytes: 0, payloadBytes: 0, dealerBytes: 0, items: 0 };
  get digest(): number { return 0; }
  get seq(): number { return this.cost.items; }

  async take<P>(kind: CorrKind<P>, params: P): Promise<Material> {
    const rounds = ONLINE[kind.name];
    if (!rounds) throw new MpcError('E_INTERNAL', `no declared online cost for kind '${kind.name}'`);
    for (const r of rounds(params)) {
      this.cost.rounds++;
      this.cost.frameBytes += roundFrameBytes(r);
      this.cost.payloadBytes += roundPayload(r);
    }
    this.cost.dealerBytes += correctionBytes(kind.fields(params));
    this.cost.items++;
    return new Material();
  }
}

/** The declared cost of running `fn` on shape-only tensors. */
export async function declaredCost(fn: (P: DealerPrims) => Promise<unknown>): Promise<Cost> {
  const src = new CostSource();
  await fn(new DealerPrims(src));
  return src.cost;
}
