/**
 * `npm run client -- --parties ws://host0:7000,ws://host1:7001 --share-config <config.json>
 *    --model <dir> (--prompt "…" | --prompt-file f) [--max-new-tokens n] [--json] [--reveal-logits]
 *    [--tls-ca ca.pem --tls-cert cert.pem --tls-key key.pem]`   (wss:// party URLs)
 *
 * The client of running party servers (e.g. on other machines): checks that its model file is the
 * one that was shared (sha256 in the public share config), tokenizes the prompt, streams the
 * generated text as each token is revealed to it, and prints the cost summary. The servers never
 * see the prompt, the token ids or the text.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { parseFlags, splitArgv } from '../shared/config/argv.js';
import { MpcError, toMpcError } from '../shared/util/index.js';
import { DEFAULT_LIMITS } from '../shared/net/limits.js';
import { loadTls } from '../shared/net/tls.js';
import { readGpt2Config } from '../shared/model/config.js';
import { tokenizerFor } from '../shared/model/tokenizer/index.js';
import { ShareConfig, sha256File } from '../shared/model/ring/share-file.js';
import { runGeneration } from '../shared/runtime/gen-client.js';
import { costSummary, printCosts } from '../shared/runtime/costs.js';

const Flags = z.object({
  parties: z.string().regex(/^wss?:\/\/[^,]+,wss?:\/\/[^,]+$/, 'two comma-separated ws:// URLs (party 0, party 1)'),
  shareConfig: z.string(),
  model: z.string(),
  prompt: z.string().optional(),
  promptFile: z.string().optional(),
  maxNewTokens: z.number().int().min(1).max(8192).default(32),
  json: z.boolean().default(false),
  revealLogits: z.boolean().default(false),
  timeoutMs: z.number().int().positive().default(120_000),
  tlsCa: z.string().optional(),
  tlsCert: z.string().optional(),
  tlsKey: z.string().optional(),
});

async function main(): Promise<number> {
  const f = parseFlags(Flags, splitArgv(process.argv.slice(2)).flags, 'client');
  const sc = ShareConfig.parse(JSON.parse(readFileSync(resolve(f.shareConfig), 'utf8')));
  const modelDir = resolve(f.model);
  if (sha256File(join(modelDir, 'model.safetensors')) !== sc.modelSha256) {
    throw new MpcError('E_MODEL', `${modelDir}/model.safetensors is not the model these shares were made from (sha256 differs)`);
  }
  const config = readGpt2Config(join(modelDir, 'config.json'));
  const tok = tokenizerFor(config);
  const text = f.prompt ?? (f.promptFile ? readFileSync(resolve(f.promptFile), 'utf8') : undefined);
  if (!text) throw new MpcError('E_INPUT', 'the prompt is empty (give --prompt or --prompt-file)');
  const prompt = [tok.eot, ...tok.encode(text)];
  if (prompt.length + f.maxNewTokens - 1 > config.nPositions) {
    throw new MpcError('E_INPUT', `the prompt has ${prompt.length} tokens; with ${f.maxNewTokens} new tokens it exceeds the model's context of ${config.nPositions}`);
  }
  const urls = f.parties.split(',') as [string, string];
  const res = await runGeneration(urls, {
    shareId: sc.shareId, promptLen: prompt.length, maxNewTokens: f.maxNewTokens, revealLogits: f.revealLogits, revealHidden: false,
  }, prompt, config.vocabSize, { timeoutMs: f.timeoutMs, maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes, tls: loadTls({ ca: f.tlsCa, cert: f.tlsCert, key: f.tlsKey }, 'client') }, {
    onToken: (t) => { if (!f.json) process.stdout.write(tok.decode([t])); return t === tok.eot; },
  });
  const costs = costSummary(res);
  if (f.json) process.stdout.write(JSON.stringify({ tokens: res.tokens, text: tok.decode(res.tokens), costs }) + '\n');
  else { process.stdout.write('\n'); printCosts(costs, (s) => process.stdout.write(s)); }
  return 0;
}

main().then((c) => { process.exitCode = c; }, (e: unknown) => { process.stderr.write(`client: ${toMpcError(e).message}\n`); process.exitCode = 2; });
