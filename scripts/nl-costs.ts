/**
 * `npm run nl-costs [-- --root <built checkout>] [--networks lan,wan] [--tokens]`
 *
 * The non-linear layer's costs at the shapes decoding uses, for docs/protocols.md: per operation
 * (attention softmax·V over a 1024-token cache, GeLU, LayerNorm, argmax, exp; GPT-2-small's and
 * the embedded model's shapes) its declared online bytes, rounds and dealer bytes per element and
 * its measured error against float64 (on the fixed-point emulation, which the secure run equals
 * bit for bit), and with `--tokens` the declared cost of one decoding step (phase decode.1 after a
 * revealed prefill of 1022 tokens; full cache and MPCache). Declared = metered, byte for byte
 * (test/protocol, test/runtime/declared-generation.test.ts), so nothing runs between parties.
 *
 * `--root` measures another built checkout the same way (its dist/; e.g. the main branch for the
 * figures before issue #17): only the suite's interface is used (layerNorm, gelu, softmax, argmax,
 * and attention / tuned when the checkout has them).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { z } from 'zod';
import { commandFlags } from '../shared/config/index.js';
import { MpcError, projectPath, toMpcError } from '../shared/util/index.js';

const NL_COSTS = {
  usage: 'npm run nl-costs [-- --root <built checkout>] [--networks lan,wan] [--designs lean,swift,legacy] [--tokens]',
  summary: "Per-op and per-token costs of the non-linear layer at decoding's shapes (declared = metered).",
  flags: z.object({
    root: z.string().optional().describe('a built checkout to measure (default: this one)'),
    networks: z.string().default('lan,wan').describe("networks the recipes are tuned for ('none': the suite as is)"),
    designs: z
      .string()
      .default('')
      .describe(
        'also the costs under fixed designs (lean, swift, legacy: nonlinear/design.ts), per op and with --tokens per token, for the trade-off',
      ),
    tokens: z.boolean().default(false).describe('also the per-token costs (GPT-2-small: ~20 s per row)'),
    seed: z.number().int().default(7).describe('seed of the accuracy inputs'),
  }),
};

/* eslint-disable @typescript-eslint/no-explicit-any -- modules of another checkout, loaded by path */
type Any = any;

interface Checkout {
  mod(path: string): Promise<Any>;
}

const checkout = (root: string): Checkout => ({
  mod: (path) => import(pathToFileURL(join(root, 'dist', path)).href) as Promise<Any>,
});

interface Shapes {
  name: string;
  heads: number;
  t: number;
  hd: number;
  d: number;
  vocab: number;
}

const SHAPES: readonly Shapes[] = [
  { name: 'gpt2-small', heads: 12, t: 1024, hd: 64, d: 768, vocab: 50257 },
  { name: 'embedded', heads: 4, t: 1024, hd: 32, d: 128, vocab: 257 },
];

interface OpRow {
  shapes: string;
  op: string;
  per: string;
  online: number;
  rounds: number;
  dealer: number;
  error: string;
}

/** A deterministic stream of uniform reals. */
function uniforms(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** The suite's attention over `t` cached values (or softmax then the product, in a checkout without it). */
function attention(nl: Any, P: Any, s: Any, V: Any, sh: Shapes): Promise<Any> {
  const valid = Array<number>(sh.heads).fill(sh.t);
  if (nl.attention) return nl.attention(P, s, valid, (e: Any) => P.fixedMatmul(e, V, 'nn', sh.t), [sh.heads, 1, sh.hd]);
  return nl.softmax(P, s, valid).then(async (p: Any) => P.trunc(await P.fixedMatmul(p, V, 'nn', sh.t), 16));
}

/** Declared cost of `op` alone: the program with a value cache minus the cache alone. */
async function costOf(c: Checkout, sh: Shapes, op: (P: Any, V: Any) => Promise<unknown>): Promise<Any> {
  const { declaredCost } = await c.mod('shared/protocol/cost.js');
  const { shapeOnly } = await c.mod('shared/ring/tensor.js');
  const run = (withOp: boolean) =>
    declaredCost(async (P: Any) => {
      const V = await P.fixedAlloc('v', sh.heads, sh.t, sh.hd, 16);
      await P.fixedAppend(V, shapeOnly([sh.heads, sh.t, sh.hd], 16));
      if (withOp) await op(P, V);
    });
  const [a, b] = [await run(false), await run(true)];
  return Object.fromEntries(Object.keys(b).map((k) => [k, b[k] - a[k]]));
}

/** Runs `prog` on the checkout's emulation with real inputs; returns the decoded outputs. */
async function emulate(
  c: Checkout,
  inputs: ReadonlyArray<{ values: Float64Array; shape: number[] }>,
  prog: (P: Any, xs: Any[]) => Promise<Any[]>,
): Promise<Float64Array[]> {
  const { ClearPrims } = await c.mod('shared/protocol/prims/clear.js');
  const { Kernels } = await c.mod('shared/ring/kernels.js');
  const { clear } = await c.mod('shared/ring/tensor.js');
  const { encodeArray, decodeArray } = await c.mod('shared/ring/fixed-point.js');
  const P = new ClearPrims(new Kernels());
  const outs = await prog(
    P,
    inputs.map((i) => clear(i.shape, encodeArray(i.values, 16), 16)),
  );
  return outs.map((o: Any) => decodeArray(o.data, o.fracBits) as Float64Array);
}

const q16 = (x: number): number => Math.round(x * 65536) / 65536;
const maxErr = (got: Float64Array, want: ArrayLike<number>): number =>
  got.reduce((m, g, i) => Math.max(m, Math.abs(g - want[i]!)), 0);

/** softmax(s)·V in float64, per head. */
function attentionRef(s: Float64Array, v: Float64Array, sh: Shapes): Float64Array {
  const out = new Float64Array(sh.heads * sh.hd);
  for (let h = 0; h < sh.heads; h++) {
    const row = s.subarray(h * sh.t, (h + 1) * sh.t),
      m = row.reduce((a, b) => Math.max(a, b), -Infinity),
      e = Array.from(row, (x) => Math.exp(x - m)),
      z = e.reduce((a, b) => a + b, 0);
    for (let j = 0; j < sh.t; j++)
      for (let k = 0; k < sh.hd; k++) out[h * sh.hd + k] += (e[j]! / z) * v[(h * sh.t + j) * sh.hd + k]!;
  }
  return out;
}

/** Measured errors (emulation vs float64) of attention (relative to max|V|), GeLU, LayerNorm and exp. */
async function errors(c: Checkout, nl: Any, sh: Shapes, seed: number): Promise<Record<string, string>> {
  const u = uniforms(seed),
    normal = () => Math.sqrt(-2 * Math.log(u() + 1e-300)) * Math.cos(2 * Math.PI * u());
  const s = Float64Array.from({ length: sh.heads * sh.t }, () => q16(normal() * 4));
  s[3] = q16(30); // one dominant score
  const v = Float64Array.from({ length: sh.heads * sh.t * sh.hd }, () => q16(u() * 6 - 3));
  const g = Float64Array.from({ length: 4096 }, (_, i) => q16(-8 + (16 * i) / 4096));
  const x = Float64Array.from({ length: sh.d }, () => q16(normal() * 20 + 3));
  const ex = Float64Array.from({ length: 4096 }, (_, i) => q16((-16 * i) / 4096));
  const { geluTanh, expNeg } = await c.mod('shared/protocol/nonlinear/index.js');
  const [o, gl, ln, e] = await emulate(
    c,
    [
      { values: s, shape: [sh.heads, 1, sh.t] },
      { values: v, shape: [sh.heads, sh.t, sh.hd] },
      { values: g, shape: [1, 4096] },
      { values: x, shape: [1, sh.d] },
      { values: ex, shape: [4096] },
    ],
    async (P, [ss, vv, gg, xx, ee]) => {
      const V = await P.fixedAlloc('v', sh.heads, sh.t, sh.hd, 16);
      await P.fixedAppend(V, vv);
      const exp = await expNeg(P, ee, { width: 32, nonPositive: true, outFrac: 24 });
      return [await attention(nl, P, ss, V, sh), await nl.gelu(P, gg), await nl.layerNorm(P, xx, 1e-5), exp];
    },
  );
  const mu = x.reduce((a, b) => a + b, 0) / sh.d,
    sd = Math.sqrt(x.reduce((a, b) => a + (b - mu) ** 2, 0) / sh.d + 1e-5);
  // relative where e^x ≥ 2^−8 (below, the output's 2^−24 ulp dominates: the absolute error says more)
  const rel = e!.reduce((m, got, i) => {
    const want = Math.exp(ex[i]!);
    return want >= 2 ** -8 ? Math.max(m, Math.abs(got - want) / want) : m;
  }, 0);
  const fmt = (n: number) => n.toExponential(1);
  return {
    attention: `${fmt(maxErr(o!, attentionRef(s, v, sh)) / 3)}·max|V|`,
    gelu: fmt(maxErr(gl!, Float64Array.from(g, geluTanh))),
    layernorm: fmt(
      maxErr(
        ln!,
        Float64Array.from(x, (t) => (t - mu) / sd),
      ),
    ),
    exp: `${fmt(rel)} rel. (e^x ≥ 2^−8), ${fmt(maxErr(e!, Float64Array.from(ex, Math.exp)))} abs.`,
  };
}

/** Declared per-element costs of each op at one model's decoding shapes. */
async function opCosts(c: Checkout, nl: Any, sh: Shapes, label: string, seed: number): Promise<OpRow[]> {
  const { shapeOnly } = await c.mod('shared/ring/tensor.js');
  const { expNeg } = await c.mod('shared/protocol/nonlinear/index.js');
  const s = (shape: number[]) => shapeOnly(shape, 16);
  const err = await errors(c, nl, sh, seed);
  const ops: Array<[string, string, number, (P: Any, V: Any) => Promise<unknown>, string]> = [
    [
      'attention softmax·V',
      'score',
      sh.heads * sh.t,
      (P, V) => attention(nl, P, s([sh.heads, 1, sh.t]), V, sh),
      err.attention!,
    ],
    [
      'exp (in softmax)',
      'score',
      sh.heads * sh.t,
      (P) =>
        expNeg(P, s([sh.heads * sh.t]), {
          width: 32,
          nonPositive: true,
          outFrac: 24,
          ...(nl.design ? { design: nl.design } : {}),
        }),
      err.exp!,
    ],
    ['gelu', 'element', 4 * sh.d, (P) => nl.gelu(P, s([1, 4 * sh.d])), err.gelu!],
    ['layernorm', 'element', sh.d, (P) => nl.layerNorm(P, s([1, sh.d]), 1e-5), err.layernorm!],
    ['argmax', 'logit', sh.vocab, (P) => nl.argmax(P, s([1, sh.vocab])), 'exact'],
  ];
  const rows: OpRow[] = [];
  for (const [op, per, n, run, error] of ops) {
    const cost = await costOf(c, sh, run);
    rows.push({
      shapes: `${sh.name} ${label}`,
      op,
      per,
      online: cost.payloadBytes / n,
      rounds: cost.rounds,
      dealer: cost.dealerBytes / n,
      error,
    });
  }
  return rows;
}

/** Declared cost of one decoding step (decode.1) after a revealed prefill of 1022 tokens. */
async function tokenCost(
  c: Checkout,
  model: 'gpt2-small' | 'embedded',
  policy: string | undefined,
  network: string | undefined,
  nl?: Any,
): Promise<Any> {
  const { declaredGeneration } = await c.mod('scripts/bench/declared.js');
  const { parseGpt2Config } = await c.mod('shared/model/config.js');
  const config =
    model === 'gpt2-small'
      ? parseGpt2Config({ n_layer: 12, n_head: 12, n_embd: 768, n_positions: 1024, vocab_size: 50257 }, 'gpt2-small')
      : parseGpt2Config(
          JSON.parse(readFileSync(projectPath('models', 'tiny-gpt2', 'config.json'), 'utf8')),
          'embedded',
        );
  const request = {
    shareId: '0'.repeat(32),
    promptLen: 1022,
    maxNewTokens: 3,
    prefill: 'revealed',
    ...(policy ? { policy } : {}),
    ...(network ? { network } : {}),
  };
  const phases = nl ? await declaredGeneration(config, request, nl) : await declaredGeneration(config, request);
  return { config, d: phases.get('decode.1') };
}

const fmt = (x: number, digits = 1): string => (x >= 100 ? x.toFixed(0) : x.toFixed(digits));
const mib = (b: number): string => (b / 2 ** 20).toFixed(2);

async function main(): Promise<void> {
  const { flags: f } = commandFlags(NL_COSTS);
  if (f.root && f.designs && f.tokens)
    throw new MpcError('E_CONFIG', '--designs with --tokens measures this checkout only (not with --root)');
  const c = checkout(resolve(f.root ?? projectPath()));
  const { NONLINEAR_SUITE } = await c.mod('shared/protocol/nonlinear/index.js');
  const nets = f.networks === 'none' ? [undefined] : f.networks.split(',');
  const suites: Array<readonly [string, Any]> = nets.map(
    (n) => [n ?? 'as is', n && NONLINEAR_SUITE.tuned ? NONLINEAR_SUITE.tuned(n) : NONLINEAR_SUITE] as const,
  );
  if (f.designs) {
    const { NonlinearSuite } = await c.mod('shared/protocol/nonlinear/suite.js');
    const designs = await c.mod('shared/protocol/nonlinear/design.js');
    for (const name of f.designs.split(',')) {
      const d = designs[name.toUpperCase()];
      if (!d || !['lean', 'swift', 'legacy'].includes(name))
        throw new MpcError('E_CONFIG', `--designs: unknown design '${name}' (lean, swift, legacy)`);
      suites.push([name, new NonlinearSuite('lan', d)]);
    }
  }
  process.stdout.write(
    '| shapes | op | per | online B | rounds | dealer B | error vs float64 |\n|---|---|---|---|---|---|---|\n',
  );
  for (const sh of SHAPES)
    for (const [label, nl] of suites)
      for (const r of await opCosts(c, nl, sh, label, f.seed))
        process.stdout.write(
          `| ${r.shapes} | ${r.op} | ${r.per} | ${fmt(r.online)} | ${r.rounds} | ${fmt(r.dealer)} | ${r.error} |\n`,
        );
  if (!f.tokens) return;
  process.stdout.write(
    '\n| model | cache | network or design | online MiB (p0→p1) | rounds | per layer | dealer MiB |\n|---|---|---|---|---|---|---|\n',
  );
  for (const model of ['embedded', 'gpt2-small'] as const)
    for (const policy of [undefined, 'mpcache'])
      for (const [i, [label, nl]] of suites.entries()) {
        // networks as the generation request names them (any checkout); fixed designs as a suite
        const { config, d } =
          i < nets.length
            ? await tokenCost(c, model, policy, nets[i])
            : await tokenCost(c, model, policy, undefined, nl);
        process.stdout.write(
          `| ${model} | ${policy ?? 'full'} | ${label} | ${mib(d.frameBytes)} | ${d.rounds} | ${fmt(d.rounds / config.nLayer)} | ${mib(d.dealerBytes)} |\n`,
        );
      }
}

main().catch((e: unknown) => {
  process.stderr.write(`nl-costs: ${toMpcError(e).message}\n`);
  process.exit(2);
});
