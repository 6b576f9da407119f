/**
 * Issue 14's findings, one test each (socket suite, services in this process over TLS): every
 * listener checks the role of the certificate before reading a message; the dealer deals a
 * session's seeds to one party 0 and one party 1 only; session ids are made by party 0, used once
 * and cannot name the model's scope; a client gets logits and benchmark modes only where the
 * operators allow them; a client's input must be one token per row; listeners bound message sizes,
 * connections and waiting sessions.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { Link, wsTransport, dialWs, loadTls, type Role, type TlsConfig } from '../../shared/net/index.js';
import { DEFAULT_LIMITS } from '../../shared/net/limits.js';
import { MpcError } from '../../shared/util/index.js';
import { issueCert, makeCa } from '../../shared/runtime/deployment.js';
import { connect, openSession } from '../../shared/runtime/client.js';
import { runGeneration } from '../../shared/runtime/gen-client.js';
import {
  MASK_FRAME,
  MASKED_FRAME,
  SessionId,
  SessionMsg,
  modelScope,
  newSessionId,
  sessionScope,
} from '../../shared/runtime/wire.js';
import { SIMPLE_NL } from '../util/simple-nonlinear.js';
import { TINY } from '../model/tiny-model.js';
import { startParties, writeTinyShares, type InProcessParties } from '../util/party-fixture.js';
import { seeded } from '../util/rng.js';

const LIMITS = { ...DEFAULT_LIMITS, timeoutMs: 6000, helloMs: 3000, maxConnections: 6, maxSessions: 3 };

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return e instanceof MpcError ? e.code : String(e);
  }
}

describe('identities, sessions and client powers (socket suite, services in process)', () => {
  const rng = seeded();
  const tiny = writeTinyShares('mpc-id-', TINY, rng);
  let P: InProcessParties;
  let tlsOf: (role: Role) => TlsConfig;
  const req = (extra: object = {}) => ({ shareId: tiny.cfg.shareId, promptLen: 3, maxNewTokens: 2, ...extra });

  beforeAll(async () => {
    P = await startParties(tiny.sharesDir, { nl: SIMPLE_NL, limits: LIMITS });
    const d = P.deployment;
    tlsOf = (role) => loadTls({ ca: d.ca, cert: d.roles[role].cert, key: d.roles[role].key }, role);
  });
  afterAll(async () => {
    await P.close();
    tiny.remove();
  });

  const dial = (url: string, as: Role, expect: Role) =>
    dialWs(url, 'server', { timeoutMs: 5000, maxFrameBytes: 1 << 20, tls: tlsOf(as), expect });

  test('the seed leak: a client certificate cannot open a dealer session in either role', async () => {
    expect(await codeOf(dial(P.dealerUrl, 'client', 'dealer'))).toBe('E_AUTH');
    // the dealer, party 1 and party 0 keep serving
    expect((await runGeneration(P.urls, req(), [1, 2, 3], TINY.vocab, P.opts)).tokens.length).toBe(2);
  });

  test('a party 0 certificate opens a session once, as party 0 only: a second open of the session is refused', async () => {
    const session = newSessionId();
    const job = { kind: 'op', op: 'mul', params: { n: 4 } };
    const open = async (): Promise<Link> => {
      const l = new Link(wsTransport(await dial(P.dealerUrl, 'party0', 'dealer')), {
        name: 'dealer',
        remote: 'the dealer',
        maxFrameBytes: 1 << 20,
        timeoutMs: 5000,
      });
      l.sendControl({ t: 'open', session, job, role: 1 }); // the claimed role is ignored: the certificate says party 0
      return l;
    };
    const first = await open();
    const second = await open();
    expect(await codeOf(second.nextControl(z.unknown(), 'seed'))).toBe('E_PROTOCOL');
    first.close();
    // and no seed ever reached the first: party 1 never opened
    expect(await codeOf(first.nextControl(z.unknown(), 'seed', 500))).not.toBe('ok');
  });

  test("party 1's peer port accepts party 0 only; client ports accept clients only; dialers check the server's role", async () => {
    for (const as of ['client', 'party1', 'dealer'] as const)
      expect({ as, code: await codeOf(dial(P.peerUrl, as, 'party1')) }).toEqual({ as, code: 'E_AUTH' });
    for (const as of ['party0', 'party1', 'dealer'] as const) {
      expect({ as, code: await codeOf(dial(P.urls[0], as, 'party0')) }).toEqual({ as, code: 'E_AUTH' });
      expect({ as, code: await codeOf(dial(P.urls[1], as, 'party1')) }).toEqual({ as, code: 'E_AUTH' });
    }
    // a client that expects party 1 at party 0's address refuses to talk to it
    expect(await codeOf(dial(P.urls[0], 'client', 'party1'))).toBe('E_AUTH');
    // no TLS at all: refused
    const plain = new WebSocket(P.peerUrl.replace('wss:', 'ws:'));
    expect(
      await new Promise((r) => {
        plain.once('open', () => r('open'));
        plain.once('error', () => r('error'));
        plain.once('close', () => r('closed'));
      }),
    ).not.toBe('open');
    expect((await runGeneration(P.urls, req(), [1, 2, 3], TINY.vocab, P.opts)).tokens.length).toBe(2);
  });

  test('certificates of another CA, and of no role, are refused', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mpc-rogue-'));
    try {
      const as = (files: { cert: string; key: string }): TlsConfig => ({
        ...tlsOf('party0'),
        cert: readFileSync(files.cert),
        key: readFileSync(files.key),
      });
      // a party 0 certificate of another CA: the TLS handshake fails
      const rogue = issueCert(join(dir, 'rogue'), makeCa(join(dir, 'rogue')), 'party0', 'party0');
      expect(
        await codeOf(
          dialWs(P.dealerUrl, 'dealer', { timeoutMs: 5000, maxFrameBytes: 1 << 20, tls: as(rogue), expect: 'dealer' }),
        ),
      ).toBe('E_PEER_CLOSED');
      // a certificate of the deployment's CA without a role: refused before any message
      const nobody = issueCert(dir, { cert: P.deployment.ca, key: join(P.deployment.dir, 'ca.key') }, null, 'nobody');
      expect(
        await codeOf(
          dialWs(P.dealerUrl, 'dealer', { timeoutMs: 5000, maxFrameBytes: 1 << 20, tls: as(nobody), expect: 'dealer' }),
        ),
      ).toBe('E_AUTH');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('session ids are made by party 0 (128 bits, used once) and cannot spell a model scope', async () => {
    const job = { kind: 'op', op: 'mul', params: { n: 2 } } as const;
    const ids = await Promise.all(
      [0, 1].map(async () => {
        const l = await connect(P.urls[0], 'party 0', 'party0', P.opts);
        l.sendControl({ t: 'run', session: 'model', job }); // a client-chosen name is ignored
        const { session } = await l.nextControl(SessionMsg, 'session id');
        l.close();
        return session;
      }),
    );
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{32}$/);
    expect(ids[0]).not.toBe(ids[1]);
    expect(SessionId.safeParse('model').success).toBe(false);
    expect(modelScope(ids[0]!).startsWith(sessionScope(''))).toBe(false);
    // a finished session's id cannot be joined again at party 1
    const { session, links } = await openSession(P.urls, { kind: 'generate', params: req() }, P.opts);
    for (const l of links) l.close();
    const again = await connect(P.urls[1], 'party 1', 'party1', P.opts);
    again.sendControl({ t: 'join', session, job: { kind: 'generate', params: req() } });
    expect(await codeOf(again.nextControl(z.unknown(), 'reply'))).toBe('E_PROTOCOL');
  });

  test('logits, test hooks and a revealed prefill need operator flags on the parties (and public weights)', async () => {
    const refused = async (extra: object, urls = P.urls, opts = P.opts) =>
      codeOf(runGeneration(urls, req(extra), [1, 2, 3], TINY.vocab, opts));
    expect(await refused({ revealLogits: true })).toBe('E_INPUT');
    expect(await refused({ revealHidden: true })).toBe('E_INPUT');
    expect(await refused({ prefill: 'revealed' })).toBe('E_INPUT');
    const open = await startParties(tiny.sharesDir, {
      nl: SIMPLE_NL,
      limits: LIMITS,
      powers: { logits: true, revealedPrefill: true, testHooks: true },
    });
    const secret = writeTinyShares('mpc-id-secret-', TINY, rng, { secretWeights: true });
    const guarded = await startParties(secret.sharesDir, {
      nl: SIMPLE_NL,
      limits: LIMITS,
      powers: { logits: true, revealedPrefill: true, testHooks: true },
    });
    try {
      let logits = 0;
      const res = await runGeneration(open.urls, req({ revealLogits: true }), [1, 2, 3], TINY.vocab, open.opts, {
        onLogits: (v) => {
          logits += v.length;
        },
      });
      expect(logits).toBe(2 * TINY.vocab);
      expect(res.tokens.length).toBe(2);
      // secret weights: the benchmark and test modes stay refused whatever the flags
      const sreq = (extra: object) =>
        codeOf(
          runGeneration(
            guarded.urls,
            { ...req(extra), shareId: secret.cfg.shareId },
            [1, 2, 3],
            TINY.vocab,
            guarded.opts,
          ),
        );
      expect(await sreq({ prefill: 'revealed' })).toBe('E_INPUT');
      expect(await sreq({ revealHidden: true })).toBe('E_INPUT');
      expect(await sreq({ revealLogits: true })).toBe('ok');
    } finally {
      await open.close();
      await guarded.close();
      secret.remove();
    }
  });

  test("a client's input must be one token per row: a mixture of embedding rows is refused", async () => {
    for (const mix of [
      [
        [1, 1n],
        [2, 1n],
      ],
      [
        [1, 2n],
        [2, -1n],
      ],
      [
        [1, 1n],
        [2, 1n << 63n],
        [3, 1n << 63n],
      ],
    ] as const) {
      const { links } = await openSession(P.urls, { kind: 'generate', params: req() }, P.opts);
      const masks = await Promise.all(links.map((l) => l.nextTensor('mask')));
      for (const m of masks) expect(m.type).toBe(MASK_FRAME);
      const [r0, r1] = masks.map((m) => (m.parts[0] as { data: BigUint64Array }).data);
      const x = new BigUint64Array(r0!.length);
      for (let i = 0; i < x.length; i++) x[i] = 0n - r0![i]! - r1![i]!;
      for (const [token, weight] of mix) x[token] = x[token]! + BigInt.asUintN(64, weight); // row 0 of 3: a mixture
      for (const l of links)
        l.sendTensor({ type: MASKED_FRAME, seq: 0n, tag: 0, check: 0, parts: [{ kind: 'u64', data: x }] });
      expect(await codeOf(links[0].nextTensor('token'))).toBe('E_INPUT');
    }
    expect((await runGeneration(P.urls, req(), [1, 2, 3], TINY.vocab, P.opts)).tokens.length).toBe(2);
  });

  test('the dealer takes messages of 1 MiB at most; listeners cap connections and waiting sessions', async () => {
    const ws = await dial(P.dealerUrl, 'party1', 'dealer');
    const closed = new Promise<number>((r) => ws.once('close', (code) => r(code)));
    ws.send(Buffer.alloc(2 << 20), { binary: true });
    expect(await closed).toBe(1009); // message too big: dropped before it is buffered whole
    // connections: LIMITS.maxConnections on party 0's client port, the next is refused with E_BUSY
    const idle = await Promise.all(
      Array.from({ length: LIMITS.maxConnections }, () => connect(P.urls[0], 'party 0', 'party0', P.opts)),
    );
    expect(await codeOf(connect(P.urls[0], 'party 0', 'party0', P.opts))).toBe('E_BUSY');
    for (const l of idle) l.close();
    // sessions waiting for their other half at party 1: LIMITS.maxSessions, then E_BUSY
    const joins = await Promise.all(
      Array.from({ length: LIMITS.maxSessions + 1 }, () => connect(P.urls[1], 'party 1', 'party1', P.opts)),
    );
    joins.forEach((l) =>
      l.sendControl({ t: 'join', session: newSessionId(), job: { kind: 'generate', params: req() } }),
    );
    const codes = await Promise.all(joins.map((l) => codeOf(l.nextControl(z.unknown(), 'reply', 20000))));
    expect(codes.filter((c) => c === 'E_BUSY').length).toBe(1);
    expect(codes.filter((c) => c === 'E_TIMEOUT').length).toBe(LIMITS.maxSessions);
    expect((await runGeneration(P.urls, req(), [1, 2, 3], TINY.vocab, P.opts)).tokens.length).toBe(2);
  }, 30000);
});
