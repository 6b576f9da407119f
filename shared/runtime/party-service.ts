/**
 * A party server (party 0 or party 1; the entry points differ only in role and flags).
 *
 * Listeners (net/tls.ts checks every peer's role before a message is read): the client port
 * accepts the client role only; party 1's peer port accepts party 0 only. Party 0 starts every
 * session: it makes the session id, answers the client with it and announces the session to party
 * 1, which matches it with the client's join (runtime/rendezvous.ts). Both then dial the dealer,
 * read the client's inputs and run the job's program over SecurePrims (runtime/party-session.ts).
 * Any failure aborts that session on every link with its code; the server keeps serving.
 *
 * Serving a model: party 0 loads it with party 1 and the dealer at start-up and keeps a presence
 * connection to both; when either goes away (a restart), the model is dropped and reloaded as soon
 * as both are back (runtime/party-model.ts).
 */
import type { WebSocket } from 'ws';
import { z } from 'zod';
import { MpcError, toMpcError, invariant, type Logger } from '../util/index.js';
import { Kernels } from '../ring/kernels.js';
import type { Share } from '../ring/tensor.js';
import {
  Link,
  wsTransport,
  Meter,
  dialWs,
  listenWs,
  type Limits,
  type Listener,
  type PeerIdentity,
  type Role,
  type TlsConfig,
} from '../net/index.js';
import type { FixedMatrix } from '../protocol/fixed-mask.js';
import type { PartyShares } from '../model/ring/share-file.js';
import type { RingNonlinear } from '../model/ring/ops.js';
import { JoinMsg, PeerFirstMsg, RunMsg, jobHash, newSessionId, shortId, type Job } from './wire.js';
import { resolveJob } from './jobs.js';
import { parseGenerateParams, policyOf, type GenerateParams, type RingModel } from './generation.js';
import { Rendezvous } from './rendezvous.js';
import { ModelSlots } from './model-slot.js';
import { PartyModel } from './party-model.js';
import { runPartySession, type SessionPlan } from './party-session.js';
import type { ServerMetrics, ServerState } from './metrics.js';

/** What clients may ask for beyond generated tokens (operator flags; off by default). */
export interface PartyPowers {
  /** The logits of every step (`revealLogits`; they enable model-extraction attacks). */
  logits: boolean;
  /** A revealed prefill (benchmark mode): refused anyway when the weights are secret. */
  revealedPrefill: boolean;
  /** revealHidden and revealSelections (tests): refused anyway when the weights are secret. */
  testHooks: boolean;
}

export interface PartyOptions {
  role: 0 | 1;
  host: string;
  clientPort: number;
  /** Party 1: port for party 0's connections. */
  peerPort?: number;
  /** Party 0: party 1's peer URL (wss://). */
  peerUrl?: string;
  dealerUrl: string;
  limits: Limits;
  log: Logger;
  tls: TlsConfig;
  /** Model shares to serve (generation); absent for an ops-only server. */
  model?: { shares: PartyShares; nl: RingNonlinear };
  powers?: Partial<PartyPowers>;
  /** Operations metrics (runtime/metrics.ts); absent: not collected. */
  metrics?: ServerMetrics;
}

/** One half of a session at party 1, waiting for the other: the client's join or party 0's hello. */
interface Half {
  link: Link;
  hash: string;
  loadId?: string | undefined;
}

export type ServedModel = RingModel<Share, FixedMatrix>;

export class PartyService {
  private readonly listeners: Listener[] = [];
  readonly kernels = new Kernels();
  /** Sessions completed or aborted (the last 1000), for tests and logs. */
  readonly finished: Array<{ session: string; ok: boolean; code?: string }> = [];
  readonly loads = new ModelSlots<ServedModel>();
  private readonly rendezvous: Rendezvous<Half>;
  private readonly powers: PartyPowers;
  private readonly modelKeeper: PartyModel | undefined;
  private sessions = 0;
  /** Sessions in runPartySession (every kind, model loads included). */
  running = 0;

  constructor(readonly opts: PartyOptions) {
    invariant(
      opts.role === 0 ? !!opts.peerUrl : opts.peerPort !== undefined,
      'E_CONFIG',
      'party 0 needs --peer, party 1 needs --peer-port',
    );
    invariant(
      opts.tls.role === (opts.role === 0 ? 'party0' : 'party1'),
      'E_CONFIG',
      `party ${opts.role} needs a party${opts.role} certificate`,
    );
    this.rendezvous = new Rendezvous(opts.limits.maxSessions, opts.limits.timeoutMs, ['the client', 'party 0']);
    this.powers = { logits: false, revealedPrefill: false, testHooks: false, ...opts.powers };
    this.modelKeeper = opts.role === 0 && opts.model ? new PartyModel(this) : undefined;
  }

  /** Starts listening (party 0 with a model: after the first model load); returns the bound ports. */
  async listen(): Promise<{ clientPort: number; peerPort?: number }> {
    const { host, limits, tls, log } = this.opts;
    const common = { host, tls, log, maxConnections: limits.maxConnections, maxPayload: limits.maxFrameBytes };
    const client = await listenWs({
      ...common,
      port: this.opts.clientPort,
      accept: ['client'],
      what: 'client port',
      onRefused: (r) => this.opts.metrics?.refused('client', r),
    });
    this.listeners.push(client);
    client.onConnection((ws, who) => this.onClient(ws, who));
    const out: { clientPort: number; peerPort?: number } = { clientPort: client.port };
    if (this.opts.role === 1) {
      const peer = await listenWs({
        ...common,
        port: this.opts.peerPort!,
        accept: ['party0'],
        what: 'peer port',
        onRefused: (r) => this.opts.metrics?.refused('peer', r),
      });
      this.listeners.push(peer);
      peer.onConnection((ws) => this.onPeer(ws));
      out.peerPort = peer.port;
    }
    // party 0 reports ready only once the model is loaded, so a launcher can wait on it
    if (this.modelKeeper) await this.modelKeeper.start();
    return out;
  }

  async close(): Promise<void> {
    this.modelKeeper?.stop();
    await Promise.all(this.listeners.map((s) => s.close()));
  }

  /** What /health and the gauges report (runtime/metrics.ts). */
  state(): ServerState {
    const [client, peer] = this.listeners;
    return {
      model: { served: this.opts.model !== undefined, loadedSince: this.loads.since },
      sessions: { running: this.running, waiting: this.rendezvous.size },
      arenaBytes: this.kernels.usedBytes(),
      connections: { client: client?.connections ?? 0, ...(peer ? { peer: peer.connections } : {}) },
    };
  }

  /** A link over an accepted or dialled socket, metered by `meter`. */
  linkOf(ws: WebSocket, name: 'peer' | 'dealer' | 'client', remote: string, meter?: Meter): Link {
    return new Link(wsTransport(ws), {
      name,
      remote,
      meter,
      maxFrameBytes: this.opts.limits.maxFrameBytes,
      timeoutMs: this.opts.limits.timeoutMs,
    });
  }

  /** Dials party 1 (party 0) or the dealer, checking that the server holds `expect`'s certificate. */
  async dial(url: string, name: 'peer' | 'dealer', expect: Role, remote: string, meter?: Meter): Promise<Link> {
    const { limits, tls } = this.opts;
    return this.linkOf(
      await dialWs(url, remote, { timeoutMs: limits.timeoutMs, maxFrameBytes: limits.maxFrameBytes, tls, expect }),
      name,
      remote,
      meter,
    );
  }

  /** Records a finished session (bounded). */
  finish(session: string, ok: boolean, code?: string): void {
    this.finished.push(code === undefined ? { session, ok } : { session, ok, code });
    if (this.finished.length > 1000) this.finished.shift();
  }

  private onClient(ws: WebSocket, who: PeerIdentity): void {
    const meter = new Meter();
    const client = this.linkOf(ws, 'client', `the client (${who.name})`, meter);
    const first = this.opts.role === 0 ? this.acceptRun(client, meter) : this.acceptJoin(client, meter);
    first.catch((e: unknown) => {
      const err = toMpcError(e, 'E_FRAME');
      client.abort(err);
      this.opts.metrics?.refused('client', err.code, meter.report());
      this.opts.log.warn({ code: err.code, msg: err.message }, 'client request rejected');
    });
  }

  /** Admission: a session slot, released by the returned function. @throws MpcError E_BUSY */
  private admit(): () => void {
    if (this.sessions >= this.opts.limits.maxSessions)
      throw new MpcError(
        'E_BUSY',
        `this party already runs ${this.sessions} sessions (limit ${this.opts.limits.maxSessions})`,
      );
    this.sessions++;
    let released = false;
    return () => {
      if (!released) {
        released = true;
        this.sessions--;
      }
    };
  }

  /** Party 0: a client's run request; this party makes the session id. */
  private async acceptRun(client: Link, meter: Meter): Promise<void> {
    const m = await client.nextControl(RunMsg, 'client request', this.opts.limits.helloMs, true);
    this.validate(m.job);
    const release = this.admit();
    try {
      const session = newSessionId();
      client.sendControl({ t: 'session', session });
      await runPartySession(this, { session, job: m.job, client, meter });
    } finally {
      release();
    }
  }

  /** Party 1: a client joins the session party 0 told it about. */
  private async acceptJoin(client: Link, meter: Meter): Promise<void> {
    const m = await client.nextControl(JoinMsg, 'client request', this.opts.limits.helloMs, true);
    this.validate(m.job);
    const release = this.admit();
    try {
      const hash = jobHash(m.job);
      client.onFailure((e) => this.rendezvous.cancel(m.session, e));
      const peer = await this.rendezvous.arrive(m.session, 0, { link: client, hash });
      if (peer.hash !== hash) {
        const err = new MpcError(
          'E_PROTOCOL',
          `session ${shortId(m.session)}: the client sent the parties different jobs`,
        );
        peer.link.abort(err);
        throw err;
      }
      await runPartySession(this, {
        session: m.session,
        job: m.job,
        client,
        meter,
        peer: peer.link,
        loadId: peer.loadId,
      });
    } finally {
      release();
    }
  }

  /** Party 1: party 0's connection announces a session, a model load, or its presence. */
  private onPeer(ws: WebSocket): void {
    const meter = new Meter();
    const link = this.linkOf(ws, 'peer', 'party 0', meter);
    (async () => {
      const m = await link.nextControl(PeerFirstMsg, 'peer hello', this.opts.limits.helloMs, true);
      if (m.t === 'presence') {
        link.onFailure(() => this.opts.log.info('party 0 is gone (presence link closed)'));
        // a presence connection carries nothing more: any message aborts it
        void link.nextControl(z.never(), 'nothing (presence link)', 0, true).catch(() => {});
        return;
      }
      if (m.load === true) {
        const job = this.loadJob();
        if (jobHash(job) !== m.jobHash)
          throw new MpcError('E_MODEL', 'party 0 loads another model than the shares this party holds');
        await runPartySession(this, { session: m.session, job, meter, peer: link });
        return;
      }
      link.onFailure((e) => this.rendezvous.cancel(m.session, e));
      await this.rendezvous.arrive(m.session, 1, { link, hash: m.jobHash, loadId: m.loadId });
    })().catch((e: unknown) => {
      const err = toMpcError(e, 'E_FRAME');
      link.abort(err);
      this.opts.metrics?.refused('peer', err.code, meter.report());
      this.opts.log.warn({ code: err.code, msg: err.message }, 'peer connection rejected');
    });
  }

  /** The model-load job for this party's shares. @throws MpcError E_MODEL without shares */
  loadJob(): Job {
    const m = this.opts.model;
    if (!m) throw new MpcError('E_MODEL', 'this party serves no model (start it with --shares and --share-config)');
    return { kind: 'load', shareId: m.shares.shareConfig.shareId, model: m.shares.shareConfig.model };
  }

  /** Checks a client's job before any peer work. @throws MpcError E_INPUT, E_CONFIG, E_MODEL */
  private validate(job: Job): void {
    if (job.kind === 'load') throw new MpcError('E_PROTOCOL', 'clients cannot start model-load sessions');
    if (job.kind === 'op') resolveJob(job);
    else this.checkGenerate(job);
  }

  /** A generation job's parameters against this party's model and the operator's powers. */
  checkGenerate(job: Extract<Job, { kind: 'generate' }>): GenerateParams {
    const m = this.opts.model;
    if (!m) throw new MpcError('E_CONFIG', 'this party serves no model (start it with --shares and --share-config)');
    const p = parseGenerateParams(job.params);
    const secret = m.shares.shareConfig.secretWeights;
    const refuse = (what: string, flag: string): never => {
      throw new MpcError(
        'E_INPUT',
        `this party does not ${what} (${secret && flag !== '--allow-logits' ? 'the weights it serves are secret' : `start both parties with ${flag}`})`,
      );
    };
    if (p.revealLogits && !this.powers.logits) refuse('reveal logits', '--allow-logits');
    if (p.prefill === 'revealed' && (secret || !this.powers.revealedPrefill))
      refuse('run a revealed prefill', '--allow-revealed-prefill');
    if ((p.revealHidden || p.revealSelections) && (secret || !this.powers.testHooks))
      refuse('reveal hidden states or selections', '--allow-test-hooks');
    if (p.shareId !== m.shares.shareConfig.shareId)
      throw new MpcError(
        'E_MODEL',
        `the client's model (share id ${p.shareId}) does not match the shares this party holds`,
      );
    if (p.promptLen > this.opts.limits.maxPromptTokens)
      throw new MpcError(
        'E_INPUT',
        `a prompt of ${p.promptLen} tokens exceeds this party's limit of ${this.opts.limits.maxPromptTokens}`,
      );
    policyOf({ ...p, promptLen: p.promptLen });
    return p;
  }

  /** Party 0: waits until a model load is current (bounded by the session deadline). */
  modelReady(): Promise<void> {
    return this.modelKeeper ? this.modelKeeper.ready(this.opts.limits.timeoutMs) : Promise.resolve();
  }
}

export type { SessionPlan };
