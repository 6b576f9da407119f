/**
 * `npm run bench -- --declared`: the declared cost per decoded token of each cell, with ratios to
 * full cache, printed without running any process (the values themselves are checked against the
 * meter in test/runtime/declared-generation.test.ts). And one real Llama run: a random-weight
 * Llama's cells over the dealer, both parties and the client as processes, whose tokens equal the
 * emulation's and whose metered cost equals the declared one.
 */
import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { projectPath } from '../../shared/util/index.js';
import { MALLOC_TUNABLES } from '../../shared/runtime/launch.js';
import { benchConfig } from '../../scripts/bench/model.js';
import { declaredPerToken } from '../../scripts/bench/declared.js';
import type { CellRecord } from '../../scripts/bench/cell.js';

const bench = (args: string[]) =>
  spawnSync(process.execPath, [projectPath('dist', 'scripts', 'bench.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, GLIBC_TUNABLES: MALLOC_TUNABLES },
  });

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

  test("SmolLM2-135M's shapes (Llama): grouped-query attention's 3 key/value heads cost less than 9", () => {
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
  }, 120000);

  test('a bad policy is refused before anything runs', () => {
    const p = bench(['--declared', '--policy', 'nope']);
    expect(p.status).toBe(2);
    expect(p.stderr).toMatch(/nope/);
  });
});

describe('bench cells over processes (slow: dealer, party 0, party 1 and the client as processes)', () => {
  test('a random Llama (llama-tiny, GQA, byte tokenizer): tokens equal the emulation, metered equals declared, Llama labels, peak RSS', async () => {
    const out = mkdtempSync(join(tmpdir(), 'bench-llama-'));
    try {
      const p = bench([
        '--model',
        'llama-tiny',
        '--ctx',
        '64',
        '--policy',
        'full,mpcache',
        '--tokens',
        '3',
        '--out',
        out,
      ]);
      expect(p.stderr).toMatch(/all equal/);
      expect(p.status).toBe(0);
      const records = JSON.parse(readFileSync(join(out, 'records.json'), 'utf8')) as CellRecord[];
      expect(records.map((r) => r.key.policy)).toEqual(['full', 'mpcache']);
      const config = benchConfig('llama-tiny', 7);
      expect(config.arch).toBe('llama');
      for (const r of records) {
        expect(r.match).toBe(true);
        expect(r.tokens).toHaveLength(3);
        expect(r.tokens).toEqual(r.emulationTokens);
        expect(r.modelNote).toMatch(/^RANDOM weights of a tiny Llama/);
        for (const who of ['dealer', 'party0', 'party1', 'client'] as const) expect(r.rssMiB[who]).toBeGreaterThan(0);
        const declared = await declaredPerToken(config, {
          ctx: 64,
          tokens: 3,
          prefill: 'revealed',
          policy: r.key.policy,
          options: {},
        });
        expect([r.perToken.p0_to_p1, r.perToken.rounds, r.perToken.dealer_to_p1]).toEqual([
          declared.bytes,
          declared.rounds,
          declared.dealer,
        ]);
        const ops = r.byOperation.map((o) => o.op);
        expect(ops).toEqual(expect.arrayContaining(['attn_norm', 'mlp_norm', 'qkv', 'attn', 'mlp', 'head']));
        expect(ops).not.toContain('ln1');
      }
      const written = JSON.parse(readFileSync(join(out, 'models', 'llama-tiny-random-7', 'config.json'), 'utf8'));
      expect(written).toMatchObject({ model_type: 'llama', tokenizer: 'byte', random_weights: 'seed 7' });
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 300000);
});
