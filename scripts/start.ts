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
import { loadGpt2, type Gpt2Weights } from '../shared/model/weights.js';
import { tokenizerFor } from '../shared/model/tokenizer/index.js';
import { encodeRingModel } from '../shared/model/ring/fold.js';
import { sha256File, writeShares } from '../shared/model/ring/share-file.js';
import { getTask, promptTokens } from '../shared/tasks/index.js';
import { launchCluster, shareFlags } from '../shared/runtime/launch.js';
import { runGeneration, type GenerationResult } from '../shared/runtime/gen-client.js';
import { referenceGenerate } from '../shared/runtime/reference.js';
import { costSummary, printCosts } from '../shared/runtime/costs.js';
import { policyOf } from '../shared/runtime/generation.js';
import { describePolicies } from '../shared/kvcache/index.js';
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

function builtInPrompt(weights: Gpt2Weights, seed: number): { tokens: number[]; expected: string } {
  const tok = tokenizerFor(weights.config);
  const sample = getTask('passkey').generate({ length: 160, seed, placement: 'prompt', depth: 0.3 }, tok);
  return { tokens: promptTokens(sample, tok), expected: sample.queries[0]!.answer };
}

async function main(): Promise<number> {
  const { flags: f } = commandFlags(START);
  const log = (s: string) => {
    if (!f.json) process.stdout.write(s);
  };
  if (f.policy === 'list') {
    process.stdout.write(describePolicies() + '\n(oracle is a plaintext reference and cannot run under MPC)\n');
    return 0;
  }
  const given = givenPolicyFlags(f);
  if (f.policy === undefined && given.length > 0)
    throw new MpcError('E_CONFIG', `policy flags need --policy <name> (given: ${given.join(', ')})`);
  const policyOptions = f.policy === undefined ? undefined : policyOptionsOf(f);
  const policy = policyOf({ policy: f.policy, policyOptions }); // refuses plaintext-only policies before any work
  const modelDir = resolve(f.model ?? projectPath('models', 'tiny-gpt2'));
  const weights = loadGpt2(modelDir);
  const tok = tokenizerFor(weights.config);
  let prompt: number[], expected: string | undefined;
  if (f.prompt !== undefined || f.promptFile !== undefined) {
    const text = f.prompt ?? readFileSync(resolve(f.promptFile!), 'utf8');
    if (text.length === 0) throw new MpcError('E_INPUT', 'the prompt is empty');
    prompt = [tok.eot, ...tok.encode(text)];
  } else {
    ({ tokens: prompt, expected } = builtInPrompt(weights, f.seed));
  }
  policy?.check?.(prompt.length); // a budget that cannot fit this prompt fails here, before any process starts
  if (prompt.length + f.maxNewTokens - 1 > weights.config.nPositions) {
    throw new MpcError(
      'E_INPUT',
      `the prompt has ${prompt.length} tokens; with ${f.maxNewTokens} new tokens it exceeds the model's context of ${weights.config.nPositions}`,
    );
  }

  const dir = mkdtempSync(join(tmpdir(), 'mpcache-shares-'));
  try {
    log(`sharing ${modelDir} (model owner) …\n`);
    const cfg = writeShares(
      dir,
      JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as Record<string, unknown>,
      sha256File(join(modelDir, 'model.safetensors')),
      encodeRingModel(weights),
    );
    log('starting dealer, party 0 and party 1 (each loads only its own share file) …\n');
    const cluster = await launchCluster({
      timeoutMs: f.timeoutMs,
      logLevel: f.logLevel,
      stderr: f.logLevel ? 'inherit' : 'buffer',
      extra: shareFlags(dir),
    });
    let res: GenerationResult;
    try {
      const t0 = performance.now();
      let sawToken = false;
      log(
        `prompt: ${prompt.length} tokens${expected ? ` (built-in passkey question; the answer is${expected})` : ''}\n`,
      );
      log(
        policy
          ? `KV-cache policy: ${policy.name} (${Object.entries(policy.settings)
              .map(([k, v]) => `${k} ${v}`)
              .join(
                ', ',
              )}); ${Number.isFinite(policy.budget(prompt.length)) ? `attends at most ${policy.budget(prompt.length)} tokens per step` : 'attends everything'}\n`
          : 'KV cache: full (no policy)\n',
      );
      log('secure: ');
      res = await runGeneration(
        cluster.clientUrls,
        {
          shareId: cfg.shareId,
          promptLen: prompt.length,
          maxNewTokens: f.maxNewTokens,
          revealLogits: false,
          revealHidden: false,
          ...(f.policy !== undefined ? { policy: f.policy, policyOptions } : {}),
        },
        prompt,
        weights.config.vocabSize,
        { timeoutMs: f.timeoutMs, maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes, tls: cluster.clientTls },
        {
          onToken: (t) => {
            if (!sawToken) {
              sawToken = true;
              process.stderr.write('\r');
            }
            log(JSON.stringify(tok.decode([t])).slice(1, -1));
            return t === tok.eot;
          },
          // progress on stderr during the prefill (layer i of L done)
          onProgress: (i) => {
            if (!sawToken && i > 0)
              process.stderr.write(
                `\r  prefill: layer ${i}/${weights.config.nLayer} done (${Math.round((performance.now() - t0) / 1000)} s)`,
              );
          },
        },
      );
    } finally {
      await cluster.stop();
    }
    log('\n');
    const ref = await referenceGenerate(weights, prompt, res.tokens.length, policy);
    const match = ref.fixed.length === res.tokens.length && ref.fixed.every((t, i) => t === res.tokens[i]);
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
