/**
 * Operations (socket suite; issue 14 item 6): each server process serves /health and /metrics on
 * its --metrics-port. Scraped during and after a private generation, the counters move (bytes per
 * link and direction, rounds, sessions by outcome, phases, dealer bytes, refusals by reason) and
 * nothing in them is secret: every label of the runtime's metrics comes from a fixed set, no prompt
 * token id is a label value, and no long hex run (a session id, a seed, a share) appears anywhere.
 */
import { z } from 'zod';
import { dialWs } from '../../shared/net/index.js';
import { ERROR_CODES } from '../../shared/util/errors.js';
import { clientTlsOf } from '../../shared/runtime/launch.js';
import { connect, openSession } from '../../shared/runtime/client.js';
import { codeOf, health, metricSum, opsCluster, scrape, until, type OpsCluster } from '../util/ops-fixture.js';
import { seeded } from '../util/rng.js';
import type { TinySpec } from '../model/tiny-model.js';

const SPEC: TinySpec = { nLayer: 2, nHead: 2, nEmbd: 16, nPositions: 40, vocab: 61 };
const PROMPT = [43, 58, 37, 53, 41, 47];
const STEPS = 4;

const CODES = Object.keys(ERROR_CODES);
/** Every label the runtime's metrics may carry, with the values it may take. */
const LABELS: Record<string, (v: string) => boolean> = {
  link: (v) => ['peer', 'dealer', 'client', 'party0', 'party1'].includes(v),
  direction: (v) => v === 'sent' || v === 'recv',
  kind: (v) => ['op', 'generate', 'load'].includes(v),
  outcome: (v) => v === 'ok' || CODES.includes(v),
  listener: (v) => ['client', 'peer', 'dealer'].includes(v),
  reason: (v) => ['tls', 'role', 'pin', 'connections', ...CODES].includes(v),
  phase: (v) => ['setup', 'preprocess', 'prefill', 'decode_step', 'op', 'load'].includes(v),
  le: (v) => v === '+Inf' || Number.isFinite(Number(v)),
};

/** The label pairs of every sample of the runtime's own (mpc_) metrics. */
function labelsOf(text: string): Array<[string, string]> {
  return text
    .split('\n')
    .filter((l) => l.startsWith('mpc_'))
    .flatMap((l) =>
      [...(/\{([^}]*)\}/.exec(l)?.[1] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map(
        (m) => [m[1]!, m[2]!] as [string, string],
      ),
    );
}

function expectNothingSecret(text: string): void {
  // session ids (32 hex digits), seeds, shares, fingerprints: no run of 16 hex digits with letters and digits
  expect(text).not.toMatch(/(?<![0-9a-z])(?=[0-9]*[a-f])(?=[a-f]*[0-9])[0-9a-f]{16,}/i);
  for (const [k, v] of labelsOf(text)) {
    expect({ k, v, allowed: LABELS[k]?.(v) ?? false }).toEqual({ k, v, allowed: true });
    if (k !== 'le') expect(PROMPT.map(String)).not.toContain(v);
  }
}

describe('health and Prometheus metrics on each server (socket suite)', () => {
  const rng = seeded();
  let o: OpsCluster;
  beforeAll(async () => {
    o = await opsCluster(SPEC, rng, ['--timeout-ms', '20000']);
  }, 60000);
  afterAll(async () => {
    await o?.close();
  });

  test('the listening line names the metrics port; /health answers; other paths and methods are refused', async () => {
    const { c } = o;
    for (const p of [c.dealer, c.party0, c.party1]) {
      expect(typeof p.ready['metricsPort']).toBe('number');
      const h = await health(p.ready);
      expect(h).toMatchObject({
        role: p.name,
        up: true,
        model: { served: true, loaded: true },
        sessions: { running: 0, waiting: 0 },
      });
      expect(Date.parse(h.model.since!)).toBeLessThanOrEqual(Date.now());
      const base = `http://127.0.0.1:${String(p.ready['metricsPort'])}`;
      expect((await fetch(`${base}/nope`)).status).toBe(404);
      expect((await fetch(`${base}/metrics`, { method: 'POST' })).status).toBe(405);
    }
  });

  test('counters move during and after a generation, and carry nothing secret', async () => {
    const { c } = o;
    const procs = [c.dealer, c.party0, c.party1];
    const before = await Promise.all(procs.map((p) => scrape(p.ready, '/metrics')));
    let during: Promise<[string[], unknown[]]> | undefined;
    const res = await o.generate(PROMPT, STEPS, {
      onProgress: () => {
        during ??= Promise.all([
          Promise.all(procs.map((p) => scrape(p.ready, '/metrics'))),
          Promise.all(procs.map((p) => health(p.ready))),
        ]);
      },
    });
    expect(res.tokens.length).toBe(STEPS);
    const [mid, midHealth] = await during!;
    for (const [i, h] of midHealth.entries())
      expect({ i, running: (h as { sessions: { running: number } }).sessions.running }).toEqual({ i, running: 1 });
    for (const m of mid) expect(metricSum(m, 'mpc_sessions_started_total', { kind: 'generate' })).toBe(1);

    // a client that goes away mid-session: an aborted session, counted under its code
    const { links } = await openSession(
      c.clientUrls,
      { kind: 'generate', params: { shareId: o.tiny.cfg.shareId, promptLen: 2, maxNewTokens: 2 } },
      o.opts,
    );
    await links[0].nextTensor('mask');
    for (const l of links) l.close('client gone');
    // refusals: a party 1 certificate at party 0's client port (role), and a malformed first message
    expect(
      await codeOf(
        dialWs(c.clientUrls[0], 'party 0', {
          timeoutMs: 5000,
          maxFrameBytes: 1 << 20,
          tls: clientTlsOf(c.deployment, 'party1'),
          expect: 'party0',
        }),
      ),
    ).toBe('E_AUTH');
    const bad = await connect(c.clientUrls[0], 'party 0', 'party0', o.opts);
    bad.sendControl({ t: 'nonsense' });
    expect(await codeOf(bad.nextControl(z.unknown(), 'reply'))).toBe('E_FRAME');
    await until('the aborted session to be counted on both parties', async () => {
      const counts = await Promise.all(
        [c.party0, c.party1].map(async (p) =>
          metricSum(await scrape(p.ready, '/metrics'), 'mpc_sessions_finished_total', {
            kind: 'generate',
            outcome: 'E_PEER_CLOSED',
          }),
        ),
      );
      return counts.every((n) => n === 1) ? true : undefined;
    });

    const after = await Promise.all(procs.map((p) => scrape(p.ready, '/metrics')));
    const [d, p0, p1] = after as [string, string, string];
    const moved = (i: number, name: string, labels: Record<string, string> = {}) =>
      metricSum(after[i]!, name, labels) - metricSum(before[i]!, name, labels);
    for (const [i, m] of [
      [1, p0],
      [2, p1],
    ] as const) {
      for (const link of ['peer', 'dealer', 'client'])
        for (const direction of ['sent', 'recv'])
          expect({ i, link, direction, moved: moved(i, 'mpc_link_bytes_total', { link, direction }) > 0 }).toEqual({
            i,
            link,
            direction,
            moved: true,
          });
      expect(moved(i, 'mpc_rounds_total')).toBeGreaterThan(100);
      expect(metricSum(m, 'mpc_sessions_finished_total', { kind: 'generate', outcome: 'ok' })).toBe(1);
      expect(metricSum(m, 'mpc_phase_seconds_count', { phase: 'prefill' })).toBe(1);
      expect(metricSum(m, 'mpc_phase_seconds_count', { phase: 'decode_step' })).toBe(STEPS - 1);
      expect(metricSum(m, 'mpc_phase_seconds_count', { phase: 'setup' })).toBe(2); // the model load and the generation
      expect(metricSum(m, 'mpc_phase_seconds_count', { phase: 'load' })).toBe(1);
    }
    expect(metricSum(p0, 'mpc_refused_total', { listener: 'client', reason: 'role' })).toBe(1);
    expect(metricSum(p0, 'mpc_refused_total', { listener: 'client', reason: 'E_FRAME' })).toBe(1);
    for (const party of ['party0', 'party1'])
      expect(moved(0, 'mpc_link_bytes_total', { link: party, direction: 'sent' })).toBeGreaterThan(0);
    expect(moved(0, 'mpc_dealer_dealt_bytes_total')).toBeGreaterThan(0);
    expect(metricSum(d, 'mpc_dealer_session_seconds_count', { kind: 'generate' })).toBeGreaterThanOrEqual(1);
    expect(metricSum(d, 'mpc_sessions_finished_total', { kind: 'load', outcome: 'ok' })).toBe(1);
    for (const m of [...mid, ...after]) expectNothingSecret(m);
    for (const p of procs) {
      const h = await health(p.ready);
      expectNothingSecret(JSON.stringify(h));
      expect(h.sessions).toEqual({ running: 0, waiting: 0 });
    }
    console.log(
      [
        'party 0 /metrics after the session (mpc_ samples):',
        ...p0.split('\n').filter((l) => l.startsWith('mpc_') && !l.includes('_bucket')),
      ].join('\n'),
    );
  }, 60000);
});
