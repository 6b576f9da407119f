/**
 * `npm run share-model -- --model <model.safetensors | dir> --out <dir>`
 *
 * The model owner's one step: reads a plaintext GPT-2 or Llama model (Hugging Face layout, config.json next
 * to the weights), folds the norms' gains and the attention scale into the linear layers, encodes in
 * Z_2^64 fixed point and splits every tensor into two random additive shares:
 *   <out>/config.json          public: architecture, fixed-point scale, share id, model hash
 *   <out>/party0.safetensors   party 0's shares only
 *   <out>/party1.safetensors   party 1's shares only
 * Give each party its own file. Weight masks are opened once when the parties load the shares.
 */
import { dirname, resolve, join } from 'node:path';
import { statSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { commandFlags } from '../shared/config/index.js';
import { toMpcError } from '../shared/util/errors.js';
import { encodeAnyModel, loadAnyModel } from '../shared/model/ring/any-model.js';
import { sha256File, writeShares } from '../shared/model/ring/share-file.js';

const SHARE_MODEL = {
  usage: 'npm run share-model -- --model <model.safetensors | dir> --out <dir>',
  summary:
    "The model owner's one step: folds and encodes a GPT-2 or Llama model in fixed point and splits it into one share file per party.",
  flags: z.object({
    model: z.string().min(1).describe('the plaintext model: model.safetensors or its folder (config.json beside it)'),
    out: z.string().min(1).describe('folder for config.json, party0.safetensors and party1.safetensors'),
    publicWeights: z
      .boolean()
      .default(false)
      .describe(
        'mark the weights as public (random benchmark models, published checkpoints): parties may then serve the benchmark and test modes that reveal activations',
      ),
  }),
};

async function main(): Promise<void> {
  const { flags: f } = commandFlags(SHARE_MODEL);
  const path = resolve(f.model);
  const dir = statSync(path).isDirectory() ? path : dirname(path);
  const t0 = performance.now();
  const weights = loadAnyModel(dir);
  const enc = encodeAnyModel(weights);
  const hf = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
  const cfg = writeShares(resolve(f.out), hf, sha256File(join(dir, 'model.safetensors')), enc, {
    secretWeights: !f.publicWeights,
  });
  const n = [...enc.values()].reduce((s, t) => s + t.data.length, 0);
  process.stdout.write(
    `shared ${n} parameters (${weights.config.arch}, ${weights.config.nLayer} layers, d=${weights.config.nEmbd}) into ${resolve(f.out)} ` +
      `[share id ${cfg.shareId}] in ${Math.round(performance.now() - t0)} ms\n`,
  );
}

main().catch((e: unknown) => {
  process.stderr.write(`share-model: ${toMpcError(e).message}\n`);
  process.exitCode = 2;
});
