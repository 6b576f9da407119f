/**
 * Prims on the dealer: tensors are shapes only, and every interactive step takes exactly the item
 * its secure twin takes (same record, so same kind, parameters and order). Running a program over
 * DealerPrims therefore deals that program's whole correlation schedule, streamed to party 1 as it
 * goes (over cost.ts's CostSource it adds up the program's declared cost instead).
 *
 * Inside a `parallel` block (batch.ts) a step also waits its declared rounds, so the branches
 * interleave exactly as on the parties; the block's items are taken when it ends, in the order the
 * parties take them, each declaring the merged rounds it is the last item of (so a CostSource adds
 * up one frame per merged round: rounds and frame bytes are what the parties meter).
 */
import { shapeOnly, type Shape, type ShapeOnly } from '../../ring/tensor.js';
import type { CorrKind } from '../../corr/kind.js';
import type { CorrSource } from '../../corr/stream.js';
import type { WireRound } from '../../net/frame.js';
import type { FixedHandle } from '../fixed-mask.js';
import type { Primitive } from '../primitive.js';
import { Batcher, type RoundEntry } from './batch.js';
import { Interpreter } from './interpreter.js';

/** One frame of a merged round: the parts of every entry, concatenated. */
function merged(entries: readonly RoundEntry<WireRound>[]): WireRound {
  const parts = entries.flatMap((e) => e.parts);
  return {
    u64: parts.flatMap((r) => r.u64 ?? []),
    bits: parts.flatMap((r) => r.bits ?? []),
    bytes: parts.flatMap((r) => r.bytes ?? []),
  };
}

/** The items and merged rounds of an outermost block, taken when it ends. */
class Deferred {
  private readonly items: Array<{ kind: CorrKind<unknown>; p: unknown }> = [];
  private readonly rounds: RoundEntry<WireRound>[][] = [];

  add(kind: CorrKind<unknown>, p: unknown): number {
    return this.items.push({ kind, p }) - 1;
  }
  round(entries: readonly RoundEntry<WireRound>[]): void {
    this.rounds.push(entries.filter((e) => e.item !== undefined));
  }
  /** Takes the items in order; each declares the merged rounds whose last item it is. */
  async take(corr: CorrSource): Promise<void> {
    const owned = this.items.map((): WireRound[] => []);
    for (const entries of this.rounds)
      if (entries.length) owned[Math.max(...entries.map((e) => e.item!))]!.push(merged(entries));
    for (const [i, { kind, p }] of this.items.entries()) {
      const rounds = owned[i]!;
      await corr.take(Object.freeze({ ...kind, rounds: () => rounds }), p);
    }
  }
}

export class DealerPrims extends Interpreter<ShapeOnly, FixedHandle> {
  readonly mode = 'dealer' as const;
  readonly ownsConstants = false;
  private readonly batch = new Batcher<WireRound>(async (entries) => {
    this.deferred?.round(entries);
    return entries.map(() => []);
  });
  private deferred: Deferred | undefined;

  /** @param ns prefix for fixed-mask ids (the session id for session-scoped matrices). */
  constructor(
    readonly corr: CorrSource,
    readonly ns?: string,
  ) {
    super();
  }

  tensor(shape: Shape, fracBits: number): ShapeOnly {
    return shapeOnly(shape, fracBits);
  }
  phase(_name: string): void {
    /* the dealer's own traffic is metered per session */
  }
  scope<R>(_label: string, fn: () => Promise<R>): Promise<R> {
    return fn();
  }

  run<O, P>(
    prim: Primitive<O, P>,
    xs: readonly ShapeOnly[],
    o: O,
    ws: readonly FixedHandle[] = [],
  ): Promise<ShapeOnly[]> {
    return this.step(prim, xs, o, ws, async (p) => {
      if (!this.deferred) await this.corr.take(prim.kind, p);
      else {
        const item = this.deferred.add(prim.kind as CorrKind<unknown>, p);
        for (const r of prim.kind.rounds(p))
          await this.batch.round([{ step: prim.kind.name, label: prim.kind.name, parts: [r], item }]);
      }
      return undefined;
    });
  }

  override async parallel<R>(fns: ReadonlyArray<() => Promise<R>>): Promise<R[]> {
    if (this.deferred) return this.batch.parallel(fns);
    const d = (this.deferred = new Deferred());
    try {
      const out = await this.batch.parallel(fns);
      this.deferred = undefined;
      await d.take(this.corr);
      return out;
    } finally {
      this.deferred = undefined;
    }
  }

  /** A round the parties spend outside any item (a revealed step): kept in step inside a block, never declared. */
  async unitemisedRound(parts: WireRound): Promise<void> {
    if (this.deferred) await this.batch.round([{ step: 'reveal', label: 'reveal', parts: [parts] }]);
  }

  newMatrix(h: FixedHandle): FixedHandle {
    return h;
  }
  fixedFree(_w: FixedHandle): void {
    /* the dealer drops session masks at session end */
  }
  fixedRows(w: FixedHandle, rows: readonly number[]): ShapeOnly {
    return shapeOnly([w.groups, rows.length, w.cols], w.fracBits);
  }
}
