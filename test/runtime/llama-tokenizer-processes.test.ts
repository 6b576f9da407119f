/**
 * Issue 15, a Llama folder with a tokenizer.json end to end (socket suite, slow): `npm start --
 * --model test/model/fixtures/tiny-llama-bpe --prompt …` (the compiled script: shares, dealer and both
 * parties as processes, the client) tokenizes the prompt with the folder's tokenizer.json, and its
 * secure tokens equal the fixed-point emulation run here on the prompt encoded here.
 */
import { join } from 'node:path';
import { readModelConfig, tokenizerFor } from '../../shared/model/index.js';
import { loadAnyModel } from '../../shared/model/ring/any-model.js';
import { referenceGenerate } from '../../shared/runtime/reference.js';
import { projectPath } from '../../shared/util/index.js';
import { runScript } from '../util/run-script.js';

const MODEL_DIR = projectPath('test', 'model', 'fixtures', 'tiny-llama-bpe');
const PROMPT = 'The pass key is 4242. Unicode: café 🦙';
const STEPS = 6;

describe('npm start with a tokenizer.json model (socket suite, slow)', () => {
  test(`${STEPS} secure tokens from the tokenizer.json prompt equal the emulation's`, async () => {
    const r = await runScript(
      'scripts/start.js',
      ['--model', MODEL_DIR, '--prompt', PROMPT, '--max-new-tokens', String(STEPS), '--json'],
      { timeoutMs: 120000, env: { GLIBC_TUNABLES: 'glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=17179869184' } },
    );
    expect(r.stderr.split('\n').filter((l) => /error|E_[A-Z]/.test(l))).toEqual([]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as {
      promptTokens: number;
      tokens: number[];
      referenceTokens: number[];
      match: boolean;
      text: string;
    };
    const tok = tokenizerFor(readModelConfig(join(MODEL_DIR, 'config.json')), MODEL_DIR);
    const prompt = [tok.bos, ...tok.encode(PROMPT)];
    const ref = await referenceGenerate(loadAnyModel(MODEL_DIR), prompt, out.tokens.length, null);
    expect(out.match).toBe(true);
    expect(out.promptTokens).toBe(prompt.length);
    expect(out.tokens).toEqual(ref.fixed);
    expect(out.text).toBe(tok.decode(out.tokens));
    // generation stops early only on the EOT
    if (out.tokens.length < STEPS) expect(out.tokens.at(-1)).toBe(tok.eot);
  }, 150000);
});
