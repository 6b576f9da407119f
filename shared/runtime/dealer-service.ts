/**
 * The dealer server. Only party 0 and party 1 may connect (their role certificates, and pins if
 * configured, are checked before a message is read: net/tls.ts); a party's role is its
 * certificate's, never something it claims. For each session the dealer accepts exactly one
 * party 0 and one party 1, each once, under a session id it has never seen; when both have opened
 * with the same job, it sends each its session seed and runs the job's program over DealerPrims,
 * streaming party 1's corrections with a bounded window. The dealer never sees inputs, weights or
 * outputs.
 *
 * Model loads: the fixed masks of a load live under `model/<load id>` (runtime/wire.ts), a name
 * space no session id can spell; a generation names its load, and a new load of the same shares
 * retires the previous one once no session uses it. Party 0's presence connection tells the dealer
 * that party 0 is alive; when it closes, the loads are dropped.
 */
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { MpcError, toMpcError, type ErrorCode, type Logger } from '../util/index.js';
import { Kernels } from '../ring/kernels.js';
import { randomSeed } from '../ring/prg.js';
import { shapeOnly, type ShapeOnly } from '../ring/tensor.js';
import type { FixedHandle } from '../protocol/prims/types.js';
import { parseModelConfig } from '../model/llama-config.js';
import { anyRingSpec, loadAnyRingModel } from '../model/ring/any-model.js';
import type { RingNonlinear } from '../model/ring/ops.js';
import {
  DEALER_TOKEN_IO,
  generationProgram,
  parseGenerateParams,
  policyOf,
  type ClientTokens,
  type RingModel,
} from './generation.js';
import {
  Link,
  wsTransport,
  Meter,
  listenWs,
  type Limits,
  type Listener,
  type PeerIdentity,
  type TlsConfig,
} from '../net/index.js';
import { DealerEnv } from '../corr/env.js';
import { DealerCorrSink } from '../corr/stream.js';
import { DealerPrims } from '../protocol/prims/dealer.js';
import { DealerFirstMsg, jobHash, modelScope, sessionScope, shortId, type Job } from './wire.js';
import { resolveJob } from './jobs.js';
import { SeenIds } from './rendezvous.js';
import { ModelSlots } from './model-slot.js';
import type { ServerMetrics, ServerState } from './metrics.js';

type DealtModel = RingModel<ShapeOnly, FixedHandle>;

interface Opened {
  link: Link;
  meter: Meter;
  job: Job;
  loadId?: string | undefined;
}

interface Pending {
  opened: [Opened | undefined, Opened | undefined];
  timer: NodeJS.Timeout;
}

export interface DealerOptions {
  host: string;
  port: number;
  limits: Limits;
  log: Logger;
  tls: TlsConfig;
  /** Non-linear recipes for generation programs (must be the parties' exact recipes). */
  nl?: RingNonlinear;
  /** Operations metrics (runtime/metrics.ts); absent: not collected. */
  metrics?: ServerMetrics;
}

export class DealerService {
  private listener: Listener | undefined;
  readonly env = new DealerEnv(new Kernels());
  private readonly pending = new Map<string, Pending>();
  private readonly seen = new SeenIds();
  private running = 0;
  /** Sessions completed or aborted (the last 1000), for tests and logs. */
  readonly finished: Array<{ session: string; ok: boolean; code?: string; bytesToP1: number }> = [];
  /** Model loads, one per share id (the dealer's handles: shapes and fixed-mask ids). */
  private readonly loads = new Map<string, ModelSlots<DealtModel>>();
  /** Party 0's presence connections (one, but a restarted party 0 may overlap its predecessor). */
  private readonly presence = new Set<Link>();

  constructor(private readonly opts: DealerOptions) {
    if (opts.tls.role !== 'dealer') throw new MpcError('E_CONFIG', 'the dealer needs a dealer certificate');
  }

  async listen(): Promise<number> {
    const { host, port, limits, tls, log } = this.opts;
    this.listener = await listenWs({
      host,
      port,
      tls,
      log,
      maxPayload: limits.dealerListenBytes,
      maxConnections: limits.maxConnections,
      accept: ['party0', 'party1'],
      what: 'dealer',
      onRefused: (r) => this.opts.metrics?.refused('dealer', r),
    });
    this.listener.onConnection((ws, who) => this.onConnection(ws, who));
    return this.listener.port;
  }

  async close(): Promise<void> {
    await this.listener?.close();
  }

  /** What /health and the gauges report (runtime/metrics.ts). */
  state(): ServerState {
    const since = [...this.loads.values()].map((s) => s.since).filter((t) => t !== undefined);
    return {
      model: { served: this.opts.nl !== undefined, loadedSince: since.length ? Math.max(...since) : undefined },
      sessions: { running: this.running, waiting: this.pending.size },
      arenaBytes: this.env.kernels.usedBytes(),
      connections: { dealer: this.listener?.connections ?? 0 },
    };
  }

  private onConnection(ws: WebSocket, who: PeerIdentity): void {
    const role = who.role === 'party0' ? 0 : 1;
    const meter = new Meter();
    const link = new Link(wsTransport(ws), {
      name: 'dealer',
      remote: `party ${role}`,
      meter,
      maxFrameBytes: this.opts.limits.dealerListenBytes,
      timeoutMs: this.opts.limits.timeoutMs,
    });
    link
      .nextControl(DealerFirstMsg, 'session open', this.opts.limits.helloMs, true)
      .then((m) => {
        if (m.t === 'presence') {
          if (role !== 0) throw new MpcError('E_PROTOCOL', 'only party 0 keeps a presence connection');
          this.presence.add(link);
          link.onFailure(() => this.dropLoads(link));
          // a presence connection carries nothing more: any message aborts it
          void link.nextControl(z.never(), 'nothing (presence link)', 0, true).catch(() => {});
          return;
        }
        this.onOpen(link, m.session, role, { link, meter, job: m.job, loadId: m.loadId });
      })
      .catch((e: unknown) => {
        const err = toMpcError(e, 'E_FRAME');
        link.abort(err);
        this.opts.metrics?.refused('dealer', err.code, meter.report());
        this.opts.log.warn({ code: err.code, msg: err.message, party: role }, 'connection refused');
      });
  }

  /**
   * Party 0 is gone: its loads are useless (a restarted party 0 loads afresh). Any other presence
   * connection is closed too, so that the party 0 behind it (if any) learns that its load was
   * dropped and loads again instead of naming a load the dealer no longer holds.
   */
  private dropLoads(gone: Link): void {
    if (!this.presence.delete(gone)) return;
    for (const slots of this.loads.values()) slots.drop();
    const others = [...this.presence];
    this.presence.clear();
    for (const l of others) l.close('model loads dropped: load again');
    this.opts.log.info('party 0 is gone (presence closed): model loads dropped');
  }

  private onOpen(link: Link, session: string, role: 0 | 1, opened: Opened): void {
    let p = this.pending.get(session);
    if (!p) {
      if (this.seen.has(session))
        throw new MpcError('E_PROTOCOL', `session ${shortId(session)} was used before (session ids are used once)`);
      if (this.pending.size + this.running >= this.opts.limits.maxSessions)
        throw new MpcError('E_BUSY', `the dealer already serves ${this.pending.size + this.running} sessions`);
      this.seen.add(session);
      const timer = setTimeout(
        () =>
          this.abortPending(
            session,
            new MpcError(
              'E_TIMEOUT',
              `session ${shortId(session)}: the other party did not open within ${this.opts.limits.timeoutMs} ms`,
            ),
          ),
        this.opts.limits.timeoutMs,
      );
      timer.unref();
      p = { opened: [undefined, undefined], timer };
      this.pending.set(session, p);
    }
    if (p.opened[role])
      throw new MpcError('E_PROTOCOL', `session ${shortId(session)}: party ${role} opened it already`);
    p.opened[role] = opened;
    link.onFailure(() => {
      if (this.pending.get(session) === p)
        this.abortPending(
          session,
          new MpcError('E_PEER_CLOSED', `session ${shortId(session)}: party ${role} left before the session started`),
        );
    });
    if (p.opened[0] && p.opened[1]) {
      clearTimeout(p.timer);
      this.pending.delete(session);
      void this.run(session, p.opened as [Opened, Opened]);
    }
  }

  private abortPending(session: string, err: MpcError): void {
    const p = this.pending.get(session);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(session);
    for (const o of p.opened) {
      o?.link.abort(err);
      if (o) this.opts.metrics?.refused('dealer', err.code, o.meter.report());
    }
  }

  /** The program the dealer runs for a job (the parties' program over shape-only tensors), and its end. */
  private programFor(
    session: string,
    job: Job,
    loadId: string | undefined,
  ): { program: (P: DealerPrims) => Promise<unknown>; done: () => void } {
    if (job.kind === 'op') {
      const resolved = resolveJob(job);
      return {
        program: (P) =>
          resolved.program(
            P,
            resolved.inputs.map((i) => shapeOnly(i.shape, i.fracBits)),
          ),
        done: () => {},
      };
    }
    if (job.kind === 'load') {
      const config = parseModelConfig(job.model, 'load job');
      const spec = new Map(anyRingSpec(config));
      const program = async (P: DealerPrims): Promise<void> => {
        const model = await loadAnyRingModel<ShapeOnly, FixedHandle, ClientTokens>(P, config, (n) =>
          shapeOnly(spec.get(n)!.shape, spec.get(n)!.fracBits),
        );
        let slots = this.loads.get(job.shareId);
        if (!slots) this.loads.set(job.shareId, (slots = new ModelSlots()));
        slots.replace({ loadId: session, model, release: () => this.env.dropPrefix(modelScope(session) + ':') });
      };
      return { program, done: () => {} };
    }
    const p = parseGenerateParams(job.params);
    policyOf(p);
    const use = loadId === undefined ? undefined : this.loads.get(p.shareId)?.use(loadId);
    if (!use)
      throw new MpcError(
        'E_MODEL',
        `the dealer holds no model load ${shortId(loadId ?? '(none named)')} of share id ${p.shareId}: party 0 reloads the model`,
      );
    if (!this.opts.nl) throw new MpcError('E_CONFIG', 'this dealer has no non-linear recipes configured');
    const nl = this.opts.nl;
    return { program: (P) => generationProgram(P, nl, DEALER_TOKEN_IO, use.model, p), done: use.done };
  }

  /** One session: check the job, send the seeds, deal the program's corrections, wait for both parties to close. */
  private async run(session: string, opened: [Opened, Opened]): Promise<void> {
    const log = this.opts.log.child({ session: shortId(session) });
    const links = [opened[0].link, opened[1].link];
    let sink: DealerCorrSink | undefined;
    let done = (): void => {};
    let outcome: 'ok' | ErrorCode = 'ok';
    const t0 = performance.now();
    this.running++;
    this.opts.metrics?.sessionStarted(opened[0].job.kind);
    try {
      const job = sameJob(session, opened);
      const prog = this.programFor(session, job, opened[0].loadId);
      done = prog.done;
      const stream = this.openStream(session, job, links);
      sink = stream.sink;
      log.info({ job: job.kind === 'op' ? job.op : job.kind }, 'session dealing');
      const P = new DealerPrims(sink, job.kind === 'load' ? modelScope(session) : sessionScope(session));
      await dealAll(job, () => prog.program(P), links, stream.tell);
      await closedByBoth(links);
      this.record({ session, ok: true, bytesToP1: sink.dealtBytes });
      const byKind = Object.fromEntries(sink.bytesByKind);
      log.info({ dealtBytes: sink.dealtBytes, items: sink.seq, byKind }, 'session dealt');
    } catch (e) {
      const err = toMpcError(e);
      outcome = err.code;
      this.record({ session, ok: false, code: err.code, bytesToP1: sink?.dealtBytes ?? 0 });
      log.error({ code: err.code, msg: err.message }, 'session aborted');
      for (const l of links) l.abort(err);
    } finally {
      this.running--;
      done();
      this.ended(session, opened, outcome, (performance.now() - t0) / 1000, sink?.dealtBytes ?? 0);
    }
  }

  /**
   * Sends each party its session seed and opens the stream of party 1's corrections (the window of
   * preprocessing ahead, or the usual one). `tell` lets party 1 know, once, whether all was dealt ahead.
   */
  private openStream(
    session: string,
    job: Job,
    links: readonly Link[],
  ): { sink: DealerCorrSink; tell: (complete: boolean) => void } {
    const seeds = [randomSeed(), randomSeed()],
      common = randomSeed();
    links.forEach((l, i) => l.sendControl({ t: 'seed', session, seed: seeds[i], common }));
    const ahead = job.kind === 'generate' && parseGenerateParams(job.params).preprocess === 'ahead';
    const sink = new DealerCorrSink(
      seeds[0]!,
      seeds[1]!,
      session,
      links[1]!,
      this.env,
      ahead ? this.opts.limits.aheadWindowBytes : this.opts.limits.dealerWindowBytes,
    );
    let told = !ahead;
    const tell = (complete: boolean): void => {
      if (!told) {
        told = true;
        links[1]!.sendControl({ t: 'ahead', complete });
      }
    };
    sink.onWindowFull = () => tell(false);
    void sink.readCredit(); // party 1 returns credit as it consumes
    return { sink, tell };
  }

  /** The session is over, however it went: its scope is dropped, its links closed and its metrics counted. */
  private ended(
    session: string,
    opened: [Opened, Opened],
    outcome: 'ok' | ErrorCode,
    seconds: number,
    dealtBytes: number,
  ): void {
    this.env.dropPrefix(sessionScope(session) + ':');
    for (const o of opened) o.link.close('session end');
    const m = this.opts.metrics;
    opened.forEach((o, i) => m?.traffic(o.meter.report(), () => `party${i}`));
    m?.dealerSessionEnded(opened[0].job.kind, outcome, seconds, dealtBytes);
  }

  private record(r: DealerService['finished'][number]): void {
    this.finished.push(r);
    if (this.finished.length > 1000) this.finished.shift();
  }
}

/** Both parties must have opened the session with the same job and model load. */
function sameJob(session: string, opened: [Opened, Opened]): Job {
  if (jobHash(opened[0].job) !== jobHash(opened[1].job) || opened[0].loadId !== opened[1].loadId)
    throw new MpcError('E_PROTOCOL', `session ${shortId(session)}: the parties asked for different jobs`);
  return opened[0].job;
}

/** Deals everything the program takes, unless a link fails first; then tells party 1 that all was dealt ahead. */
async function dealAll(
  job: Job,
  program: () => Promise<unknown>,
  links: readonly Link[],
  tell: (complete: boolean) => void,
): Promise<void> {
  const failed = new Promise<never>((_, reject) => {
    for (const l of links) l.onFailure(reject);
  });
  try {
    await Promise.race([program(), failed]);
    tell(true);
  } catch (e) {
    // a generation the client ends early closes the parties' links: not a dealer failure
    if (!(job.kind === 'generate' && links.every((l) => l.closedNormally))) throw e;
  }
}

/**
 * Everything may be dealt long before the parties finish: the session ends when both close their
 * dealer links, or fails when either aborts or dies (never on a timer: a session may compute for long).
 */
function closedByBoth(links: readonly Link[]): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let open = links.length;
    for (const l of links)
      l.onFailure((e) => {
        if (!l.closedNormally) reject(e);
        else if (--open === 0) resolve();
      });
  });
}
