/**
 * The delay line at the heart of the relay: bytes read from one socket are written to another
 * a fixed one-way delay later (plus jitter that never reorders them), with backpressure, and the
 * end of stream travels in order behind the data.
 *
 * Timing: Node timers fire on whole milliseconds (libuv's loop clock), too coarse for the LAN
 * preset's 0.25 ms. The Clock therefore sleeps on a timer until SPIN_MS before the earliest due
 * time; the rest it sleeps in Atomics.wait (a futex with a sub-ms timeout, ~0.05–0.1 ms late)
 * up to SPIN_TAIL_MS before, and polls performance.now() for that tail. Polling from setImmediate
 * instead would burn a core whenever data streams through (measured: 70 % of one for the WAN
 * preset at 100 Mbit/s); the price of sleeping is that bytes arriving on other connections during
 * the last ≤ SPIN_MS before a due time are read that much later. Idle, it holds no timer and
 * costs nothing. Measured precision and CPU cost: docs/network.md.
 */
import type { Socket } from 'node:net';

/**
 * How long before a due time the Clock stops using timers. A timer for n ms fires between n − 1
 * and n + 1 ms after it is set (the loop clock counts whole ms), so waking SPIN_MS = 1 ms early
 * is on time except when the process is not scheduled.
 */
export const SPIN_MS = 1;
/** A futex sleep wakes 0.05–0.1 ms late on this machine: it ends this much early, then polls. */
export const SPIN_TAIL_MS = 0.1;

const SLEEPER = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread until performance.now() ≥ at (at most SPIN_MS away). */
function sleepUntil(at: number): void {
  const wait = at - performance.now() - SPIN_TAIL_MS;
  if (wait > 0) Atomics.wait(SLEEPER, 0, 0, wait);
  while (performance.now() < at) {
    /* the last SPIN_TAIL_MS */
  }
}

/** Runs callbacks at `performance.now()` times with sub-millisecond precision. */
export class Clock {
  /** Sorted by time; stable for equal times. Holds one entry per delay line with pending bytes. */
  private readonly queue: { at: number; run: () => void }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private soon = false; // a setImmediate tick is pending

  at(at: number, run: () => void): void {
    let i = this.queue.length;
    while (i > 0 && this.queue[i - 1]!.at > at) i--;
    this.queue.splice(i, 0, { at, run });
    this.arm();
  }

  private readonly tick = (): void => {
    this.soon = false;
    this.timer = undefined;
    this.timerAt = Infinity;
    const head = this.queue[0];
    if (head !== undefined && head.at - performance.now() <= SPIN_MS) sleepUntil(head.at);
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.at <= now) this.queue.shift()!.run();
    this.arm();
  };

  private arm(): void {
    if (this.soon || this.queue.length === 0) return;
    const at = this.queue[0]!.at;
    if (this.timer !== undefined && this.timerAt <= at) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    const wait = at - performance.now();
    if (wait > SPIN_MS) {
      this.timerAt = at;
      this.timer = setTimeout(this.tick, Math.floor(wait - SPIN_MS));
    } else {
      this.soon = true;
      setImmediate(this.tick);
    }
  }
}

export interface LineOptions {
  /** Mean one-way delay. */
  readonly delayMs: number;
  /** Each chunk's delay is delayMs ± up to jitterMs (uniform), clamped so chunks stay in order. */
  readonly jitterMs: number;
  /** Reading pauses while more than this many bytes wait in the line and the writer's buffer. */
  readonly highWaterBytes: number;
  /** Called each time the line pauses its reader (tests watch backpressure with it). */
  readonly onPause?: ((queuedBytes: number) => void) | undefined;
}

/** One direction of a relayed connection: `from`'s bytes reach `to` after the delay. */
export class DelayLine {
  /** Chunks in arrival order; `null` is the end of stream. Due times never decrease. */
  private readonly chunks: { at: number; data: Buffer | null }[] = [];
  private queuedBytes = 0;
  private lastAt = 0;
  private paused = false;
  private stopped = false;

  constructor(
    private readonly clock: Clock,
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly opts: LineOptions,
  ) {
    from.on('data', (d: Buffer) => this.push(d));
    from.on('end', () => this.push(null));
    to.on('drain', () => this.resumeIfRoom());
  }

  /** Drops whatever is pending (the connection was reset). */
  stop(): void {
    this.stopped = true;
    this.chunks.length = 0;
  }

  private push(data: Buffer | null): void {
    if (this.stopped) return;
    const jitter = this.opts.jitterMs > 0 ? (2 * Math.random() - 1) * this.opts.jitterMs : 0;
    const at = Math.max(this.lastAt, performance.now() + Math.max(0, this.opts.delayMs + jitter));
    this.lastAt = at;
    this.chunks.push({ at, data });
    if (data) this.queuedBytes += data.length;
    if (this.chunks.length === 1) this.clock.at(at, this.flush);
    if (!this.paused && this.queuedBytes + this.to.writableLength > this.opts.highWaterBytes) {
      this.paused = true;
      this.from.pause();
      this.opts.onPause?.(this.queuedBytes + this.to.writableLength);
    }
  }

  private readonly flush = (): void => {
    const now = performance.now();
    while (!this.stopped && this.chunks.length > 0 && this.chunks[0]!.at <= now) {
      const { data } = this.chunks.shift()!;
      if (data === null) {
        this.to.end();
        continue;
      }
      this.queuedBytes -= data.length;
      this.to.write(data);
    }
    if (!this.stopped && this.chunks.length > 0) this.clock.at(this.chunks[0]!.at, this.flush);
    this.resumeIfRoom();
  };

  private resumeIfRoom(): void {
    if (!this.paused || this.stopped || this.queuedBytes + this.to.writableLength > this.opts.highWaterBytes / 2)
      return;
    this.paused = false;
    this.from.resume();
  }
}
