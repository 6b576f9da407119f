/**
 * `npm run bench -- --declared`: the declared cost per decoded token of each cell, with ratios to
 * full cache, printed without running any process (the values themselves are checked against the
 * meter in test/runtime/declared-generation.test.ts).
 */
import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectPath } from '../../shared/util/index.js';

const bench = (args: string[]) =>
  spawnSync(process.execPath, [projectPath('dist', 'scripts', 'bench.js'), ...args], { encoding: 'utf8' });

describe('bench --declared', () => {
  test('one row per context and policy; full is the reference; static eviction costs less online', () => {
    const p = bench([
      '--declared',
      '--model',
      'embedded',
      '--ctx',
      '48,96',
      '--policy',
      'full,mpcache',
      '--tokens',
      '2',
    ]);
    expect(p.status).toBe(0);
    const rows = p.stdout
      .split('\n')
      .filter((l) => l.startsWith('| embedded'))
      .map((l) => l.split('|').map((c) => c.trim()));
    expect(rows.map((r) => [r[2], r[3]])).toEqual([
      ['48', 'full'],
      ['48', 'mpcache'],
      ['96', 'full'],
      ['96', 'mpcache'],
    ]);
    for (const r of rows.filter((r) => r[3] === 'full')) expect(r.slice(7, 10)).toEqual(['1.000', '1.000', '1.000']);
    for (const r of rows.filter((r) => r[3] === 'mpcache')) expect(Number(r[7])).toBeLessThan(1);
  }, 60000);

  test("SmolLM2-135M's shapes (Llama, declared only): grouped-query attention's 3 key/value heads cost less than 9", () => {
    const rows = (model: string) => {
      const p = bench(['--declared', '--model', model, '--ctx', '48', '--policy', 'full', '--tokens', '2']);
      expect(p.status).toBe(0);
      return p.stdout
        .split('\n')
        .filter((l) => l.startsWith(`| ${model} |`))
        .map((l) => l.split('|').map((c) => c.trim()));
    };
    const [gqa] = rows('smollm2-135m'),
      [mha] = rows('smollm2-135m-mha');
    const kib = (s: string) => Number(s.split(' ')[0]) * (s.endsWith('MiB') ? 1024 : 1);
    expect(kib(gqa![4]!)).toBeLessThan(kib(mha![4]!)); // online: fewer K/V rows opened and attended over
    expect(kib(gqa![6]!)).toBeLessThan(kib(mha![6]!)); // dealer material
    const out = mkdtempSync(join(tmpdir(), 'bench-refused-'));
    const p = bench(['--model', 'smollm2-135m', '--ctx', '48', '--policy', 'full', '--out', out]);
    rmSync(out, { recursive: true, force: true });
    expect(p.status).toBe(2);
    expect(p.stderr).toMatch(/shapes only .*--declared/);
  }, 120000);

  test('a bad policy is refused before anything runs', () => {
    const p = bench(['--declared', '--policy', 'nope']);
    expect(p.status).toBe(2);
    expect(p.stderr).toMatch(/nope/);
  });
});
