/**
 * Plaintext references for a generation: the fixed-point emulation (the ring values the secure
 * pipeline computes, so its tokens must equal the secure ones) and float64 (for information).
 * Both generate greedily exactly `n` tokens, without stopping at EOT.
 */
import { createState, forward } from '../model/forward.js';
import { floatOps } from '../model/ops/float.js';
import type { Ops, PlainTypes } from '../model/ops/types.js';
import { prepareAnyModel, type AnyWeights } from '../model/ring/any-model.js';
import { fixedOps } from '../model/ring/recipes.js';
import { PolicyAttention, type KvPolicy } from '../kvcache/index.js';

async function greedy<B extends PlainTypes>(
  ops: Ops<B>,
  weights: AnyWeights,
  prompt: readonly number[],
  n: number,
  policy: KvPolicy | null,
): Promise<number[]> {
  const params = await prepareAnyModel(ops, weights);
  const state = createState(ops, weights.config, prompt.length + n);
  // a fresh adapter per run: it holds one sequence's session
  const opts = policy ? { policy: PolicyAttention.of(policy) } : {};
  let logits = await forward(ops, params, state, prompt as B['tokens'], opts);
  const out: number[] = [];
  for (let s = 0; s < n; s++) {
    const [t] = await ops.argmax(logits!);
    out.push(t!);
    if (s < n - 1) logits = await forward(ops, params, state, [t!] as unknown as B['tokens'], opts);
  }
  return out;
}

/** Greedy tokens of the emulation and of float64, under the same KV-cache policy as the secure run (null: full cache). */
export async function referenceGenerate(
  weights: AnyWeights,
  prompt: readonly number[],
  n: number,
  policy: KvPolicy | null = null,
): Promise<{ fixed: number[]; float: number[] }> {
  return {
    fixed: await greedy(fixedOps() as unknown as Ops<PlainTypes>, weights, prompt, n, policy),
    float: await greedy(floatOps as unknown as Ops<PlainTypes>, weights, prompt, n, policy),
  };
}
