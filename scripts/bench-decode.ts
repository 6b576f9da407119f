/**
 * `npm run bench:decode -- [--ctx 1024,2048] [--policy full,mpcache,…] [--steps 3] [--model dir]
 *                          [--prefill revealed|secure] [--no-check] [--out results.json] [policy flags]`
 *
 * Decoding cost of private generation per KV-cache policy and context, measured on the real
 * pipeline: dealer, party 0 and party 1 as three processes on loopback (no emulated latency), the
 * client driving generation. For each context c and policy, the prompt has c − steps tokens, so the
 * decoding steps attend to caches of c − steps + 1 … c tokens; every decoding step is the real
 * secure protocol. Printed per token (mean of the steps): online bytes per direction, dealer bytes
 * (corrections to party 1; party 0 receives a 16-byte seed), rounds, wall time at the client, and
 * the policy's selection overhead (cluster scores and summaries, top-k, one-hot gathers) as its
 * own line, beside the softmax's bytes.
 *
 * The prefill: `--prefill revealed` (default) is a BENCHMARK MODE — both parties compute the prompt
 * in the clear (protocol/prims/reveal.ts; fixed-mask products and the KV cache stay real), because
 * a secure prefill of 2048 tokens would need tens of GB of dealer material. Its numbers are printed
 * as such and are not a secure prefill's cost. `--prefill secure` runs everything privately.
 * `--check` (default true) recomputes the tokens with the fixed-point emulation (one shared
 * prefill for all policies of a context) and requires equality. Ablations are registry names
 * (mpcache-single, mpcache-bound, mpcache-share, mpcache-nostatic, mpcache-sumstatic); policy flags apply to every
 * policy. Without --model: models/tiny-gpt2, else a random model of its shape (labelled so).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { commandFlags } from '../shared/config/index.js';
import { MpcError, projectPath, toMpcError } from '../shared/util/index.js';
import { DEFAULT_LIMITS } from '../shared/net/limits.js';
import { createState, forward } from '../shared/model/forward.js';
import { loadGpt2, type Gpt2Weights } from '../shared/model/weights.js';
import { tokenizerFor } from '../shared/model/tokenizer/index.js';
import { encodeRingModel } from '../shared/model/ring/fold.js';
import { fixedOps } from '../shared/model/ring/recipes.js';
import { sha256File, writeShares } from '../shared/model/ring/share-file.js';
import { PrefillFanout, type KvPolicy } from '../shared/kvcache/index.js';
import { getTask, promptTokens } from '../shared/tasks/index.js';
import { launchCluster, shareFlags } from '../shared/runtime/launch.js';
import { runGeneration } from '../shared/runtime/gen-client.js';
import { policyOf } from '../shared/runtime/generation.js';
import { costSummary, type CostSummary } from '../shared/runtime/costs.js';
import { POLICY_FLAGS, policyOptionsOf } from './eval/policy-flags.js';
import { TINY_GPT2_SHAPE, writeRandomGpt2 } from './bench/random-model.js';

const BENCH_DECODE = {
  usage:
    'npm run bench:decode -- [--ctx 1024,2048] [--policy full,mpcache,…] [--steps 3] [--prefill revealed|secure] [--no-check] [flags] [policy flags]',
  summary:
    'Decoding cost of private generation per KV-cache policy and context, on the dealer and both parties as processes on loopback.',
  flags: z.object({
    ctx: z.array(z.number()).default([1024, 2048]).describe('contexts (prompt + decoding steps), in tokens'),
    policy: z
      .string()
      .default('full,mpcache')
      .describe('comma-separated KV-cache policies (ablations are registry names)'),
    steps: z.number().int().min(1).max(64).default(3).describe('decoding steps per run'),
    model: z.string().optional().describe('model folder (default: models/tiny-gpt2, else random weights of its shape)'),
    prefill: z
      .enum(['revealed', 'secure'])
      .default('revealed')
      .describe('revealed: BENCHMARK MODE, the prompt computed in the clear; secure: everything private'),
    check: z
      .boolean()
      .default(true)
      .describe('recompute the tokens with the fixed-point emulation and require equality (--no-check skips)'),
    out: z.string().optional().describe('write the rows as JSON here'),
    timeoutMs: z.number().int().positive().default(1_800_000).describe('deadline of any wait on another process'),
    seed: z.number().int().nonnegative().default(7).describe('seed of the prompt (and of the random model)'),
    ...POLICY_FLAGS,
  }),
};

export interface DecodeRow {
  ctx: number;
  policy: string;
  settings: Record<string, string | number | boolean>;
  promptTokens: number;
  attended: number | 'all';
  perToken: { p0_to_p1: number; p1_to_p0: number; dealer_to_p1: number; rounds: number; ms: number };
  selection: { p0_to_p1: number; p1_to_p0: number; rounds: number };
  softmax: { p0_to_p1: number; rounds: number };
  byOperation: CostSummary['decodeByOperation'];
  /** Decoding bytes p0→p1 and rounds per token by protocol label, summed over layers (largest first). */
  byLabel: Array<{ label: string; p0_to_p1: number; rounds: number }>;
  prefill: { mode: 'revealed' | 'secure'; p0_to_p1: number; dealer_to_p1: number; rounds: number; ms: number };
  tokens: number[];
  emulationTokens: number[] | null;
  match: boolean | null;
}

const log = (s: string) => process.stderr.write(s);
const kib = (b: number) => `${(b / 1024).toFixed(1)} KiB`;

/** A passkey prompt of exactly n tokens (cut at the front, keeping the question, or padded with filler in front). */
function promptOf(weights: Gpt2Weights, n: number, seed: number): number[] {
  const tok = tokenizerFor(weights.config);
  let p = promptTokens(getTask('passkey').generate({ length: n, seed, placement: 'prompt', depth: 0.5 }, tok), tok);
  while (p.length < n) p = [...tok.encode(' The grass is green.'), ...p];
  return p.slice(p.length - n);
}

/** Emulation tokens of every policy from one shared prefill (PrefillFanout on the fixed-point backend). */
async function emulate(weights: Gpt2Weights, prompt: number[], n: number, policies: KvPolicy[]): Promise<number[][]> {
  const ops = fixedOps(),
    params = await ops.prepare(weights);
  const fan = new PrefillFanout(policies),
    state = createState(ops, weights.config, prompt.length + n - 1);
  const first = await forward(ops, params, state, prompt, { policy: fan });
  const [t0] = await ops.argmax(first!);
  return Promise.all(
    fan.decoders().map(async (policy) => {
      const own = { caches: state.caches, position: state.position },
        out = [t0!];
      for (let s = 1; s < n; s++) {
        const [t] = await ops.argmax((await forward(ops, params, own, [out[s - 1]!], { policy }))!);
        out.push(t!);
      }
      return out;
    }),
  );
}

function row(
  ctx: number,
  name: string,
  policy: KvPolicy | null,
  prompt: number[],
  c: CostSummary,
  tokens: number[],
  mode: 'revealed' | 'secure',
): DecodeRow {
  const n = c.decode.length,
    mean = (f: (p: CostSummary['decode'][number]) => number) => c.decode.reduce((s, p) => s + f(p), 0) / n;
  const op = (o: string) => c.decodeByOperation.find((b) => b.op === o) ?? { p0_to_p1: 0, p1_to_p0: 0, rounds: 0 };
  const sel = op('attn.select'),
    sm = op('attn.softmax');
  const budget = policy ? policy.budget(prompt.length) : Infinity;
  return {
    ctx,
    policy: name,
    settings: policy?.settings ?? { budget: 'all' },
    promptTokens: prompt.length,
    attended: Number.isFinite(budget) ? budget : 'all',
    perToken: {
      p0_to_p1: mean((p) => p.p0_to_p1),
      p1_to_p0: mean((p) => p.p1_to_p0),
      dealer_to_p1: mean((p) => p.dealer_to_p1),
      rounds: mean((p) => p.rounds),
      ms: c.tokenMs.mean,
    },
    selection: { p0_to_p1: sel.p0_to_p1 / n, p1_to_p0: sel.p1_to_p0 / n, rounds: sel.rounds / n },
    softmax: { p0_to_p1: sm.p0_to_p1 / n, rounds: sm.rounds / n },
    byOperation: c.decodeByOperation.map((b) => ({
      ...b,
      p0_to_p1: b.p0_to_p1 / n,
      p1_to_p0: b.p1_to_p0 / n,
      rounds: b.rounds / n,
    })),
    byLabel: [
      ...c.breakdown
        .filter((b) => b.label.startsWith('decode.'))
        .reduce((m, b) => {
          const label = b.label.replace(/^decode\.(l\d+\.)?/, ''),
            e = m.get(label) ?? { label, p0_to_p1: 0, rounds: 0 };
          e.p0_to_p1 += b.p0_to_p1 / n;
          e.rounds += b.rounds / n;
          return m.set(label, e);
        }, new Map<string, { label: string; p0_to_p1: number; rounds: number }>())
        .values(),
    ].sort((a, b) => b.p0_to_p1 - a.p0_to_p1),
    prefill: {
      mode,
      p0_to_p1: c.prefill.p0_to_p1,
      dealer_to_p1: c.prefill.dealer_to_p1,
      rounds: c.prefill.rounds,
      ms: c.prefill.ms,
    },
    tokens,
    emulationTokens: null,
    match: null,
  };
}

function table(rows: readonly DecodeRow[]): string {
  const head =
    '| ctx | policy | attended/step | online p0→p1 /token | online p1→p0 /token | dealer→p1 /token | rounds /token | ms /token | selection p0→p1 (rounds) | softmax p0→p1 | = emulation |';
  const lines = rows.map(
    (r) =>
      `| ${r.ctx} | ${r.policy} | ${r.attended} | ${kib(r.perToken.p0_to_p1)} | ${kib(r.perToken.p1_to_p0)} | ${kib(r.perToken.dealer_to_p1)} | ${r.perToken.rounds.toFixed(0)} | ${r.perToken.ms} | ${kib(r.selection.p0_to_p1)} (${r.selection.rounds.toFixed(0)}) | ${kib(r.softmax.p0_to_p1)} | ${r.match === null ? 'not checked' : r.match ? 'yes' : 'NO'} |`,
  );
  return [head, `|${'---|'.repeat(11)}`, ...lines].join('\n');
}

async function main(): Promise<number> {
  const { flags: f } = commandFlags(BENCH_DECODE);
  const ctxs = f.ctx;
  const names = f.policy.split(',');
  const options = policyOptionsOf(f);
  const policies = names.map((name) => policyOf({ policy: name, policyOptions: options })); // refuses oracle and bad options up front
  const tmp = mkdtempSync(join(tmpdir(), 'bench-decode-'));
  try {
    let modelDir = f.model ? resolve(f.model) : projectPath('models', 'tiny-gpt2'),
      modelNote = modelDir;
    if (!f.model && !existsSync(join(modelDir, 'model.safetensors'))) {
      modelDir = join(tmp, 'model');
      writeRandomGpt2(modelDir, TINY_GPT2_SHAPE, f.seed);
      modelNote = `RANDOM weights of models/tiny-gpt2's shape (${JSON.stringify(TINY_GPT2_SHAPE)}, seed ${f.seed}); models/tiny-gpt2 is not present`;
    }
    const weights = loadGpt2(modelDir);
    for (const c of ctxs)
      if (!Number.isInteger(c) || c <= f.steps || c > weights.config.nPositions)
        throw new MpcError('E_CONFIG', `--ctx ${c}: must be in ${f.steps + 1}..${weights.config.nPositions}`);
    log(
      `model: ${modelNote}\nprefill: ${f.prefill === 'revealed' ? 'REVEALED (benchmark mode: computed in the clear by both parties, not private; decoding steps are the real secure protocol)' : 'secure'}\n`,
    );
    const cfg = writeShares(
      join(tmp, 'shares'),
      JSON.parse(readFileSync(join(modelDir, 'config.json'), 'utf8')) as Record<string, unknown>,
      sha256File(join(modelDir, 'model.safetensors')),
      encodeRingModel(weights),
      // benchmark shares: the revealed prefill shows the parties the weights, so they are not marked secret
      { secretWeights: false },
    );
    const cluster = await launchCluster({
      timeoutMs: f.timeoutMs,
      extra: shareFlags(join(tmp, 'shares'), ['revealed-prefill', 'test-hooks']),
    });
    const rows: DecodeRow[] = [];
    try {
      for (const ctx of ctxs) {
        const prompt = promptOf(weights, ctx - f.steps, f.seed);
        const at = rows.length;
        for (let i = 0; i < names.length; i++) {
          const t0 = performance.now();
          log(`ctx ${ctx}, ${names[i]}: prompt ${prompt.length} tokens + ${f.steps} decoding steps …`);
          const res = await runGeneration(
            cluster.clientUrls,
            {
              shareId: cfg.shareId,
              promptLen: prompt.length,
              maxNewTokens: f.steps + 1,
              prefill: f.prefill,
              policy: names[i],
              policyOptions: options,
            },
            prompt,
            weights.config.vocabSize,
            { timeoutMs: f.timeoutMs, maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes, tls: cluster.clientTls },
          );
          rows.push(row(ctx, names[i]!, policies[i]!, prompt, costSummary(res), res.tokens, f.prefill));
          const r = rows[rows.length - 1]!;
          log(
            ` ${((performance.now() - t0) / 1000).toFixed(0)} s; per token ${kib(r.perToken.p0_to_p1)} p0→p1, ${r.perToken.ms} ms, selection ${kib(r.selection.p0_to_p1)}\n`,
          );
        }
        if (f.check) {
          const t0 = performance.now();
          log(`ctx ${ctx}: emulation check (one shared prefill) …`);
          const ref = await emulate(
            weights,
            prompt,
            f.steps + 1,
            policies.map((p) => p ?? policyOf({ policy: 'full' })!),
          );
          ref.forEach((tokens, i) => {
            const r = rows[at + i]!;
            r.emulationTokens = tokens;
            r.match = tokens.join() === r.tokens.join();
          });
          log(
            ` ${((performance.now() - t0) / 1000).toFixed(0)} s; ${rows.slice(at).every((r) => r.match) ? 'all equal' : 'MISMATCH'}\n`,
          );
        }
      }
    } finally {
      await cluster.stop();
    }
    const header = `model: ${modelNote}\nprefill: ${f.prefill === 'revealed' ? "REVEALED benchmark mode (not private; prefill numbers are not a secure prefill's cost)" : 'secure'}; decoding: secure, ${f.steps} steps per run, loopback, no emulated latency\n`;
    process.stdout.write(header + table(rows) + '\n');
    if (f.out)
      writeFileSync(
        resolve(f.out),
        JSON.stringify({ model: modelNote, prefill: f.prefill, steps: f.steps, rows }, null, 1),
      );
    return rows.every((r) => r.match !== false) ? 0 : 1;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().then(
  (c) => {
    process.exitCode = c;
  },
  (e: unknown) => {
    process.stderr.write(`bench:decode: ${toMpcError(e).message}\n`);
    process.exitCode = 2;
  },
);
