/**
 * The model load a server currently serves, with a count of the sessions using it. A new load
 * replaces the current one (a restarted party or dealer makes party 0 reload), but the old load's
 * memory is released only when its last session has ended, so a dying session never touches
 * memory that a new load already owns.
 */
export interface Load<M> {
  readonly loadId: string;
  readonly model: M;
  /** Frees the load's fixed-mask matrices (arena memory). */
  readonly release: () => void;
}

interface Slot<M> extends Load<M> {
  users: number;
  retired: boolean;
  since: number;
}

export class ModelSlots<M> {
  private current: Slot<M> | undefined;
  private readonly retired = new Set<Slot<M>>();

  get loadId(): string | undefined {
    return this.current?.loadId;
  }

  /** When the current load began to be served (ms since the epoch), for health reports. */
  get since(): number | undefined {
    return this.current?.since;
  }

  /** Serves `load` from now on; the previous load is released once unused. */
  replace(load: Load<M>): void {
    if (this.current) this.retire(this.current);
    this.current = { ...load, users: 0, retired: false, since: Date.now() };
  }

  /** Stops serving the current load (its holder left); released once unused. */
  drop(): void {
    if (this.current) this.retire(this.current);
    this.current = undefined;
  }

  /** The load with id `loadId` (the current one only), counted as in use until `done` is called. */
  use(loadId: string | undefined): { model: M; done: () => void } | undefined {
    const s = this.current;
    if (!s || (loadId !== undefined && s.loadId !== loadId)) return undefined;
    s.users++;
    let ended = false;
    return {
      model: s.model,
      done: () => {
        if (ended) return;
        ended = true;
        s.users--;
        if (s.retired && s.users === 0) this.free(s);
      },
    };
  }

  private retire(s: Slot<M>): void {
    s.retired = true;
    if (s.users === 0) this.free(s);
    else this.retired.add(s);
  }

  private free(s: Slot<M>): void {
    this.retired.delete(s);
    s.release();
  }
}
