/**
 * Matching the two halves of a session that reach a server on different connections (party 1:
 * the client's join and party 0's peer hello), by session id, within a deadline. The table is
 * bounded (a flood of half-sessions is refused with E_BUSY, never grows memory), and an id that
 * was ever seen is refused when it comes again (E_PROTOCOL): a session id is used once.
 */
import { MpcError } from '../util/errors.js';
import { shortId } from './wire.js';

interface Waiting<T> {
  side: 0 | 1;
  value: T;
  resolve: (v: T) => void;
  reject: (e: MpcError) => void;
  timer: NodeJS.Timeout;
}

/** Remembers the last `capacity` ids (insertion order) to refuse replays. */
export class SeenIds {
  private readonly ids = new Set<string>();
  constructor(private readonly capacity = 65536) {}
  has(id: string): boolean {
    return this.ids.has(id);
  }
  add(id: string): void {
    this.ids.add(id);
    if (this.ids.size > this.capacity) this.ids.delete(this.ids.values().next().value as string);
  }
}

export class Rendezvous<T> {
  private readonly waiting = new Map<string, Waiting<T>>();
  private readonly seen = new SeenIds();

  constructor(
    private readonly maxWaiting: number,
    private readonly timeoutMs: number,
    private readonly names: readonly [string, string],
  ) {}

  get size(): number {
    return this.waiting.size;
  }

  /**
   * Side `side` of session `id` arrives with `value`; resolves with the other side's value.
   * @throws MpcError E_PROTOCOL for a reused id, E_BUSY when the table is full, E_TIMEOUT.
   */
  arrive(id: string, side: 0 | 1, value: T): Promise<T> {
    const w = this.waiting.get(id);
    if (w !== undefined && w.side !== side) {
      this.waiting.delete(id);
      clearTimeout(w.timer);
      w.resolve(value);
      return Promise.resolve(w.value);
    }
    if (w !== undefined || this.seen.has(id))
      return Promise.reject(
        new MpcError(
          'E_PROTOCOL',
          `session ${shortId(id)}: ${this.names[side]} already arrived (session ids are used once)`,
        ),
      );
    if (this.waiting.size >= this.maxWaiting)
      return Promise.reject(new MpcError('E_BUSY', `${this.waiting.size} sessions are waiting for their other half`));
    this.seen.add(id);
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(
          new MpcError(
            'E_TIMEOUT',
            `session ${shortId(id)}: ${this.names[1 - side]} did not arrive within ${this.timeoutMs} ms`,
          ),
        );
      }, this.timeoutMs);
      timer.unref();
      this.waiting.set(id, { side, value, resolve, reject, timer });
    });
  }

  /** Withdraws a waiting side (its connection failed). */
  cancel(id: string, err: MpcError): void {
    const w = this.waiting.get(id);
    if (!w) return;
    this.waiting.delete(id);
    clearTimeout(w.timer);
    w.reject(err);
  }
}
