/**
 * `npm run bench:report`: docs/bench.md from recorded runs. With several runs, every row names its
 * run and each ratio is taken against full cache of the same run (a run's times are comparable only
 * among themselves); the prose outside the markers survives; the plots are written beside it.
 */
import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectPath } from '../../shared/util/index.js';
import { beginMarker, END } from '../../scripts/study/render.js';
import { cellId, type CellRecord } from '../../scripts/bench/cell.js';

/** A recorded cell (the embedded model's, committed with the docs) with its policy and time replaced. */
function cell(policy: string, ms: number): CellRecord {
  const template = projectPath('docs', 'records', 'bench', 'emb-loop', 'cells');
  const first = readdirSync(template).find((f) => f.endsWith('.json')) as string;
  const r = JSON.parse(readFileSync(join(template, first), 'utf8')) as CellRecord;
  return { ...r, key: { ...r.key, policy, ctx: 1024, net: 'loopback', options: '' }, perToken: { ...r.perToken, ms } };
}

function writeRun(root: string, name: string, cells: CellRecord[]): string {
  const dir = join(root, name, 'cells');
  mkdirSync(dir, { recursive: true });
  for (const c of cells) writeFileSync(join(dir, `${cellId(c.key)}.json`), JSON.stringify(c));
  return join(root, name);
}

describe('bench:report', () => {
  test('rows name their run, ratios stay within a run, prose is kept, plots are written', async () => {
    const root = mkdtempSync(join(tmpdir(), 'bench-report-'));
    const a = writeRun(root, 'run-a', [cell('full', 1000), cell('mpcache', 500)]);
    const b = writeRun(root, 'run-b', [cell('full', 4000), cell('mpcache', 1000)]);
    const out = join(root, 'bench.md');
    writeFileSync(out, `# Bench\n\nprose\n\n${beginMarker('npm run bench:report')}\nold\n${END}\n\nmore prose\n`);
    const p = spawnSync(
      process.execPath,
      [projectPath('dist', 'scripts', 'bench-report.js'), '--runs', `${a},${b}`, '--out', out],
      { encoding: 'utf8' },
    );
    expect(p.status).toBe(0);
    const md = readFileSync(out, 'utf8');
    expect(md.startsWith('# Bench\n\nprose\n\n')).toBe(true);
    expect(md.endsWith('\n\nmore prose\n')).toBe(true);
    expect(md).not.toContain('\nold\n');
    const ratio = (run: string) =>
      md
        .split('\n')
        .find((l) => l.startsWith(`| ${run} |`) && l.includes('| mpcache |') && l.split('|').length === 11)
        ?.split('|')
        .map((c) => c.trim())[9];
    expect(ratio('run-a')).toBe('0.500');
    expect(ratio('run-b')).toBe('0.250');
    for (const plot of ['time', 'bytes', 'rounds', 'ops'])
      expect(readFileSync(join(root, `bench-${plot}.svg`), 'utf8')).toContain('<svg');
  }, 60000);

  test('a folder that is not a bench run is refused by name', () => {
    const root = mkdtempSync(join(tmpdir(), 'bench-report-'));
    const p = spawnSync(process.execPath, [projectPath('dist', 'scripts', 'bench-report.js'), '--runs', root], {
      encoding: 'utf8',
    });
    expect(p.status).not.toBe(0);
    expect(p.stderr).toContain('no cells/ folder');
  });
});
