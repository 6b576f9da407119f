/**
 * Issue 15: a checkpoint's tokenizer.json through `@huggingface/tokenizers`. The TypeScript ids of
 * ASCII, Unicode, whitespace runs, digits, added tokens and the empty string equal the Python
 * `tokenizers` library's, stored with the fixtures by scripts/fixtures/tiny-bpe.py (a SmolLM2-style
 * and a Llama-3-style byte-level BPE), and decode back; a second process encodes the same ids;
 * tokenizerFor picks the file for a Llama config without "tokenizer": "byte" and refuses, with
 * E_MODEL naming the file, a vocabulary too small for it or an EOS that is not one of its special
 * tokens; and the tiny Llama that uses it generates from an encoded prompt as the client does.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  hfTokenizer,
  parseGpt2Config,
  parseLlamaConfig,
  readModelConfig,
  tokenizerFor,
} from '../../shared/model/index.js';
import { loadAnyModel } from '../../shared/model/ring/any-model.js';
import { referenceGenerate } from '../../shared/runtime/reference.js';
import { projectPath } from '../../shared/util/index.js';
import { runScript } from '../util/run-script.js';
import { errorOf } from '../util/errors-of.js';

const FIXTURES = projectPath('test', 'model', 'fixtures');
const MODEL_DIR = join(FIXTURES, 'tiny-llama-bpe');
interface Case {
  text: string | null;
  ids: number[];
  decoded: string;
}
const CASES = JSON.parse(readFileSync(join(FIXTURES, 'tokenizers', 'cases.json'), 'utf8')) as {
  files: Record<string, Case[]>;
};
const FILES = Object.keys(CASES.files);
const MODEL_JSON = JSON.parse(readFileSync(join(MODEL_DIR, 'config.json'), 'utf8')) as Record<string, unknown>;

describe.each(FILES)('tokenizer.json %s against the Python tokenizers library', (file) => {
  const tok = hfTokenizer(join(FIXTURES, file), 0);
  const cases = CASES.files[file]!;
  test.each(cases.filter((c) => c.text !== null).map((c) => [JSON.stringify(c.text), c] as const))(
    "encode %s: the library's ids, and decode gives the text back",
    (_name, c) => {
      expect(tok.encode(c.text!)).toEqual(c.ids);
      expect(tok.decode(c.ids)).toBe(c.decoded);
      expect(c.decoded).toBe(c.text);
    },
  );
  test('a character cut mid-way decodes to U+FFFD, as the library does', () => {
    const cut = cases.find((c) => c.text === null)!;
    expect(tok.decode(cut.ids)).toBe(cut.decoded);
  });
  test('its size and end marker; ids outside it are E_INPUT', () => {
    expect(tok).toMatchObject({ name: 'hf', vocabSize: 384, eot: 0 });
    expect(tok.decode([0])).toBe('<|endoftext|>');
    expect(errorOf(() => tok.decode([1, 384])).code).toBe('E_INPUT');
    expect(errorOf(() => tok.decode([2.5])).code).toBe('E_INPUT');
  });
});

test('another process encodes every case to the same ids', async () => {
  const code =
    `const m = await import(${JSON.stringify(projectPath('dist', 'shared', 'model', 'index.js'))});` +
    `const c = JSON.parse(require('node:fs').readFileSync(${JSON.stringify(join(FIXTURES, 'tokenizers', 'cases.json'))}, 'utf8'));` +
    `const out = {}; for (const [f, cs] of Object.entries(c.files)) { const t = m.hfTokenizer(${JSON.stringify(FIXTURES)} + '/' + f, 0);` +
    `out[f] = cs.filter((x) => x.text !== null).map((x) => t.encode(x.text)); } console.log(JSON.stringify(out));`;
  const r = await runScript('-', ['--input-type=commonjs', '-e', `(async () => { ${code} })()`]);
  expect(r.stderr).toBe('');
  const got = JSON.parse(r.stdout) as Record<string, number[][]>;
  for (const f of FILES) expect(got[f]).toEqual(CASES.files[f]!.filter((c) => c.text !== null).map((c) => c.ids));
});

describe('tokenizerFor with a tokenizer.json', () => {
  test('a Llama config without "tokenizer": "byte" uses the folder\'s tokenizer.json, EOT = eos_token_id', () => {
    const tok = tokenizerFor(parseLlamaConfig(MODEL_JSON), MODEL_DIR);
    expect(tok).toMatchObject({ name: 'hf', vocabSize: 384, eot: 0 });
    expect(tok.encode('Hello, llama')).toEqual(CASES.files['tiny-llama-bpe/tokenizer.json']![1]!.ids);
    // a padded vocabulary is fine; an instruct model's EOS (<|im_end|>) too
    expect(tokenizerFor(parseLlamaConfig({ ...MODEL_JSON, vocab_size: 512, eos_token_id: 2 }), MODEL_DIR).eot).toBe(2);
  });
  test("a tokenizer.json model starts sequences with the config's bos_token_id; the project's byte models with the EOT", () => {
    // <|im_start|> (special id 1) stands in for a Llama-3-style <|begin_of_text|>
    const tok = tokenizerFor(parseLlamaConfig({ ...MODEL_JSON, bos_token_id: 1 }), MODEL_DIR);
    expect(tok).toMatchObject({ eot: 0, bos: 1 });
    expect(tokenizerFor(parseLlamaConfig(MODEL_JSON), MODEL_DIR)).toMatchObject({ eot: 0, bos: 0 });
    // HF's LlamaConfig writes bos_token_id 1 by default: a byte-tokenizer model was trained with the EOT first
    const bytes = { ...MODEL_JSON, tokenizer: 'byte', vocab_size: 257, eos_token_id: 256, bos_token_id: 1 };
    expect(parseLlamaConfig(bytes).bosTokenId).toBe(256);
    expect(tokenizerFor(parseLlamaConfig(bytes))).toMatchObject({ eot: 256, bos: 256 });
  });
  test('a GPT-2 config with "tokenizer": "hf" uses it too', () => {
    const gpt2 = { n_layer: 1, n_head: 2, n_embd: 8, n_positions: 16, vocab_size: 384, eos_token_id: 0 };
    const tok = tokenizerFor(parseGpt2Config({ ...gpt2, tokenizer: 'hf' }), MODEL_DIR);
    expect(tok).toMatchObject({ name: 'hf', eot: 0 });
  });
  test.each([
    [
      'a vocabulary smaller than the tokenizer',
      { vocab_size: 300 },
      /vocab_size 300 .*384.*tiny-llama-bpe\/tokenizer\.json/,
    ],
    [
      'an EOS that is an ordinary token',
      { eos_token_id: 100 },
      /tiny-llama-bpe\/tokenizer\.json: .*EOT id 100 is not a special token/,
    ],
    ['an EOS outside the tokenizer', { vocab_size: 512, eos_token_id: 400 }, /EOT id 400 is not an id of/],
    [
      'a BOS that is an ordinary token',
      { bos_token_id: 100 },
      /tiny-llama-bpe\/tokenizer\.json: .*BOS id 100 is not a special token/,
    ],
    ['a BOS outside the vocabulary', { bos_token_id: 4000 }, /BOS id 4000 is outside the vocabulary/],
  ])('refuses %s with E_MODEL naming the file', (_what, change, message) => {
    const e = errorOf(() => tokenizerFor(parseLlamaConfig({ ...MODEL_JSON, ...change }), MODEL_DIR));
    expect(e.code).toBe('E_MODEL');
    expect(e.message).toMatch(message);
  });
  test('refuses a missing, malformed or unsupported tokenizer.json, and a missing folder, with E_MODEL', () => {
    const config = parseLlamaConfig(MODEL_JSON);
    const dir = mkdtempSync(join(tmpdir(), 'mpc-tok-'));
    try {
      expect(errorOf(() => tokenizerFor(config, dir)).message).toMatch(/tokenizer\.json: cannot read tokenizer/);
      writeFileSync(join(dir, 'tokenizer.json'), '{"model": ');
      expect(errorOf(() => tokenizerFor(config, dir)).code).toBe('E_MODEL');
      const sub = join(dir, 'b');
      writeFileSync(join(dir, 'tokenizer.json'), JSON.stringify({ model: { type: 'Nonesuch' }, added_tokens: [] }));
      expect(errorOf(() => tokenizerFor(config, dir)).message).toMatch(/unsupported tokenizer/);
      expect(errorOf(() => tokenizerFor(config, sub)).code).toBe('E_MODEL');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(errorOf(() => tokenizerFor(config)).message).toMatch(/no folder was given/);
  });
});

test('the tiny Llama with this tokenizer generates from a prompt encoded as the client does', async () => {
  const config = readModelConfig(join(MODEL_DIR, 'config.json'));
  const tok = tokenizerFor(config, MODEL_DIR);
  const prompt = [tok.bos, ...tok.encode('Hello, llama: café 🦙')];
  const weights = loadAnyModel(MODEL_DIR);
  expect(weights.config).toEqual(config);
  const ref = await referenceGenerate(weights, prompt, 6, null);
  expect(ref.fixed).toHaveLength(6);
  for (const t of [...ref.fixed, ...ref.float]) expect(t).toBeLessThan(tok.vocabSize);
  expect(typeof tok.decode(ref.fixed)).toBe('string');
}, 60000);
