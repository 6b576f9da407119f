/**
 * A party server (party 0 or party 1; the entry points differ only in role and flags).
 *
 * Serves clients on a WebSocket port; party 1 also accepts party 0's per-session peer
 * connections. Each session: agree on the job with the peer (party 0 dials party 1) and with the
 * dealer (both dial it), read the client's input shares, run the job's program over SecurePrims,
 * return output shares and the meter report. Any failure aborts that session on every link with
 * its code and the server keeps serving.
 */
import { WebSocket, WebSocketServer } from 'ws';
import { MpcError, toMpcError, invariant, type Logger } from '../util/index.js';
import { Kernels } from '../ring/kernels.js';
import { numel, share, type Share } from '../ring/tensor.js';
import { Link, wsTransport, Meter, type Limits, type Part } from '../net/index.js';
import { PartyCorrStream } from '../corr/stream.js';
import { PeerChannel, type PartyCtx } from '../protocol/ctx.js';
import { SecurePrims } from '../protocol/prims/secure.js';
import { FirstMsg, INPUT_FRAME, OUTPUT_FRAME, PeerOkMsg, SeedMsg, jobHash, type Job } from './wire.js';
import { resolveJob, type ResolvedJob } from './jobs.js';

export interface PartyOptions {
  role: 0 | 1;
  host: string;
  clientPort: number;
  /** Party 1: port for party 0's peer connections. */
  peerPort?: number;
  /** Party 0: party 1's peer URL. */
  peerUrl?: string;
  dealerUrl: string;
  limits: Limits;
  log: Logger;
}

interface PeerWaiter { resolve: (l: Link) => void; reject: (e: MpcError) => void; timer: NodeJS.Timeout }

export class PartyService {
  private clientWss: WebSocketServer | undefined;
  private peerWss: WebSocketServer | undefined;
  readonly kernels = new Kernels();
  /** Party 1: peer links that arrived before their client request, and waiters for them. */
  private readonly peerArrived = new Map<string, { link: Link; hash: string }>();
  private readonly peerWaiting = new Map<string, PeerWaiter>();
  readonly finished: Array<{ session: string; ok: boolean; code?: string }> = [];

  constructor(private readonly opts: PartyOptions) {
    invariant(opts.role === 0 ? !!opts.peerUrl : opts.peerPort !== undefined, 'E_CONFIG', 'party 0 needs --peer, party 1 needs --peer-port');
  }

  private server(port: number): Promise<WebSocketServer> {
    const wss = new WebSocketServer({ host: this.opts.host, port, maxPayload: this.opts.limits.maxFrameBytes, perMessageDeflate: false });
    return new Promise((resolve, reject) => { wss.once('listening', () => resolve(wss)); wss.once('error', reject); });
  }

  /** Starts listening; returns the bound ports. */
  async listen(): Promise<{ clientPort: number; peerPort?: number }> {
    this.clientWss = await this.server(this.opts.clientPort);
    this.clientWss.on('connection', (ws) => this.onClient(ws));
    const out: { clientPort: number; peerPort?: number } = { clientPort: (this.clientWss.address() as { port: number }).port };
    if (this.opts.role === 1) {
      this.peerWss = await this.server(this.opts.peerPort!);
      this.peerWss.on('connection', (ws) => this.onPeer(ws));
      out.peerPort = (this.peerWss.address() as { port: number }).port;
    }
    return out;
  }

  async close(): Promise<void> {
    for (const w of [this.clientWss, this.peerWss]) {
      for (const c of w?.clients ?? []) c.terminate();
      await new Promise<void>((r) => (w ? w.close(() => r()) : r()));
    }
  }

  private linkOf(ws: WebSocket, name: 'peer' | 'dealer' | 'client', remote: string, meter?: Meter): Link {
    return new Link(wsTransport(ws), { name, remote, meter, maxFrameBytes: this.opts.limits.maxFrameBytes, timeoutMs: this.opts.limits.timeoutMs });
  }

  private dial(url: string, name: 'peer' | 'dealer', remote: string, meter: Meter): Promise<Link> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url, { maxPayload: this.opts.limits.maxFrameBytes, perMessageDeflate: false, generateMask: (m: Buffer) => m.fill(0) } as WebSocket.ClientOptions);
      const timer = setTimeout(() => { ws.terminate(); reject(new MpcError('E_TIMEOUT', `connecting to ${remote} at ${url}`)); }, this.opts.limits.timeoutMs);
      timer.unref();
      ws.once('open', () => { clearTimeout(timer); resolve(this.linkOf(ws, name, remote, meter)); });
      ws.once('error', (e) => { clearTimeout(timer); reject(new MpcError('E_PEER_CLOSED', `cannot connect to ${remote} at ${url}: ${e.message}`)); });
    });
  }

  /** Party 1: a peer connection from party 0 announces its session. */
  private onPeer(ws: WebSocket): void {
    const link = this.linkOf(ws, 'peer', 'party 0');
    link.nextControl(FirstMsg, 'peer hello', this.opts.limits.timeoutMs, true).then((m) => {
      if (m.t !== 'peer') throw new MpcError('E_PROTOCOL', `expected a peer hello, got '${m.t}'`);
      const w = this.peerWaiting.get(m.session);
      if (w) { this.peerWaiting.delete(m.session); clearTimeout(w.timer); this.peerArrived.set(m.session, { link, hash: m.jobHash }); w.resolve(link); }
      else {
        this.peerArrived.set(m.session, { link, hash: m.jobHash });
        const t = setTimeout(() => { if (this.peerArrived.get(m.session)?.link === link) { this.peerArrived.delete(m.session); link.abort(new MpcError('E_TIMEOUT', `session ${m.session}: no client request at party 1`)); } }, this.opts.limits.timeoutMs);
        t.unref();
      }
    }).catch((e: unknown) => { const err = toMpcError(e, 'E_FRAME'); link.abort(err); this.opts.log.warn({ code: err.code }, 'bad peer connection'); });
  }

  private waitPeer(session: string, hash: string): Promise<Link> {
    const got = this.peerArrived.get(session);
    const check = (l: Link): Link => {
      const h = this.peerArrived.get(session)?.hash;
      this.peerArrived.delete(session);
      if (h !== hash) throw new MpcError('E_PROTOCOL', `session ${session}: the parties received different jobs from the client`);
      return l;
    };
    if (got) return Promise.resolve(check(got.link));
    return new Promise<Link>((resolve, reject) => {
      const timer = setTimeout(() => { this.peerWaiting.delete(session); reject(new MpcError('E_TIMEOUT', `session ${session}: party 0 did not connect within ${this.opts.limits.timeoutMs} ms`)); }, this.opts.limits.timeoutMs);
      timer.unref();
      this.peerWaiting.set(session, { resolve: (l) => { try { resolve(check(l)); } catch (e) { reject(e); } }, reject, timer });
    });
  }

  private onClient(ws: WebSocket): void {
    const meter = new Meter();
    const client = this.linkOf(ws, 'client', 'the client', meter);
    client.nextControl(FirstMsg, 'client request', this.opts.limits.timeoutMs, true).then(
      async (m) => {
        if (m.t !== 'run') throw new MpcError('E_PROTOCOL', `expected a run request, got '${m.t}'`);
        await this.runSession(m.session, m.job, client, meter);
      },
    ).catch((e: unknown) => {
      const err = toMpcError(e, 'E_FRAME');
      client.abort(err);
      this.opts.log.warn({ code: err.code, msg: err.message }, 'client request rejected');
    });
  }

  private async runSession(session: string, job: Job, client: Link, meter: Meter): Promise<void> {
    const log = this.opts.log.child({ session });
    const links: Link[] = [client];
    const hash = jobHash(job);
    let prims: SecurePrims | undefined;
    try {
      const resolved = resolveJob(job); // unknown op / bad parameters fail here, before any peer work
      log.info({ job: job.kind === 'op' ? job.op : job.kind }, 'session start');
      let peer: Link;
      if (this.opts.role === 0) {
        peer = await this.dial(this.opts.peerUrl!, 'peer', 'party 1', meter);
        links.push(peer);
        peer.sendControl({ t: 'peer', session, jobHash: hash });
        await peer.nextControl(PeerOkMsg, 'peer confirmation');
      } else {
        peer = await this.waitPeer(session, hash);
        links.push(peer);
        peer.opts.meter = meter;
        peer.sendControl({ t: 'peer-ok', session });
      }
      const dealer = await this.dial(this.opts.dealerUrl, 'dealer', 'the dealer', meter);
      links.push(dealer);
      for (const l of links) l.onFailure((e) => { for (const o of links) o.abort(e); });
      dealer.sendControl({ t: 'open', session, role: this.opts.role, job });
      const inputs = await this.readInputs(client, resolved);
      const { seed } = await dealer.nextControl(SeedMsg, 'session seed');
      const corr = new PartyCorrStream(this.opts.role, seed, session, this.opts.role === 1 ? dealer : undefined, meter);
      const channel = new PeerChannel(peer, meter, () => corr, log);
      const ctx: PartyCtx = { me: this.opts.role, kernels: this.kernels, corr, meter, exchange: (s, p) => channel.exchange(s, p) };
      prims = new SecurePrims(ctx, session);
      meter.setPhase('online');
      const t0 = performance.now();
      const failed = new Promise<never>((_, reject) => { for (const l of links) l.onFailure(reject); });
      const outputs = (await Promise.race([resolved.program(prims, inputs), failed])) as Share[];
      const ms = performance.now() - t0;
      meter.setPhase('output');
      client.sendTensor({ type: OUTPUT_FRAME, seq: 0n, tag: 0, check: 0, parts: outputs.map((o) => ({ kind: 'u64', data: o.data }) as Part) });
      client.sendControl({ t: 'result', session, outputs: outputs.map((o) => ({ shape: [...o.shape], fracBits: o.fracBits })), report: meter.report(), ms });
      this.finished.push({ session, ok: true });
      log.info({ ms: Math.round(ms), rounds: channel.rounds }, 'session done');
      // let the client read the result before the socket closes
      await new Promise<void>((r) => client.onFailure(() => r()));
    } catch (e) {
      const err = toMpcError(e);
      this.finished.push({ session, ok: false, code: err.code });
      log.error({ code: err.code, msg: err.message }, 'session aborted');
      for (const l of links) l.abort(err);
    } finally {
      prims?.freeAll();
      for (const l of links) l.close('session end');
    }
  }

  /** Reads the client's input shares: one frame with one ring part per declared input. */
  private async readInputs(client: Link, job: ResolvedJob): Promise<Share[]> {
    const f = await client.nextTensor('input shares');
    if (f.type !== INPUT_FRAME) throw new MpcError('E_PROTOCOL', `expected input shares, got frame type ${f.type}`);
    if (f.parts.length !== job.inputs.length) throw new MpcError('E_SHAPE', `expected ${job.inputs.length} inputs, got ${f.parts.length}`);
    return job.inputs.map((spec, i) => {
      const p = f.parts[i]!;
      const n = numel(spec.shape);
      if (p.kind !== 'u64' || p.data.length !== n) {
        throw new MpcError('E_SHAPE', `input ${i}: expected ${n} ring elements for shape [${spec.shape.join(', ')}], got ${p.kind === 'u64' ? p.data.length : p.kind}`);
      }
      return share(spec.shape, p.data, spec.fracBits);
    });
  }
}
