/**
 * The dealer server. Both parties connect per session and send `open` with the public job;
 * when both agree, the dealer sends each its session seed and runs the job's program over
 * DealerPrims, streaming party 1's corrections with a bounded window. The dealer never sees
 * inputs, weights or outputs. Fixed masks of the model scope live in one DealerEnv for the
 * dealer's lifetime; session-scoped ones are dropped when the session ends.
 */
import { WebSocketServer, type WebSocket } from 'ws';
import { z } from 'zod';
import { MpcError, toMpcError, type Logger } from '../util/index.js';
import { Kernels } from '../ring/kernels.js';
import { randomSeed } from '../ring/prg.js';
import { shapeOnly } from '../ring/tensor.js';
import { Link, wsTransport, Meter, type Limits } from '../net/index.js';
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
}

export class DealerService {
  private wss: WebSocketServer | undefined;
  readonly env = new DealerEnv(new Kernels());
  private readonly pending = new Map<string, Pending>();
  /** Sessions completed or aborted, for tests and logs. */
  readonly finished: Array<{ session: string; ok: boolean; code?: string; bytesToP1: number }> = [];

  constructor(private readonly opts: DealerOptions) {}

  async listen(): Promise<number> {
    const wss = new WebSocketServer({ host: this.opts.host, port: this.opts.port, maxPayload: this.opts.limits.maxFrameBytes, perMessageDeflate: false });
    this.wss = wss;
    await new Promise<void>((resolve, reject) => { wss.once('listening', resolve); wss.once('error', reject); });
    wss.on('connection', (ws) => this.onConnection(ws));
    return (wss.address() as { port: number }).port;
  }

  async close(): Promise<void> {
    for (const c of this.wss?.clients ?? []) c.terminate();
    await new Promise<void>((resolve) => (this.wss ? this.wss.close(() => resolve()) : resolve()));
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
      const resolved = resolveJob(jobs[0]);
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
      log.info({ job: jobs[0].kind === 'op' ? jobs[0].op : jobs[0].kind }, 'session dealing');
      const P = new DealerPrims(s, session);
      const failed = new Promise<never>((_, reject) => { for (const l of links) l.onFailure(reject); });
      await Promise.race([resolved.program(P, resolved.inputs.map((i) => shapeOnly(i.shape, i.fracBits))), failed]);
      // wait until both parties close their dealer links (session over), bounded by the timeout
      await Promise.race([Promise.all(links.map((l) => new Promise<void>((r) => l.onFailure(() => r())))),
        new Promise<void>((r) => setTimeout(r, this.opts.limits.timeoutMs).unref())]);
      this.finished.push({ session, ok: true, bytesToP1: s.dealtBytes });
      log.info({ dealtBytes: s.dealtBytes, items: s.seq }, 'session dealt');
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
