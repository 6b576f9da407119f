/**
 * `npm start [-- --prompt "…" | --prompt-file f] [--max-new-tokens n] [--model dir] [--json]
 *            [--policy <name> [policy flags]]`
 *
 * `--policy` runs a KV-cache policy inside the private generation (`--policy list` lists them),
 * with the flags of `npm run eval` (scripts/eval/policy-flags.ts), e.g.
 * `npm start -- --policy mpcache --static-ratio 0.3 --dynamic-ratio 0.2`; the references run the
 * same policy, and the secure tokens must equal the emulation's.
 *
 * The main job: private generation on loopback. Acting as the model owner it shares the model
 * (fresh shares in a temporary folder, one file per party), starts the dealer and both parties as
 * separate processes, then acts as the client: tokenizes the prompt (default: a built-in passkey
 * question), streams the generated text as the secure argmax reveals each token to it, and
 * compares with the plaintext references (the fixed-point emulation must match token for token;
 * float64 is shown for information). Prints the cost summary and shuts everything down.
 * Exit code 0 when the secure tokens match the emulation, 1 when not, 2 on errors.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { commandFlags } from '../shared/config/index.js';
import { MpcError, projectPath, toMpcError } from '../shared/util/index.js';
import { DEFAULT_LIMITS } from '../shared/net/limits.js';
import { encodeAnyModel, loadAnyModel, type AnyWeights } from '../shared/model/ring/any-model.js';
import { tokenizerFor, type Tokenizer } from '../shared/model/tokenizer/index.js';
import { sha256File, writeShares, type ShareConfig } from '../shared/model/ring/share-file.js';
import { getTask, promptTokens } from '../shared/tasks/index.js';
import { launchCluster, shareFlags } from '../shared/runtime/launch.js';
import { runGeneration, type GenerationCallbacks, type GenerationResult } from '../shared/runtime/gen-client.js';
import { referenceGenerate } from '../shared/runtime/reference.js';
import { costSummary, printCosts } from '../shared/runtime/costs.js';
import { policyOf } from '../shared/runtime/generation.js';
import { describePolicies, type KvPolicy, type PolicyOptions } from '../shared/kvcache/index.js';
import { POLICY_FLAGS, givenPolicyFlags, policyOptionsOf } from './eval/policy-flags.js';

const START = {
  usage:
    'npm start -- [--prompt "…" | --prompt-file f] [--max-new-tokens n] [--model dir] [--json] [--policy <name> [policy flags]]',
  summary:
    'Private generation on loopback: shares the model, starts the dealer and both parties as processes, acts as the client ' +
    'and compares the secure tokens with the fixed-point emulation (exit 0 when equal, 1 when not, 2 on errors).',
  flags: z.object({
    prompt: z.string().optional().describe('the prompt (default: a built-in passkey question)'),
    promptFile: z.string().optional().describe('read the prompt from this file'),
    maxNewTokens: z.number().int().min(1).max(2048).default(8).describe('tokens to generate'),
    model: z.string().optional().describe('model folder (default: models/tiny-gpt2)'),
    json: z.boolean().default(false).describe('print one JSON object'),
    timeoutMs: z.number().int().positive().default(120_000).describe('deadline of any wait on another process'),
    logLevel: z.string().optional().describe("the processes' log level (their stderr is shown when given)"),
    seed: z.number().int().nonnegative().default(7).describe('seed of the built-in prompt'),
    policy: z
      .string()
      .optional()
      .describe('a KV-cache policy run inside the private generation (`--policy list` lists them)'),
    ...POLICY_FLAGS,
  }),
};

function builtInPrompt(tok: Tokenizer, seed: number): { tokens: number[]; expected: string } {
  const sample = getTask('passkey').generate({ length: 160, seed, placement: 'prompt', depth: 0.3 }, tok);
  return { tokens: promptTokens(sample, tok), expected: sample.queries[0]!.answer };
}

type Flags = z.infer<typeof START.flags>;

/** What the run needs once the flags are read: the model, its tokenizer, the prompt and the policy. */
interface Run {
  readonly f: Flags;
  /** Writes to stdout, except with --json. */
  readonly log: (s: string) => void;
  readonly modelDir: string;
  readonly weights: AnyWeights;
  readonly tok: Tokenizer;
  readonly prompt: number[];
  /** The built-in prompt's answer (undefined for a prompt given with --prompt or --prompt-file). */
  readonly expected: string | undefined;
  readonly policy: KvPolicy | null;
  readonly policyOptions: PolicyOptions | undefined;
}

/** The policy of --policy with its flags (policy flags without --policy are refused). */
function chosenPolicy(f: Flags): Pick<Run, 'policy' | 'policyOptions'> {
  const given = givenPolicyFlags(f);
  if (f.policy === undefined && given.length > 0)
    throw new MpcError('E_CONFIG', `policy flags need --policy <name> (given: ${given.join(', ')})`);
  const policyOptions = f.policy === undefined ? undefined : policyOptionsOf(f);
  const policy = policyOf({ policy: f.policy, policyOptions }); // refuses plaintext-only policies before any work
  return { policy, policyOptions };
}

/** The prompt of --prompt or --prompt-file, or else the built-in passkey question and its answer. */
function promptOf(f: Flags, tok: Tokenizer): Pick<Run, 'prompt' | 'expected'> {
  if (f.prompt !== undefined || f.promptFile !== undefined) {
    const text = f.prompt ?? readFileSync(resolve(f.promptFile!), 'utf8');
    if (text.length === 0) throw new MpcError('E_INPUT', 'the prompt is empty');
    return { prompt: [tok.bos, ...tok.encode(text)], expected: undefined };
  }
  const { tokens, expected } = builtInPrompt(tok, f.seed);
  return { prompt: tokens, expected };
}

/** Reads the flags' policy, model and prompt, and refuses what cannot run before any process starts. */
function prepare(f: Flags): Run {
  const log = (s: string) => {
    if (!f.json) process.stdout.write(s);
  };
  const { policy, policyOptions } = chosenPolicy(f);
  const modelDir = resolve(f.model ?? projectPath('models', 'tiny-gpt2'));
  const weights = loadAnyModel(modelDir);
  const tok = tokenizerFor(weights.config, modelDir);
  const { prompt, expected } = promptOf(f, tok);
  policy?.check?.(prompt.length); // a budget that cannot fit this prompt fails here, before any process starts
  if (prompt.length + f.maxNewTokens - 1 > weights.config.nPositions) {
    throw new MpcError(
      'E_INPUT',
      `the prompt has ${prompt.length} tokens; with ${f.maxNewTokens} new tokens it exceeds the model's context of ${weights.config.nPositions}`,
    );
  }
  return { f, log, modelDir, weights, tok, prompt, expected, policy, policyOptions };
}

/** The model owner's step: fresh shares of the model in `dir`, one file per party. */
function shareModel(r: Run, dir: string): ShareConfig {
  r.log(`sharing ${r.modelDir} (model owner) …\n`);
  return writeShares(
    dir,
    JSON.parse(readFileSync(join(r.modelDir, 'config.json'), 'utf8')) as Record<string, unknown>,
    sha256File(join(r.modelDir, 'model.safetensors')),
    encodeAnyModel(r.weights),
  );
}

/** The line that says which KV cache the generation runs with. */
function policyLine(policy: KvPolicy | null, promptLen: number): string {
  if (!policy) return 'KV cache: full (no policy)\n';
  const settings = Object.entries(policy.settings)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const budget = policy.budget(promptLen);
  const attends = Number.isFinite(budget) ? `attends at most ${budget} tokens per step` : 'attends everything';
  return `KV-cache policy: ${policy.name} (${settings}); ${attends}\n`;
}

/** Streams each token's text as it is revealed, and the prefill's progress on stderr until the first token. */
function streamTokens(r: Run): GenerationCallbacks {
  const t0 = performance.now();
  let sawToken = false;
  return {
    onToken: (t) => {
      if (!sawToken) {
        sawToken = true;
        process.stderr.write('\r');
      }
      r.log(JSON.stringify(r.tok.decode([t])).slice(1, -1));
      return t === r.tok.eot;
    },
    // progress on stderr during the prefill (layer i of L done)
    onProgress: (i) => {
      if (!sawToken && i > 0)
        process.stderr.write(
          `\r  prefill: layer ${i}/${r.weights.config.nLayer} done (${Math.round((performance.now() - t0) / 1000)} s)`,
        );
    },
  };
}

/** Starts the dealer and both parties on the shares in `dir`, runs the private generation as the client, stops them. */
async function generateSecurely(r: Run, dir: string, shareId: string): Promise<GenerationResult> {
  const { f, log, prompt, expected } = r;
  log('starting dealer, party 0 and party 1 (each loads only its own share file) …\n');
  const cluster = await launchCluster({
    timeoutMs: f.timeoutMs,
    logLevel: f.logLevel,
    stderr: f.logLevel ? 'inherit' : 'buffer',
    extra: shareFlags(dir),
  });
  try {
    const callbacks = streamTokens(r);
    log(`prompt: ${prompt.length} tokens${expected ? ` (built-in passkey question; the answer is${expected})` : ''}\n`);
    log(policyLine(r.policy, prompt.length));
    log('secure: ');
    return await runGeneration(
      cluster.clientUrls,
      {
        shareId,
        promptLen: prompt.length,
        maxNewTokens: f.maxNewTokens,
        revealLogits: false,
        revealHidden: false,
        ...(f.policy !== undefined ? { policy: f.policy, policyOptions: r.policyOptions } : {}),
      },
      prompt,
      r.weights.config.vocabSize,
      { timeoutMs: f.timeoutMs, maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes, tls: cluster.clientTls },
      callbacks,
    );
  } finally {
    await cluster.stop();
  }
}

/** Prints the secure tokens beside the references, whether they match, and the costs (one JSON object with --json). */
function report(r: Run, res: GenerationResult, ref: { fixed: number[]; float: number[] }, match: boolean): void {
  const { f, log, tok, prompt, expected, policy } = r;
  const costs = costSummary(res);
  if (f.json) {
    process.stdout.write(
      JSON.stringify({
        promptTokens: prompt.length,
        policy: policy ? { name: policy.name, settings: policy.settings } : null,
        tokens: res.tokens,
        referenceTokens: ref.fixed,
        float64Tokens: ref.float,
        match,
        text: tok.decode(res.tokens),
        expected,
        costs,
      }) + '\n',
    );
  } else {
    log(`reference (fixed-point emulation): ${JSON.stringify(tok.decode(ref.fixed))}\n`);
    log(`reference (float64):               ${JSON.stringify(tok.decode(ref.float))}\n`);
    log(
      `match: ${match}${expected !== undefined ? `, passkey answer ${tok.decode(res.tokens).startsWith(expected) ? 'correct' : 'wrong'}` : ''}\n`,
    );
    printCosts(costs, log);
  }
}

async function main(): Promise<number> {
  const { flags: f } = commandFlags(START);
  if (f.policy === 'list') {
    process.stdout.write(describePolicies() + '\n(oracle is a plaintext reference and cannot run under MPC)\n');
    return 0;
  }
  const r = prepare(f);
  const dir = mkdtempSync(join(tmpdir(), 'mpcache-shares-'));
  try {
    const cfg = shareModel(r, dir);
    const res = await generateSecurely(r, dir, cfg.shareId);
    r.log('\n');
    const ref = await referenceGenerate(r.weights, r.prompt, res.tokens.length, r.policy);
    const match = ref.fixed.length === res.tokens.length && ref.fixed.every((t, i) => t === res.tokens[i]);
    report(r, res, ref, match);
    return match ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main().then(
  (c) => {
    process.exitCode = c;
  },
  (e: unknown) => {
    process.stderr.write(`start: ${toMpcError(e).message}\n`);
    process.exitCode = 2;
  },
);
