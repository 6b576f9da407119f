/**
 * Study records (one per sample and policy, appended as JSON lines) and their aggregation into
 * cells (task × context × placement × policy) with Wilson 95 % intervals.
 */
import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { MpcError } from '../../shared/util/index.js';
import { wilson } from '../eval/report.js';

export const StudyRecord = z.object({
  task: z.string(),
  ctx: z.number().int(),
  placement: z.enum(['prompt', 'decode']),
  policy: z.string(),
  /** Sample index within the cell (its seed derives from it). */
  i: z.number().int().min(0),
  correct: z.number().int().min(0),
  queries: z.number().int().min(1),
  promptTokens: z.number().int().min(1),
  /** Attended tokens per step in non-dense layers (capped at the prompt). */
  budgetTokens: z.number(),
  /** Fraction of the needle the last layer stored after the prefill (plaintext runs). */
  needleKept: z.number().min(0).max(1).optional(),
});
export type StudyRecord = z.infer<typeof StudyRecord>;

export interface Cell {
  readonly task: string;
  readonly ctx: number;
  readonly placement: 'prompt' | 'decode';
  readonly policy: string;
  readonly samples: number;
  readonly queries: number;
  readonly correct: number;
  readonly accuracy: number;
  readonly ci95: [number, number];
  readonly budgetTokens: number;
  /** Mean over samples of the needle fraction kept after prefill, if recorded. */
  readonly needleKept?: number;
}

export const cellKey = (r: Pick<StudyRecord, 'task' | 'ctx' | 'placement' | 'policy'>) =>
  `${r.task}|${r.ctx}|${r.placement}|${r.policy}`;

/**
 * Reads a JSON-lines record file (missing file: no records). A torn last line (a run killed while
 * writing) is skipped; any other bad line is an error.
 * @throws MpcError E_INPUT on a malformed record.
 */
export function readRecords(path: string): StudyRecord[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n');
  const out: StudyRecord[] = [];
  lines.forEach((line, n) => {
    if (line.trim() === '') return;
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      if (n === lines.length - 1) return;
      throw new MpcError('E_INPUT', `${path}:${n + 1}: not JSON`);
    }
    const r = StudyRecord.safeParse(parsed);
    if (!r.success) throw new MpcError('E_INPUT', `${path}:${n + 1}: not a study record`);
    out.push(r.data);
  });
  return out;
}

/** Cells in first-seen order; a sample recorded twice counts once (the last record wins). */
export function aggregate(records: readonly StudyRecord[]): Cell[] {
  const bySample = new Map<string, StudyRecord>();
  for (const r of records) bySample.set(`${cellKey(r)}|${r.i}`, r);
  const cells = new Map<string, StudyRecord[]>();
  for (const r of bySample.values()) {
    const k = cellKey(r);
    cells.set(k, [...(cells.get(k) ?? []), r]);
  }
  return [...cells.values()].map((rs) => {
    const first = rs[0] as StudyRecord;
    const correct = rs.reduce((a, r) => a + r.correct, 0);
    const queries = rs.reduce((a, r) => a + r.queries, 0);
    const kept = rs.map((r) => r.needleKept).filter((x): x is number => x !== undefined);
    return {
      task: first.task,
      ctx: first.ctx,
      placement: first.placement,
      policy: first.policy,
      samples: rs.length,
      queries,
      correct,
      accuracy: correct / queries,
      ci95: wilson(correct, queries),
      budgetTokens: rs.reduce((a, r) => a + r.budgetTokens, 0) / rs.length,
      ...(kept.length === rs.length ? { needleKept: kept.reduce((a, x) => a + x, 0) / kept.length } : {}),
    };
  });
}
