/**
 * Accuracy with a Wilson score interval, progress lines and the final report of `npm run eval`.
 * Progress goes to stderr so that stdout carries only the result (one JSON object with --json).
 */

/** z for a two-sided 95 % interval. */
const Z95 = 1.959963984540054;

/**
 * Wilson score interval for k successes in n trials (Wilson 1927): unlike the normal
 * approximation it stays inside [0, 1] and is sensible at 0 % and 100 %, where eval cells live.
 */
export function wilson(k: number, n: number, z = Z95): [number, number] {
  if (n === 0) return [0, 1];
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z / (1 + z2 / n)) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return [Math.max(0, centre - half), Math.min(1, centre + half)];
}

function fmtDuration(s: number): string {
  if (!Number.isFinite(s)) return '?';
  if (s < 60) return `${s.toFixed(0)}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.round((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** One stderr line per finished sample: count, running accuracy, time per sample, ETA. */
export function progressLine(done: number, total: number, correct: number, queries: number, elapsedMs: number): string {
  const perSample = elapsedMs / 1000 / done;
  const acc = queries > 0 ? (correct / queries).toFixed(3) : '-';
  return `[eval] ${done}/${total} samples  acc ${acc} (${correct}/${queries})  ${perSample.toFixed(2)} s/sample  ETA ${fmtDuration(perSample * (total - done))}`;
}

export interface EvalReport {
  readonly task: string;
  readonly ctx: number;
  readonly placement: string;
  readonly depth: number | 'spread' | 'random';
  readonly policy: string;
  /** The policy's public settings (budget rule, ratios, clusters, layers). */
  readonly settings: Readonly<Record<string, string | number | boolean>>;
  /** Attended tokens per decoding step in non-dense layers, mean over samples (capped at the prompt). */
  readonly budgetTokens: number;
  readonly backend: string;
  readonly model: string;
  readonly seed: number;
  readonly samples: number;
  readonly queries: number;
  readonly correct: number;
  readonly accuracy: number;
  readonly ci95: [number, number];
  readonly secondsPerSample: number;
}

/** A two-line table: header and values. */
export function humanReport(r: EvalReport): string {
  const cols: [string, string][] = [
    ['task', r.task],
    ['ctx', String(r.ctx)],
    ['placement', r.placement],
    ['depth', String(r.depth)],
    ['policy', r.policy],
    ['budget', r.budgetTokens.toFixed(1)],
    ['backend', r.backend],
    ['samples', String(r.samples)],
    ['queries', String(r.queries)],
    ['correct', String(r.correct)],
    ['accuracy', r.accuracy.toFixed(3)],
    ['95% CI', `[${r.ci95[0].toFixed(3)}, ${r.ci95[1].toFixed(3)}]`],
    ['s/sample', r.secondsPerSample.toFixed(2)],
  ];
  const width = cols.map(([h, v]) => Math.max(h.length, v.length));
  const line = (pick: 0 | 1) =>
    cols
      .map((c, i) => c[pick].padEnd(width[i] as number))
      .join('  ')
      .trimEnd();
  return `${line(0)}\n${line(1)}\n`;
}
