/**
 * `npm run pareto`: recorded accuracy joined with the declared cost per token of each setting. The
 * records here are made up (two policies at a short context), for the GPT-2 and the Llama model; the
 * costs are the generation program's, so full cache is the reference (× 1.000) and static eviction
 * costs less online.
 */
import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectPath } from '../../shared/util/index.js';
import { parsePolicyOptions } from '../../shared/kvcache/index.js';

const record = (policy: string, i: number, correct: number, budgetTokens: number) => ({
  task: 'passkey',
  ctx: 96,
  placement: 'prompt',
  policy,
  i,
  correct,
  queries: 1,
  promptTokens: 96,
  budgetTokens,
});

describe('pareto', () => {
  test.each(['models/tiny-gpt2', 'models/tiny-llama'])(
    '%s: one row per setting with its accuracy, the declared cost and ratios to full cache; plots beside',
    (model) => {
      const dir = mkdtempSync(join(tmpdir(), 'pareto-'));
      const options = parsePolicyOptions({ staticRatio: 0.2 });
      writeFileSync(join(dir, 'a.jsonl.meta.json'), JSON.stringify({ model, options }));
      const recs = [record('full', 0, 1, 96), record('full', 1, 1, 96), record('mpcache', 0, 1, 19)];
      recs.push(record('mpcache', 1, 0, 19));
      writeFileSync(join(dir, 'a.jsonl'), recs.map((r) => JSON.stringify(r)).join('\n') + '\n');
      const out = join(dir, 'pareto.md');
      const p = spawnSync(
        process.execPath,
        [projectPath('dist', 'scripts', 'pareto.js'), '--study-dir', dir, '--out', out],
        { encoding: 'utf8' },
      );
      expect(p.status).toBe(0);
      const rows = readFileSync(out, 'utf8')
        .split('\n')
        .filter((l) => l.startsWith('| prompt |'))
        .map((l) => l.split('|').map((c) => c.trim()));
      expect(rows.map((r) => [r[4], r[5], r[6]])).toEqual([
        ['mpcache 20 % (static 0.2, window 0.05)', '50.0 % [9.5 %, 90.5 %]', '2'],
        ['full', '100.0 % [34.2 %, 100.0 %]', '2'],
      ]);
      const full = rows[1]!,
        mpc = rows[0]!;
      expect([full[8], full[10], full[12]]).toEqual(['1.000', '1.000', '1.000']);
      expect(Number(mpc[8])).toBeLessThan(1);
      expect(Number(mpc[7])).toBeCloseTo(Number(full[7]) * Number(mpc[8]), 0);
      for (const plot of ['bytes-prompt', 'rounds-prompt'])
        expect(readFileSync(join(dir, `pareto-${plot}.svg`), 'utf8')).toContain('<svg');
    },
    120000,
  );
});
