import { describe, expect, test } from '@jest/globals';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { getPolicy, PolicyAttention } from '../../shared/kvcache/index.js';
import {
  floatOps,
  gpt2WeightsFromSafetensors,
  parseGpt2Config,
  parseSafetensors,
  type FloatTypes,
} from '../../shared/model/index.js';
import { byteTokenizer as tok } from '../../shared/model/tokenizer/index.js';
import { getTask } from '../../shared/tasks/index.js';
import { evalState, runSample, runSampleFanout, type SampleSetup } from '../../scripts/eval/runner.js';
import { aggregate, readRecords, type StudyRecord } from '../../scripts/study/aggregate.js';
import { beginMarker, END, markdown, svgChart, writeBetweenMarkers } from '../../scripts/study/render.js';
import { hfConfig, randomTensors, toFile, type TinySpec } from '../model/tiny-model.js';
import { seeded } from '../util/rng.js';

const record = (
  policy: string,
  i: number,
  correct: number,
  placement: 'prompt' | 'decode' = 'prompt',
): StudyRecord => ({
  task: 'passkey',
  ctx: 1024,
  placement,
  policy,
  i,
  correct,
  queries: 1,
  promptTokens: 1000,
  budgetTokens: 60,
});

describe('study', () => {
  test('one fanned-out prefill per sample scores like one run per policy', async () => {
    const spec: TinySpec = { nLayer: 2, nHead: 2, nEmbd: 8, nPositions: 400, vocab: 257 };
    const config = parseGpt2Config(hfConfig(spec, { eot_token_id: 256 }));
    const params = await floatOps.prepare(
      gpt2WeightsFromSafetensors(config, parseSafetensors(toFile(randomTensors(spec, seeded(5))))),
    );
    const setup: SampleSetup<FloatTypes> = {
      ops: floatOps,
      params,
      tok,
      task: getTask('passkey'),
      ctx: 380,
      placement: 'decode',
      depth: 'spread',
      seed: 2,
      samples: 2,
    };
    const policies = ['full', 'mpcache', 'h2o', 'tova'].map((n) => getPolicy(n, { budget: 40 }));
    const state = evalState(setup);
    const fanned = await runSampleFanout(setup, policies, state, 1);
    for (let j = 0; j < policies.length; j++) {
      expect(fanned[j]).toEqual(await runSample({ ...setup, policy: PolicyAttention.of(policies[j]!) }, state, 1));
    }
  });

  test('records aggregate per cell with Wilson intervals; duplicates count once; a torn last line is skipped', () => {
    const dir = mkdtempSync(join(tmpdir(), 'study-'));
    const path = join(dir, 'r.jsonl');
    const rs = [
      record('full', 0, 1),
      record('full', 1, 1),
      record('mpcache', 0, 1),
      record('mpcache', 1, 0),
      record('mpcache', 1, 0),
    ];
    writeFileSync(path, rs.map((r) => JSON.stringify(r)).join('\n') + '\n{"task": "pas');
    const cells = aggregate(readRecords(path));
    expect(cells.map((c) => [c.policy, c.samples, c.correct, c.accuracy])).toEqual([
      ['full', 2, 2, 1],
      ['mpcache', 2, 1, 0.5],
    ]);
    expect(cells[1]!.ci95[0]).toBeCloseTo(0.0945, 3);
    writeFileSync(path, 'nonsense\n' + JSON.stringify(rs[0]) + '\n');
    expect(() => readRecords(path)).toThrow(/not JSON/);
  });

  test('the report keeps prose outside its markers and lists policies, ablations, budgets and n', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'study-'));
    const path = join(dir, 'study.md');
    const cells = aggregate([
      record('full', 0, 1),
      record('mpcache', 0, 1),
      record('mpcache-single', 0, 0),
      record('tova', 0, 1, 'decode'),
      record('mpcache', 0, 0, 'decode'),
    ]);
    writeFileSync(path, `# Title\n\nintro\n\n${beginMarker('npm run study')}\nold\n${END}\n\noutro\n`);
    writeBetweenMarkers(path, markdown(cells, 'meta line'), 'unused', 'npm run study');
    const md = readFileSync(path, 'utf8');
    expect(md.startsWith('# Title\n\nintro\n\n')).toBe(true);
    expect(md.endsWith('\n\noutro\n')).toBe(true);
    expect(md).not.toContain('old');
    expect(md).toContain('| policy | 1024 · prompt | 1024 · decode |');
    expect(md).toContain('| *budget B (tokens/step)* | *60* | *60* |');
    expect(md).toContain('| mpcache | 100.0 [20.7, 100.0] | 0.0 [0.0, 79.3] |');
    expect(md).toContain('| full | 100.0 [20.7, 100.0] | — |');
    expect(md).toContain('MPCache ablations');
    expect(md).toContain('- 1024 · prompt: MPCache − full = +0.0 points (target ≥ −5): met');
    expect(md).toContain('- 1024 · prompt: MPCache ≥ StreamingLLM, H2O, H2O-prefill, TOVA, SnapKV: met');
    expect(md).toContain(
      '- 1024 · decode: MPCache ≥ StreamingLLM, H2O, H2O-prefill, TOVA, SnapKV: not met (tova higher)',
    );
    expect(await svgChart(cells, 'passkey')).toMatch(/^<svg[\s\S]*<\/svg>$/);
  });
});
