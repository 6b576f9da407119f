/**
 * Client side of a session: secret-shares the inputs, sends one share to each party, collects
 * both output shares and the parties' meter reports, and reconstructs. Only this process ever
 * holds the plaintext inputs and outputs.
 */
import { MpcError, toMpcError } from '../util/errors.js';
import { Prg, randomSeed } from '../ring/prg.js';
import { clear, type Clear } from '../ring/tensor.js';
import {
  Link,
  wsTransport,
  Meter,
  dialWs,
  type MeterReport,
  type Part,
  type Role,
  type TlsConfig,
} from '../net/index.js';
import { INPUT_FRAME, OUTPUT_FRAME, ResultMsg, SessionMsg, type Job } from './wire.js';
import { splitShares } from './inprocess.js';

export interface ClientResult {
  outputs: Clear[];
  reports: [MeterReport, MeterReport];
  /** Online time measured by each party (program only). */
  partyMs: [number, number];
  /** Wall time seen by the client, connection to result. */
  wallMs: number;
}

export interface ClientOptions {
  timeoutMs: number;
  maxFrameBytes: number;
  /** The client's certificate (role client) and the deployment CA. */
  tls: TlsConfig;
}

/** A link to a party's client port; the party must prove `expect`'s certificate. */
export async function connect(
  url: string,
  remote: string,
  expect: Role,
  opts: ClientOptions,
  meter?: Meter,
): Promise<Link> {
  const ws = await dialWs(url, remote, { ...opts, expect });
  return new Link(wsTransport(ws), {
    name: 'client',
    remote,
    meter,
    maxFrameBytes: opts.maxFrameBytes,
    timeoutMs: opts.timeoutMs,
  });
}

/**
 * Starts a session: party 0 receives the job and answers with the session id it made, then party 1
 * is asked to join that session with the same job. Returns both links (party 0's first).
 */
export async function openSession(
  urls: readonly [string, string],
  job: Job,
  opts: ClientOptions,
): Promise<{ session: string; links: [Link, Link] }> {
  const l0 = await connect(urls[0], 'party 0', 'party0', opts);
  try {
    l0.sendControl({ t: 'run', job });
    const { session } = await l0.nextControl(SessionMsg, 'session id');
    const l1 = await connect(urls[1], 'party 1', 'party1', opts);
    l1.sendControl({ t: 'join', session, job });
    return { session, links: [l0, l1] };
  } catch (e) {
    l0.abort(toMpcError(e));
    throw e;
  }
}

/** Runs one job: `inputs` are ring-encoded values (the client's secrets). */
export async function runJob(
  urls: readonly [string, string],
  job: Job,
  inputs: readonly BigUint64Array[],
  opts: ClientOptions,
): Promise<ClientResult> {
  const t0 = performance.now();
  const prg = new Prg(randomSeed());
  const shares = inputs.map((x) => splitShares(x, prg));
  const { links } = await openSession(urls, job, opts);
  try {
    for (const l of links)
      l.onFailure((e) => {
        for (const o of links) o.abort(e);
      });
    links.forEach((l, i) => {
      l.sendTensor({
        type: INPUT_FRAME,
        seq: 0n,
        tag: 0,
        check: 0,
        parts: shares.map((s) => ({ kind: 'u64', data: s[i as 0 | 1] }) as Part),
      });
    });
    const results = await Promise.all(
      links.map(async (l) => {
        const frame = await l.nextTensor('output shares');
        if (frame.type !== OUTPUT_FRAME)
          throw new MpcError('E_PROTOCOL', `expected output shares, got frame type ${frame.type}`);
        const res = await l.nextControl(ResultMsg, 'result');
        if (frame.parts.length !== res.outputs.length) throw new MpcError('E_PROTOCOL', 'output count mismatch');
        return { frame, res };
      }),
    );
    const outputs = results[0]!.res.outputs.map((spec, k) => {
      const a = results[0]!.frame.parts[k]!,
        b = results[1]!.frame.parts[k]!;
      if (a.kind !== 'u64' || b.kind !== 'u64' || a.data.length !== b.data.length)
        throw new MpcError('E_PROTOCOL', `output ${k}: shares differ in length`);
      const v = new BigUint64Array(a.data.length);
      for (let i = 0; i < v.length; i++) v[i] = a.data[i]! + b.data[i]!;
      return clear(spec.shape, v, spec.fracBits);
    });
    return {
      outputs,
      reports: [results[0]!.res.report, results[1]!.res.report],
      partyMs: [results[0]!.res.ms, results[1]!.res.ms],
      wallMs: performance.now() - t0,
    };
  } catch (e) {
    const err = toMpcError(e);
    for (const l of links) l.abort(err);
    throw err;
  } finally {
    for (const l of links) l.close('client done');
  }
}
