/**
 * Operations: each server (dealer, party 0, party 1) can serve `GET /health` (JSON) and
 * `GET /metrics` (Prometheus text, prom-client) on a plain-HTTP port of its own (`--metrics-port`,
 * off by default; bound to `--metrics-host`, loopback by default). docs/operations.md lists them.
 *
 * Nothing here is secret by construction: labels take values from fixed sets (link and listener
 * names, directions, job kinds, phase kinds, error codes), never session ids, tokens, shapes of a
 * prompt or any share, seed or weight material. Traffic comes from the sessions' meters
 * (net/meter.ts), read once when a session or a refused connection ends, so the wire is counted
 * once, by the same code that writes the reports clients receive.
 */
import { createServer, type Server } from 'node:http';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ErrorCode } from '../util/errors.js';
import type { LinkName, MeterReport } from '../net/meter.js';

/** What /health reports and the gauges read, asked of the service at each scrape. */
export interface ServerState {
  /** Whether this server serves a model at all, and since when (ms since the epoch) one is loaded. */
  model: { served: boolean; loadedSince: number | undefined };
  /** Sessions running (every kind, model loads included), and waiting for their other half (party 1, dealer). */
  sessions: { running: number; waiting: number };
  /** Open connections per listening port. */
  connections: Record<string, number>;
  /** Bytes of the WebAssembly arena in use (shares, masks and caches of loads and sessions). */
  arenaBytes: number;
}

export type SessionKind = 'op' | 'generate' | 'load';
/** Why a connection or its first request was refused: the listener's check, or the error code. */
export type Refusal = 'tls' | 'role' | 'pin' | 'connections' | ErrorCode;
export type Outcome = 'ok' | ErrorCode;

/** Latency buckets in seconds, from a decode step of a tiny model to a long prefill. */
const BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];

/** The meter's phase names as a histogram label ('decode.7' is one decode step). */
function phaseKind(phase: string, kind: SessionKind): string | undefined {
  if (phase === 'setup' || phase === 'preprocess' || phase === 'prefill') return phase;
  if (phase.startsWith('decode.')) return 'decode_step';
  if (phase === 'online' && kind !== 'generate') return kind;
  return undefined;
}

/** The registers a metric is in: every server's, or only the parties' or only the dealer's (empty elsewhere). */
interface Registers {
  readonly all: Registry[];
  readonly partyOnly: Registry[];
  readonly dealerOnly: Registry[];
}

/** Session traffic and rounds, sessions started and ended, refused connections. */
function counters(r: Registers) {
  return {
    bytes: new Counter({
      name: 'mpc_link_bytes_total',
      help: 'bytes on session links by the other end (peer, dealer, client; at the dealer party0, party1) and direction',
      labelNames: ['link', 'direction'],
      registers: r.all,
    }),
    rounds: new Counter({
      name: 'mpc_rounds_total',
      help: 'communication rounds with the other party',
      registers: r.partyOnly,
    }),
    sessionsStarted: new Counter({
      name: 'mpc_sessions_started_total',
      help: 'sessions started, by job kind',
      labelNames: ['kind'],
      registers: r.all,
    }),
    sessionsFinished: new Counter({
      name: 'mpc_sessions_finished_total',
      help: 'sessions ended, by job kind and outcome (ok or the error code)',
      labelNames: ['kind', 'outcome'],
      registers: r.all,
    }),
    refusals: new Counter({
      name: 'mpc_refused_total',
      help: 'connections refused at the TLS or role check, at a cap, or at their first request (error code)',
      labelNames: ['listener', 'reason'],
      registers: r.all,
    }),
  };
}

/** What only one kind of server has: the parties' phase durations; the dealer's session durations and dealt bytes. */
function roleSpecific(r: Registers) {
  return {
    phases: new Histogram({
      name: 'mpc_phase_seconds',
      help: "duration of successful sessions' phases: setup, preprocess, prefill, decode_step, op, load",
      labelNames: ['phase'],
      buckets: BUCKETS_S,
      registers: r.partyOnly,
    }),
    dealerSessions: new Histogram({
      name: 'mpc_dealer_session_seconds',
      help: 'dealer: duration of successful sessions, open to close',
      labelNames: ['kind'],
      buckets: BUCKETS_S,
      registers: r.dealerOnly,
    }),
    dealt: new Counter({
      name: 'mpc_dealer_dealt_bytes_total',
      help: 'dealer: correction bytes dealt to party 1',
      registers: r.dealerOnly,
    }),
  };
}

/** Gauges that read the service's state at each scrape. */
function stateGauges(registers: Registry[], state: () => ServerState | undefined): void {
  const gauge = (
    name: string,
    help: string,
    read: (s: ServerState, g: Gauge<'listener'>) => void,
    labelNames: 'listener'[] = [],
  ): void => {
    new Gauge({
      name,
      help,
      labelNames,
      registers,
      collect() {
        const s = state();
        if (s) read(s, this);
      },
    });
  };
  gauge('mpc_sessions_running', 'sessions running now', (s, g) => g.set(s.sessions.running));
  gauge(
    'mpc_sessions_waiting',
    'sessions waiting for their other half (party 1: client or party 0; dealer: a party)',
    (s, g) => g.set(s.sessions.waiting),
  );
  gauge('mpc_model_loaded', '1 when a model load is current', (s, g) =>
    g.set(s.model.loadedSince === undefined ? 0 : 1),
  );
  gauge('mpc_arena_bytes', 'bytes of the WebAssembly arena in use', (s, g) => g.set(s.arenaBytes));
  gauge(
    'mpc_connections_open',
    'open connections per listener',
    (s, g) => {
      for (const [k, v] of Object.entries(s.connections)) g.set({ listener: k }, v);
    },
    ['listener'],
  );
}

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly started = Date.now();
  private state: (() => ServerState) | undefined;
  private readonly bytes: Counter<'link' | 'direction'>;
  private readonly rounds: Counter;
  private readonly sessionsStarted: Counter<'kind'>;
  private readonly sessionsFinished: Counter<'kind' | 'outcome'>;
  private readonly refusals: Counter<'listener' | 'reason'>;
  private readonly phases: Histogram<'phase'>;
  private readonly dealerSessions: Histogram<'kind'>;
  private readonly dealt: Counter;

  /** Registers the metrics in the order /metrics lists them: process defaults, counters, role-specific, gauges. */
  constructor(readonly role: 'dealer' | 'party0' | 'party1') {
    const all = [this.registry];
    // the dealer has no peer rounds or phases; the parties deal nothing
    const r: Registers =
      role === 'dealer' ? { all, partyOnly: [], dealerOnly: all } : { all, partyOnly: all, dealerOnly: [] };
    collectDefaultMetrics({ register: this.registry });
    ({
      bytes: this.bytes,
      rounds: this.rounds,
      sessionsStarted: this.sessionsStarted,
      sessionsFinished: this.sessionsFinished,
      refusals: this.refusals,
    } = counters(r));
    ({ phases: this.phases, dealerSessions: this.dealerSessions, dealt: this.dealt } = roleSpecific(r));
    stateGauges(all, () => this.state?.());
  }

  /** Adds a meter's traffic (and peer rounds) under its links' names, renamed by `as` (the dealer's). */
  traffic(report: MeterReport, as: (link: LinkName) => string = (l) => l): void {
    for (const [link, t] of Object.entries(report.links) as Array<[LinkName, MeterReport['links'][LinkName]]>) {
      if (t.sentBytes) this.bytes.inc({ link: as(link), direction: 'sent' }, t.sentBytes);
      if (t.recvBytes) this.bytes.inc({ link: as(link), direction: 'recv' }, t.recvBytes);
    }
    if (report.links.peer.rounds) this.rounds.inc(report.links.peer.rounds);
  }

  sessionStarted(kind: SessionKind): void {
    this.sessionsStarted.inc({ kind });
  }

  /** A party's session ended: its traffic, outcome, and (when it succeeded) its phases' durations. */
  partySessionEnded(kind: SessionKind, outcome: Outcome, report: MeterReport): void {
    this.traffic(report);
    this.sessionsFinished.inc({ kind, outcome });
    if (outcome !== 'ok') return;
    for (const [name, p] of Object.entries(report.phases)) {
      const phase = phaseKind(name, kind);
      if (phase) this.phases.observe({ phase }, p.ms / 1000);
    }
  }

  /** The dealer's session ended. */
  dealerSessionEnded(kind: SessionKind, outcome: Outcome, seconds: number, dealtBytes: number): void {
    this.sessionsFinished.inc({ kind, outcome });
    this.dealt.inc(dealtBytes);
    if (outcome === 'ok') this.dealerSessions.observe({ kind }, seconds);
  }

  /** A connection (or its first request) was refused; its traffic, if metered, is counted too. */
  refused(listener: string, reason: Refusal, report?: MeterReport): void {
    this.refusals.inc({ listener, reason });
    if (report) this.traffic(report);
  }

  health(): Record<string, unknown> {
    const s = this.state?.();
    const since = s?.model.loadedSince;
    return {
      role: this.role,
      up: true,
      uptimeS: Math.round((Date.now() - this.started) / 1000),
      ...(s
        ? {
            model: {
              served: s.model.served,
              loaded: since !== undefined,
              since: since === undefined ? null : new Date(since).toISOString(),
            },
            sessions: s.sessions,
            connections: s.connections,
            arenaBytes: s.arenaBytes,
          }
        : {}),
    };
  }

  /**
   * Serves /health and /metrics on `host:port` (0: any free port), reading `state` at each request.
   * Resolves with the bound port and a close function.
   */
  async serve(
    host: string,
    port: number,
    state: () => ServerState,
  ): Promise<{ port: number; close: () => Promise<void> }> {
    this.state = state;
    const server: Server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0];
      const reply = (status: number, type: string, body: string): void => {
        res.writeHead(status, { 'content-type': type }).end(body);
      };
      if (req.method !== 'GET') reply(405, 'text/plain', 'GET only\n');
      else if (path === '/health') reply(200, 'application/json', JSON.stringify(this.health()) + '\n');
      else if (path === '/metrics')
        this.registry.metrics().then(
          (m) => reply(200, this.registry.contentType, m),
          () => reply(500, 'text/plain', 'metrics failed\n'),
        );
      else reply(404, 'text/plain', 'try /health or /metrics\n');
    });
    server.on('clientError', (_e, socket) => socket.destroy());
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, host, () => resolve());
    });
    return {
      port: (server.address() as { port: number }).port,
      close: () =>
        new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
    };
  }
}

/**
 * Serves `metrics` on --metrics-host and --metrics-port (nothing without --metrics-port); entry
 * points call it before the service listens, so /health answers while party 0 loads its model.
 * Returns the fields for the "listening" line and a close function.
 */
export async function serveMetrics(
  metrics: ServerMetrics | undefined,
  f: { metricsHost: string; metricsPort?: number | undefined },
  state: () => ServerState,
): Promise<{ line: { metricsPort?: number }; close: () => Promise<void> }> {
  if (!metrics || f.metricsPort === undefined) return { line: {}, close: async () => {} };
  const served = await metrics.serve(f.metricsHost, f.metricsPort, state);
  return { line: { metricsPort: served.port }, close: served.close };
}
