/**
 * The models a benchmark runs: `embedded` (models/tiny-gpt2), `gpt2-small` (random weights of GPT-2
 * small's exact shapes, labelled as random) or a Hugging Face folder, and for declared costs only
 * `smollm2-135m` / `smollm2-135m-mha` (SmolLM2-135M's Llama shapes with 3 or 9 key/value heads); their shares, written by the
 * model owner's own process (`share-model`, so the harness never holds the shares); and prompts of an
 * exact length.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MpcError, projectPath } from '../../shared/util/index.js';
import { MALLOC_TUNABLES } from '../../shared/runtime/launch.js';
import { parseGpt2Config, readGpt2Config, type Gpt2Config } from '../../shared/model/config.js';
import { tokenizerFor } from '../../shared/model/tokenizer/index.js';
import { ShareConfig } from '../../shared/model/ring/share-file.js';
import { getTask, promptTokens } from '../../shared/tasks/index.js';
import { GPT2_SMALL_SHAPE, randomConfigJson, smolLm2ConfigJson } from './random-model.js';
import { parseLlamaConfig, readModelConfig, type ModelConfig } from '../../shared/model/llama-config.js';

export interface BenchModel {
  /** As given on the command line. */
  readonly name: string;
  readonly dir: string;
  readonly config: Gpt2Config;
  /** What the report says about the weights. */
  readonly note: string;
  readonly sharesDir: string;
  readonly shareConfig: ShareConfig;
}

/** Writes GPT-2 small's random weights from a process of its own (≈ 1 GB of arrays the harness then never holds). */
function writeRandomInChild(dir: string, seed: number): void {
  const lib = pathToFileURL(projectPath('dist', 'scripts', 'bench', 'random-model.js')).href;
  const code = `const m = await import(${JSON.stringify(lib)}); m.writeRandomGpt2(${JSON.stringify(dir)}, m.GPT2_SMALL_SHAPE, ${seed});`;
  execFileSync(process.execPath, ['--input-type=module', '-e', code], { stdio: ['ignore', 'ignore', 'inherit'] });
}

/**
 * Resolves `--model` and writes (or reuses) its random weights and shares under `cacheDir`.
 * @throws MpcError E_CONFIG for a folder without a model.
 */
export function benchModel(name: string, cacheDir: string, seed: number): BenchModel {
  let dir: string, note: string;
  if (name === 'embedded') {
    dir = projectPath('models', 'tiny-gpt2');
    note = 'models/tiny-gpt2 (the embedded trained model)';
  } else if (name === 'gpt2-small') {
    dir = join(cacheDir, `gpt2-small-random-${seed}`);
    if (!existsSync(join(dir, 'model.safetensors'))) writeRandomInChild(dir, seed);
    note = `RANDOM weights of GPT-2 small's shapes (12 layers, 12 heads, 768, 1024 positions, vocabulary 50 257, GPT-2 BPE; seed ${seed})`;
  } else if (DECLARED_ONLY[name]) {
    throw new MpcError('E_CONFIG', `--model ${name}: shapes only (no weights are written for it yet); use --declared`);
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
  return { name, dir, config: readGpt2Config(join(dir, 'config.json')), note, sharesDir, shareConfig };
}

/** Shapes known by name for declared costs only (`--declared`): no weights are written for them. */
const DECLARED_ONLY: Readonly<Record<string, () => Record<string, unknown>>> = {
  'smollm2-135m': () => smolLm2ConfigJson(3),
  'smollm2-135m-mha': () => smolLm2ConfigJson(9),
};

/** The config of `--model` alone (no weights written, no shares): what declared costs need. */
export function benchConfig(name: string, seed: number): ModelConfig {
  if (name === 'embedded') return readGpt2Config(projectPath('models', 'tiny-gpt2', 'config.json'));
  if (name === 'gpt2-small') return parseGpt2Config(randomConfigJson(GPT2_SMALL_SHAPE, seed), 'gpt2-small');
  const shape = DECLARED_ONLY[name];
  if (shape) return parseLlamaConfig(shape(), name);
  const file = join(resolve(name), 'config.json');
  if (!existsSync(file)) throw new MpcError('E_CONFIG', `--model ${name}: no config.json in ${resolve(name)}`);
  return readModelConfig(file);
}

/** A passkey prompt of exactly n tokens (cut at the front, keeping the question, or padded with filler in front). */
export function promptOf(config: Gpt2Config, n: number, seed: number): number[] {
  const tok = tokenizerFor(config);
  let p = promptTokens(getTask('passkey').generate({ length: n, seed, placement: 'prompt', depth: 0.5 }, tok), tok);
  while (p.length < n) p = [...tok.encode(' The grass is green.'), ...p];
  return p.slice(p.length - n);
}
