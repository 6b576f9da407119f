/**
 * Measuring a link with plain TCP: a probe server (echo or sink, chosen by the first byte a
 * connection sends) and a client that measures round-trip time by ping-pong of small messages
 * and throughput by a bulk transfer, timed at the receiving end so the RTT does not count.
 */
import { createServer, connect, type Socket } from 'node:net';
import { z } from 'zod';
import { MpcError } from '../util/errors.js';

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

const ECHO = 0x65; // 'e'
const SINK = 0x73; // 's'

const SinkReport = z.object({ bytes: z.number(), ms: z.number() });
export type SinkReport = z.infer<typeof SinkReport>;

export interface ProbeResult {
  /** Round trips of `pingBytes`-byte messages, in ms, in the order measured. */
  readonly rttMs: number[];
  readonly medianRttMs: number;
  /** Payload bytes per second × 8 over the bulk transfer, as the receiver saw it. */
  readonly bitsPerS: number;
  readonly bulkBytes: number;
}

function serveConnection(s: Socket): void {
  s.setNoDelay(true);
  s.on('error', () => s.destroy());
  s.once('data', (first: Buffer) => {
    if (first[0] === ECHO) {
      if (first.length > 1) s.write(first.subarray(1));
      s.on('data', (d: Buffer) => s.write(d));
      s.on('end', () => s.end());
      return;
    }
    // sink: time from the first chunk to the end, over the bytes after the first chunk
    const t0 = performance.now();
    let bytes = 0;
    let last = t0;
    s.on('data', (d: Buffer) => {
      bytes += d.length;
      last = performance.now();
    });
    s.on('end', () => s.end(JSON.stringify({ bytes, ms: last - t0 } satisfies SinkReport)));
  });
}

/** Starts a probe server on host:port (0 = a free port). */
export async function serveProbe(host: string, port = 0): Promise<{ port: number; close(): Promise<void> }> {
  const open = new Set<Socket>();
  const server = createServer((s) => {
    open.add(s);
    s.once('close', () => open.delete(s));
    serveConnection(s);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return {
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const s of open) s.destroy();
      }),
  };
}

function dial(ep: Endpoint, mode: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: ep.host, port: ep.port, noDelay: true }, () => {
      s.write(Buffer.of(mode));
      resolve(s);
    });
    s.once('error', (e) =>
      reject(new MpcError('E_PEER_CLOSED', `probe cannot reach ${ep.host}:${ep.port}: ${e.message}`)),
    );
  });
}

/** `count` round trips of `bytes`-byte messages; each waits for the whole echo. */
export async function pingPong(ep: Endpoint, count: number, bytes = 64): Promise<number[]> {
  const s = await dial(ep, ECHO);
  const rtts: number[] = [];
  const msg = Buffer.alloc(bytes, 0x5a);
  await new Promise<void>((resolve, reject) => {
    let got = 0;
    let t0 = 0;
    const send = (): void => {
      got = 0;
      t0 = performance.now();
      s.write(msg);
    };
    s.on('data', (d: Buffer) => {
      got += d.length;
      if (got < bytes) return;
      rtts.push(performance.now() - t0);
      if (rtts.length < count) send();
      else resolve();
    });
    s.once('close', () =>
      reject(new MpcError('E_PEER_CLOSED', `probe echo closed after ${rtts.length} of ${count} round trips`)),
    );
    send();
  });
  s.destroy();
  return rtts;
}

/** Sends `totalBytes` to a sink and returns what the sink measured. */
export async function bulkSend(ep: Endpoint, totalBytes: number): Promise<SinkReport> {
  const s = await dial(ep, SINK);
  const chunk = Buffer.alloc(1 << 16, 0xa5);
  const reply: Buffer[] = [];
  s.on('data', (d: Buffer) => reply.push(d));
  const ended = new Promise<void>((resolve, reject) => {
    s.once('end', resolve);
    s.once('error', (e) => reject(new MpcError('E_PEER_CLOSED', `probe sink: ${e.message}`)));
  });
  for (let sent = 0; sent < totalBytes; sent += chunk.length) {
    if (!s.write(sent + chunk.length <= totalBytes ? chunk : chunk.subarray(0, totalBytes - sent))) {
      await new Promise((resolve) => s.once('drain', resolve));
    }
  }
  s.end();
  await ended;
  return SinkReport.parse(JSON.parse(Buffer.concat(reply).toString()));
}

/** The value at fraction `p` (0…1) of the sorted values (nearest rank below). */
export function quantile(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(p * (s.length - 1))]!;
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

/** Ping-pong then bulk transfer to a probe server at `ep`; `bulkBytes` 0 skips the bulk (bitsPerS 0). */
export async function probeEndpoint(
  ep: Endpoint,
  opts: { pings: number; bulkBytes: number; pingBytes?: number },
): Promise<ProbeResult> {
  const rttMs = await pingPong(ep, opts.pings, opts.pingBytes);
  const sink = opts.bulkBytes > 0 ? await bulkSend(ep, opts.bulkBytes) : { bytes: 0, ms: 0 };
  return {
    rttMs,
    medianRttMs: median(rttMs),
    bitsPerS: sink.ms > 0 ? (sink.bytes * 8) / (sink.ms / 1000) : 0,
    bulkBytes: sink.bytes,
  };
}
