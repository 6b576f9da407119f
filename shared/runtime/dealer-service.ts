/**
 * The dealer server. Both parties connect per session and send `open` with the public job;
 * when both agree, the dealer sends each its session seed and runs the job's program over
 * DealerPrims, streaming party 1's corrections with a bounded window. The dealer never sees
 * inputs, weights or outputs. Fixed masks of the model scope live in one DealerEnv for the
 * dealer's lifetime; session-scoped ones are dropped when the session ends.
 */
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { MpcError, toMpcError, type Logger } from '../util/index.js';
import { Kernels } from '../ring/kernels.js';
import { randomSeed } from '../ring/prg.js';
import { shapeOnly, type ShapeOnly } from '../ring/tensor.js';
import type { FixedHandle } from '../protocol/prims/types.js';
import { parseGpt2Config } from '../model/config.js';
import { ringModelSpec } from '../model/ring/fold.js';
import { loadRingModel, type RingNonlinear } from '../model/ring/ops.js';
import { DEALER_TOKEN_IO, generationProgram, parseGenerateParams, policyOf, type ClientTokens, type RingModel } from './generation.js';
import { Link, wsTransport, Meter, listenWs, type Limits, type TlsConfig } from '../net/index.js';
import { DealerEnv } from '../corr/env.js';
import { DealerCorrSink } from '../corr/stream.js';
import { DealerPrims } from '../protocol/prims/dealer.js';
import { OpenMsg, jobHash, type Job } from './wire.js';
import { resolveJob } from './jobs.js';

interface Pending {
  links: [Link | undefined, Link | undefined];
  job: [Job | undefined, Job | undefined];
  timer: NodeJS.Timeout;
}

export interface DealerOptions {
  host: string;
  port: number;
  limits: Limits;
  log: Logger;
  /** Non-linear recipes for generation programs (must be the parties' exact recipes). */
  nl?: RingNonlinear;
  /** TLS with authentication of both ends: only parties with a certificate of the CA connect. */
  tls?: TlsConfig;
}

export class DealerService {
  private server: { close(): Promise<void> } | undefined;
  readonly env = new DealerEnv(new Kernels());
  private readonly pending = new Map<string, Pending>();
  /** Sessions completed or aborted, for tests and logs. */
  readonly finished: Array<{ session: string; ok: boolean; code?: string; bytesToP1: number }> = [];
  /** Models loaded by the parties, by share id: the dealer's handles (shapes and fixed-mask ids). */
  private readonly models = new Map<string, RingModel<ShapeOnly, FixedHandle>>();

  constructor(private readonly opts: DealerOptions) {}

  async listen(): Promise<number> {
    const srv = await listenWs(this.opts.host, this.opts.port, this.opts.limits.maxFrameBytes, this.opts.tls);
    this.server = srv;
    srv.wss.on('connection', (ws) => this.onConnection(ws));
    return srv.port;
  }

  async close(): Promise<void> {
    await this.server?.close();
  }

  private onConnection(ws: WebSocket): void {
    const link = new Link(wsTransport(ws), { name: 'dealer', remote: 'a party', maxFrameBytes: 1 << 20, timeoutMs: this.opts.limits.timeoutMs });
    link.nextControl(OpenMsg, 'session open', this.opts.limits.timeoutMs, true).then(
      (m) => this.onOpen(link, m.session, m.role, m.job),
      (e: unknown) => this.opts.log.warn({ code: toMpcError(e).code }, 'connection closed before a valid open'),
    );
  }

  private onOpen(link: Link, session: string, role: 0 | 1, job: Job): void {
    let p = this.pending.get(session);
    if (!p) {
      const timer = setTimeout(() => this.abortPending(session, new MpcError('E_TIMEOUT', `session ${session}: the other party did not open within ${this.opts.limits.timeoutMs} ms`)), this.opts.limits.timeoutMs);
      timer.unref();
      p = { links: [undefined, undefined], job: [undefined, undefined], timer };
      this.pending.set(session, p);
    }
    if (p.links[role]) { link.abort(new MpcError('E_PROTOCOL', `session ${session}: role ${role} opened twice`)); return; }
    p.links[role] = link;
    p.job[role] = job;
    link.onFailure(() => { if (this.pending.get(session) === p) this.abortPending(session, new MpcError('E_PEER_CLOSED', `session ${session}: party ${role} left before the session started`)); });
    if (p.links[0] && p.links[1]) {
      clearTimeout(p.timer);
      this.pending.delete(session);
      void this.run(session, p.links as [Link, Link], p.job as [Job, Job]);
    }
  }

  /** The program the dealer runs for a job: the parties' program over shape-only tensors. */
  private programFor(job: Job): (P: DealerPrims) => Promise<unknown> {
    if (job.kind === 'op') {
      const resolved = resolveJob(job);
      return (P) => resolved.program(P, resolved.inputs.map((i) => shapeOnly(i.shape, i.fracBits)));
    }
    if (job.kind === 'load') {
      const config = parseGpt2Config(job.model, 'load job');
      const spec = new Map(ringModelSpec(config));
      return async (P) => {
        const model = await loadRingModel<ShapeOnly, FixedHandle, ClientTokens>(P, config, (n) => shapeOnly(spec.get(n)!.shape, spec.get(n)!.fracBits));
        this.models.set(job.shareId, model);
      };
    }
    const p = parseGenerateParams(job.params);
    policyOf(p);
    const model = this.models.get(p.shareId);
    if (!model) throw new MpcError('E_MODEL', `no model with share id ${p.shareId} was loaded by the parties`);
    if (!this.opts.nl) throw new MpcError('E_CONFIG', 'this dealer has no non-linear recipes configured');
    const nl = this.opts.nl;
    return (P) => generationProgram(P, nl, DEALER_TOKEN_IO, model, p);
  }

  private abortPending(session: string, err: MpcError): void {
    const p = this.pending.get(session);
    if (!p) return;
    clearTimeout(p.timer);
    this.pending.delete(session);
    for (const l of p.links) l?.abort(err);
  }

  private async run(session: string, links: [Link, Link], jobs: [Job, Job]): Promise<void> {
    const log = this.opts.log.child({ session });
    const meter = new Meter();
    const sink = { value: undefined as DealerCorrSink | undefined };
    try {
      if (jobHash(jobs[0]) !== jobHash(jobs[1])) throw new MpcError('E_PROTOCOL', `session ${session}: the parties asked for different jobs`);
      const job = jobs[0];
      const program = this.programFor(job);
      const seeds = [randomSeed(), randomSeed()];
      links.forEach((l, i) => {
        l.opts.meter = meter;
        l.sendControl({ t: 'seed', session, seed: seeds[i] });
      });
      const s = new DealerCorrSink(seeds[0]!, seeds[1]!, session, links[1], this.env, this.opts.limits.dealerWindowBytes);
      sink.value = s;
      // party 1 returns credit as it consumes; any other message (or a failure) ends the session
      void (async () => {
        for (;;) {
          let msg: unknown;
          try { msg = await links[1].nextControl(z.unknown(), 'credit', 0); } catch { return; }
          if (DealerCorrSink.isCredit(msg)) s.credit(msg);
        }
      })();
      log.info({ job: job.kind === 'op' ? job.op : job.kind }, 'session dealing');
      const P = new DealerPrims(s, job.kind === 'load' ? 'model' : session);
      const failed = new Promise<never>((_, reject) => { for (const l of links) l.onFailure(reject); });
      try {
        await Promise.race([program(P), failed]);
      } catch (e) {
        // a generation the client ends early closes the parties' links: not a dealer failure
        if (!(job.kind === 'generate' && links.every((l) => l.closedNormally))) throw e;
      }
      // wait until both parties close their dealer links (session over), bounded by the timeout
      await Promise.race([Promise.all(links.map((l) => new Promise<void>((r) => l.onFailure(() => r())))),
        new Promise<void>((r) => setTimeout(r, this.opts.limits.timeoutMs).unref())]);
      this.finished.push({ session, ok: true, bytesToP1: s.dealtBytes });
      log.info({ dealtBytes: s.dealtBytes, items: s.seq, byKind: Object.fromEntries(s.bytesByKind) }, 'session dealt');
    } catch (e) {
      const err = toMpcError(e);
      this.finished.push({ session, ok: false, code: err.code, bytesToP1: sink.value?.dealtBytes ?? 0 });
      log.error({ code: err.code, msg: err.message }, 'session aborted');
      for (const l of links) l.abort(err);
    } finally {
      this.env.dropPrefix(session + ':');
      for (const l of links) l.close('session end');
    }
  }
}
