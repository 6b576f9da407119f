/**
 * The dealer's long-lived state: the true values of fixed masks (weight masks, KV-cache masks),
 * keyed by id. A fixed mask is generated once, its masked matrix is opened once by the parties,
 * and afterwards the mask is only ever used inside product correlations with fresh randomness.
 * Masks live in the WebAssembly arena so product correlations run on the same kernels as the
 * parties' products.
 */
import { MpcError, invariant } from '../util/errors.js';
import type { Kernels, Region } from '../ring/kernels.js';

export interface FixedMask {
  readonly region: Region;
  readonly groups: number;
  readonly rowsCap: number;
  readonly cols: number;
  rowsUsed: number;
}

export class DealerEnv {
  private readonly fixed = new Map<string, FixedMask>();

  constructor(readonly kernels: Kernels) {}

  alloc(id: string, groups: number, rowsCap: number, cols: number): FixedMask {
    invariant(!this.fixed.has(id), 'E_CORR_MISMATCH', `fixed mask '${id}' allocated twice`);
    const m: FixedMask = { region: this.kernels.alloc(groups * rowsCap * cols), groups, rowsCap, cols, rowsUsed: 0 };
    this.fixed.set(id, m);
    return m;
  }

  get(id: string): FixedMask {
    const m = this.fixed.get(id);
    if (!m) throw new MpcError('E_CORR_MISMATCH', `fixed mask '${id}' is not allocated at the dealer`);
    return m;
  }

  /** Drops every fixed mask whose id starts with `prefix` (session-scoped caches). */
  dropPrefix(prefix: string): void {
    for (const [id, m] of [...this.fixed.entries()]) {
      if (id.startsWith(prefix)) {
        this.kernels.release(m.region);
        this.fixed.delete(id);
      }
    }
  }

  ids(): string[] {
    return [...this.fixed.keys()];
  }
}
