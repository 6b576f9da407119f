/**
 * A party server (party 0 or party 1; the entry points differ only in role and flags).
 *
 * Serves clients on a WebSocket port; party 1 also accepts party 0's per-session peer
 * connections. Each session: agree on the job with the peer (party 0 dials party 1) and with the
 * dealer (both dial it), read the client's input shares, run the job's program over SecurePrims,
 * return output shares and the meter report. Any failure aborts that session on every link with
 * its code and the server keeps serving.
 */
import type { WebSocket } from 'ws';
import { MpcError, toMpcError, invariant, type Logger } from '../util/index.js';
import { Kernels } from '../ring/kernels.js';
import { numel, share, type Share } from '../ring/tensor.js';
import { Link, wsTransport, Meter, dialWs, listenWs, type Limits, type Part, type TlsConfig } from '../net/index.js';
import { PartyCorrStream } from '../corr/stream.js';
import { PeerChannel, type PartyCtx } from '../protocol/ctx.js';
import { SecurePrims } from '../protocol/prims/secure.js';
import { FirstMsg, INPUT_FRAME, OUTPUT_FRAME, PeerOkMsg, SeedMsg, jobHash, type Job } from './wire.js';
import { resolveJob, type ResolvedJob } from './jobs.js';
import type { FixedMatrix } from '../protocol/fixed-mask.js';
import type { PartyShares } from '../model/ring/share-file.js';
import { loadRingModel, type RingNonlinear } from '../model/ring/ops.js';
import { ClientStopped, PartyClientIO, generationProgram, parseGenerateParams, policyOf, type GenerateParams, type ClientTokens, type RingModel } from './generation.js';

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
  /** TLS with authentication of both ends on every link (all servers and dials). */
  tls?: TlsConfig;
  /** Model shares to serve (generation); absent for an ops-only server. */
  model?: { shares: PartyShares; nl: RingNonlinear };
  /**
   * Accept the test and benchmark hooks of a generation job (revealHidden, revealSelections, the
   * revealed prefill). They reveal activations or selections, so a production party refuses them.
   */
  allowTestHooks?: boolean;
}

interface PeerWaiter { resolve: (l: Link) => void; reject: (e: MpcError) => void; timer: NodeJS.Timeout }

export class PartyService {
  private servers: Array<{ close(): Promise<void> }> = [];
  readonly kernels = new Kernels();
  /** Party 1: peer links that arrived before their client request, and waiters for them. */
  private readonly peerArrived = new Map<string, { link: Link; hash: string }>();
  private readonly peerWaiting = new Map<string, PeerWaiter>();
  readonly finished: Array<{ session: string; ok: boolean; code?: string }> = [];
  /** The loaded model (fixed-mask weight matrices and bias shares). */
  private model: RingModel<Share, FixedMatrix> | undefined;

  constructor(private readonly opts: PartyOptions) {
    invariant(opts.role === 0 ? !!opts.peerUrl : opts.peerPort !== undefined, 'E_CONFIG', 'party 0 needs --peer, party 1 needs --peer-port');
  }

  /** Starts listening; returns the bound ports. */
  async listen(): Promise<{ clientPort: number; peerPort?: number }> {
    const { host, limits, tls } = this.opts;
    const client = await listenWs(host, this.opts.clientPort, limits.maxFrameBytes, tls);
    this.servers.push(client);
    client.wss.on('connection', (ws) => this.onClient(ws));
    const out: { clientPort: number; peerPort?: number } = { clientPort: client.port };
    if (this.opts.role === 1) {
      const peer = await listenWs(host, this.opts.peerPort!, limits.maxFrameBytes, tls);
      this.servers.push(peer);
      peer.wss.on('connection', (ws) => this.onPeer(ws));
      out.peerPort = peer.port;
    }
    if (this.opts.model) {
      this.modelReady = this.loadModel();
      this.modelReady.catch(() => { /* reported by the session and by the next generate request */ });
      // party 0 reports ready only once the model is loaded, so a launcher can wait on it
      if (this.opts.role === 0) await this.modelReady;
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.close()));
  }

  private linkOf(ws: WebSocket, name: 'peer' | 'dealer' | 'client', remote: string, meter?: Meter): Link {
    return new Link(wsTransport(ws), { name, remote, meter, maxFrameBytes: this.opts.limits.maxFrameBytes, timeoutMs: this.opts.limits.timeoutMs });
  }

  private async dial(url: string, name: 'peer' | 'dealer', remote: string, meter: Meter): Promise<Link> {
    const ws = await dialWs(url, remote, { timeoutMs: this.opts.limits.timeoutMs, maxFrameBytes: this.opts.limits.maxFrameBytes, tls: this.opts.tls });
    return this.linkOf(ws, name, remote, meter);
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
        if (m.job.kind === 'load') throw new MpcError('E_PROTOCOL', 'clients cannot start model-load sessions');
        await this.runSession(m.session, m.job, client, meter);
      },
    ).catch((e: unknown) => {
      const err = toMpcError(e, 'E_FRAME');
      client.abort(err);
      this.opts.log.warn({ code: err.code, msg: err.message }, 'client request rejected');
    });
  }

  /**
   * Loads this party's model shares: both parties register every weight matrix under a fixed mask
   * with the dealer, opening each masked matrix once. Party 0 starts the session; party 1 waits
   * for it. Generation sessions wait until this is done.
   */
  private async loadModel(): Promise<void> {
    const m = this.opts.model!;
    const session = `load-${m.shares.shareConfig.shareId}`;
    const job: Job = { kind: 'load', shareId: m.shares.shareConfig.shareId, model: m.shares.shareConfig.model };
    await this.runSession(session, job, undefined, new Meter());
    if (!this.model) throw new MpcError('E_MODEL', 'model shares could not be loaded (see the log above)');
  }

  /** Resolves once the model is loaded (immediately when the server serves ops only). */
  modelReady: Promise<void> = Promise.resolve();

  private async runSession(session: string, job: Job, client: Link | undefined, meter: Meter): Promise<void> {
    const log = this.opts.log.child({ session });
    const links: Link[] = client ? [client] : [];
    const hash = jobHash(job);
    let prims: SecurePrims | undefined;
    try {
      // validate before any peer work: unknown ops, bad parameters, missing model
      const resolved = job.kind === 'op' ? resolveJob(job) : undefined;
      const gen = job.kind === 'generate' ? this.checkGenerate(job) : undefined;
      if (gen) await this.modelReady;
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
      const inputs = resolved ? await this.readInputs(client!, resolved) : [];
      const { seed } = await dealer.nextControl(SeedMsg, 'session seed');
      const corr = new PartyCorrStream(this.opts.role, seed, session, this.opts.role === 1 ? dealer : undefined, meter);
      const channel = new PeerChannel(peer, meter, () => corr, log);
      const io = gen && client ? new PartyClientIO(client, gen) : undefined;
      const ctx: PartyCtx = { me: this.opts.role, kernels: this.kernels, corr, meter, exchange: (s, p) => channel.exchange(s, p), ...(io ? { client: io } : {}) };
      prims = new SecurePrims(ctx, job.kind === 'load' ? 'model' : session);
      meter.setPhase('online');
      const t0 = performance.now();
      const failed = new Promise<never>((_, reject) => { for (const l of links) l.onFailure(reject); });
      let outputs: Share[] = [];
      const P = prims;
      const work = async (): Promise<void> => {
        if (resolved) outputs = (await resolved.program(P, inputs)) as Share[];
        else if (job.kind === 'load') this.model = await this.loadShares(P);
        else await this.generate(P, io!, gen!);
      };
      await Promise.race([work(), failed]);
      const ms = performance.now() - t0;
      if (client) {
        meter.setPhase('output');
        if (resolved) client.sendTensor({ type: OUTPUT_FRAME, seq: 0n, tag: 0, check: 0, parts: outputs.map((o) => ({ kind: 'u64', data: o.data }) as Part) });
        client.sendControl({ t: 'result', session, outputs: outputs.map((o) => ({ shape: [...o.shape], fracBits: o.fracBits })), report: meter.report(), ms });
      }
      this.finished.push({ session, ok: true });
      log.info({ ms: Math.round(ms), rounds: channel.rounds }, 'session done');
      // let the client read the result before the socket closes
      if (client) await new Promise<void>((r) => client.onFailure(() => r()));
    } catch (e) {
      const err = toMpcError(e);
      this.finished.push({ session, ok: false, code: err.code });
      log.error({ code: err.code, msg: err.message }, 'session aborted');
      for (const l of links) l.abort(err);
    } finally {
      // session-scoped matrices (op weights, KV caches) are freed; the model's stay loaded
      if (job.kind !== 'load') prims?.freeAll();
      for (const l of links) l.close('session end');
    }
  }

  private checkGenerate(job: Extract<Job, { kind: 'generate' }>): GenerateParams {
    if (!this.opts.model) throw new MpcError('E_CONFIG', 'this party serves no model (start it with --shares and --share-config)');
    const params = parseGenerateParams(job.params);
    if (!this.opts.allowTestHooks && (params.revealHidden || params.revealSelections || params.prefill === 'revealed')) {
      throw new MpcError('E_INPUT', 'this party refuses test hooks (revealHidden, revealSelections, a revealed prefill); start it with --allow-test-hooks');
    }
    if (params.shareId !== this.opts.model.shares.shareConfig.shareId) {
      throw new MpcError('E_MODEL', `the client's model (share id ${params.shareId}) does not match the shares this party holds`);
    }
    policyOf(params);
    return params;
  }

  private async loadShares(P: SecurePrims): Promise<RingModel<Share, FixedMatrix>> {
    const m = this.opts.model!.shares;
    return loadRingModel<Share, FixedMatrix, ClientTokens>(P, m.config, (name) => {
      const t = m.tensors.get(name)!;
      return share(t.shape, t.data, t.fracBits);
    });
  }

  private async generate(P: SecurePrims, io: PartyClientIO, p: GenerateParams): Promise<void> {
    try {
      await generationProgram(P, this.opts.model!.nl, io, this.model!, p, {
        onHidden: (i: number, h: Share) => (p.revealHidden ? io.revealHidden(i, h) : io.progress(i)),
        ...(p.revealSelections ? { onSelection: (what: 'topk' | 'gather', sel: Share) => io.revealSelection(what, sel) } : {}),
      });
    } catch (e) {
      if (!(e instanceof ClientStopped)) throw e;
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
