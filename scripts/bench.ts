/**
 * `npm run bench -- --model embedded|gpt2-small|smollm2-135m|smollm2-135m-mha|llama-tiny|<dir> --ctx 128,512,1024,2048 --policy full,mpcache,…
 *    --net loopback,lan,wan --prefill secure|revealed --tokens n --out <dir> [--preprocess ahead] [policy flags]`
 *
 * The one benchmark command: private decoding measured on the real pipeline, one cell per
 * (model, network, context, policy). Dealer, party 0 and party 1 are three processes per network
 * (each in its own network namespace, links shaped, for lan/wan: shared/netem; root needed), and the
 * client is a fourth. Each cell writes one JSON record (<out>/cells/<cell>.json: per phase wall time,
 * online bytes per direction, dealer bytes, rounds, where each party's time went — compute, waiting
 * on the peer, on the dealer, on the client — the breakdown by operation and by layer, and every
 * process's peak RSS), and a rerun skips cells already recorded (resumable). At the end: a summary
 * table (<out>/summary.md) and all records (<out>/records.json); `npm run bench:report` draws the
 * plots and docs/bench.md from them.
 *
 * `--prefill revealed` (default) is a BENCHMARK MODE: both parties compute the prompt in the clear,
 * the decoding steps are the real secure protocol (docs/eviction-mpc.md §5 says why). `--check`
 * (default) recomputes the tokens with the fixed-point emulation (one shared prefill per context,
 * in a process of its own) and requires equality.
 */
import { mkdirSync, existsSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';
import { z } from 'zod';
import { commandFlags } from '../shared/config/index.js';
import { MpcError, projectPath, toMpcError } from '../shared/util/index.js';
import { DEFAULT_LIMITS } from '../shared/net/limits.js';
import {
  launchCluster,
  shareFlags,
  LOOPBACK,
  MALLOC_TUNABLES,
  type Cluster,
  type Placement,
} from '../shared/runtime/launch.js';
import { policyOf } from '../shared/runtime/generation.js';
import { createTopology, parseNetSpec, placementOf, type Topology } from '../shared/netem/index.js';
import type { PolicyOptions } from '../shared/kvcache/index.js';
import { POLICY_FLAGS, policyOptionsOf } from './eval/policy-flags.js';
import { benchConfig, benchModel, promptOf, type BenchModel } from './bench/model.js';
import { declaredPerToken, type PerToken } from './bench/declared.js';
import {
  cellId,
  cellRecord,
  clusterPeaks,
  resetPeaks,
  runClientChild,
  type CellKey,
  type CellRecord,
} from './bench/cell.js';
import { kib, summaryTable } from './bench/summary.js';

const list = (what: string) => z.array(z.string().min(1)).min(1).describe(what);

export const BENCH = {
  usage:
    'npm run bench -- [--model embedded,gpt2-small,smollm2-135m,<dir>] [--ctx 1024] [--policy full,mpcache] [--net loopback,lan,wan] [flags]',
  summary:
    'Private decoding measured per (model, network, context, policy): one JSON record per cell, a summary table, resumable.',
  flags: z.object({
    model: list(
      'embedded (models/tiny-gpt2), random weights of a known shape — gpt2-small, smollm2-135m / smollm2-135m-mha (SmolLM2-135M, Llama, 3 or 9 key/value heads, byte tokenizer), llama-tiny (a small Llama for tests) — or a Hugging Face folder',
    ).default(['embedded']),
    ctx: z
      .array(z.number().int().positive())
      .min(1)
      .default([1024])
      .describe('contexts: the cache holds ctx tokens at the last decoding step'),
    policy: list('KV-cache policies (npm run eval -- --policy list)').default(['full', 'mpcache']),
    net: z
      .string()
      .default('loopback')
      .describe(
        'networks, comma-separated: loopback, lan, wan or a custom spec such as rate=200mbit,rtt=10ms (docs/network.md)',
      ),
    prefill: z
      .enum(['revealed', 'secure'])
      .default('revealed')
      .describe("'revealed' is a benchmark mode (prefill in the clear); 'secure' runs everything privately"),
    tokens: z
      .number()
      .int()
      .min(2)
      .max(64)
      .default(4)
      .describe('tokens generated per cell (the first comes from the prefill)'),
    preprocess: z
      .enum(['streamed', 'ahead'])
      .default('streamed')
      .describe("'ahead': the dealer deals a run's material before it starts"),
    out: z.string().default('results/bench').describe('folder for records and the summary (reruns resume)'),
    check: z.boolean().default(true).describe('compare the tokens with the fixed-point emulation'),
    seed: z.number().int().nonnegative().default(7).describe('prompt and random-model seed'),
    timeoutMs: z.number().int().positive().default(1_800_000).describe('deadline of any wait between processes'),
    declared: z
      .boolean()
      .default(false)
      .describe(
        "print each cell's declared cost per decoded token (exact: the generation program on the model's shapes, equal to the meter) and run nothing",
      ),
    ...POLICY_FLAGS,
  }),
};

type Flags = z.infer<typeof BENCH.flags>;

/** `--net` text → specs: a preset name or `rate=` starts a spec; other key=value parts extend it. */
export function splitNets(text: string): string[] {
  const out: string[] = [];
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!part.includes('=') || part.startsWith('rate=') || out.length === 0) out.push(part);
    else out[out.length - 1] += `,${part}`;
  }
  for (const n of out) parseNetSpec(n); // fail now on a bad spec
  return out;
}

const log = (s: string): void => {
  process.stderr.write(s);
};
const fmtS = (ms: number): string => `${(ms / 1000).toFixed(0)} s`;

interface Plan {
  model: string;
  net: string;
  cells: CellKey[];
}

function plan(f: Flags, nets: readonly string[]): Plan[] {
  // the policy flags given (not their defaults) tell cells of other settings apart
  const given = Object.fromEntries(
    Object.keys(POLICY_FLAGS)
      .filter((k) => f[k as keyof Flags] !== undefined)
      .map((k) => [k, f[k as keyof Flags]]),
  );
  const options = Object.keys(given).length ? JSON.stringify(given) : '';
  return f.model.flatMap((model) =>
    nets.map((net) => ({
      model,
      net,
      cells: f.ctx.flatMap((ctx) =>
        f.policy.map((policy): CellKey => ({
          model,
          ctx,
          policy,
          net,
          prefill: f.prefill,
          tokens: f.tokens,
          preprocess: f.preprocess,
          options,
        })),
      ),
    })),
  );
}

/**
 * Runs the cells of one (model, network) not yet recorded on one cluster, then checks their tokens
 * against the emulation with those a failed run recorded unchecked; returns the records it wrote.
 */
async function runGroup(
  g: Plan,
  f: Flags,
  options: PolicyOptions,
  dirs: { cells: string; cache: string; tmp: string },
  progress: () => string,
): Promise<CellRecord[]> {
  const recordOf = (k: CellKey): string => join(dirs.cells, `${cellId(k)}.json`);
  const todo = g.cells.filter((k) => !existsSync(recordOf(k)));
  const unchecked = f.check
    ? g.cells
        .filter((k) => existsSync(recordOf(k)))
        .map((k) => JSON.parse(readFileSync(recordOf(k), 'utf8')) as CellRecord)
        .filter((r) => r.match === undefined)
    : [];
  if (todo.length === 0 && unchecked.length === 0) return [];
  const model = benchModel(g.model, dirs.cache, f.seed);
  for (const k of todo)
    if (k.ctx <= f.tokens || k.ctx > model.config.nPositions)
      throw new MpcError(
        'E_CONFIG',
        `--ctx ${k.ctx}: must be in ${f.tokens + 1}..${model.config.nPositions} for ${g.model}`,
      );
  const made = [
    ...unchecked,
    ...(todo.length > 0 ? await runCells(g.net, todo, model, f, options, dirs, progress) : []),
  ];
  if (f.check) {
    checkTokens(made, model, f, options, dirs);
    for (const r of made) writeFileSync(recordOf(r.key), JSON.stringify(r, null, 1));
  }
  return made;
}

/** Starts the network and the cluster, runs `todo` on it, recording each cell as it ends. */
async function runCells(
  netSpec: string,
  todo: readonly CellKey[],
  model: BenchModel,
  f: Flags,
  options: PolicyOptions,
  dirs: { cells: string; tmp: string },
  progress: () => string,
): Promise<CellRecord[]> {
  let topo: Topology | undefined;
  let cluster: Cluster | undefined;
  const made: CellRecord[] = [];
  try {
    const net = parseNetSpec(netSpec);
    topo = net.name === 'loopback' ? undefined : await createTopology(net);
    const place: Placement = topo ? placementOf(topo) : LOOPBACK;
    log(`${progress()} ${model.name} on ${netSpec}: starting dealer, party 0 and party 1 …\n`);
    cluster = await launchCluster({
      timeoutMs: f.timeoutMs,
      place,
      extra: shareFlags(model.sharesDir, ['revealed-prefill']),
    });
    for (const key of todo) {
      made.push(await runCell(key, model, cluster, place, f, options, dirs, progress));
      writeFileSync(join(dirs.cells, `${cellId(key)}.json`), JSON.stringify(made[made.length - 1], null, 1));
    }
  } finally {
    await cluster?.stop();
    await topo?.close();
  }
  return made;
}

async function runCell(
  key: CellKey,
  model: BenchModel,
  cluster: Cluster,
  place: Placement,
  f: Flags,
  options: PolicyOptions,
  dirs: { tmp: string },
  progress: () => string,
): Promise<CellRecord> {
  const t0 = performance.now();
  log(`${progress()} ${cellId(key)} …`);
  const policy = key.policy === 'full' ? null : policyOf({ policy: key.policy, policyOptions: options });
  const prompt = promptOf(model.config, model.dir, key.ctx - (key.tokens - 1), f.seed);
  const d = cluster.deployment.roles.client;
  resetPeaks([cluster.dealer.child.pid, cluster.party0.child.pid, cluster.party1.child.pid]);
  const res = await runClientChild(
    place,
    {
      urls: cluster.clientUrls,
      prompt,
      vocab: model.config.vocabSize,
      timeoutMs: f.timeoutMs,
      maxFrameBytes: DEFAULT_LIMITS.maxFrameBytes,
      tls: { ca: cluster.deployment.ca, cert: d.cert, key: d.key },
      request: {
        shareId: model.shareConfig.shareId,
        promptLen: prompt.length,
        maxNewTokens: key.tokens,
        prefill: key.prefill,
        preprocess: key.preprocess,
        ...(policy ? { policy: key.policy, policyOptions: options } : {}),
      },
    },
    dirs.tmp,
  );
  const budget = policy ? policy.budget(prompt.length) : Infinity;
  const rec = cellRecord(key, res, {
    modelNote: model.note,
    settings: policy?.settings ?? { budget: 'all' },
    promptTokens: prompt.length,
    attended: Number.isFinite(budget) ? Math.min(budget, prompt.length) : 'all',
    rssMiB: { ...clusterPeaks(cluster), client: res.peakRssMiB },
  });
  log(
    ` ${fmtS(performance.now() - t0)}; per token ${(rec.perToken.p0_to_p1 / 1024).toFixed(1)} KiB, ${rec.perToken.rounds.toFixed(0)} rounds, ${rec.perToken.ms.toFixed(0)} ms\n`,
  );
  return rec;
}

/** The emulation's tokens for each context's cells (one process per context); marks `match`. */
function checkTokens(
  recs: CellRecord[],
  model: BenchModel,
  f: Flags,
  options: PolicyOptions,
  dirs: { tmp: string },
): void {
  for (const ctx of [...new Set(recs.map((r) => r.key.ctx))]) {
    const mine = recs.filter((r) => r.key.ctx === ctx);
    const job = join(dirs.tmp, `emulate-${ctx}.json`);
    writeFileSync(
      job,
      JSON.stringify({
        modelDir: model.dir,
        prompt: promptOf(model.config, model.dir, ctx - (f.tokens - 1), f.seed),
        tokens: f.tokens,
        policies: mine.map((r) => ({
          policy: r.key.policy,
          ...(r.key.policy === 'full' ? {} : { policyOptions: options }),
        })),
      }),
    );
    log(`emulation check, ctx ${ctx} (${mine.length} policies, one shared prefill) …`);
    const t0 = performance.now();
    const p = spawnSync(process.execPath, [projectPath('dist', 'scripts', 'bench', 'emulate-child.js'), job], {
      encoding: 'utf8',
      env: { ...process.env, GLIBC_TUNABLES: MALLOC_TUNABLES },
      maxBuffer: 1 << 26,
    });
    const out = JSON.parse(p.stdout.trim().split('\n').pop() ?? '{}') as { tokens?: number[][]; error?: string };
    if (!out.tokens) throw new MpcError('E_INTERNAL', `emulation failed: ${out.error ?? p.stderr.slice(-500)}`);
    mine.forEach((r, i) => {
      r.emulationTokens = out.tokens![i]!;
      r.match = r.emulationTokens.join() === r.tokens.join();
    });
    log(` ${fmtS(performance.now() - t0)}; ${mine.every((r) => r.match) ? 'all equal' : 'MISMATCH'}\n`);
  }
}

/**
 * `--declared`: each (model, context, policy)'s cost per decoded token as the generation program
 * declares it — the same request a cell sends, the mean over its decoding steps — with ratios to
 * full cache. Networks do not change bytes or rounds, so they are not part of the table.
 */
async function declaredTable(f: Flags, options: PolicyOptions): Promise<string> {
  const rows = [
    '| model | ctx | policy | online p0→p1 /token | rounds /token | dealer→p1 /token | × full: online | rounds | dealer |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  for (const model of f.model) {
    const config = benchConfig(model, f.seed);
    for (const ctx of f.ctx) {
      let full: PerToken | undefined;
      for (const policy of ['full', ...f.policy.filter((p) => p !== 'full')]) {
        log(`declared: ${model} ctx ${ctx} ${policy} …\n`);
        const c = await declaredPerToken(config, { ctx, tokens: f.tokens, prefill: f.prefill, policy, options });
        full ??= c;
        if (policy === 'full' && !f.policy.includes('full')) continue;
        const q = (a: number, b: number): string => (a / b).toFixed(3);
        rows.push(
          `| ${model} | ${ctx} | ${policy} | ${kib(c.bytes)} | ${c.rounds.toFixed(0)} | ${kib(c.dealer)} | ${q(c.bytes, full.bytes)} | ${q(c.rounds, full.rounds)} | ${q(c.dealer, full.dealer)} |`,
        );
      }
    }
  }
  return rows.join('\n') + '\n';
}

async function main(): Promise<number> {
  const { flags: f } = commandFlags(BENCH);
  const nets = splitNets(f.net);
  const options = policyOptionsOf(f);
  for (const p of f.policy) if (p !== 'full') policyOf({ policy: p, policyOptions: options }); // refuse bad names and options up front
  if (f.declared) {
    process.stdout.write(await declaredTable(f, options));
    return 0;
  }
  const out = resolve(f.out),
    dirs = {
      cells: join(out, 'cells'),
      cache: join(out, 'models'),
      tmp: mkdtempSync(join(tmpdir(), 'mpcache-bench-')),
    };
  mkdirSync(dirs.cells, { recursive: true });
  mkdirSync(dirs.cache, { recursive: true });
  const groups = plan(f, nets),
    total = groups.reduce((s, g) => s + g.cells.length, 0);
  const recorded = (): number =>
    groups.reduce((s, g) => s + g.cells.filter((k) => existsSync(join(dirs.cells, `${cellId(k)}.json`))).length, 0);
  log(
    `${total} cells (${recorded()} already recorded in ${dirs.cells}); prefill ${f.prefill === 'revealed' ? 'REVEALED (benchmark mode, not private)' : 'secure'}\n`,
  );
  const progress = (): string => `[${recorded()}/${total}]`;
  try {
    for (const g of groups) await runGroup(g, f, options, dirs, progress);
  } finally {
    rmSync(dirs.tmp, { recursive: true, force: true });
  }
  const records = groups
    .flatMap((g) => g.cells)
    .map((k) => JSON.parse(readFileSync(join(dirs.cells, `${cellId(k)}.json`), 'utf8')) as CellRecord);
  writeFileSync(join(out, 'records.json'), JSON.stringify(records, null, 1));
  const table = summaryTable(records);
  writeFileSync(join(out, 'summary.md'), table);
  process.stdout.write(table);
  return records.every((r) => r.match !== false) ? 0 : 1;
}

main().then(
  (c) => {
    process.exitCode = c;
  },
  (e: unknown) => {
    process.stderr.write(`bench: ${toMpcError(e).message}\n`);
    process.exitCode = 2;
  },
);
