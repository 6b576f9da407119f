/**
 * Issue 15: `npm run eval` and `npm run study` take Llama folders (the loader dispatches on
 * `model_type`, as the runtime's). On the tiny-llama-bytes fixture (transformers' LlamaForCausalLM,
 * random weights, the embedded model's byte tokenizer, 512 positions; scripts/fixtures/tiny-llama.py):
 * the loader and float64 forward equal transformers, the runner answers through the Llama forward
 * (GQA caches, RoPE positions, an eviction policy), and both commands run end to end as processes.
 */
import { describe, expect, test } from '@jest/globals';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getPolicy, PolicyAttention } from '../../shared/kvcache/index.js';
import { createState, floatOps, forward, type FloatTypes, type Ops } from '../../shared/model/index.js';
import { loadAnyModel, prepareAnyModel } from '../../shared/model/ring/any-model.js';
import { tokenizerFor } from '../../shared/model/tokenizer/index.js';
import { STOP, getTask } from '../../shared/tasks/index.js';
import { projectPath } from '../../shared/util/index.js';
import { evalState, runSample, sampleSeed, depthOf, type EvalSetup } from '../../scripts/eval/runner.js';
import { LLAMA_BYTES_DIR, reference } from '../model/llama-fixture.js';

const node = (script: string, args: string[]) =>
  spawnSync(process.execPath, [projectPath('dist', 'scripts', script), ...args], { encoding: 'utf8' });

describe('eval and study on a Llama folder', () => {
  test('the fixture loads as Llama with the byte tokenizer and its float64 logits equal transformers (1e-9)', async () => {
    const w = loadAnyModel(LLAMA_BYTES_DIR);
    expect(w.config).toMatchObject({ arch: 'llama', nKvHead: 2, nHead: 4, nPositions: 512, ropeTheta: 500000 });
    expect(tokenizerFor(w.config).eot).toBe(256);
    const ref = reference(LLAMA_BYTES_DIR);
    const params = await prepareAnyModel(floatOps, w);
    const state = createState(floatOps, w.config, ref.tokens.length);
    const got = (await forward(floatOps, params, state, ref.tokens, { logits: 'all' }))!.data;
    const want = ref.logits.flat();
    expect(got.length).toBe(want.length);
    expect(want.reduce((m, v, i) => Math.max(m, Math.abs(v - got[i]!)), 0)).toBeLessThan(1e-9);
  });

  test('the runner answers through the Llama forward: scripted right answers score 1 under MPCache', async () => {
    const w = loadAnyModel(LLAMA_BYTES_DIR);
    const tok = tokenizerFor(w.config);
    const script: number[] = [];
    const ops: Ops<FloatTypes> = { ...floatOps, argmax: async () => [script.shift() ?? tok.eot] };
    const s: EvalSetup<FloatTypes> = {
      ops,
      params: await prepareAnyModel(ops, w),
      tok,
      task: getTask('niah'),
      policy: PolicyAttention.of(getPolicy('mpcache', {})),
      ctx: 480,
      placement: 'decode',
      depth: 'spread',
      seed: 4,
      samples: 2,
    };
    const sample = s.task.generate(
      { length: s.ctx, seed: sampleSeed(s.seed, 1), placement: s.placement, depth: depthOf(s.depth, 1, 2) },
      tok,
    );
    for (const q of sample.queries) script.push(...tok.encode(q.answer + STOP));
    expect(await runSample(s, evalState(s), 1)).toMatchObject({ correct: sample.queries.length });
    expect(script).toEqual([]);
  });

  test('npm run eval runs on it (float64 and the fixed-point emulation) and reports the model', () => {
    for (const extra of [[], ['--fixed']]) {
      const p = node('eval.js', [
        ...['--task', 'passkey', '--ctx', '300', '--samples', '2', '--policy', 'mpcache', '--json'],
        ...['--model', LLAMA_BYTES_DIR, ...extra],
      ]);
      expect(p.stderr).not.toMatch(/eval: /);
      expect(p.status).toBe(0);
      const r = JSON.parse(p.stdout) as Record<string, unknown>;
      expect(r).toMatchObject({ task: 'passkey', ctx: 300, samples: 2, queries: 2, model: LLAMA_BYTES_DIR });
      expect(r['backend']).toBe(extra.length ? 'fixed' : 'float64');
      expect(r['accuracy']).toBeGreaterThanOrEqual(0);
    }
  });

  test('npm run study runs on it and records every policy', () => {
    const dir = mkdtempSync(join(tmpdir(), 'study-llama-'));
    const out = join(dir, 'r.jsonl');
    const report = join(dir, 'study.md');
    writeFileSync(report, '# study\n');
    const p = node('study.js', [
      ...['--model', LLAMA_BYTES_DIR, '--tasks', 'passkey', '--ctx', '300', '--placements', 'prompt'],
      ...['--policies', 'full,mpcache,quest', '--samples', '2', '--out', out, '--report', report],
    ]);
    expect(p.status).toBe(0);
    const policies = readFileSync(out, 'utf8')
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { policy: string }).policy);
    expect(policies.sort()).toEqual(['full', 'full', 'mpcache', 'mpcache', 'quest', 'quest']);
    // the chart is named after the report, so a second study does not overwrite docs/eviction-study-*.svg
    expect(readFileSync(report, 'utf8')).toContain('![passkey](study-passkey.svg)');
    expect(existsSync(join(dir, 'study-passkey.svg'))).toBe(true);
  });

  test('a Llama folder without weights fails with E_MODEL, exit code 1', () => {
    const dir = mkdtempSync(join(tmpdir(), 'llama-broken-'));
    writeFileSync(join(dir, 'config.json'), readFileSync(join(LLAMA_BYTES_DIR, 'config.json')));
    const p = node('eval.js', ['--task', 'passkey', '--ctx', '300', '--samples', '1', '--model', dir]);
    expect(p.status).toBe(1);
    expect(p.stderr).toMatch(/E_MODEL/);
  });
});
