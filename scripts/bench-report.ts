/**
 * `npm run bench:report -- --runs results/bench-a,results/bench-b [--out docs/bench.md]`
 *
 * docs/bench.md from recorded `npm run bench` runs (their <dir>/cells/*.json): the summary tables
 * (per cell, ratios to full cache, the network model) and Vega-Lite plots written beside it — time
 * and online bytes per decoded token against the context (one line per policy and network), the
 * online bytes per token stacked by operation, and rounds per token. The text around the generated
 * block (between its markers) is kept, so the report's prose is written once.
 */
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { z } from 'zod';
import { commandFlags } from '../shared/config/index.js';
import { toMpcError } from '../shared/util/index.js';
import { cellId, type CellRecord } from './bench/cell.js';
import { netOf, summaryTable, type RunCell } from './bench/summary.js';
import { writeBetweenMarkers } from './study/render.js';
import { svgOf } from './report/plot.js';

const REPORT = {
  usage: 'npm run bench:report -- --runs <dir>,<dir> [--out docs/bench.md]',
  summary: 'Renders recorded benchmark runs into a Markdown report with plots (Vega-Lite SVG).',
  flags: z.object({
    runs: z.array(z.string()).min(1).describe('folders written by npm run bench (--out)'),
    out: z.string().default('docs/bench.md').describe('the report; plots are written beside it'),
  }),
};

/** Every cell of the runs, each labelled with its run's folder name. */
function records(dirs: readonly string[]): RunCell[] {
  return dirs.flatMap((d) => {
    const cells = join(resolve(d), 'cells');
    if (!existsSync(cells)) throw new Error(`${d}: no cells/ folder (not a bench --out folder)`);
    return readdirSync(cells)
      .filter((f) => f.endsWith('.json'))
      .sort()
      .map((f) => ({ ...(JSON.parse(readFileSync(join(cells, f), 'utf8')) as CellRecord), run: basename(d) }));
  });
}

type Spec = Parameters<typeof svgOf>[0];

/** The run's name after a label, when the report joins several runs (their cells are not comparable). */
const ofRun = (r: RunCell, recs: readonly RunCell[]): string =>
  new Set(recs.map((x) => x.run)).size > 1 ? ` · ${r.run}` : '';

/** One value per cell: x = context, a line per policy, network (and run), a panel per model. */
function lineChart(recs: readonly RunCell[], y: (r: CellRecord) => number, yTitle: string, log = false): Spec {
  const values = recs.map((r) => ({
    model: r.key.model,
    ctx: r.key.ctx,
    series: `${r.key.policy} · ${netOf(r)}${ofRun(r, recs)}`,
    y: y(r),
  }));
  return {
    data: { values },
    facet: { column: { field: 'model', type: 'nominal' } },
    spec: {
      width: 300,
      height: 220,
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'ctx', type: 'quantitative', title: 'context (tokens)' },
        y: { field: 'y', type: 'quantitative', title: yTitle, ...(log ? { scale: { type: 'log' } } : {}) },
        color: {
          field: 'series',
          type: 'nominal',
          title: 'policy · network (· run)',
          scale: { scheme: 'category20' },
          legend: { labelLimit: 400 },
        },
      },
    },
    resolve: { scale: { y: 'independent' } },
  } as unknown as Spec;
}

/** Online bytes per decoded token, stacked by model operation, one bar per cell (loopback only: bytes do not depend on the network). */
function stackChart(recs: readonly RunCell[]): Spec {
  const values = recs
    .filter((r) => r.key.net === 'loopback')
    .flatMap((r) =>
      r.byOperation.map((o) => ({
        cell: `${r.key.model} ${r.key.ctx} ${r.key.policy}${ofRun(r, recs)}`,
        op: o.op,
        kib: o.p0_to_p1 / 1024,
      })),
    );
  return {
    data: { values },
    width: 420,
    height: { step: 18 },
    mark: 'bar',
    encoding: {
      y: { field: 'cell', type: 'nominal', title: null, sort: null, axis: { labelLimit: 400 } },
      x: {
        field: 'kib',
        type: 'quantitative',
        title: 'online KiB per decoded token (party 0 → party 1)',
        stack: 'zero',
      },
      color: { field: 'op', type: 'nominal', title: 'operation', scale: { scheme: 'category20' } },
    },
  } as unknown as Spec;
}

/** One cell per key for the plots: a cell measured in several runs is drawn from the first run listed. */
function firstOfEachKey(recs: readonly RunCell[]): RunCell[] {
  const seen = new Set<string>();
  return recs.filter((r) => {
    const k = cellId(r.key);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

async function main(): Promise<void> {
  const { flags: f } = commandFlags(REPORT);
  const all = records(f.runs),
    recs = firstOfEachKey(all);
  const out = resolve(f.out),
    dir = dirname(out),
    base = basename(out, '.md');
  const plots: Array<[string, string, Spec]> = [
    ['time', 'Time per decoded token', lineChart(recs, (r) => r.perToken.ms, 'ms per token', true)],
    [
      'bytes',
      'Online bytes per decoded token',
      lineChart(
        recs.filter((r) => r.key.net === 'loopback'),
        (r) => r.perToken.p0_to_p1 / 1024,
        'KiB per token (each party sends)',
      ),
    ],
    [
      'rounds',
      'Rounds per decoded token',
      lineChart(
        recs.filter((r) => r.key.net === 'loopback'),
        (r) => r.perToken.rounds,
        'rounds per token',
      ),
    ],
    ['ops', 'Online bytes per decoded token by operation', stackChart(recs)],
  ];
  const links: string[] = [];
  for (const [name, title, spec] of plots) {
    const file = `${base}-${name}.svg`;
    writeFileSync(join(dir, file), await svgOf({ title, ...spec } as Spec));
    links.push(`![${title}](${file})`);
  }
  writeBetweenMarkers(out, `${links.join('\n\n')}\n\n${summaryTable(all)}`, 'Benchmarks', 'npm run bench:report');
  process.stderr.write(`wrote ${all.length} cells and ${plots.length} plots into ${out}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`bench:report: ${toMpcError(e).message}\n`);
  process.exitCode = 2;
});
