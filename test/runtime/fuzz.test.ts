/**
 * Hostile input (socket suite, slow; issue 14 item 5): at least 10,000 random, truncated,
 * oversized, replayed and out-of-order messages to every listening port of the three server
 * processes (party 0's client port, party 1's client and peer ports, the dealer), sent with valid
 * certificates of an allowed role so that they pass TLS and reach the parsers. Seeds are real
 * frames and control messages (net/frame.ts, net/control.ts, runtime/wire.ts) and the messages a
 * client sent in a captured generation; mutations flip, cut and extend bytes, break magics, part
 * counts and declared lengths, nest msgpack deeply, and send valid messages in the wrong order.
 * Per process: messages sent, crashes (process exits: 0), hangs (a connection that got neither an
 * abort nor a close before the deadline: 0), and a correct generation on the same processes after.
 */
import { WebSocket } from 'ws';
import { Link } from '../../shared/net/link.js';
import {
  encodeControl,
  encodeTensorFrame,
  CONTROL_MAGIC,
  TENSOR_MAGIC,
  type Part,
  type Role,
  type TlsConfig,
} from '../../shared/net/index.js';
import { decodeControlRaw } from '../../shared/net/control.js';
import { clientTlsOf } from '../../shared/runtime/launch.js';
import { z } from 'zod';
import {
  INPUT_FRAME,
  MASKED_FRAME,
  PROGRESS_FRAME,
  jobHash,
  newSessionId,
  type Job,
} from '../../shared/runtime/wire.js';
import { connect } from '../../shared/runtime/client.js';
import { codeOf, health, metricSum, opsCluster, scrape, until, type OpsCluster } from '../util/ops-fixture.js';
import { seeded, type TestRng } from '../util/rng.js';
import type { TinySpec } from '../model/tiny-model.js';

const SPEC: TinySpec = { nLayer: 1, nHead: 2, nEmbd: 8, nPositions: 16, vocab: 13 };
const TIMEOUT_MS = 2000,
  HELLO_MS = 3000,
  MAX_CONNECTIONS = 64,
  MAX_SESSIONS = 48;
const FLAGS = [
  '--timeout-ms',
  String(TIMEOUT_MS),
  '--hello-ms',
  String(HELLO_MS),
  '--max-connections',
  String(MAX_CONNECTIONS),
  '--max-sessions',
  String(MAX_SESSIONS),
  '--max-frame-mb',
  '1',
];
/** A connection must end (abort or close) within this after its last message. */
const DEADLINE_MS = TIMEOUT_MS + HELLO_MS + 4000;
const MESSAGES_PER_PORT = 10_000;
const PARALLEL_PER_PORT = 12;

type Msg = Buffer | string;

interface Target {
  name: string;
  proc: 'dealer' | 'party0' | 'party1';
  url: string;
  /** Certificates the messages are sent with (roles this port serves). */
  as: readonly Role[];
  /** A valid first message (so that the rest of a burst reaches the parsers). */
  first: () => Buffer;
  /** Valid and captured messages this port may see, in or out of order. */
  seeds: Buffer[];
}

interface Tally {
  connections: number;
  messages: number;
  aborts: Map<string, number>;
  closes: number;
  refused: number;
  hangs: number;
  /** The first bursts that hung (message heads in hex), for the failure report. */
  hung: string[];
}

const ctl = (m: unknown): Buffer => encodeControl(m);
const tensor = (type: number, parts: Part[], seq = 0n): Buffer =>
  encodeTensorFrame({ type, seq, tag: 0, check: 0, parts });
const raw = (...bytes: number[]): Buffer => Buffer.concat([ctl(0).subarray(0, 4), Buffer.from(bytes)]);

/** Messages no correct peer sends: msgpack with huge declared lengths, deep nesting, __proto__ keys, bad frame headers. */
function hostile(rng: TestRng): Buffer[] {
  const header = (f: (dv: DataView) => void): Buffer => {
    const b = tensor(INPUT_FRAME, [{ kind: 'u64', data: new BigUint64Array(4) }]);
    f(new DataView(b.buffer, b.byteOffset, b.byteLength));
    return b;
  };
  const protoKey = Buffer.from('__proto__');
  return [
    raw(0xdd, 0xff, 0xff, 0xff, 0xff),
    raw(0xdf, 0xff, 0xff, 0xff, 0xff),
    raw(0xdb, 0xff, 0xff, 0xff, 0xff, 0x41),
    raw(0xc6, 0xff, 0xff, 0xff, 0xff, 0),
    raw(0xc9, 0xff, 0xff, 0xff, 0xff, 0x01),
    raw(0xd6, 0xff, 1, 2, 3, 4),
    raw(0xc7, 3, 0x72, 1, 2, 3),
    raw(0xd4, 0x72, 0x40),
    raw(0xc1),
    raw(),
    Buffer.concat([raw(), Buffer.alloc(100_000, 0x91), Buffer.from([0xc0])]),
    Buffer.concat([
      raw(0x82, 0xa1, 0x74, 0xa3, 0x72, 0x75, 0x6e, 0xa9),
      protoKey,
      Buffer.from([0x81, 0xa1, 0x74, 0xa4, 0x6a, 0x6f, 0x69, 0x6e]),
    ]),
    header((dv) => dv.setUint32(24, 0xffffffff, true)),
    header((dv) => dv.setUint16(6, 0xffff, true)),
    header((dv) => dv.setUint32(36, 0xffffffff, true)),
    header((dv) => dv.setUint32(32, 7, true)),
    header((dv) => {
      dv.setUint16(6, 0, true);
    }),
    header((dv) => dv.setUint32(0, CONTROL_MAGIC, true)),
    tensor(rng.int(0, 65536), [
      { kind: 'bits', data: new Uint8Array(3), count: 17 },
      { kind: 'bytes', data: new Uint8Array(5) },
    ]),
  ];
}

function mutate(rng: TestRng, seed: Buffer): Msg {
  const b = Buffer.from(seed);
  switch (rng.int(0, 9)) {
    case 0: {
      for (let i = rng.int(1, 9); i > 0 && b.length; i--) b[rng.int(0, b.length)] ^= 1 + rng.int(0, 255);
      return b;
    }
    case 1:
      return b.subarray(0, rng.int(0, b.length));
    case 2:
      return Buffer.concat([b, Buffer.from(Array.from({ length: rng.int(1, 64) }, () => rng.int(0, 256)))]);
    case 3: {
      if (b.length >= 4) b.writeUInt32LE([TENSOR_MAGIC, CONTROL_MAGIC, rng.int(0, 2 ** 31)][rng.int(0, 3)]!, 0);
      return b;
    }
    case 4: {
      if (b.length >= 8 && b.readUInt32LE(0) === TENSOR_MAGIC) b.writeUInt16LE(rng.int(0, 9), 6);
      return b;
    }
    case 5: {
      if (b.length >= 40 && b.readUInt32LE(0) === TENSOR_MAGIC)
        b.writeUInt32LE([0xffffffff, 0x20000000, rng.int(0, 2 ** 31)][rng.int(0, 3)]!, [24, 36][rng.int(0, 2)]!);
      return b;
    }
    case 6:
      return Buffer.from(Array.from({ length: rng.int(0, 200) }, () => rng.int(0, 256)));
    case 7:
      return b.toString('latin1'); // a text frame
    default:
      return b.length > 8 ? Buffer.concat([b.subarray(0, rng.int(4, b.length)), b.subarray(rng.int(4, b.length))]) : b;
  }
}

/** One connection: a burst of messages, then the server's answer (abort, close) or a hang. */
async function burst(
  url: string,
  tls: TlsConfig,
  msgs: readonly Msg[],
): Promise<{ outcome: 'abort' | 'close' | 'refused' | 'hang'; code?: string }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, {
      ca: tls.ca,
      cert: tls.cert,
      key: tls.key,
      minVersion: 'TLSv1.3',
      perMessageDeflate: false,
      maxPayload: 1 << 28,
    } as WebSocket.ClientOptions);
    let code: string | undefined, timer: NodeJS.Timeout | undefined;
    const end = (outcome: 'abort' | 'close' | 'refused' | 'hang'): void => {
      clearTimeout(timer);
      ws.removeAllListeners();
      ws.on('error', () => {});
      ws.terminate();
      resolve(code === undefined ? { outcome } : { outcome, code });
    };
    ws.once('unexpected-response', () => end('refused'));
    ws.on('error', () => end(code ? 'abort' : 'close'));
    ws.on('close', () => end(code ? 'abort' : 'close'));
    ws.on('message', (data: Buffer) => {
      if (data.length < 4 || data.readUInt32LE(0) !== CONTROL_MAGIC) return;
      try {
        const m = decodeControlRaw(data) as { t?: string; code?: string };
        if (m.t === 'abort') {
          code = String(m.code);
          end('abort');
        }
      } catch {
        /* not ours to judge */
      }
    });
    ws.once('open', () => {
      for (const m of msgs) ws.send(m, { binary: typeof m !== 'string' });
      timer = setTimeout(() => end('hang'), DEADLINE_MS);
    });
  });
}

async function fuzzPort(t: Target, tlsOf: (r: Role) => TlsConfig, rng: TestRng, pool: Buffer[]): Promise<Tally> {
  const tally: Tally = { connections: 0, messages: 0, aborts: new Map(), closes: 0, refused: 0, hangs: 0, hung: [] };
  const worker = async (): Promise<void> => {
    while (tally.messages < MESSAGES_PER_PORT) {
      const n = rng.int(1, 17);
      const msgs: Msg[] = [];
      if (rng.float() < 0.4) msgs.push(t.first());
      while (msgs.length < n) {
        const r = rng.float();
        const seed = r < 0.45 && t.seeds.length ? t.seeds[rng.int(0, t.seeds.length)]! : pool[rng.int(0, pool.length)]!;
        if (r < 0.002)
          msgs.push(Buffer.alloc((1 << 20) + 64, 7)); // oversized
        else if (r < 0.2)
          msgs.push(seed); // valid, out of order or replayed
        else msgs.push(mutate(rng, seed));
      }
      tally.connections++;
      tally.messages += msgs.length;
      const r = await burst(t.url, tlsOf(t.as[rng.int(0, t.as.length)]!), msgs);
      if (r.outcome === 'abort') tally.aborts.set(r.code!, (tally.aborts.get(r.code!) ?? 0) + 1);
      else if (r.outcome === 'close') tally.closes++;
      else if (r.outcome === 'refused') tally.refused++;
      else if (tally.hangs++ < 3)
        tally.hung.push(
          msgs
            .map(
              (m) =>
                `${typeof m === 'string' ? 'text ' : ''}${Buffer.from(m as string, 'latin1')
                  .subarray(0, 32)
                  .toString('hex')} (${m.length} B)`,
            )
            .join(', '),
        );
    }
  };
  await Promise.all(Array.from({ length: PARALLEL_PER_PORT }, worker));
  return tally;
}

/** The encoded messages a client sends in one generation (party index, bytes). */
async function captureGeneration(
  o: OpsCluster,
  prompt: number[],
): Promise<{ sent: Array<[number, Buffer]>; tokens: number[] }> {
  const sent: Array<[number, Buffer]> = [];
  const proto = Link.prototype as unknown as {
    sendControl(m: unknown): void;
    sendTensor(f: Parameters<Link['sendTensor']>[0], s?: string): number;
  };
  const [sc, st] = [proto.sendControl, proto.sendTensor];
  const party = (l: Link): number => (l.opts.remote === 'party 0' ? 0 : 1);
  proto.sendControl = function (this: Link, m) {
    sent.push([party(this), encodeControl(m)]);
    sc.call(this, m);
  };
  proto.sendTensor = function (this: Link, f, s) {
    sent.push([party(this), encodeTensorFrame(f)]);
    return st.call(this, f, s);
  };
  try {
    return { sent, tokens: (await o.generate(prompt, 3)).tokens };
  } finally {
    [proto.sendControl, proto.sendTensor] = [sc, st];
  }
}

/** What the fuzz sends: seeds (valid messages of every kind, hostile ones, the captured session's) and the four ports. */
function fuzzPlan(
  o: OpsCluster,
  rng: TestRng,
  sent: ReadonlyArray<[number, Buffer]>,
): { pool: Buffer[]; targets: Target[]; genJob: Job } {
  const { c, tiny } = o;
  const genJob: Job = { kind: 'generate', params: { shareId: tiny.cfg.shareId, promptLen: 3, maxNewTokens: 2 } };
  const opJob: Job = { kind: 'op', op: 'mul', params: { n: 4 } };
  const loadJob: Job = { kind: 'load', shareId: tiny.cfg.shareId, model: {} };
  const captured = sent.map(([, b]) => b);
  // the captured session's id (in the client's join to party 1): replayed to every port, it is refused as used
  const controls = sent
    .filter(([, b]) => b.readUInt32LE(0) === CONTROL_MAGIC)
    .map(([, b]) => decodeControlRaw(b) as { t?: string; session?: string });
  const session = controls.find((m) => m.t === 'join')!.session!;
  const seed16 = new Uint8Array(16);
  const ring = (n: number): Part => ({ kind: 'u64', data: rng.ring(n) });
  // valid messages of every kind (each port gets all of them: most are out of order there)
  const pool = [
    ...captured,
    ...hostile(rng),
    ctl({ t: 'run', job: genJob }),
    ctl({ t: 'run', job: opJob }),
    ctl({ t: 'run', job: loadJob }),
    ctl({ t: 'join', session, job: genJob }),
    ctl({ t: 'session', session }),
    ctl({ t: 'peer', session, jobHash: jobHash(genJob) }),
    ctl({ t: 'peer', session, jobHash: jobHash(loadJob), load: true }),
    ctl({ t: 'peer-ok', session }),
    ctl({ t: 'open', session, job: opJob }),
    ctl({ t: 'seed', session, seed: seed16, common: seed16 }),
    ctl({ t: 'credit', session, seq: 0, bytes: 1e12 }),
    ctl({ t: 'abort', code: 'E_INTERNAL', message: 'fuzz' }),
    ctl({ t: 'abort', code: 'E_NOPE', message: 'x'.repeat(3000) }),
    ctl({ t: 'result', session, outputs: [], report: { links: {}, phases: {}, labels: {} }, ms: 1 }),
    ctl({ t: 'x' }),
    ctl(null),
    ctl([1, 2, 3]),
    tensor(INPUT_FRAME, [ring(4), ring(4)]),
    tensor(MASKED_FRAME, [ring(3 * SPEC.vocab)]),
    tensor(MASKED_FRAME, [], 0n),
    tensor(1, [ring(8)], 3n),
    tensor(2, [ring(16)]),
    tensor(PROGRESS_FRAME, []),
    tensor(MASKED_FRAME, [ring(SPEC.vocab)], 1n),
  ];
  const fresh = (f: (s: string) => unknown) => () => ctl(f(newSessionId()));
  const targets: Target[] = [
    {
      name: "party 0's client port",
      proc: 'party0',
      url: c.clientUrls[0],
      as: ['client'],
      seeds: sent.filter(([p]) => p === 0).map(([, b]) => b),
      // a real session each: rare, so the fuzz does not turn into a load test
      first: () =>
        rng.float() < 0.1
          ? ctl({ t: 'run', job: rng.float() < 0.5 ? genJob : opJob })
          : ctl({ t: 'run', job: { kind: 'op', op: 'nope', params: {} } }),
    },
    {
      name: "party 1's client port",
      proc: 'party1',
      url: c.clientUrls[1],
      as: ['client'],
      seeds: sent.filter(([p]) => p === 1).map(([, b]) => b),
      first: fresh((s) => ({ t: 'join', session: s, job: genJob })),
    },
    {
      name: "party 1's peer port",
      proc: 'party1',
      url: `wss://127.0.0.1:${String(c.party1.ready['peerPort'])}`,
      as: ['party0'],
      seeds: [],
      first: fresh((s) => ({ t: 'peer', session: s, jobHash: jobHash(genJob) })),
    },
    {
      name: 'the dealer',
      proc: 'dealer',
      url: `wss://127.0.0.1:${String(c.dealer.ready['port'])}`,
      as: ['party0', 'party1'],
      seeds: [],
      first: fresh((s) => ({ t: 'open', session: s, job: opJob })),
    },
  ];
  return { pool, targets, genJob };
}

describe('hostile input to every listening port (socket suite, slow)', () => {
  const rng = seeded();
  let o: OpsCluster;
  beforeAll(async () => {
    o = await opsCluster(SPEC, rng, FLAGS);
  }, 60000);
  afterAll(async () => {
    await o?.close();
  });

  test(`≥ ${MESSAGES_PER_PORT} messages per port: no crash, no hang, a correct generation after (seed ${rng.seed})`, async () => {
    const { c } = o;
    const prompt = [3, 1, 4, 1, 5];
    const before = await captureGeneration(o, prompt);
    const tlsOf = (r: Role) => clientTlsOf(c.deployment, r);
    const { pool, targets, genJob } = fuzzPlan(o, rng, before.sent);
    const crashes = { dealer: 0, party0: 0, party1: 0 };
    for (const p of [c.dealer, c.party0, c.party1])
      void p.exited.then(() => {
        crashes[p.name as keyof typeof crashes]++;
      });
    const t0 = performance.now();
    const tallies = await Promise.all(targets.map((t) => fuzzPort(t, tlsOf, rng, pool)));
    const fuzzS = (performance.now() - t0) / 1000;

    // caps: a full connection table and a full session table are refused cleanly (once the fuzz's have emptied)
    await until('the fuzz connections and half-sessions to end', async () => {
      const [h0, h1] = await Promise.all([health(c.party0.ready), health(c.party1.ready)]);
      return h0.connections['client'] === 0 && h1.connections['client'] === 0 && h1.sessions.waiting === 0
        ? true
        : undefined;
    });
    const idle = await Promise.all(
      Array.from({ length: MAX_CONNECTIONS }, () => connect(c.clientUrls[0], 'party 0', 'party0', o.opts)),
    );
    expect(await codeOf(connect(c.clientUrls[0], 'party 0', 'party0', o.opts))).toBe('E_BUSY');
    for (const l of idle) l.close();
    const joins = await Promise.all(
      Array.from({ length: MAX_SESSIONS + 1 }, () => connect(c.clientUrls[1], 'party 1', 'party1', o.opts)),
    );
    joins.forEach((l) => l.sendControl({ t: 'join', session: newSessionId(), job: genJob }));
    const codes = await Promise.all(joins.map((l) => codeOf(l.nextControl(z.unknown(), 'reply', 20000))));
    expect(codes.filter((x) => x === 'E_BUSY').length).toBe(1);
    expect(codes.filter((x) => x === 'E_TIMEOUT').length).toBe(MAX_SESSIONS);

    // the same processes serve a correct generation afterwards (party 0 may be reloading the model)
    await until('party 0 has the model loaded', async () =>
      (await health(c.party0.ready)).model.loaded ? true : undefined,
    );
    const after = await o.generate(prompt, 3);
    expect(after.tokens).toEqual(before.tokens);

    const refused = await Promise.all(
      [c.party0, c.party1, c.dealer].map(async (p) =>
        metricSum(await scrape(p.ready, '/metrics'), 'mpc_refused_total'),
      ),
    );
    const rows = targets.map((t, i) => {
      const x = tallies[i]!;
      const aborts = [...x.aborts.entries()]
        .sort((a, b) => b[1] - a[1])
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
      return `| ${t.name} | ${x.connections} | ${x.messages} | ${aborts} | ${x.closes} | ${x.refused} | ${x.hangs} | ${crashes[t.proc]} | ${after.tokens.length === 3 ? 'ok' : 'FAILED'} |`;
    });
    console.log(
      [
        `fuzz: ${fuzzS.toFixed(1)} s, seed ${rng.seed}; refusals counted by the servers (mpc_refused_total): party 0 ${refused[0]}, party 1 ${refused[1]}, dealer ${refused[2]}`,
        '| port | connections | messages | aborts by code | closed without abort | refused at upgrade | hangs | crashes | generation after |',
        '|---|---|---|---|---|---|---|---|---|',
        ...rows,
        ...tallies.flatMap((x, i) => x.hung.map((h) => `hung at ${targets[i]!.name}: ${h}`)),
      ].join('\n'),
    );
    for (const [i, t] of targets.entries()) {
      expect({ port: t.name, messages: tallies[i]!.messages >= MESSAGES_PER_PORT, hangs: tallies[i]!.hangs }).toEqual({
        port: t.name,
        messages: true,
        hangs: 0,
      });
    }
    expect(crashes).toEqual({ dealer: 0, party0: 0, party1: 0 });
  }, 180000);

  test('presence links carry nothing, and one that ends (an impostor of party 0, or its predecessor) makes party 0 reload', async () => {
    const { c } = o;
    const tlsOf = (r: Role) => clientTlsOf(c.deployment, r);
    const urls = [
      `wss://127.0.0.1:${String(c.party1.ready['peerPort'])}`,
      `wss://127.0.0.1:${String(c.dealer.ready['port'])}`,
    ];
    for (const url of urls)
      expect(await burst(url, tlsOf('party0'), [ctl({ t: 'presence' }), ctl({ t: 'presence' })])).toEqual({
        outcome: 'abort',
        code: 'E_FRAME',
      });
    expect(await burst(urls[1]!, tlsOf('party1'), [ctl({ t: 'presence' })])).toEqual({
      outcome: 'abort',
      code: 'E_PROTOCOL',
    });
    // a second presence at the dealer that opens and closes: the dealer drops the model loads and party 0 loads again
    const loaded = async (after = 0) => {
      const h = await health(c.dealer.ready);
      return h.model.loaded && Date.parse(h.model.since!) > after ? Date.parse(h.model.since!) : undefined;
    };
    const before = await until('the dealer to hold a model load', () => loaded());
    const t = tlsOf('party0');
    const ws = new WebSocket(urls[1]!, {
      ca: t.ca,
      cert: t.cert,
      key: t.key,
      minVersion: 'TLSv1.3',
    } as WebSocket.ClientOptions);
    await new Promise((r) => ws.once('open', r));
    ws.send(ctl({ t: 'presence' }));
    ws.close();
    await until('the dealer to hold a new model load', () => loaded(before));
    expect((await o.generate([1, 2, 3], 2)).tokens.length).toBe(2);
  }, 60000);
});
