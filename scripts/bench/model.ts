/**
 * The models a benchmark runs: `embedded` (models/tiny-gpt2), random weights of a known shape
 * (`gpt2-small`; `smollm2-135m` / `smollm2-135m-mha`, SmolLM2-135M's Llama shapes with 3 or 9
 * key/value heads; `llama-tiny`, a small Llama for tests), each labelled as random in every record,
 * or a Hugging Face folder; their shares, written by the model owner's own process (`share-model`,
 * so the harness never holds the shares); and prompts of an exact length.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MpcError, projectPath } from '../../shared/util/index.js';
import { MALLOC_TUNABLES } from '../../shared/runtime/launch.js';
import { readGpt2Config } from '../../shared/model/config.js';
import { tokenizerFor } from '../../shared/model/tokenizer/index.js';
import { ShareConfig } from '../../shared/model/ring/share-file.js';
import { getTask, promptTokens } from '../../shared/tasks/index.js';
import { GPT2_SMALL_SHAPE, randomConfigJson, writeRandomGpt2 } from './random-model.js';
import { LLAMA_TINY_SHAPE, randomLlamaConfigJson, smolLm2Shape, writeRandomLlama } from './random-llama.js';
import { parseModelConfig, readModelConfig, type ModelConfig } from '../../shared/model/llama-config.js';

export interface BenchModel {
  /** As given on the command line. */
  readonly name: string;
  readonly dir: string;
  readonly config: ModelConfig;
  /** What the report says about the weights. */
  readonly note: string;
  readonly sharesDir: string;
  readonly shareConfig: ShareConfig;
}

/** A model known by name: random weights of a fixed shape, labelled as random. */
interface RandomModel {
  config(seed: number): Record<string, unknown>;
  write(dir: string, seed: number): void;
  note(seed: number): string;
}

const SMOLLM2 = (kv: 3 | 9): RandomModel => ({
  config: (seed) => randomLlamaConfigJson(smolLm2Shape(kv), `seed ${seed}`),
  write: (dir, seed) => writeRandomLlama(dir, smolLm2Shape(kv), seed),
  note: (seed) =>
    `RANDOM weights of SmolLM2-135M's shapes${kv === 9 ? ' with 9 key/value heads (no GQA)' : ''} (Llama: 30 layers, width 576, 9 query heads and ${kv} key/value heads of 64, MLP 1536, vocabulary 49 152 of which the byte tokenizer uses 257, 8192 positions, RoPE θ 100 000, tied embeddings; seed ${seed})`,
});

/** The models `--model` knows by name besides `embedded`. */
const RANDOM_MODELS: Readonly<Record<string, RandomModel>> = {
  'gpt2-small': {
    config: (seed) => randomConfigJson(GPT2_SMALL_SHAPE, seed),
    write: (dir, seed) => writeRandomGpt2(dir, GPT2_SMALL_SHAPE, seed),
    note: (seed) =>
      `RANDOM weights of GPT-2 small's shapes (12 layers, 12 heads, 768, 1024 positions, vocabulary 50 257, GPT-2 BPE; seed ${seed})`,
  },
  'smollm2-135m': SMOLLM2(3),
  'smollm2-135m-mha': SMOLLM2(9),
  'llama-tiny': {
    config: (seed) => randomLlamaConfigJson(LLAMA_TINY_SHAPE, `seed ${seed}`),
    write: (dir, seed) => writeRandomLlama(dir, LLAMA_TINY_SHAPE, seed),
    note: (seed) =>
      `RANDOM weights of a tiny Llama (2 layers, width 64, 4 query heads and 2 key/value heads of 16, MLP 128, vocabulary 320, byte tokenizer, tied embeddings; seed ${seed})`,
  },
};

/** The random model of that name, if any (own keys only: a folder called `constructor` is a folder). */
const randomModel = (name: string): RandomModel | undefined =>
  Object.hasOwn(RANDOM_MODELS, name) ? RANDOM_MODELS[name] : undefined;

/** Writes a named model's random weights (run by the child process `writeRandomInChild` starts). */
export function writeRandomModel(name: string, dir: string, seed: number): void {
  const m = randomModel(name);
  if (!m) throw new MpcError('E_CONFIG', `--model ${name}: no random model of that name`);
  m.write(dir, seed);
}

/** Writes a named model's random weights from a process of its own (≈ 1 GB of arrays the harness then never holds). */
function writeRandomInChild(name: string, dir: string, seed: number): void {
  const lib = pathToFileURL(projectPath('dist', 'scripts', 'bench', 'model.js')).href;
  const code = `const m = await import(${JSON.stringify(lib)}); m.writeRandomModel(${JSON.stringify(name)}, ${JSON.stringify(dir)}, ${seed});`;
  execFileSync(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * Resolves `--model` and writes (or reuses) its random weights and shares under `cacheDir`.
 * @throws MpcError E_CONFIG for a folder without a model.
 */
export function benchModel(name: string, cacheDir: string, seed: number): BenchModel {
  let dir: string, note: string;
  const random = randomModel(name);
  if (name === 'embedded') {
    dir = projectPath('models', 'tiny-gpt2');
    note = 'models/tiny-gpt2 (the embedded trained model)';
  } else if (random) {
    dir = join(cacheDir, `${name}-random-${seed}`);
    if (!existsSync(join(dir, 'model.safetensors'))) writeRandomInChild(name, dir, seed);
    note = random.note(seed);
  } else {
    dir = resolve(name);
    note = dir;
  }
  if (!existsSync(join(dir, 'model.safetensors')))
    throw new MpcError('E_CONFIG', `--model ${name}: no model.safetensors in ${dir}`);
  const sharesDir = join(cacheDir, `shares-${name.replace(/[^A-Za-z0-9_.-]/g, '_')}-${seed}`);
  if (!existsSync(join(sharesDir, 'config.json'))) {
    // the model owner's step, in its own process: the harness never holds the weights' shares
    execFileSync(
      process.execPath,
      [projectPath('dist', 'scripts', 'share-model.js'), '--model', dir, '--out', sharesDir, '--public-weights'],
      { stdio: ['ignore', 'ignore', 'inherit'], env: { ...process.env, GLIBC_TUNABLES: MALLOC_TUNABLES } },
    );
  }
  const shareConfig = ShareConfig.parse(JSON.parse(readFileSync(join(sharesDir, 'config.json'), 'utf8')));
  return { name, dir, config: readModelConfig(join(dir, 'config.json')), note, sharesDir, shareConfig };
}

/** The config of `--model` alone (no weights written, no shares): what declared costs need. */
export function benchConfig(name: string, seed: number): ModelConfig {
  if (name === 'embedded') return readGpt2Config(projectPath('models', 'tiny-gpt2', 'config.json'));
  const random = randomModel(name);
  if (random) return parseModelConfig(random.config(seed), name);
  const file = join(resolve(name), 'config.json');
  if (!existsSync(file)) throw new MpcError('E_CONFIG', `--model ${name}: no config.json in ${resolve(name)}`);
  return readModelConfig(file);
}

/**
 * The shortest passkey prompt the task lays out, in byte tokens (shared/tasks/layout.ts; the byte
 * tokenizer needs the most tokens for its text): shorter prompts are cut from one of this length.
 */
const PASSKEY_MIN_TOKENS = 104;

/**
 * A passkey prompt of exactly n tokens (cut at the front, keeping the question, or padded with filler in
 * front), in the tokens of the model in `dir`.
 */
export function promptOf(config: ModelConfig, dir: string, n: number, seed: number): number[] {
  const tok = tokenizerFor(config, dir),
    length = Math.max(n, PASSKEY_MIN_TOKENS);
  let p = promptTokens(getTask('passkey').generate({ length, seed, placement: 'prompt', depth: 0.5 }, tok), tok);
  while (p.length < n) p = [...tok.encode(' The grass is green.'), ...p];
  return p.slice(p.length - n);
}
