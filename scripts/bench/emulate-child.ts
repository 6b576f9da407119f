/**
 * The fixed-point emulation of a benchmark's generations (GPT-2 or Llama), in its own process (`node
 * dist/scripts/bench/emulate-child.js <job.json>`), so that the harness never holds the model:
 * every policy from one shared prefill (PrefillFanout), the tokens the secure runs must equal.
 * Prints one JSON line: the tokens per policy and this process's peak RSS.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { createState, forward } from '../../shared/model/forward.js';
import type { Gpt2Weights } from '../../shared/model/weights.js';
import type { LlamaWeights } from '../../shared/model/llama-weights.js';
import { loadAnyModel } from '../../shared/model/ring/any-model.js';
import { fixedOps } from '../../shared/model/ring/recipes.js';
import { PrefillFanout, type KvPolicy } from '../../shared/kvcache/index.js';
import { policyOf } from '../../shared/runtime/generation.js';
import { toMpcError } from '../../shared/util/errors.js';

export const EmulateJob = z.object({
  modelDir: z.string(),
  prompt: z.array(z.number().int().nonnegative()),
  tokens: z.number().int().positive(),
  policies: z.array(z.object({ policy: z.string(), policyOptions: z.record(z.string(), z.unknown()).optional() })),
});
export type EmulateJob = z.infer<typeof EmulateJob>;

async function emulate(job: EmulateJob): Promise<number[][]> {
  const weights = loadAnyModel(job.modelDir);
  const ops = fixedOps(),
    params =
      weights.config.arch === 'llama'
        ? await ops.prepareLlama(weights as LlamaWeights)
        : await ops.prepare(weights as Gpt2Weights);
  const policies: KvPolicy[] = job.policies.map(
    (p) => policyOf(p as Parameters<typeof policyOf>[0]) ?? policyOf({ policy: 'full' })!,
  );
  const fan = new PrefillFanout(policies),
    state = createState(ops, weights.config, job.prompt.length + job.tokens - 1);
  const [t0] = await ops.argmax((await forward(ops, params, state, job.prompt, { policy: fan }))!);
  const out: number[][] = [];
  for (const policy of fan.decoders()) {
    const own = { caches: state.caches, position: state.position },
      toks = [t0!];
    for (let s = 1; s < job.tokens; s++) {
      const [t] = await ops.argmax((await forward(ops, params, own, [toks[s - 1]!], { policy }))!);
      toks.push(t!);
    }
    out.push(toks);
  }
  return out;
}

emulate(EmulateJob.parse(JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')))).then(
  (tokens) =>
    process.stdout.write(JSON.stringify({ tokens, peakRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n'),
  (e: unknown) => {
    process.stdout.write(JSON.stringify({ error: toMpcError(e).message }) + '\n');
    process.exitCode = 1;
  },
);
