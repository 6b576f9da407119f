/**
 * A link to one other process (peer party, dealer or client) over a message transport.
 *
 * Incoming messages are sorted into a tensor queue and a control queue; readers await the next
 * message with a deadline. The first failure (malformed frame, oversized message, closed socket,
 * remote abort) poisons the link: every pending and future read rejects with that coded error,
 * so a protocol blocked on a round fails instead of hanging.
 */
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { MpcError, toMpcError, isErrorCode, type ErrorCode } from '../util/errors.js';
import { CONTROL_MAGIC, TENSOR_MAGIC, decodeTensorFrame, encodeTensorFrame, type TensorFrame } from './frame.js';
import { decodeControlRaw, encodeControl, parseControl } from './control.js';
import type { Attribution, LinkName, Meter } from './meter.js';

/** The least a link needs from a socket. */
export interface Transport {
  send(data: Buffer): void;
  close(code: number, reason: string): void;
  /** Bytes queued but not yet written (for backpressure). */
  bufferedAmount(): number;
  onMessage(cb: (data: Uint8Array) => void): void;
  onClose(cb: (code: number, reason: string) => void): void;
}

export interface LinkOptions {
  name: LinkName;
  /** Human-readable description of the other end, used in error messages. */
  remote: string;
  meter?: Meter;
  maxFrameBytes: number;
  timeoutMs: number;
}

const AbortMsg = z.object({ t: z.literal('abort'), code: z.string(), message: z.string().max(2000) });

type Waiter<T> = { resolve: (v: T) => void; reject: (e: MpcError) => void; timer: NodeJS.Timeout | undefined };

export class Link {
  private readonly tensors: TensorFrame[] = [];
  private readonly controls: unknown[] = [];
  private tensorWaiters: Waiter<TensorFrame>[] = [];
  private controlWaiters: Waiter<unknown>[] = [];
  /** Set while a reader requires the next message to be a control message (a session's first). */
  private strictControl = false;
  private failure: MpcError | undefined;
  /** True when the other end closed the connection normally (code 1000) without an abort. */
  closedNormally = false;
  private readonly closeHandlers: Array<(e: MpcError) => void> = [];
  readonly opts: LinkOptions;

  constructor(
    private readonly transport: Transport,
    opts: LinkOptions,
  ) {
    this.opts = opts;
    transport.onMessage((data) => this.onMessage(data));
    transport.onClose((code, reason) => {
      if (code === 1000 && !this.failure) this.closedNormally = true;
      this.fail(
        new MpcError('E_PEER_CLOSED', `${opts.remote} closed the connection (${code}${reason ? ': ' + reason : ''})`),
      );
    });
  }

  get failed(): MpcError | undefined {
    return this.failure;
  }

  /** Registers a callback for the first failure of this link. */
  onFailure(cb: (e: MpcError) => void): void {
    if (this.failure) cb(this.failure);
    else this.closeHandlers.push(cb);
  }

  private onMessage(data: Uint8Array): void {
    if (this.failure) return;
    try {
      if (data.byteLength > this.opts.maxFrameBytes) {
        throw new MpcError(
          'E_FRAME_TOO_LARGE',
          `message of ${data.byteLength} bytes from ${this.opts.remote} exceeds ${this.opts.maxFrameBytes}`,
        );
      }
      if (data.byteLength < 4)
        throw new MpcError('E_FRAME', `message of ${data.byteLength} bytes from ${this.opts.remote}`);
      const magic = new DataView(data.buffer, data.byteOffset, 4).getUint32(0, true);
      if (magic === TENSOR_MAGIC) {
        const f = decodeTensorFrame(data, this.opts.maxFrameBytes);
        this.opts.meter?.record(this.opts.name, 'recv', data.byteLength);
        if (this.strictControl)
          throw new MpcError(
            'E_PROTOCOL',
            `${this.opts.remote} sent a tensor frame where a control message was required`,
          );
        const w = this.tensorWaiters.shift();
        if (w) {
          if (w.timer) clearTimeout(w.timer);
          w.resolve(f);
        } else this.tensors.push(f);
      } else if (magic === CONTROL_MAGIC) {
        const msg = decodeControlRaw(data);
        this.opts.meter?.record(this.opts.name, 'recv', data.byteLength);
        const abort = AbortMsg.safeParse(msg);
        if (abort.success) {
          const code: ErrorCode = isErrorCode(abort.data.code) ? abort.data.code : 'E_ABORTED';
          // close our end too: a peer that aborts and keeps the socket open must not hold it (and a connection slot)
          this.fail(
            new MpcError(code, `${this.opts.remote} aborted: ${abort.data.message.replace(/^E_[A-Z_]+: /, '')}`),
          );
          return;
        }
        this.strictControl = false; // a control message arrived: the strict reader is satisfied
        const w = this.controlWaiters.shift();
        if (w) {
          if (w.timer) clearTimeout(w.timer);
          w.resolve(msg);
        } else this.controls.push(msg);
      } else {
        throw new MpcError('E_FRAME', `message from ${this.opts.remote} has unknown magic 0x${magic.toString(16)}`);
      }
    } catch (e) {
      this.abort(toMpcError(e, 'E_FRAME'));
    }
  }

  private fail(err: MpcError, closeTransport = true): void {
    if (this.failure) return;
    this.failure = err;
    for (const w of this.tensorWaiters) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(err);
    }
    for (const w of this.controlWaiters) {
      if (w.timer) clearTimeout(w.timer);
      w.reject(err);
    }
    this.tensorWaiters = [];
    this.controlWaiters = [];
    for (const h of this.closeHandlers.splice(0)) h(err);
    if (closeTransport) {
      try {
        this.transport.close(1000, err.code);
      } catch {
        /* already closed */
      }
    }
  }

  /** Tells the other end why we stop (best effort), then closes. Idempotent. */
  abort(err: MpcError): void {
    if (this.failure) return;
    try {
      this.transport.send(encodeControl({ t: 'abort', code: err.code, message: err.message.slice(0, 1900) }));
    } catch {
      /* socket may be gone */
    }
    this.fail(err);
  }

  /** Closes normally (no error for the other side beyond E_PEER_CLOSED on its next read). */
  close(reason = 'done'): void {
    if (this.failure) return;
    this.fail(new MpcError('E_PEER_CLOSED', `link to ${this.opts.remote} closed locally (${reason})`));
  }

  private wait<T>(queue: T[], waiters: Waiter<T>[], what: string, timeoutMs: number): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (queue.length) return Promise.resolve(queue.shift() as T);
    return new Promise<T>((resolve, reject) => {
      const w: Waiter<T> = { resolve, reject, timer: undefined };
      if (timeoutMs > 0) {
        w.timer = setTimeout(() => {
          const err = new MpcError(
            'E_TIMEOUT',
            `waiting for ${what} from ${this.opts.remote}: no answer within ${timeoutMs} ms`,
          );
          this.abort(err);
        }, timeoutMs);
        w.timer.unref();
      }
      waiters.push(w);
    });
  }

  nextTensor(what: string, timeoutMs = this.opts.timeoutMs): Promise<TensorFrame> {
    return this.wait(this.tensors, this.tensorWaiters, what, timeoutMs);
  }

  /**
   * The next control message, validated. With `strict`, a tensor frame arriving first (or already
   * queued) is a protocol error instead of waiting behind it.
   */
  async nextControl<T>(
    schema: z.ZodType<T>,
    what: string,
    timeoutMs = this.opts.timeoutMs,
    strict = false,
  ): Promise<T> {
    if (strict && this.tensors.length) {
      const err = new MpcError(
        'E_PROTOCOL',
        `${this.opts.remote} sent a tensor frame where a control message was required`,
      );
      this.abort(err);
      throw err;
    }
    this.strictControl = strict && this.controls.length === 0;
    const raw = await this.wait(this.controls, this.controlWaiters, what, timeoutMs);
    try {
      return parseControl(schema, raw, `${what} from ${this.opts.remote}`);
    } catch (e) {
      const err = toMpcError(e, 'E_FRAME');
      this.abort(err);
      throw err;
    }
  }

  sendTensor(f: TensorFrame, step?: Attribution): number {
    if (this.failure) throw this.failure;
    const buf = encodeTensorFrame(f);
    this.transport.send(buf);
    this.opts.meter?.record(this.opts.name, 'sent', buf.byteLength, step);
    return buf.byteLength;
  }

  sendControl(msg: unknown): void {
    if (this.failure) throw this.failure;
    const buf = encodeControl(msg);
    this.transport.send(buf);
    this.opts.meter?.record(this.opts.name, 'sent', buf.byteLength);
  }

  bufferedAmount(): number {
    return this.transport.bufferedAmount();
  }
}

/** Adapts a `ws` socket (either end) to a Transport. */
export function wsTransport(ws: WebSocket): Transport {
  return {
    send: (d) => ws.send(d, { binary: true }),
    close: (code, reason) => ws.close(code, reason),
    bufferedAmount: () => ws.bufferedAmount,
    onMessage: (cb) =>
      ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
        if (!isBinary) {
          cb(new Uint8Array(0));
          return;
        } // text frames are rejected as malformed
        const buf = Array.isArray(data)
          ? Buffer.concat(data)
          : data instanceof ArrayBuffer
            ? new Uint8Array(data)
            : data;
        cb(buf);
      }),
    onClose: (cb) => {
      ws.on('close', (code: number, reason: Buffer) => cb(code, reason.toString()));
      ws.on('error', (err: Error) => cb(1006, err.message));
    },
  };
}

/** Two connected in-memory transports (messages delivered asynchronously, in order). */
export function memoryPair(): [Transport, Transport] {
  interface End {
    onMsg: (d: Uint8Array) => void;
    onClose: (c: number, r: string) => void;
    closed: boolean;
    other: End;
  }
  const make = (): End => {
    const st = { onMsg: () => {}, onClose: () => {}, closed: false } as unknown as End;
    return st;
  };
  const a = make(),
    b = make();
  a.other = b;
  b.other = a;
  const wrap = (s: End): Transport => ({
    send: (d) => {
      if (s.closed) return;
      const copy = new Uint8Array(d.byteLength);
      copy.set(d);
      setImmediate(() => {
        if (!s.other.closed) s.other.onMsg(copy);
      });
    },
    close: (code, reason) => {
      if (s.closed) return;
      s.closed = true;
      setImmediate(() => {
        s.onClose(code, reason);
        if (!s.other.closed) {
          s.other.closed = true;
          s.other.onClose(code, reason);
        }
      });
    },
    bufferedAmount: () => 0,
    onMessage: (cb) => {
      s.onMsg = cb;
    },
    onClose: (cb) => {
      s.onClose = cb;
    },
  });
  return [wrap(a), wrap(b)];
}
