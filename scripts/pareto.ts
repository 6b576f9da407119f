/**
 * `npm run pareto -- [--study-dir results/pareto] [--out docs/eviction-pareto.md]` (GPT-2 or Llama models)
 *
 * The eviction Pareto report: every policy and setting's accuracy (from recorded study runs: one
 * `npm run study -- --out <study-dir>/<name>.jsonl [policy flags]` per setting) against what its
 * private decoding costs per token — online bytes, rounds and dealer bytes, declared from the
 * generation program on the model's shapes (scripts/bench/declared.ts; equal to the meter, tested) —
 * with full cache as the reference. Writes the Markdown report (tables between its markers) and two
 * SVG plots beside it (Vega-Lite): accuracy against online bytes and against rounds per token.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { z } from 'zod';
import { commandFlags } from '../shared/config/index.js';
import { projectPath, toMpcError } from '../shared/util/index.js';
import { readModelConfig, type ModelConfig } from '../shared/model/llama-config.js';
import type { PolicyOptions } from '../shared/kvcache/index.js';
import { dynamicRatioOf } from '../shared/kvcache/options.js';
import { aggregate, readRecords, type Cell } from './study/aggregate.js';
import { writeBetweenMarkers } from './study/render.js';
import { declaredPerToken, type PerToken } from './bench/declared.js';
import { svgOf } from './report/plot.js';

const PARETO = {
  usage: 'npm run pareto -- [--study-dir results/pareto] [--out docs/eviction-pareto.md]',
  summary:
    'Accuracy (recorded study runs) against declared private decoding cost per token, every policy and setting, with plots.',
  flags: z.object({
    studyDir: z
      .string()
      .default('results/pareto')
      .describe('folder of study record files (<name>.jsonl with <name>.jsonl.meta.json)'),
    out: z.string().default('docs/eviction-pareto.md').describe('the report; plots are written beside it'),
  }),
};

interface Point {
  setting: string;
  policy: string;
  ctx: number;
  task: string;
  placement: string;
  accuracy: number;
  lo: number;
  hi: number;
  samples: number;
  kib: number;
  rounds: number;
  dealerMiB: number;
  /** Ratios to full cache at the same context. */
  rBytes: number;
  rRounds: number;
  rDealer: number;
}

const Meta = z.object({ model: z.string(), options: z.record(z.string(), z.unknown()) });

/**
 * A setting's short name: the policy, the share of the prompt it attends per step (from the
 * recorded budget, so a policy's own override shows) and, for MPCache, the options that tell its
 * settings apart (clusters only when a dynamic step runs).
 */
function settingOf(cell: Cell, o: PolicyOptions): string {
  if (cell.policy === 'full') return 'full';
  const pct = (100 * cell.budgetTokens) / cell.ctx; // whole percents: prompts a few tokens short of ctx read alike
  const share = `${pct >= 1.5 ? Math.round(pct) : pct.toFixed(1)} %`;
  if (!cell.policy.startsWith('mpcache')) return `${cell.policy} ${share}`;
  const dynamic = cell.policy === 'mpcache-dynamic' || o.budget !== undefined || dynamicRatioOf(o) < 1;
  const dense = o.denseLayers > 0 ? `, dense ${o.denseLayers}` : '';
  const clusters = dynamic ? `, clusters ${o.clusters.join('→')}` : '';
  return `${cell.policy} ${share} (static ${o.staticRatio}, window ${o.windowRatio}${dense}${clusters})`;
}

/** Tokens per declared generation, as the benchmark's cells: the cost is the mean of the decoding steps. */
const TOKENS = 4;

async function costOf(
  cache: Map<string, PerToken>,
  config: ModelConfig,
  policy: string,
  options: PolicyOptions,
  ctx: number,
): Promise<PerToken> {
  const key = JSON.stringify([config, policy, options, ctx]);
  let c = cache.get(key);
  if (!c) {
    c = await declaredPerToken(config, { ctx, tokens: TOKENS, prefill: 'revealed', policy, options });
    cache.set(key, c);
  }
  return c;
}

async function points(dir: string): Promise<Point[]> {
  const cache = new Map<string, PerToken>(),
    out: Point[] = [];
  for (const file of readdirSync(dir)
    .filter((f) => f.endsWith('.jsonl'))
    .sort()) {
    const metaPath = join(dir, `${file}.meta.json`);
    if (!existsSync(metaPath)) continue;
    const meta = Meta.parse(JSON.parse(readFileSync(metaPath, 'utf8')));
    // a relative model path (as in the committed records) is the project's
    const config = readModelConfig(join(isAbsolute(meta.model) ? meta.model : projectPath(meta.model), 'config.json'));
    const options = meta.options as unknown as PolicyOptions;
    for (const cell of aggregate(readRecords(join(dir, file)))) {
      const [cost, full] = [
        await costOf(cache, config, cell.policy, options, cell.ctx),
        await costOf(cache, config, 'full', options, cell.ctx),
      ];
      out.push(pointOf(cell, settingOf(cell, options), cost, full));
    }
  }
  return out;
}

function pointOf(c: Cell, setting: string, cost: PerToken, full: PerToken): Point {
  return {
    setting,
    policy: c.policy,
    ctx: c.ctx,
    task: c.task,
    placement: c.placement,
    accuracy: c.accuracy,
    lo: c.ci95[0],
    hi: c.ci95[1],
    samples: c.samples,
    kib: cost.bytes / 1024,
    rounds: cost.rounds,
    dealerMiB: cost.dealer / 2 ** 20,
    rBytes: cost.bytes / full.bytes,
    rRounds: cost.rounds / full.rounds,
    rDealer: cost.dealer / full.dealer,
  };
}

function chart(pts: readonly Point[], x: 'kib' | 'rounds', title: string): Parameters<typeof svgOf>[0] {
  const xTitle = x === 'kib' ? 'online KiB per token (each party sends)' : 'rounds per token';
  return {
    title,
    data: { values: pts as unknown as Record<string, unknown>[] },
    facet: { row: { field: 'task', type: 'nominal' }, column: { field: 'ctx', type: 'ordinal', title: 'context' } },
    spec: {
      width: 260,
      height: 180,
      layer: [
        {
          mark: { type: 'rule', opacity: 0.5 },
          encoding: {
            x: { field: x, type: 'quantitative' },
            y: { field: 'lo', type: 'quantitative' },
            y2: { field: 'hi' },
            color: { field: 'policy', type: 'nominal' },
          },
        },
        {
          mark: { type: 'point', filled: true, size: 60 },
          encoding: {
            x: {
              field: x,
              type: 'quantitative',
              title: xTitle,
              scale: x === 'kib' ? { type: 'log' } : { zero: false },
            },
            y: {
              field: 'accuracy',
              type: 'quantitative',
              title: 'accuracy (95 % interval)',
              scale: { domain: [0, 1] },
            },
            color: { field: 'policy', type: 'nominal' },
            shape: { field: 'policy', type: 'nominal' },
            tooltip: [{ field: 'setting' }],
          },
        },
      ],
    },
    resolve: { scale: { x: 'independent' } },
  } as unknown as Parameters<typeof svgOf>[0];
}

function tables(pts: readonly Point[]): string {
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const rows = [...pts].sort(
    (a, b) => a.placement.localeCompare(b.placement) || a.task.localeCompare(b.task) || a.ctx - b.ctx || a.kib - b.kib,
  );
  return [
    '| placement | task | ctx | setting | accuracy [95 %] | n | online KiB/token | × full | rounds | × full | dealer MiB/token | × full |',
    `|${'---|'.repeat(12)}`,
    ...rows.map(
      (p) =>
        `| ${p.placement} | ${p.task} | ${p.ctx} | ${p.setting} | ${pct(p.accuracy)} [${pct(p.lo)}, ${pct(p.hi)}] | ${p.samples} | ${p.kib.toFixed(1)} | ${p.rBytes.toFixed(3)} | ${p.rounds.toFixed(0)} | ${p.rRounds.toFixed(3)} | ${p.dealerMiB.toFixed(2)} | ${p.rDealer.toFixed(3)} |`,
    ),
  ].join('\n');
}

async function main(): Promise<void> {
  const { flags: f } = commandFlags(PARETO);
  const pts = await points(resolve(f.studyDir));
  const out = resolve(f.out),
    base = basename(out, '.md');
  for (const [x, name] of [
    ['kib', 'bytes'],
    ['rounds', 'rounds'],
  ] as const) {
    for (const placement of [...new Set(pts.map((p) => p.placement))]) {
      const file = join(dirname(out), `${base}-${name}-${placement}.svg`);
      writeFileSync(
        file,
        await svgOf(
          chart(
            pts.filter((p) => p.placement === placement),
            x,
            `accuracy against ${x === 'kib' ? 'online bytes' : 'rounds'} per decoded token (question ${placement === 'prompt' ? 'in the prompt' : 'after it'})`,
          ),
        ),
      );
      process.stderr.write(`wrote ${file}\n`);
    }
  }
  writeBetweenMarkers(out, tables(pts), 'Eviction under MPC: accuracy against cost', 'npm run pareto');
  process.stderr.write(`wrote ${pts.length} points into ${out}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`pareto: ${toMpcError(e).message}\n`);
  process.exitCode = 2;
});
