/**
 * Cost summary of a generation session from both parties' meter reports: time to first token,
 * per-token latency, online bytes per direction, dealer bytes, rounds — per phase and in total,
 * plus the per-operation breakdown (labels are dotted scopes: e.g.
 * 'decode.l2.attn.softmax.cmp.open': phase kind, layer, stage, protocol step). A KV-cache policy's
 * selection work (cluster scores and summaries, top-k, gathers by one-hots, key statistics) is
 * its own operation, 'attn.select'.
 */
import type { MeterReport } from '../net/meter.js';
import type { GenerationResult } from './gen-client.js';

export interface PhaseCost {
  p0_to_p1: number;
  p1_to_p0: number;
  dealer_to_p1: number;
  rounds: number;
  ms: number;
}

export interface CostSummary {
  ttftMs: number;
  tokenMs: { mean: number; median: number; all: number[] };
  wallMs: number;
  online: { p0_to_p1: number; p1_to_p0: number };
  dealer: { to_p0: number; to_p1: number };
  rounds: number;
  setup: PhaseCost;
  prefill: PhaseCost;
  /** One entry per decoding step (the forward of a generated token and its argmax). */
  decode: PhaseCost[];
  /** Online bytes p0→p1 and rounds per operation label, largest first. */
  breakdown: Array<{ label: string; p0_to_p1: number; rounds: number }>;
  /** The same summed over layers by model operation (embed, ln1 — attn_norm in Llama —, qkv, attn, attn.softmax, attn.select, …). */
  byOperation: Array<{ op: string; p0_to_p1: number; rounds: number }>;
  /** By model operation, decoding steps only (all steps together; divide by decode.length per token). */
  decodeByOperation: Array<{ op: string; p0_to_p1: number; p1_to_p0: number; rounds: number }>;
  /** Party↔party bytes of the embedding lookups (client-assisted: only the one-hot check of the client input). */
  embeddingPeerBytes: number;
}

/** Scopes of a policy's selection work inside a layer's attention (model/ring/eviction.ts). */
const SELECTION_SCOPES = new Set(['topk', 'gather', 'scores', 'minmax', 'mean', 'maxpool']);

/** 'decode.l3.attn.softmax.cmpk.open' → 'attn.softmax'; 'l2.attn.topk.cmpk' → 'attn.select'; 'embed.fixed.client' → 'embed'. */
export function operationOf(label: string): string {
  const parts = label.split('.');
  if (parts[0] === 'prefill' || parts[0] === 'decode') parts.shift();
  if (/^l\d+$/.test(parts[0] ?? '')) parts.shift();
  const head = parts[0] ?? label;
  if (head !== 'attn') return head;
  if (parts[1] === 'softmax') return 'attn.softmax';
  return SELECTION_SCOPES.has(parts[1] ?? '') ? 'attn.select' : 'attn';
}

function byOperation(
  r0: MeterReport,
  r1: MeterReport,
  keep: (label: string) => boolean,
): Array<{ op: string; p0_to_p1: number; p1_to_p0: number; rounds: number }> {
  const m = new Map<string, { op: string; p0_to_p1: number; p1_to_p0: number; rounds: number }>();
  const entry = (label: string) => {
    const op = operationOf(label);
    let e = m.get(op);
    if (!e) m.set(op, (e = { op, p0_to_p1: 0, p1_to_p0: 0, rounds: 0 }));
    return e;
  };
  for (const [label, t] of Object.entries(r0.labels))
    if (keep(label)) {
      const e = entry(label);
      e.p0_to_p1 += t.sentBytes;
      e.rounds += t.rounds;
    }
  for (const [label, t] of Object.entries(r1.labels)) if (keep(label)) entry(label).p1_to_p0 += t.sentBytes;
  return [...m.values()].sort((a, b) => b.p0_to_p1 - a.p0_to_p1);
}

function phase(r0: MeterReport, r1: MeterReport, name: string): PhaseCost {
  const a = r0.phases[name],
    b = r1.phases[name];
  return {
    p0_to_p1: a?.sentBytes ?? 0,
    p1_to_p0: b?.sentBytes ?? 0,
    dealer_to_p1: b?.dealerRecvBytes ?? 0,
    rounds: a?.rounds ?? 0,
    ms: Math.round(Math.max(a?.ms ?? 0, b?.ms ?? 0)),
  };
}

export function costSummary(res: GenerationResult): CostSummary {
  const [r0, r1] = res.reports;
  const steps = Object.keys(r0.phases)
    .filter((k) => k.startsWith('decode.'))
    .sort((x, y) => Number(x.slice(7)) - Number(y.slice(7)));
  const sorted = [...res.tokenMs].sort((a, b) => a - b);
  return {
    ttftMs: Math.round(res.ttftMs),
    tokenMs: {
      mean: res.tokenMs.length ? Math.round(res.tokenMs.reduce((a, b) => a + b, 0) / res.tokenMs.length) : 0,
      median: sorted.length ? Math.round(sorted[Math.floor(sorted.length / 2)]!) : 0,
      all: res.tokenMs.map(Math.round),
    },
    wallMs: Math.round(res.wallMs),
    online: { p0_to_p1: r0.links.peer.sentBytes, p1_to_p0: r1.links.peer.sentBytes },
    dealer: { to_p0: r0.links.dealer.recvBytes, to_p1: r1.links.dealer.recvBytes },
    rounds: r0.links.peer.rounds,
    setup: phase(r0, r1, 'setup'),
    prefill: phase(r0, r1, 'prefill'),
    decode: steps.map((s) => phase(r0, r1, s)),
    breakdown: Object.entries(r0.labels)
      .map(([label, t]) => ({ label, p0_to_p1: t.sentBytes, rounds: t.rounds }))
      .sort((a, b) => b.p0_to_p1 - a.p0_to_p1),
    embeddingPeerBytes: [r0, r1].reduce(
      (s, r) =>
        s +
        Object.entries(r.labels)
          .filter(([l]) => operationOf(l) === 'embed')
          .reduce((t, [, v]) => t + v.sentBytes, 0),
      0,
    ),
    byOperation: byOperation(r0, r1, () => true).map(({ op, p0_to_p1, rounds }) => ({ op, p0_to_p1, rounds })),
    decodeByOperation: byOperation(r0, r1, (l) => l.startsWith('decode.')),
  };
}

const kb = (n: number): string => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : `${(n / 1024).toFixed(1)} KiB`);

export function printCosts(c: CostSummary, out: (s: string) => void): void {
  out(
    `time to first token ${c.ttftMs} ms; per-token latency mean ${c.tokenMs.mean} ms, median ${c.tokenMs.median} ms; wall ${c.wallMs} ms\n`,
  );
  out(
    `online bytes: p0→p1 ${kb(c.online.p0_to_p1)}, p1→p0 ${kb(c.online.p1_to_p0)}; rounds ${c.rounds}; dealer → p0 ${c.dealer.to_p0} B (seed), → p1 ${kb(c.dealer.to_p1)}\n`,
  );
  out(
    `  ${'phase'.padEnd(10)} ${'p0→p1'.padStart(11)} ${'p1→p0'.padStart(11)} ${'dealer→p1'.padStart(11)} ${'rounds'.padStart(7)} ${'ms'.padStart(7)}\n`,
  );
  const row = (name: string, p: PhaseCost) =>
    out(
      `  ${name.padEnd(10)} ${kb(p.p0_to_p1).padStart(11)} ${kb(p.p1_to_p0).padStart(11)} ${kb(p.dealer_to_p1).padStart(11)} ${String(p.rounds).padStart(7)} ${String(p.ms).padStart(7)}\n`,
    );
  row('prefill', c.prefill);
  c.decode.forEach((p, i) => row(`decode.${i}`, p));
  out(
    `  embedding lookups: ${c.embeddingPeerBytes} B between the parties (client-assisted; the one-hot check of the client input)\n`,
  );
  out('  by model operation (online bytes p0→p1 and rounds, whole session, all layers):\n');
  for (const b of c.byOperation)
    out(`    ${b.op.padEnd(14)} ${kb(b.p0_to_p1).padStart(11)} ${String(b.rounds).padStart(6)} rounds\n`);
  const steps = c.decode.length;
  if (steps > 0) {
    out(
      `  decoding, per token (mean of ${steps} steps; attn.select = the policy's selection: scores, summaries, top-k, one-hot gathers):\n`,
    );
    for (const b of c.decodeByOperation)
      out(
        `    ${b.op.padEnd(14)} ${kb(b.p0_to_p1 / steps).padStart(11)} ${kb(b.p1_to_p0 / steps).padStart(11)} ${(b.rounds / steps).toFixed(0).padStart(6)} rounds\n`,
      );
  }
}
