/**
 * `npm run client -- --parties wss://host0:7000,wss://host1:7001 --share-config <config.json>
 *    --model <dir> --tls-ca ca.pem --tls-cert client.pem --tls-key client.key
 *    (--prompt "…" | --prompt-file f) [--max-new-tokens n] [--json] [--reveal-logits]`
 * or `npm run client -- --config client.json --prompt "…"`: like the servers, the client reads its
 * settings from a JSON config file and MPC_* environment variables too (shared/config/cli.ts).
 *
 * The client of running party servers (e.g. on other machines): checks that its model file is the
 * one that was shared (sha256 in the public share config), tokenizes the prompt, streams the
 * generated text as each token is revealed to it, and prints the cost summary. The servers never
 * see the prompt, the token ids or the text.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { commandFlags } from '../shared/config/index.js';
import { MpcError, toMpcError } from '../shared/util/index.js';
import { DEFAULT_LIMITS } from '../shared/net/limits.js';
import { loadTls } from '../shared/net/tls.js';
import { readModelConfig } from '../shared/model/llama-config.js';
import { tokenizerFor } from '../shared/model/tokenizer/index.js';
import { ShareConfig, sha256File } from '../shared/model/ring/share-file.js';
import { runGeneration } from '../shared/runtime/gen-client.js';
import { costSummary, printCosts } from '../shared/runtime/costs.js';

const wss = z.string().regex(/^wss:\/\/./, 'must be a wss:// URL (every link is TLS)');

const CLIENT = {
  usage: 'npm run client -- --config client.json (--prompt "…" | --prompt-file f) [flags]',
  summary:
    'The client of running party servers: checks its model is the one shared, tokenizes the prompt, ' +
    'streams the generated text as each token is revealed to it and prints the cost summary.',
  configFile: true,
  flags: z.object({
    parties: z
      .array(wss)
      .length(2, 'two URLs: party 0, party 1')
      .describe("party 0's and party 1's client URLs (wss://host:port, comma-separated)"),
    shareConfig: z.string().describe('the public share config (config.json beside the share files)'),
    model: z.string().describe('the model folder the shares were made from (tokenizer, and its hash is checked)'),
    prompt: z.string().optional().describe('the prompt'),
    promptFile: z.string().optional().describe('read the prompt from this file'),
    maxNewTokens: z.number().int().min(1).max(8192).default(32).describe('tokens to generate'),
    json: z.boolean().default(false).describe('print one JSON object (tokens, text, costs)'),
    revealLogits: z.boolean().default(false).describe('ask for the logits (both parties must allow it)'),
    timeoutMs: z.number().int().positive().default(120_000).describe('deadline of any wait on a party'),
    tlsCa: z.string().describe('the deployment CA certificate (PEM)'),
    tlsCert: z.string().describe('the client certificate (PEM; role client)'),
    tlsKey: z.string().describe("the client certificate's private key (PEM)"),
  }),
};

async function main(): Promise<number> {
  const { flags: f } = commandFlags(CLIENT);
  const sc = ShareConfig.parse(JSON.parse(readFileSync(resolve(f.shareConfig), 'utf8')));
  const modelDir = resolve(f.model);
  if (sha256File(join(modelDir, 'model.safetensors')) !== sc.modelSha256) {
    throw new MpcError(
      'E_MODEL',
      `${modelDir}/model.safetensors is not the model these shares were made from (sha256 differs)`,
    );
  }
  const config = readModelConfig(join(modelDir, 'config.json'));
  const tok = tokenizerFor(config, modelDir);
  const text = f.prompt ?? (f.promptFile ? readFileSync(resolve(f.promptFile), 'utf8') : undefined);
  if (!text) throw new MpcError('E_INPUT', 'the prompt is empty (give --prompt or --prompt-file)');
  const prompt = [tok.bos, ...tok.encode(text)];
  if (prompt.length + f.maxNewTokens - 1 > config.nPositions) {
    throw new MpcError(
      'E_INPUT',
      `the prompt has ${prompt.length} tokens; with ${f.maxNewTokens} new tokens it exceeds the model's context of ${config.nPositions}`,
    );
  }
  const res = await runGeneration(
    f.parties as [string, string],
    {
      shareId: sc.shareId,
      promptLen: prompt.length,
      maxNewTokens: f.maxNewTokens,
      revealLogits: f.revealLogits,
      revealHidden: false,
    },
    prompt,
    config.vocabSize,
    {
      timeoutMs: f.timeoutMs,
      maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes,
      tls: loadTls({ ca: f.tlsCa, cert: f.tlsCert, key: f.tlsKey }, 'client'),
    },
    {
      onToken: (t) => {
        if (!f.json) process.stdout.write(tok.decode([t]));
        return t === tok.eot;
      },
    },
  );
  const costs = costSummary(res);
  if (f.json) process.stdout.write(JSON.stringify({ tokens: res.tokens, text: tok.decode(res.tokens), costs }) + '\n');
  else {
    process.stdout.write('\n');
    printCosts(costs, (s) => process.stdout.write(s));
  }
  return 0;
}

main().then(
  (c) => {
    process.exitCode = c;
  },
  (e: unknown) => {
    process.stderr.write(`client: ${toMpcError(e).message}\n`);
    process.exitCode = 2;
  },
);
