/**
 * Declared costs of programs over Prims, without running any protocol. Every interactive step
 * takes exactly one correlation item, so a step's online cost is a function of its kind and
 * parameters, declared with the kind in its primitive's record (corr/kind.ts `rounds`).
 * `CostSource` is a correlation source that, instead of dealing, adds up rounds, frame bytes,
 * payload bytes and party 1's correction bytes; running a program on `DealerPrims(new
 * CostSource())` therefore yields its declared cost, which tests compare with the meter byte for
 * byte (test/util/nl.ts, test/protocol/primitives.test.ts).
 */
import { Material, correctionBytes, type CorrKind } from '../corr/kind.js';
import type { CorrSource } from '../corr/stream.js';
import { roundFrameBytes, roundPayload } from '../net/frame.js';
import { DealerPrims } from './prims/dealer.js';

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
  get digest(): number {
    return 0;
  }
  get seq(): number {
    return this.cost.items;
  }

  async take<P>(kind: CorrKind<P>, params: P): Promise<Material> {
    for (const r of kind.rounds(params)) {
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
