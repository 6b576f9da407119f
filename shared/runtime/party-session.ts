/**
 * One session on a party, in named steps: check the job and the model load, link up with the peer
 * (party 0 dials party 1; party 1 already holds party 0's connection), open the session with the
 * dealer, read the client's inputs, run the job's program over SecurePrims, and return the outputs
 * and the meter report to the client. The first failure aborts every link of the session with its
 * code; the session's fixed-mask matrices are freed whatever happens.
 */
import { MpcError, toMpcError, type ErrorCode, type Logger } from '../util/index.js';
import { numel, share, type Share } from '../ring/tensor.js';
import type { Link, Meter, Part } from '../net/index.js';
import { PartyCorrStream } from '../corr/stream.js';
import { PeerChannel, type PartyCtx } from '../protocol/ctx.js';
import { ClientChallenges } from '../protocol/client-check.js';
import { Prg } from '../ring/prg.js';
import type { FixedMatrix } from '../protocol/fixed-mask.js';
import { SecurePrims } from '../protocol/prims/secure.js';
import { loadAnyRingModel } from '../model/ring/any-model.js';
import {
  AheadMsg,
  INPUT_FRAME,
  OUTPUT_FRAME,
  PeerOkMsg,
  SeedMsg,
  jobHash,
  modelScope,
  sessionScope,
  shortId,
  type Job,
} from './wire.js';
import { resolveJob, type ResolvedJob } from './jobs.js';
import {
  ClientStopped,
  PartyClientIO,
  generationProgram,
  type ClientTokens,
  type GenerateParams,
} from './generation.js';
import type { PartyService, ServedModel } from './party-service.js';

/** PRG stream of the common seed that the one-hot checks' challenges come from. */
const STREAM_CHALLENGES = 7n;

export interface SessionPlan {
  session: string;
  job: Job;
  meter: Meter;
  /** Absent for a model load (no client). */
  client?: Link;
  /** Party 1: party 0's connection for this session. */
  peer?: Link;
  /** Party 1: the model load party 0 announced (generation). */
  loadId?: string | undefined;
}

interface Running {
  readonly svc: PartyService;
  readonly plan: SessionPlan;
  readonly log: Logger;
  readonly links: Link[];
  /** Adds a link to the session: the first failure of any link aborts all of them. */
  add(l: Link): Link;
  /** The session is over: from now on a link that fails or closes is no reason to abort the others. */
  end(): void;
}

function running(svc: PartyService, plan: SessionPlan): Running {
  const links: Link[] = [];
  let failed: MpcError | undefined;
  let ended = false;
  const add = (l: Link): Link => {
    if (failed) {
      l.abort(failed);
      return l;
    }
    links.push(l);
    l.onFailure((e) => {
      if (ended) return;
      failed ??= e;
      for (const o of links) o.abort(failed);
    });
    return l;
  };
  const run = {
    svc,
    plan,
    log: svc.opts.log.child({ session: shortId(plan.session) }),
    links,
    add,
    end: () => {
      ended = true;
    },
  };
  if (plan.client) add(plan.client);
  return run;
}

/** What a session holds until it ends, whatever happens: freed or kept in the last step. */
interface Held {
  /** Released at the end (the client checks' challenges). */
  readonly release: Array<() => void>;
  prims?: SecurePrims;
  /** A successful model load keeps its matrices. */
  keep?: boolean;
  /** The model load a generation runs on. */
  use?: { model: ServedModel; done: () => void };
}

/** What the job's program needs besides the prims. */
interface JobInputs {
  readonly resolved: ResolvedJob | undefined;
  readonly inputs: Share[];
  readonly gen: GenerateParams | undefined;
  readonly io: PartyClientIO | undefined;
}

/** Runs one session to its end (the steps of the file header); the first failure aborts it, reported once. */
export async function runPartySession(svc: PartyService, plan: SessionPlan): Promise<void> {
  const { session, job } = plan;
  const run = running(svc, plan);
  const held: Held = { release: [] };
  let outcome: 'ok' | ErrorCode = 'ok';
  svc.running++;
  svc.opts.metrics?.sessionStarted(job.kind);
  try {
    const resolved = job.kind === 'op' ? resolveJob(job) : undefined;
    const gen = job.kind === 'generate' ? svc.checkGenerate(job) : undefined;
    let loadId: string | undefined;
    if (gen) ({ use: held.use, loadId } = await useModel(run));
    run.log.info({ job: job.kind === 'op' ? job.op : job.kind }, 'session start');
    const peer = await linkPeer(run, loadId);
    const dealer = await openWithDealer(run, loadId);
    const inputs = resolved ? await readInputs(plan.client!, resolved) : [];
    const { ctx, channel, io } = await sessionContext(run, dealer, peer, gen, held);
    const P = (held.prims = new SecurePrims(ctx, job.kind === 'load' ? modelScope(session) : sessionScope(session)));
    if (gen?.preprocess === 'ahead') await awaitPreprocessing(run, peer, dealer);
    const { outputs, ms } = await runOnline(run, () => runJob(run, P, { resolved, inputs, gen, io }, held));
    await succeeded(run, outputs, ms, channel.rounds);
  } catch (e) {
    outcome = aborted(run, e);
  } finally {
    release(run, held, outcome);
  }
}

/** Dials the dealer and opens the session with it (the job, and the model load a generation runs on). */
async function openWithDealer(run: Running, loadId: string | undefined): Promise<Link> {
  const { svc, plan } = run;
  const dealer = run.add(await svc.dial(svc.opts.dealerUrl, 'dealer', 'dealer', 'the dealer', plan.meter));
  dealer.sendControl({ t: 'open', session: plan.session, job: plan.job, ...(loadId ? { loadId } : {}) });
  return dealer;
}

/** Reads the session seed from the dealer and builds the protocol context: correlations, peer channel, client. */
async function sessionContext(
  run: Running,
  dealer: Link,
  peer: Link,
  gen: GenerateParams | undefined,
  held: Held,
): Promise<{ ctx: PartyCtx; channel: PeerChannel; io: PartyClientIO | undefined }> {
  const { svc, plan } = run;
  const { seed, common } = await dealer.nextControl(SeedMsg, 'session seed');
  const me = svc.opts.role;
  const corr = new PartyCorrStream(me, seed, plan.session, me === 1 ? dealer : undefined, plan.meter);
  const channel = new PeerChannel(peer, plan.meter, () => corr, run.log);
  const challenges = new ClientChallenges(new Prg(common, STREAM_CHALLENGES));
  held.release.push(() => challenges.release(svc.kernels));
  const io = gen && plan.client ? new PartyClientIO(plan.client, gen, challenges) : undefined;
  const ctx: PartyCtx = {
    me,
    kernels: svc.kernels,
    corr,
    meter: plan.meter,
    exchange: (s, p) => channel.exchange(s, p),
    ...(io ? { client: io } : {}),
  };
  return { ctx, channel, io };
}

/** The online phase: `work` raced against the first failure of a session link; its outputs and time. */
async function runOnline(run: Running, work: () => Promise<Share[]>): Promise<{ outputs: Share[]; ms: number }> {
  run.plan.meter.setPhase('online');
  const t0 = performance.now();
  const failed = new Promise<never>((_, reject) => {
    for (const l of run.links) l.onFailure(reject);
  });
  const outputs = await Promise.race([work(), failed]);
  return { outputs, ms: performance.now() - t0 };
}

/** Runs the job's program: an op's outputs; a model load, which becomes the current one; or a generation. */
async function runJob(run: Running, P: SecurePrims, job: JobInputs, held: Held): Promise<Share[]> {
  const { svc, plan } = run;
  if (job.resolved) return (await job.resolved.program(P, job.inputs)) as Share[];
  if (plan.job.kind === 'load') {
    const model = await loadShares(svc, P);
    svc.loads.replace({ loadId: plan.session, model, release: () => P.freeAll() });
    held.keep = true;
  } else await generate(svc, P, job.io!, held.use!.model, job.gen!);
  return [];
}

/** The session succeeded: the client gets its result, and from now on the links close normally. */
async function succeeded(run: Running, outputs: readonly Share[], ms: number, rounds: number): Promise<void> {
  const { svc, plan } = run;
  if (plan.client) sendResult(plan, outputs, ms);
  svc.finish(plan.session, true);
  run.log.info({ ms: Math.round(ms), rounds }, 'session done');
  // the session succeeded: its links now close normally (the dealer and peer tell a normal end from a failure)
  run.end();
  // let the client read the result before the socket closes (a client that never closes holds it one deadline)
  if (plan.client)
    await new Promise<void>((r) => {
      plan.client!.onFailure(() => r());
      setTimeout(r, svc.opts.limits.timeoutMs).unref();
    });
}

/** The first error aborts the session: reported once, every link aborted with its code. */
function aborted(run: Running, e: unknown): ErrorCode {
  const err = toMpcError(e);
  run.svc.finish(run.plan.session, false, err.code);
  run.log.error({ code: err.code, msg: err.message }, 'session aborted');
  for (const l of run.links) l.abort(err);
  return err.code;
}

/** The session is over, however it went: what it held is released, its links closed and its metrics counted. */
function release(run: Running, held: Held, outcome: 'ok' | ErrorCode): void {
  const { svc, plan } = run;
  held.use?.done();
  for (const r of held.release) r();
  // session-scoped matrices (op weights, KV caches) are freed; a successful load's stay
  if (!held.keep) held.prims?.freeAll();
  run.end();
  for (const l of run.links) l.close('session end');
  svc.running--;
  svc.opts.metrics?.partySessionEnded(plan.job.kind, outcome, plan.meter.report());
}

/** The model load this generation runs on (party 0: the current one, after waiting for it). */
async function useModel(run: Running): Promise<{ use: { model: ServedModel; done: () => void }; loadId: string }> {
  const { svc, plan } = run;
  if (svc.opts.role === 0) await svc.modelReady();
  const loadId = svc.opts.role === 0 ? svc.loads.loadId : plan.loadId;
  const use = loadId === undefined ? undefined : svc.loads.use(loadId);
  if (!use || loadId === undefined) {
    throw new MpcError(
      'E_MODEL',
      svc.opts.role === 0
        ? 'the model is not loaded (party 1 or the dealer is restarting); try again shortly'
        : `party 0 runs on model load ${shortId(plan.loadId ?? '(none)')}, this party holds ${shortId(svc.loads.loadId ?? 'none')}: party 0 reloads the model`,
    );
  }
  return { use, loadId };
}

/**
 * Preprocessing ahead: party 1 waits until the dealer has dealt the run's material (or filled the
 * window party 1 buffers), then tells party 0; both meter the wait as the phase 'preprocess'.
 */
async function awaitPreprocessing(run: Running, peer: Link, dealer: Link): Promise<void> {
  const { svc, plan } = run;
  plan.meter.setPhase('preprocess');
  const patience = 10 * svc.opts.limits.timeoutMs;
  if (svc.opts.role === 1) {
    const m = await dealer.nextControl(AheadMsg, 'preprocessed material', patience);
    peer.sendControl(m);
    run.log.info({ complete: m.complete }, 'material dealt ahead');
  } else {
    await peer.nextControl(AheadMsg, "party 1's preprocessing", patience);
  }
}

/** Party 0 dials party 1 and announces the session; party 1 confirms on the link it was given. */
async function linkPeer(run: Running, loadId: string | undefined): Promise<Link> {
  const { svc, plan } = run;
  if (svc.opts.role === 1) {
    const peer = run.add(plan.peer!);
    peer.opts.meter = plan.meter;
    peer.sendControl({ t: 'peer-ok', session: plan.session });
    return peer;
  }
  const peer = run.add(await svc.dial(svc.opts.peerUrl!, 'peer', 'party1', 'party 1', plan.meter));
  peer.sendControl({
    t: 'peer',
    session: plan.session,
    jobHash: jobHash(plan.job),
    ...(loadId ? { loadId } : {}),
    ...(plan.job.kind === 'load' ? { load: true } : {}),
  });
  await peer.nextControl(PeerOkMsg, 'peer confirmation');
  return peer;
}

function sendResult(plan: SessionPlan, outputs: readonly Share[], ms: number): void {
  const client = plan.client!;
  plan.meter.setPhase('output');
  if (plan.job.kind === 'op')
    client.sendTensor({
      type: OUTPUT_FRAME,
      seq: 0n,
      tag: 0,
      check: 0,
      parts: outputs.map((o) => ({ kind: 'u64', data: o.data }) as Part),
    });
  client.sendControl({
    t: 'result',
    session: plan.session,
    outputs: outputs.map((o) => ({ shape: [...o.shape], fracBits: o.fracBits })),
    report: plan.meter.report(),
    ms,
  });
}

async function loadShares(svc: PartyService, P: SecurePrims): Promise<ServedModel> {
  const m = svc.opts.model!.shares;
  return loadAnyRingModel<Share, FixedMatrix, ClientTokens>(P, m.config, (name) => {
    const t = m.tensors.get(name)!;
    return share(t.shape, t.data, t.fracBits);
  });
}

async function generate(
  svc: PartyService,
  P: SecurePrims,
  io: PartyClientIO,
  model: ServedModel,
  p: GenerateParams,
): Promise<void> {
  try {
    await generationProgram(P, svc.opts.model!.nl, io, model, p, {
      onHidden: (i: number, h: Share) => (p.revealHidden ? io.revealHidden(i, h) : io.progress(i)),
      ...(p.revealSelections
        ? { onSelection: (what: 'topk' | 'gather', sel: Share) => io.revealSelection(what, sel) }
        : {}),
    });
  } catch (e) {
    if (!(e instanceof ClientStopped)) throw e;
  }
}

/** Reads the client's input shares: one frame with one ring part per declared input. */
async function readInputs(client: Link, job: ResolvedJob): Promise<Share[]> {
  const f = await client.nextTensor('input shares');
  if (f.type !== INPUT_FRAME) throw new MpcError('E_PROTOCOL', `expected input shares, got frame type ${f.type}`);
  if (f.parts.length !== job.inputs.length)
    throw new MpcError('E_SHAPE', `expected ${job.inputs.length} inputs, got ${f.parts.length}`);
  return job.inputs.map((spec, i) => {
    const p = f.parts[i]!;
    const n = numel(spec.shape);
    if (p.kind !== 'u64' || p.data.length !== n) {
      throw new MpcError(
        'E_SHAPE',
        `input ${i}: expected ${n} ring elements for shape [${spec.shape.join(', ')}], got ${p.kind === 'u64' ? p.data.length : p.kind}`,
      );
    }
    return share(spec.shape, p.data, spec.fracBits);
  });
}
