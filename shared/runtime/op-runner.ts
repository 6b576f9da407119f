/**
 * Runs one registered op as a client of a running cluster (or in process), checks the result
 * against the op's float64 reference and summarises costs in the shape `npm run op` prints.
 */
import { decodeArray, encodeArray } from '../ring/fixed-point.js';
import { kebab } from '../config/index.js';
import { MpcError } from '../util/errors.js';
import type { MeterReport } from '../net/meter.js';
import { getOp, type InputRng, type OpSpec } from './ops/index.js';
import { runJob, type ClientOptions } from './client.js';
import { runInProcess } from './inprocess.js';
import type { ProgramInput } from './program.js';
import type { Clear } from '../ring/tensor.js';

export interface OpSummary {
  op: string;
  shape: string;
  ok: boolean;
  maxAbsErr: number;
  ms: number;
  /** Party↔party bytes of the operation itself (phase 'online'). */
  online: { p0_to_p1: number; p1_to_p0: number };
  /** Dealer bytes to each party over the whole session (seeds + party 1's corrections). */
  dealer: { to_p0: number; to_p1: number };
  /** Rounds of the operation (phase 'online'). */
  rounds: number;
  /** One-time work outside the operation, e.g. opening a weight's fixed mask (phase 'setup'). */
  setup?: { p0_to_p1: number; p1_to_p0: number; rounds: number };
  /** Online bytes per direction per label (largest first), for the per-operation breakdown. */
  breakdown?: Record<string, { p0_to_p1: number; rounds: number }>;
  wallMs?: number;
  seed: number;
  mismatches?: number;
}

/** splitmix32-style generator for op inputs (test data only). */
export function inputRng(seed: number): InputRng {
  let s = seed >>> 0;
  const next = (): number => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return ((z ^ (z >>> 16)) >>> 0) / 2 ** 32;
  };
  return {
    float: next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (lo, hi) => lo + Math.floor(next() * (hi - lo)),
    normal: () => Math.sqrt(-2 * Math.log(Math.max(next(), 1e-300))) * Math.cos(2 * Math.PI * next()),
  };
}

/**
 * The op's parameters, validated by its own schema.
 * @throws MpcError E_CONFIG naming the parameter (as its flag) at fault.
 */
export function parseOpParams(op: OpSpec, raw: Record<string, unknown>): unknown {
  const r = op.params.safeParse(raw);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new MpcError(
      'E_CONFIG',
      `op ${op.name}: ${i.path.length ? `--${kebab(String(i.path[0]))}: ` : ''}${i.message}`,
    );
  }
  return r.data;
}

/** Compares decoded outputs with the reference according to the op's check. */
export function checkOutputs(
  op: OpSpec,
  p: unknown,
  inputs: readonly ProgramInput[],
  outputs: readonly Clear[],
): { ok: boolean; maxAbsErr: number; mismatches: number } {
  const ref = op.reference(
    p,
    inputs.map((i) => decodeArray(encodeArray(i.values, i.fracBits), i.fracBits)),
  );
  const chk = op.check(p);
  let maxAbsErr = 0,
    mismatches = 0;
  if (ref.length !== outputs.length) return { ok: false, maxAbsErr: Infinity, mismatches: -1 };
  outputs.forEach((o, k) => {
    const got = decodeArray(o.data, o.fracBits),
      want = ref[k]!;
    if (got.length !== want.length) {
      mismatches += Math.max(got.length, want.length);
      maxAbsErr = Infinity;
      return;
    }
    for (let i = 0; i < got.length; i++) {
      const e = Math.abs(got[i]! - want[i]!);
      if (!(e <= maxAbsErr)) maxAbsErr = Number.isNaN(e) ? Infinity : Math.max(maxAbsErr, e);
      if (chk.mode === 'exact' ? got[i] !== want[i] : !(e <= chk.tol!)) mismatches++;
    }
  });
  return { ok: mismatches === 0, maxAbsErr, mismatches };
}

function summarise(
  op: OpSpec,
  p: unknown,
  reports: readonly [MeterReport, MeterReport],
  ms: number,
): Omit<OpSummary, 'ok' | 'maxAbsErr' | 'seed'> {
  const [r0, r1] = reports;
  const breakdown: Record<string, { p0_to_p1: number; rounds: number }> = {};
  for (const [label, t] of Object.entries(r0.labels)) breakdown[label] = { p0_to_p1: t.sentBytes, rounds: t.rounds };
  const on0 = r0.phases['online'],
    on1 = r1.phases['online'],
    su0 = r0.phases['setup'],
    su1 = r1.phases['setup'];
  const out: Omit<OpSummary, 'ok' | 'maxAbsErr' | 'seed'> = {
    op: op.name,
    shape: op.shape(p),
    ms: Math.round(ms * 10) / 10,
    online: { p0_to_p1: on0?.sentBytes ?? 0, p1_to_p0: on1?.sentBytes ?? 0 },
    dealer: { to_p0: r0.links.dealer.recvBytes, to_p1: r1.links.dealer.recvBytes },
    rounds: on0?.rounds ?? 0,
    breakdown,
  };
  if (su0 && su0.rounds > 0) out.setup = { p0_to_p1: su0.sentBytes, p1_to_p0: su1?.sentBytes ?? 0, rounds: su0.rounds };
  return out;
}

export async function runOpOnCluster(
  urls: readonly [string, string],
  name: string,
  rawParams: Record<string, unknown>,
  seed: number,
  opts: ClientOptions,
): Promise<OpSummary> {
  const op = getOp(name);
  const p = parseOpParams(op, rawParams);
  const inputs = op.inputs(p, inputRng(seed));
  const res = await runJob(
    urls,
    { kind: 'op', op: name, params: rawParams as Record<string, number | string | boolean> },
    inputs.map((i) => encodeArray(i.values, i.fracBits)),
    opts,
  );
  const chk = checkOutputs(op, p, inputs, res.outputs);
  return {
    ...summarise(op, p, res.reports, Math.max(...res.partyMs)),
    ok: chk.ok,
    maxAbsErr: chk.maxAbsErr,
    mismatches: chk.mismatches,
    wallMs: Math.round(res.wallMs),
    seed,
  };
}

/** The same op with all roles in this process (for benchmarks and quick tests). */
export async function runOpInProcess(
  name: string,
  rawParams: Record<string, unknown>,
  seed: number,
): Promise<OpSummary & { emulationMatches: boolean }> {
  const op = getOp(name);
  const p = parseOpParams(op, rawParams);
  const inputs = op.inputs(p, inputRng(seed));
  const r = await runInProcess(op.program(p), inputs);
  const chk = checkOutputs(op, p, inputs, r.secure);
  const emulationMatches = r.secure.every(
    (s, k) => s.data.length === r.clear[k]!.data.length && s.data.every((v, i) => v === r.clear[k]!.data[i]),
  );
  const sum = summarise(op, p, r.meters, r.ms);
  // in process there is no dealer socket to party 1: report the corrections dealt instead
  sum.dealer = { to_p0: 16, to_p1: r.dealerBytes };
  return { ...sum, ok: chk.ok, maxAbsErr: chk.maxAbsErr, mismatches: chk.mismatches, seed, emulationMatches };
}
