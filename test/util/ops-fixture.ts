/**
 * What the operations suites (metrics, fuzzing, failures) share: a launched cluster serving a tiny
 * random model with metrics ports, scrapes of /health and /metrics, free ports, polling, and the
 * code of a failed promise.
 */
import { createServer } from 'node:net';
import { launchCluster, shareFlags, type Cluster, type ClusterOptions } from '../../shared/runtime/launch.js';
import { runGeneration, type GenerationResult } from '../../shared/runtime/gen-client.js';
import { MpcError } from '../../shared/util/errors.js';
import type { TinySpec } from '../model/tiny-model.js';
import { writeTinyShares, type TinyShares } from './party-fixture.js';
import type { TestRng } from './rng.js';

export async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    return e instanceof MpcError ? e.code : String(e);
  }
}

/** Ports that were free a moment ago (for processes restarted with the same flags). */
export async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<ReturnType<typeof createServer>>((resolve) => {
          const s = createServer();
          s.listen(0, '127.0.0.1', () => resolve(s));
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return ports;
}

/** GET a path of a server's metrics port. */
export async function scrape(ready: Record<string, unknown>, path: '/health' | '/metrics'): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${String(ready['metricsPort'])}${path}`);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.text();
}

export interface Health {
  role: string;
  up: boolean;
  model: { served: boolean; loaded: boolean; since: string | null };
  sessions: { running: number; waiting: number };
  connections: Record<string, number>;
  arenaBytes: number;
}

export const health = async (ready: Record<string, unknown>): Promise<Health> =>
  JSON.parse(await scrape(ready, '/health')) as Health;

/** Sum of a metric's samples whose labels include `labels` (Prometheus text format). */
export function metricSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    if (Object.entries(labels).every(([k, v]) => (m[2] ?? '').includes(`${k}="${v}"`))) sum += Number(m[3]);
  }
  return sum;
}

/** Polls `probe` every 50 ms until it returns a value other than undefined (an event seen through an endpoint or a log). */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20000,
): Promise<T> {
  const t0 = Date.now();
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export interface OpsCluster {
  c: Cluster;
  tiny: TinyShares;
  spec: TinySpec;
  /** Client options for c.clientUrls. */
  opts: { timeoutMs: number; maxFrameBytes: number; tls: Cluster['clientTls'] };
  generate(
    prompt: readonly number[],
    maxNewTokens: number,
    cb?: Parameters<typeof runGeneration>[5],
  ): Promise<GenerationResult>;
  close(): Promise<void>;
}

/**
 * A cluster serving a tiny random model, every server with `--metrics-port 0` and `flags`
 * (per process flags in `extra`, e.g. fixed ports).
 */
export async function opsCluster(
  spec: TinySpec,
  rng: TestRng,
  flags: string[],
  o: ClusterOptions = {},
): Promise<OpsCluster> {
  const tiny = writeTinyShares('mpc-ops-', spec, rng);
  const shares = shareFlags(tiny.sharesDir);
  const common = ['--metrics-port', '0', ...flags];
  let c: Cluster;
  try {
    c = await launchCluster({
      ...o,
      timeoutMs: 60000,
      extra: {
        dealer: [...common, ...(o.extra?.dealer ?? [])],
        party0: [...shares.party0, ...common, ...(o.extra?.party0 ?? [])],
        party1: [...shares.party1, ...common, ...(o.extra?.party1 ?? [])],
      },
    });
  } catch (e) {
    tiny.remove();
    throw e;
  }
  const opts = { timeoutMs: 30000, maxFrameBytes: 1 << 26, tls: c.clientTls };
  return {
    c,
    tiny,
    spec,
    opts,
    generate: (prompt, maxNewTokens, cb) =>
      runGeneration(
        c.clientUrls,
        { shareId: tiny.cfg.shareId, promptLen: prompt.length, maxNewTokens },
        prompt,
        spec.vocab,
        opts,
        cb,
      ),
    close: async () => {
      await c.stop();
      tiny.remove();
    },
  };
}
