import { beforeAll, describe, expect, test } from '@jest/globals';
import {
  FULL_ATTENTION,
  floatOps,
  gpt2WeightsFromSafetensors,
  parseGpt2Config,
  parseSafetensors,
  type FloatTypes,
  type ModelParams,
  type Ops,
} from '../../shared/model/index.js';
import { byteTokenizer as tok } from '../../shared/model/tokenizer/index.js';
import { STOP, getTask, segments, type Placement } from '../../shared/tasks/index.js';
import { wilson } from '../../scripts/eval/report.js';
import { depthOf, evalState, runSample, sampleSeed, type EvalSetup } from '../../scripts/eval/runner.js';
import { seeded } from '../util/rng.js';
import { hfConfig, randomTensors, toFile, type TinySpec } from '../model/tiny-model.js';

const SPEC: TinySpec = { nLayer: 1, nHead: 2, nEmbd: 8, nPositions: 400, vocab: 257 };
let params: ModelParams<FloatTypes>;

beforeAll(async () => {
  const config = parseGpt2Config(hfConfig(SPEC, { eot_token_id: 256 }));
  params = await floatOps.prepare(
    gpt2WeightsFromSafetensors(config, parseSafetensors(toFile(randomTensors(SPEC, seeded(3))))),
  );
});

/** A float64 backend whose argmax plays back a script: the "model" answers what we tell it to. */
function scripted(script: number[]): Ops<FloatTypes> {
  return { ...floatOps, argmax: async () => [script.shift() ?? tok.eot] };
}

function setup(ops: Ops<FloatTypes>, task: string, placement: Placement, samples = 2): EvalSetup<FloatTypes> {
  return {
    ops,
    params,
    tok,
    task: getTask(task),
    policy: FULL_ATTENTION,
    ctx: 380,
    placement,
    depth: 'spread',
    seed: 9,
    samples,
  };
}

/** The reference answers of sample i, as the runner will generate it. */
function answers(s: EvalSetup<FloatTypes>, i: number): string[] {
  const sample = s.task.generate(
    { length: s.ctx, seed: sampleSeed(s.seed, i), placement: s.placement, depth: depthOf(s.depth, i, s.samples) },
    tok,
  );
  expect(segments(sample, tok).steps.length).toBe(sample.queries.length);
  return sample.queries.map((q) => q.answer);
}

describe('eval runner', () => {
  test.each([
    ['passkey', 'prompt'],
    ['passkey', 'decode'],
    ['niah', 'decode'],
    ['mqar', 'prompt'],
  ] as const)('%s (%s): a model that says the reference answers scores 1, a wrong one 0', async (task, placement) => {
    const script: number[] = [];
    const ops = scripted(script);
    const s = setup(ops, task, placement);
    const refs = answers(s, 1);
    for (const a of refs) script.push(...tok.encode(a + STOP));
    const right = await runSample(s, evalState(s), 1);
    expect(right).toMatchObject({ correct: refs.length, queries: refs.length });
    expect(script).toEqual([]);
    for (const a of refs) script.push(...tok.encode('x' + a), tok.eot);
    expect((await runSample(s, evalState(s), 1)).correct).toBe(0);
  });

  test('depths spread evenly over the context; seeds differ per sample and per base seed', () => {
    expect([0, 1, 2, 3, 4].map((i) => depthOf('spread', i, 5))).toEqual([0, 0.25, 0.5, 0.75, 1]);
    expect(depthOf('spread', 0, 1)).toBe(0.5);
    expect(depthOf(0.3, 7, 10)).toBe(0.3);
    const seeds = new Set([0, 1, 2].flatMap((b) => [0, 1, 2].map((i) => sampleSeed(b, i))));
    expect(seeds.size).toBe(9);
  });

  test('Wilson 95 % interval, known values', () => {
    const close = ([a, b]: [number, number], [c, d]: [number, number]) => {
      expect(a).toBeCloseTo(c, 4);
      expect(b).toBeCloseTo(d, 4);
    };
    close(wilson(0, 10), [0, 0.27753]);
    close(wilson(5, 10), [0.23659, 0.76341]);
    close(wilson(10, 10), [0.72247, 1]);
    close(wilson(95, 100), [0.88825, 0.97846]);
  });
});
