/**
 * Prims over two-party shares: each interactive step takes its record's item and runs its secure
 * steps. Every opening goes through this instance's batcher (batch.ts): alone, or merged with the
 * other branches of a `parallel` block into one frame.
 */
import { FRAME_HEADER_BYTES, partFrameBytes, type Part } from '../../net/frame.js';
import { share, type Share, type Shape } from '../../ring/tensor.js';
import type { PartyCtx } from '../ctx.js';
import { capacityOf, rowsAt, type FixedHandle, type FixedMatrix } from '../fixed-mask.js';
import type { Primitive } from '../primitive.js';
import { Batcher, type RoundEntry } from './batch.js';
import { Interpreter } from './interpreter.js';

export class SecurePrims extends Interpreter<Share, FixedMatrix> {
  readonly mode = 'secure' as const;
  readonly ownsConstants: boolean;
  /** Fixed matrices allocated through this instance and not yet freed (freed at session end). */
  readonly live = new Set<FixedMatrix>();
  /** The context the primitives see: `exchange` goes through the batcher. */
  readonly ctx: PartyCtx;
  private readonly batch: Batcher<Part>;

  /** @param ns prefix for fixed-mask ids (the session id for session-scoped matrices). */
  constructor(
    raw: PartyCtx,
    readonly ns?: string,
  ) {
    super();
    this.ownsConstants = raw.me === 0;
    this.batch = new Batcher<Part>((entries) => exchangeRound(raw, entries));
    this.ctx = {
      ...raw,
      exchange: async (step, parts) => {
        const name = typeof step === 'string' ? step : step.tag;
        return (await this.batch.round([{ step: name, label: raw.meter.currentLabel(name), parts }]))[0]!;
      },
    };
  }

  override parallel<R>(fns: ReadonlyArray<() => Promise<R>>): Promise<R[]> {
    return this.batch.parallel(fns);
  }

  tensor(shape: Shape, fracBits: number, data: () => BigUint64Array): Share {
    return share(shape, data(), fracBits);
  }
  phase(name: string): void {
    this.ctx.meter.setPhase(name);
  }
  scope<R>(label: string, fn: () => Promise<R>): Promise<R> {
    return this.ctx.meter.scope(label, fn);
  }

  run<O, P>(prim: Primitive<O, P>, xs: readonly Share[], o: O, ws: readonly FixedMatrix[] = []): Promise<Share[]> {
    return this.step(prim, xs, o, ws, async (p, held) =>
      prim.secure(this.ctx, await this.ctx.corr.take(prim.kind, p), { p, o, xs: held, ws }),
    );
  }

  newMatrix(h: FixedHandle): FixedMatrix {
    const w = { ...h, pub: this.ctx.kernels.alloc(capacityOf(h)), mine: this.ctx.kernels.alloc(capacityOf(h)) };
    this.live.add(w);
    return w;
  }

  fixedFree(w: FixedMatrix): void {
    if (!this.live.delete(w)) return;
    this.ctx.kernels.release(w.pub);
    this.ctx.kernels.release(w.mine);
  }

  /** This party's online share W_i of rows at public indices (party 0's includes Ŵ). Local. */
  fixedRows(w: FixedMatrix, rows: readonly number[]): Share {
    return share([w.groups, rows.length, w.cols], rowsAt(this.ctx.kernels, w.mine, w, rows), w.fracBits);
  }

  /** Frees every fixed matrix still allocated through this instance. */
  freeAll(): void {
    for (const w of [...this.live]) this.fixedFree(w);
  }
}

/** One frame for a round's entries; each entry's bytes are metered under its own label. */
async function exchangeRound(ctx: PartyCtx, entries: readonly RoundEntry<Part>[]): Promise<Part[][]> {
  const parts = entries.flatMap((e) => e.parts);
  const split = entries.map((e, k) => ({
    label: e.label,
    bytes: e.parts.reduce((t, p) => t + partFrameBytes(p), k === 0 ? FRAME_HEADER_BYTES : 0),
  }));
  const tag = entries.map((e) => e.step).join('+');
  const got = await ctx.exchange({ tag, split }, parts);
  let at = 0;
  return entries.map((e) => got.slice(at, (at += e.parts.length)));
}
