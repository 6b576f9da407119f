/**
 * The benchmark's summary (Markdown): one row per cell with the per-token costs, where the time went
 * and every process's peak RSS; each policy's ratio to full cache in the same (run, model, network,
 * material dealt ahead or not, context); and, on shaped networks, the time per token against the
 * simple model rounds × RTT/2 + RTT + bytes ÷ bandwidth + compute: in a round both parties send at
 * once, so each waits one one-way delay for the other's message, and each token also makes one round
 * trip to the client (its revealed index out, its masked next token back). A second prediction puts
 * the same network terms on the same cell's loopback time of the same run, where one was measured.
 */
import { parseNetSpec } from '../../shared/netem/index.js';
import { cellId, type CellRecord } from './cell.js';

export const kib = (b: number): string =>
  b >= 1 << 20 ? `${(b / (1 << 20)).toFixed(2)} MiB` : `${(b / 1024).toFixed(1)} KiB`;
const gib = (m: number | undefined): string =>
  m === undefined ? '?' : m >= 1024 ? `${(m / 1024).toFixed(2)} GiB` : `${m.toFixed(0)} MiB`;
const ms = (x: number): string => x.toFixed(0);

/** A cell and the run (a bench --out folder) it came from, when a report joins several runs. */
export type RunCell = CellRecord & { run?: string };

/** The leading "run" cell of a row, when the records come from more than one run. */
const runOf = (r: RunCell, many: boolean): string => (many ? `| ${r.run ?? ''} ` : '');
/** The network column: the network, and 'ahead' when the dealer dealt the run's material first. */
export const netOf = (r: CellRecord): string => `${r.key.net}${r.key.preprocess === 'ahead' ? ', ahead' : ''}`;
const manyRuns = (records: readonly RunCell[]): boolean => new Set(records.map((r) => r.run)).size > 1;

function cellRow(r: RunCell, many: boolean): string {
  const t = r.perToken,
    p1 = t.party1;
  return `${runOf(r, many)}| ${r.key.model} | ${netOf(r)} | ${r.key.ctx} | ${r.key.policy} | ${r.attended} | ${kib(t.p0_to_p1)} | ${kib(t.p1_to_p0)} | ${kib(t.dealer_to_p1)} | ${t.rounds.toFixed(0)} | ${ms(t.ms)} | ${ms(p1.computeMs)} / ${ms(p1.peerMs)} / ${ms(p1.dealerMs)} | ${gib(r.rssMiB.dealer)} / ${gib(r.rssMiB.party0)} / ${gib(r.rssMiB.party1)} / ${gib(r.rssMiB.client)} | ${r.match === undefined ? 'not checked' : r.match ? 'yes' : 'NO'} |`;
}

function ratioRows(records: readonly RunCell[], many: boolean): string[] {
  const rows: string[] = [];
  for (const r of records) {
    if (r.key.policy === 'full') continue;
    const f = records.find(
      (x) =>
        x.key.policy === 'full' &&
        x.run === r.run &&
        x.key.model === r.key.model &&
        x.key.net === r.key.net &&
        x.key.preprocess === r.key.preprocess &&
        x.key.ctx === r.key.ctx,
    );
    if (!f) continue;
    const q = (a: number, b: number) => (b > 0 ? (a / b).toFixed(3) : '–');
    const a = r.perToken,
      b = f.perToken;
    rows.push(
      `${runOf(r, many)}| ${r.key.model} | ${netOf(r)} | ${r.key.ctx} | ${r.key.policy} | ${q(a.p0_to_p1 + a.p1_to_p0, b.p0_to_p1 + b.p1_to_p0)} | ${q(a.dealer_to_p1, b.dealer_to_p1)} | ${q(a.rounds, b.rounds)} | ${q(a.ms, b.ms)} |`,
    );
  }
  return rows;
}

/** Time per token predicted from rounds, bytes and the cell's own compute, for shaped links. */
function modelRows(records: readonly RunCell[], many: boolean): string[] {
  const rows: string[] = [];
  for (const r of records) {
    const net = parseNetSpec(r.key.net);
    if (net.name === 'loopback') continue;
    const t = r.perToken;
    const latency = (t.rounds * net.rttMs) / 2 + net.rttMs;
    const transfer = (Math.max(t.p0_to_p1, t.p1_to_p0) * 8 * 1000) / net.rateBitsPerS;
    const dealer = (t.dealer_to_p1 * 8 * 1000) / net.rateBitsPerS;
    const compute = Math.max(t.party0.computeMs, t.party1.computeMs);
    const predicted = latency + transfer + compute;
    // the same cell on loopback in the same run, if measured: its whole time stands in for compute
    const lo = records.find(
      (x) => x.run === r.run && x.key.net === 'loopback' && cellId({ ...x.key, net: r.key.net }) === cellId(r.key),
    );
    const fromLoopback = lo
      ? `${ms(lo.perToken.ms)} + ${ms(latency + transfer)} = ${ms(lo.perToken.ms + latency + transfer)} | ${(t.ms / (lo.perToken.ms + latency + transfer)).toFixed(2)}`
      : '– | –';
    rows.push(
      `${runOf(r, many)}| ${r.key.model} | ${netOf(r)} | ${r.key.ctx} | ${r.key.policy} | ${ms(t.ms)} | ${ms(latency)} + ${ms(transfer)} + ${ms(compute)} = ${ms(predicted)} | ${(t.ms / predicted).toFixed(2)} | ${fromLoopback} | ${ms(dealer)} |`,
    );
  }
  return rows;
}

/** The summary tables; with records from several runs, a first column names each row's run. */
export function summaryTable(records: readonly RunCell[]): string {
  const many = manyRuns(records),
    head = (cols: string) => `${many ? '| run ' : ''}${cols}`,
    rule = (n: number) => `|${'---|'.repeat(n + (many ? 1 : 0))}`;
  const prefill = [...new Set(records.map((r) => r.key.prefill))].join(', ');
  const out = [
    `Per decoded token, mean of each cell's decoding steps (prefill: ${prefill}${prefill.includes('revealed') ? ' — benchmark mode, not private' : ''}).`,
    'Online bytes are what each party sends; dealer = corrections to party 1 (party 0 gets a seed). Time split = party 1 computing / waiting on party 0 / waiting on the dealer (ms). Peak RSS: dealer / party 0 / party 1 / client.',
    '',
    head(
      '| model | net | ctx | policy | attended | p0→p1 | p1→p0 | dealer→p1 | rounds | ms | p1 compute / peer / dealer | peak RSS | = emulation |',
    ),
    rule(13),
    ...records.map((r) => cellRow(r, many)),
  ];
  const ratios = ratioRows(records, many);
  if (ratios.length)
    out.push(
      '',
      `Ratios to full cache in the same ${many ? 'run, ' : ''}model, network and context (online = both directions):`,
      '',
      head('| model | net | ctx | policy | online | dealer | rounds | time |'),
      rule(8),
      ...ratios,
    );
  const model = modelRows(records, many);
  if (model.length) {
    out.push(
      '',
      "Shaped links: time per token against rounds × RTT/2 (both parties send at once) + one client round trip + online bytes ÷ bandwidth (the larger direction) + compute (the busier party's own compute time), ms; then the same network terms on top of the same cell's time on loopback in the same run, when measured (it also counts the waits for the other party's compute, which the first model leaves out); the dealer's bytes ÷ bandwidth beside them (streamed while the parties compute):",
      '',
      head(
        '| model | net | ctx | policy | measured | predicted: latency + transfer + compute | measured / predicted | loopback + latency + transfer | measured / that | dealer transfer |',
      ),
      rule(10),
      ...model,
    );
  }
  return out.join('\n') + '\n';
}
