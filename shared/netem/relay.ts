/**
 * A delay-line TCP relay: listens on one address, and for every connection it accepts dials a
 * fixed target and copies bytes both ways, each direction through a DelayLine. This is how the
 * emulated networks get their latency on kernels without netem (docs/network.md).
 *
 * Closing: a FIN travels through the line behind the data (half-close is kept, so replies still
 * flow); an error or reset on either side resets the other at once, so a dead process is seen
 * by its peer as promptly as on a real link. A target that refuses the connection resets the
 * accepted one.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { MpcError } from '../util/errors.js';
import { Clock, DelayLine } from './delay-line.js';

/** Default bound on bytes held per direction; above a real WAN's bandwidth-delay product (docs/network.md). */
export const RELAY_HIGH_WATER_BYTES = 4 << 20;

export interface RelayOptions {
  readonly listenHost: string;
  /** 0 (default) picks a free port. */
  readonly listenPort?: number;
  readonly targetHost: string;
  readonly targetPort: number;
  /** One-way delay added in each direction. */
  readonly delayMs: number;
  readonly jitterMs?: number;
  readonly highWaterBytes?: number;
  readonly onPause?: (queuedBytes: number) => void;
}

export interface Relay {
  readonly port: number;
  /** Connections currently open (accepted and not yet closed). */
  connections(): number;
  /** Stops listening and resets every open connection. */
  close(): Promise<void>;
}

function reset(s: Socket): void {
  if (!s.destroyed) s.resetAndDestroy();
}

function relayConnection(a: Socket, opts: RelayOptions, clock: Clock): Socket {
  const b = connect({ host: opts.targetHost, port: opts.targetPort, allowHalfOpen: true, noDelay: true });
  a.setNoDelay(true);
  const line = {
    delayMs: opts.delayMs,
    jitterMs: opts.jitterMs ?? 0,
    highWaterBytes: opts.highWaterBytes ?? RELAY_HIGH_WATER_BYTES,
    onPause: opts.onPause,
  };
  const lines = [new DelayLine(clock, a, b, line), new DelayLine(clock, b, a, line)];
  const kill = (): void => {
    for (const l of lines) l.stop();
    reset(a);
    reset(b);
  };
  a.on('error', kill);
  b.on('error', kill);
  return b;
}

/**
 * Starts a relay in this process; `clock` may be shared by several relays.
 * @throws MpcError E_CONFIG if the listening address cannot be bound.
 */
export async function startRelay(opts: RelayOptions, clock = new Clock()): Promise<Relay> {
  const open = new Set<Socket>();
  const track = (s: Socket): void => {
    open.add(s);
    s.once('close', () => open.delete(s));
  };
  let accepted = 0;
  const server: Server = createServer({ allowHalfOpen: true, noDelay: true }, (a) => {
    accepted++;
    a.once('close', () => accepted--);
    track(a);
    track(relayConnection(a, opts, clock));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e) =>
      reject(
        new MpcError('E_CONFIG', `relay cannot listen on ${opts.listenHost}:${opts.listenPort ?? 0}: ${e.message}`),
      ),
    );
    server.listen(opts.listenPort ?? 0, opts.listenHost, () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    connections: () => accepted,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const s of open) reset(s);
      await closed;
    },
  };
}
