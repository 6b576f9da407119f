/**
 * Socket suite: the delay-line relay on loopback, in this process. Delay measured against the
 * configured value, bytes intact and in order under jitter, backpressure from a slow reader,
 * and close or reset propagating both ways.
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { startRelay, type Relay, type RelayOptions } from '../../shared/netem/relay.js';
import { median, pingPong, serveProbe } from '../../shared/netem/probe.js';

const HOST = '127.0.0.1';

async function listen(onConn: (s: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, onConn);
  await new Promise<void>((resolve) => server.listen(0, HOST, () => resolve()));
  return { server, port: (server.address() as { port: number }).port };
}

function dial(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: HOST, port, allowHalfOpen: true }, () => resolve(s));
    s.once('error', reject);
  });
}

/** Resolves with everything `s` receives once it ends or closes. */
function readAll(s: Socket): Promise<Buffer> {
  const parts: Buffer[] = [];
  s.on('data', (d: Buffer) => parts.push(d));
  return new Promise((resolve) => s.once('close', () => resolve(Buffer.concat(parts))));
}

const closed = (s: Socket): Promise<void> =>
  new Promise((resolve) => {
    s.on('error', () => undefined);
    s.once('close', () => resolve());
  });

describe('netem relay on loopback (socket suite)', () => {
  const relays: Relay[] = [];
  const servers: { close(): unknown }[] = [];
  const relay = async (opts: Omit<RelayOptions, 'listenHost' | 'targetHost'>): Promise<Relay> => {
    const r = await startRelay({ listenHost: HOST, targetHost: HOST, ...opts });
    relays.push(r);
    return r;
  };
  afterEach(async () => {
    await Promise.all(relays.splice(0).map((r) => r.close()));
    for (const s of servers.splice(0)) s.close();
  });

  test.each([
    [10, 0.1],
    [0.25, 0.3],
  ])('one-way delay %p ms: median RTT ≈ twice that (±%p ms plus 20 %)', async (delayMs, slackMs) => {
    const probe = await serveProbe(HOST);
    servers.push(probe);
    const direct = median(await pingPong({ host: HOST, port: probe.port }, 50));
    const r = await relay({ targetPort: probe.port, delayMs });
    const rtt = median(await pingPong({ host: HOST, port: r.port }, delayMs >= 1 ? 30 : 200));
    console.log(
      `relay delay ${delayMs} ms each way: median RTT ${rtt.toFixed(3)} ms (direct loopback ${direct.toFixed(3)} ms)`,
    );
    expect(rtt).toBeGreaterThanOrEqual(2 * delayMs);
    expect(rtt).toBeLessThanOrEqual(2 * delayMs * 1.2 + slackMs + direct);
  });

  test('bytes arrive intact and in order under jitter (5 ± 5 ms each way), through an echo', async () => {
    const echo = await listen((s) => {
      s.pipe(s);
    });
    servers.push(echo.server);
    const r = await relay({ targetPort: echo.port, delayMs: 5, jitterMs: 5 });
    const sent = randomBytes(3 << 20);
    const s = await dial(r.port);
    const got = readAll(s);
    // many small writes spread over event-loop turns, so the relay sees many chunks to jitter
    for (let off = 0; off < sent.length; off += 1500) {
      if (!s.write(sent.subarray(off, off + 1500))) await new Promise((resolve) => s.once('drain', resolve));
      if (off % 30000 === 0) await new Promise((resolve) => setImmediate(resolve));
    }
    s.end();
    const back = await got;
    expect(back.length).toBe(sent.length);
    expect(back.equals(sent)).toBe(true);
  });

  test('slow reader: the relay pauses its reader at the high-water mark and loses nothing', async () => {
    const highWaterBytes = 256 << 10;
    let reader!: Socket;
    const sink = await listen((s) => {
      reader = s;
      s.pause();
    });
    servers.push(sink.server);
    const pauses: number[] = [];
    let firstPause!: () => void;
    const paused = new Promise<void>((resolve) => {
      firstPause = resolve;
    });
    const r = await relay({
      targetPort: sink.port,
      delayMs: 1,
      highWaterBytes,
      onPause: (q) => {
        pauses.push(q);
        firstPause();
      },
    });
    const total = 48 << 20;
    const s = await dial(r.port);
    const sending = (async () => {
      const chunk = Buffer.alloc(1 << 16, 7);
      for (let sent = 0; sent < total; sent += chunk.length) {
        if (!s.write(chunk)) await new Promise((resolve) => s.once('drain', resolve));
      }
      s.end();
    })();
    await paused;
    let received = 0;
    const done = new Promise<void>((resolve) => {
      reader.on('data', (d: Buffer) => {
        received += d.length;
      });
      reader.once('end', resolve);
    });
    reader.resume();
    await Promise.all([sending, done]);
    expect(received).toBe(total);
    // a line holds at most the high-water mark plus one socket read (64 KiB)
    expect(Math.max(...pauses)).toBeLessThanOrEqual(highWaterBytes + (64 << 10));
    reader.end();
  });

  test('close and reset propagate both ways; a refused target resets the client', async () => {
    let server!: Socket;
    let accepted!: () => void;
    const target = await listen((s) => {
      server = s;
      accepted();
    });
    servers.push(target.server);
    const r = await relay({ targetPort: target.port, delayMs: 2 });
    const connectOnce = async (): Promise<Socket> => {
      const ready = new Promise<void>((resolve) => {
        accepted = resolve;
      });
      const c = await dial(r.port);
      await ready;
      return c;
    };

    // server half-closes: the client sees the end after the server's last bytes, and can still answer
    let c = await connectOnce();
    const fromServer = readAll(c);
    const fromClient = readAll(server);
    server.end('bye');
    c.on('end', () => c.end('ok'));
    expect((await fromServer).toString()).toBe('bye');
    expect((await fromClient).toString()).toBe('ok');

    // client resets: the server's socket closes
    c = await connectOnce();
    let gone = closed(server);
    c.resetAndDestroy();
    await gone;

    // server resets: the client's socket closes
    c = await connectOnce();
    gone = closed(c);
    server.resetAndDestroy();
    await gone;

    // nothing listens behind the relay
    const dead = await relay({ targetPort: target.port, delayMs: 2 });
    await new Promise<void>((resolve) => target.server.close(() => resolve()));
    c = await dial(dead.port);
    await closed(c);
    expect(r.connections()).toBe(0);
  });
});
