/**
 * The float64 forward against logits computed elsewhere: a tiny GPT-2 saved and run by Hugging Face
 * transformers (always present; fixtures/hf-gpt2-tiny/regenerate.py), and the project's trained
 * model with its PyTorch fixture (models/tiny-gpt2/fixture.json; skipped, saying so, when absent).
 */
import { describe, expect, test } from '@jest/globals';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createState, floatOps, forward, loadGpt2, type FloatTensor } from '../../shared/model/index.js';
import { projectPath } from '../../shared/util/index.js';
import { maxAbsDiff } from './tiny-model.js';

const HF_DIR = projectPath('test', 'model', 'fixtures', 'hf-gpt2-tiny');
const TRAINED_DIR = projectPath('models', 'tiny-gpt2');
const TRAINED_FIXTURE = join(TRAINED_DIR, 'fixture.json');

interface HfReference {
  ids: number[];
  logits: number[][];
  hidden1: number[][];
}
interface TrainedFixture {
  ids: number[];
  positions: number[];
  logits: number[][];
  argmax: number[];
}

describe('float64 forward vs Hugging Face transformers (fixtures/hf-gpt2-tiny)', () => {
  const ref = JSON.parse(readFileSync(join(HF_DIR, 'logits.json'), 'utf8')) as HfReference;
  const weights = loadGpt2(HF_DIR);

  test('loads the HF file: transformer. prefix, float32, n_inner 24, tied head', () => {
    expect(weights.config).toMatchObject({ nLayer: 2, nInner: 24, tokenizer: 'gpt2', eotTokenId: 60 });
    expect(weights.lmHead).toBe(weights.wte);
  });

  test('logits at every position and the residual stream after block 0 agree to 1e-12', async () => {
    const params = await floatOps.prepare(weights);
    let hidden1: FloatTensor | undefined;
    const state = createState(floatOps, weights.config, ref.ids.length);
    const logits = (await forward(floatOps, params, state, ref.ids, {
      logits: 'all',
      onHidden: (i, h) => {
        if (i === 1) hidden1 = h;
      },
    })) as FloatTensor;
    expect(maxAbsDiff(logits.data, ref.logits.flat())).toBeLessThan(1e-12);
    expect(maxAbsDiff((hidden1 as FloatTensor).data, ref.hidden1.flat())).toBeLessThan(1e-12);
  });
});

const trainedPresent = existsSync(TRAINED_FIXTURE);
const why = trainedPresent ? '' : ' [SKIPPED: models/tiny-gpt2/fixture.json is absent]';
if (!trainedPresent)
  console.warn(`reference.test: skipping the trained-model fixture check: ${TRAINED_FIXTURE} is absent`);

describe(`float64 forward vs the trained model's PyTorch fixture${why}`, () => {
  (trainedPresent ? test : test.skip)('reproduces the fixture logits to 1e-6, by prefill and by decoding', async () => {
    const fx = JSON.parse(readFileSync(TRAINED_FIXTURE, 'utf8')) as TrainedFixture;
    const weights = loadGpt2(TRAINED_DIR);
    const params = await floatOps.prepare(weights);
    const n = fx.ids.length;
    const all = (await forward(floatOps, params, createState(floatOps, weights.config, n), fx.ids, {
      logits: 'all',
    })) as FloatTensor;
    const V = weights.config.vocabSize;
    // Decoding path: prefill up to the first fixture position, then one token at a time.
    const state = createState(floatOps, weights.config, n);
    const first = fx.positions[0] as number;
    const stepped: number[] = [
      ...((await forward(floatOps, params, state, fx.ids.slice(0, first + 1))) as FloatTensor).data,
    ];
    for (let i = first + 1; i < n; i++)
      stepped.push(...((await forward(floatOps, params, state, [fx.ids[i] as number])) as FloatTensor).data);
    fx.positions.forEach((pos, r) => {
      const row = all.data.subarray(pos * V, (pos + 1) * V);
      expect(maxAbsDiff(row, fx.logits[r] as number[])).toBeLessThanOrEqual(1e-6);
      expect(maxAbsDiff(stepped.slice(r * V, (r + 1) * V), fx.logits[r] as number[])).toBeLessThanOrEqual(1e-6);
      expect(row.indexOf(Math.max(...row))).toBe(fx.argmax[r]);
    });
  });
});
