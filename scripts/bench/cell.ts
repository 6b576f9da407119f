/**
 * One benchmark cell: a private generation on a running cluster, driven by the benchmark's client
 * process (scripts/bench/client-child.ts, placed where the client lives), turned into a record: per
 * phase wall time, online bytes per direction, dealer bytes, rounds, the time each party spent
 * computing and waiting on the peer, the dealer and the client, the breakdown by operation and by
 * layer, and every process's peak RSS during the cell.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MpcError, projectPath } from '../../shared/util/index.js';
import { MALLOC_TUNABLES, peakRssMiB, type Cluster, type Placement } from '../../shared/runtime/launch.js';
import { costSummary, operationOf } from '../../shared/runtime/costs.js';
import type { GenerationResult } from '../../shared/runtime/gen-client.js';
import type { MeterReport, PhaseReport } from '../../shared/net/meter.js';
import type { ChildJob } from './client-child.js';

export interface CellKey {
  model: string;
  ctx: number;
  policy: string;
  net: string;
  prefill: 'secure' | 'revealed';
  tokens: number;
  preprocess: 'streamed' | 'ahead';
  /** Policy flags given on the command line (JSON; '' for the defaults). */
  options: string;
}

export const cellId = (k: CellKey): string =>
  `${k.model.replace(/[^A-Za-z0-9_.-]/g, '_')}_ctx${k.ctx}_${k.policy}_${k.net.replace(/[^A-Za-z0-9_.-]/g, '_')}_${k.prefill}_t${k.tokens}_${k.preprocess}` +
  (k.options ? `_o${createHash('sha256').update(k.options).digest('hex').slice(0, 8)}` : '');

/** Where a party's time in a phase went (ms). */
export interface TimeSplit {
  computeMs: number;
  peerMs: number;
  dealerMs: number;
  clientMs: number;
}

export interface PhaseCost {
  /** Wall time at the client (prefill: to the first token; a decoding step: the gap to its token). */
  ms: number;
  p0_to_p1: number;
  p1_to_p0: number;
  dealer_to_p1: number;
  rounds: number;
  party0: TimeSplit;
  party1: TimeSplit;
}

export interface CellRecord {
  key: CellKey;
  date: string;
  modelNote: string;
  settings: Record<string, string | number | boolean>;
  promptTokens: number;
  attended: number | 'all';
  prefill: PhaseCost;
  decode: PhaseCost[];
  /** Means over the decoding steps. */
  perToken: PhaseCost;
  /** Decoding, per token: by model operation and by layer ('l0'…, or the operation outside layers). */
  byOperation: Array<{ op: string; p0_to_p1: number; p1_to_p0: number; rounds: number }>;
  byLayer: Array<{ layer: string; p0_to_p1: number; rounds: number }>;
  rssMiB: { dealer?: number; party0?: number; party1?: number; client?: number };
  tokens: number[];
  emulationTokens?: number[];
  match?: boolean;
}

function split(p: PhaseReport | undefined): TimeSplit {
  const w = p?.waitMs ?? { peer: 0, dealer: 0, client: 0 };
  return {
    computeMs: Math.max(0, (p?.ms ?? 0) - w.peer - w.dealer - w.client),
    peerMs: w.peer,
    dealerMs: w.dealer,
    clientMs: w.client,
  };
}

function phaseCost(r: readonly [MeterReport, MeterReport], name: string, ms: number): PhaseCost {
  const a = r[0].phases[name],
    b = r[1].phases[name];
  return {
    ms,
    p0_to_p1: a?.sentBytes ?? 0,
    p1_to_p0: b?.sentBytes ?? 0,
    dealer_to_p1: b?.dealerRecvBytes ?? 0,
    rounds: a?.rounds ?? 0,
    party0: split(a),
    party1: split(b),
  };
}

function mean(costs: readonly PhaseCost[]): PhaseCost {
  const n = Math.max(1, costs.length);
  const avg = (f: (c: PhaseCost) => number) => costs.reduce((s, c) => s + f(c), 0) / n;
  const t = (who: 'party0' | 'party1'): TimeSplit => ({
    computeMs: avg((c) => c[who].computeMs),
    peerMs: avg((c) => c[who].peerMs),
    dealerMs: avg((c) => c[who].dealerMs),
    clientMs: avg((c) => c[who].clientMs),
  });
  return {
    ms: avg((c) => c.ms),
    p0_to_p1: avg((c) => c.p0_to_p1),
    p1_to_p0: avg((c) => c.p1_to_p0),
    dealer_to_p1: avg((c) => c.dealer_to_p1),
    rounds: avg((c) => c.rounds),
    party0: t('party0'),
    party1: t('party1'),
  };
}

function byLayer(r0: MeterReport, steps: number): CellRecord['byLayer'] {
  const m = new Map<string, { layer: string; p0_to_p1: number; rounds: number }>();
  for (const [label, t] of Object.entries(r0.labels)) {
    if (!label.startsWith('decode.')) continue;
    const part = label.split('.')[1] ?? '?',
      layer = /^l\d+$/.test(part) ? part : operationOf(label);
    const e = m.get(layer) ?? { layer, p0_to_p1: 0, rounds: 0 };
    e.p0_to_p1 += t.sentBytes / steps;
    e.rounds += t.rounds / steps;
    m.set(layer, e);
  }
  return [...m.values()].sort((a, b) => a.layer.localeCompare(b.layer, undefined, { numeric: true }));
}

/** The cell's record from the client's result (selection of what a report keeps). */
export function cellRecord(
  key: CellKey,
  res: GenerationResult,
  extra: Pick<CellRecord, 'modelNote' | 'settings' | 'promptTokens' | 'attended' | 'rssMiB'>,
): CellRecord {
  const c = costSummary(res),
    steps = c.decode.length;
  const decode = c.decode.map((_, i) => phaseCost(res.reports, `decode.${i}`, res.tokenMs[i] ?? 0));
  return {
    key,
    date: new Date().toISOString(),
    ...extra,
    prefill: phaseCost(res.reports, 'prefill', res.ttftMs),
    decode,
    perToken: mean(decode),
    byOperation: c.decodeByOperation.map((b) => ({
      op: b.op,
      p0_to_p1: b.p0_to_p1 / steps,
      p1_to_p0: b.p1_to_p0 / steps,
      rounds: b.rounds / steps,
    })),
    byLayer: byLayer(res.reports[0], Math.max(1, steps)),
    tokens: res.tokens,
  };
}

/** Forgets each process's peak RSS so that the next reading covers one cell only (Linux clear_refs). */
export function resetPeaks(pids: ReadonlyArray<number | undefined>): void {
  for (const pid of pids) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      /* not Linux or not ours: the peak then covers the process's life */
    }
  }
}

/** Runs the benchmark's client process where `place` puts the client; resolves with its result and peak RSS. */
export function runClientChild(
  place: Placement,
  job: ChildJob,
  dir: string,
): Promise<GenerationResult & { peakRssMiB: number }> {
  const file = join(dir, 'client-job.json');
  writeFileSync(file, JSON.stringify(job));
  const cmd = place.command('client', process.execPath, [
    projectPath('dist', 'scripts', 'bench', 'client-child.js'),
    file,
  ]);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd.file, cmd.args, {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, GLIBC_TUNABLES: MALLOC_TUNABLES },
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    child.once('error', reject);
    child.once('exit', () => {
      try {
        const r = JSON.parse(out.trim().split('\n').pop() ?? '') as
          (GenerationResult & { peakRssMiB: number }) | { error: string; code: string };
        if ('error' in r) reject(new MpcError('E_INTERNAL', `the benchmark client failed: ${r.error}`));
        else resolve(r);
      } catch {
        reject(new MpcError('E_INTERNAL', `the benchmark client printed no result (${out.slice(0, 300)})`));
      }
    });
  });
}

/** Peak RSS of the cluster's processes since the last reset. */
export function clusterPeaks(c: Cluster): Pick<CellRecord['rssMiB'], 'dealer' | 'party0' | 'party1'> {
  const r = (p: { child: { pid?: number | undefined } }) => peakRssMiB(p.child.pid);
  return { dealer: r(c.dealer), party0: r(c.party0), party1: r(c.party1) };
}
