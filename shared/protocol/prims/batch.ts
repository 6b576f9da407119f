/**
 * Batched rounds: independent programs over Prims run as branches of one `parallel` block, and
 * whatever the branches open in their k-th round travels in one frame each way (one round for the
 * block instead of one per branch). The dealer runs the same block on shapes and takes the same
 * correlation items in the same order, so nothing but the frame count changes.
 *
 * Schedule (identical on both parties and on the dealer, a function of the program alone): the
 * branches run one at a time, in their order. A branch runs until its next round (an opening on a
 * party, a primitive's declared round on the dealer) or its end; then the next branch runs. When
 * every live branch waits, their rounds go out as one (a nested block's merged round is its
 * enclosing branch's round), and the branches resume in order with their parts of the reply.
 * Correlation items are taken where a branch runs, so they are taken in one deterministic order
 * (branch 0's items before its first round, then branch 1's, …), identical on every role.
 *
 * Branches must be independent: none may read what another writes (a fixed-mask matrix another
 * branch appends to, say), since the emulation runs them one after the other.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { MpcError } from '../../util/errors.js';

/** One protocol's share of a round: its step name, metering label, parts (and, on the dealer, its item). */
export interface RoundEntry<P> {
  readonly step: string;
  readonly label: string;
  readonly parts: readonly P[];
  /** The correlation item whose declared round this is (dealer), if any. */
  readonly item?: number;
}

/** What the role does with one round at the top (no enclosing branch): exchange, or account. */
export type TopRound<P> = (entries: readonly RoundEntry<P>[]) => Promise<P[][]>;

interface Waiting<P> {
  readonly entries: readonly RoundEntry<P>[];
  readonly resolve: (got: P[][]) => void;
  readonly reject: (e: unknown) => void;
}

/** One branch of a block: where it stopped and how the scheduler wakes it. */
class Branch<P> {
  waiting: Waiting<P> | undefined;
  done = false;
  failed = false;
  error: unknown;
  result: unknown;
  private wake: (() => void) | undefined;

  /** Resolves once the branch has stopped again: at its next round, its end or its error. */
  stopped(): Promise<void> {
    return this.waiting || this.done ? Promise.resolve() : new Promise((r) => (this.wake = r));
  }
  private notify(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }
  round(entries: readonly RoundEntry<P>[]): Promise<P[][]> {
    return new Promise((resolve, reject) => {
      this.waiting = { entries, resolve, reject };
      this.notify();
    });
  }
  finish(ok: boolean, v: unknown): void {
    this.done = true;
    this.failed = !ok;
    if (ok) this.result = v;
    else this.error = v;
    this.notify();
  }
  /** Hands the branch its reply; it runs until it stops again. */
  resume(got: P[][]): Promise<void> {
    const w = this.waiting!;
    this.waiting = undefined;
    const next = this.stopped();
    w.resolve(got);
    return next;
  }
}

export class Batcher<P> {
  private readonly als = new AsyncLocalStorage<Branch<P>>();

  /** @param top the role's round when no branch encloses the caller. */
  constructor(private readonly top: TopRound<P>) {}

  inBranch(): boolean {
    return this.als.getStore() !== undefined;
  }

  /** One round of the running program: alone at the top, or merged into its block's round. */
  round(entries: readonly RoundEntry<P>[]): Promise<P[][]> {
    const b = this.als.getStore();
    return b ? b.round(entries) : this.top(entries);
  }

  /** Runs the branches with shared rounds; returns their results in order (the first error is thrown). */
  async parallel<R>(fns: ReadonlyArray<() => Promise<R>>): Promise<R[]> {
    const branches = fns.map(() => new Branch<P>());
    for (let i = 0; i < fns.length; i++) {
      const b = branches[i]!,
        stop = b.stopped();
      void this.als.run(b, () =>
        fns[i]!().then(
          (v) => b.finish(true, v),
          (e: unknown) => b.finish(false, e),
        ),
      );
      await stop;
      if (b.failed) throw this.abandon(branches, b.error);
    }
    for (;;) {
      const failed = branches.find((b) => b.failed);
      if (failed) throw this.abandon(branches, failed.error);
      const live = branches.filter((b) => b.waiting);
      if (live.length === 0) break;
      const entries = live.map((b) => b.waiting!.entries);
      let got: P[][];
      try {
        got = await this.round(entries.flat());
      } catch (e) {
        throw this.abandon(branches, e);
      }
      let at = 0;
      for (const [k, b] of live.entries()) {
        const n = entries[k]!.length;
        await b.resume(got.slice(at, at + n));
        at += n;
      }
    }
    return branches.map((b) => b.result as R);
  }

  /** Unwinds the branches still waiting (their rounds will never come) and returns the error to throw. */
  private abandon(branches: readonly Branch<P>[], e: unknown): unknown {
    const err = e instanceof Error ? e : new MpcError('E_INTERNAL', String(e));
    for (const b of branches) {
      const w = b.waiting;
      b.waiting = undefined;
      w?.reject(err);
    }
    return err;
  }
}
