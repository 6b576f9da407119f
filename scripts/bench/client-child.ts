/**
 * The benchmark's client, a process of its own (`node dist/scripts/bench/client-child.js <job.json>`):
 * on an emulated network it runs in the client's namespace, and its memory is measured apart from
 * the harness's. It runs one private generation as the job file says and prints one JSON line:
 * the tokens, both parties' meter reports, client-side times and its own peak RSS.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import { loadTls } from '../../shared/net/tls.js';
import { runGeneration } from '../../shared/runtime/gen-client.js';
import { toMpcError } from '../../shared/util/errors.js';

export const ChildJob = z.object({
  urls: z.tuple([z.string(), z.string()]),
  request: z.record(z.string(), z.unknown()),
  prompt: z.array(z.number().int().nonnegative()),
  vocab: z.number().int().positive(),
  tls: z.object({ ca: z.string(), cert: z.string(), key: z.string() }),
  timeoutMs: z.number().int().positive(),
  maxFrameBytes: z.number().int().positive(),
});
export type ChildJob = z.infer<typeof ChildJob>;

async function main(): Promise<void> {
  const job = ChildJob.parse(JSON.parse(readFileSync(process.argv[2] ?? '', 'utf8')));
  const res = await runGeneration(job.urls, job.request as Parameters<typeof runGeneration>[1], job.prompt, job.vocab, {
    timeoutMs: job.timeoutMs,
    maxFrameBytes: job.maxFrameBytes,
    tls: loadTls(job.tls, 'client'),
  });
  process.stdout.write(JSON.stringify({ ...res, peakRssMiB: process.resourceUsage().maxRSS / 1024 }) + '\n');
}

main().catch((e: unknown) => {
  process.stdout.write(JSON.stringify({ error: toMpcError(e).message, code: toMpcError(e).code }) + '\n');
  process.exitCode = 1;
});
