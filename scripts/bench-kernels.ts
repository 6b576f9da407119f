/**
 * `npm run bench:kernels`: throughput of the ring kernels on this machine, next to plain JS.
 * Prints GMAC/s for matvec (u64 WASM kernel vs. the float64 JS loop and the BigInt JS reference)
 * and G elements/s for element-wise ops. Medians of several timed samples after warm-up; arrays
 * are passed as arguments so V8 cannot constant-fold them (research/ts-performance.md §0.4).
 */
import { z } from 'zod';
import { commandFlags } from '../shared/config/index.js';
import { toMpcError } from '../shared/util/index.js';
import { Kernels, matmulNTRef } from '../shared/ring/kernels.js';
import { addInto, mulInto } from '../shared/ring/ops.js';
import { Prg } from '../shared/ring/prg.js';

function bench(f: () => void, minMs = 60, samples = 7): number {
  const warm = performance.now();
  while (performance.now() - warm < 300) f();
  let reps = 1;
  for (;;) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) f();
    if (performance.now() - t >= minMs) break;
    reps *= 2;
  }
  const times: number[] = [];
  for (let s = 0; s < samples; s++) {
    const t = performance.now();
    for (let i = 0; i < reps; i++) f();
    times.push((performance.now() - t) / reps);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(samples / 2)]!;
}

function f64Matvec(out: Float64Array, w: Float64Array, x: Float64Array, rows: number, cols: number): void {
  for (let j = 0; j < rows; j++) {
    let s = 0;
    const o = j * cols;
    for (let i = 0; i < cols; i++) s += w[o + i]! * x[i]!;
    out[j] = s;
  }
}

try {
  // no flags: --help explains the benchmark, and anything else is refused rather than ignored
  commandFlags({
    usage: 'npm run bench:kernels',
    summary:
      'Throughput of the ring kernels on this machine (u64 WASM matvec, element-wise ops, the PRG) next to plain JS; medians of 7 samples.',
    flags: z.object({}),
  });
} catch (e) {
  process.stderr.write(`bench:kernels: ${toMpcError(e).message}\n`);
  process.exit(2);
}

const k = new Kernels();
const prg = new Prg(new Uint8Array(16).fill(3));
const rows: string[] = [];
const line = (name: string, shape: string, value: string, ms: number) =>
  rows.push(`${name.padEnd(38)} ${shape.padEnd(12)} ${value.padStart(14)} ${ms.toFixed(3).padStart(10)} ms`);

for (const [r, c] of [
  [768, 3072],
  [3072, 768],
  [128, 512],
  [257, 128],
] as const) {
  const w = prg.ring(r * c),
    x = prg.ring(c),
    out = new BigUint64Array(r);
  const reg = k.alloc(r * c);
  k.u64(reg).set(w);
  const ms = bench(() => k.matmulNT(out, x, reg, 1, r, c));
  line('matvec u64 WASM (matmulNT, K=1)', `${r}x${c}`, `${((r * c) / ms / 1e6).toFixed(2)} GMAC/s`, ms);
  const x4 = prg.ring(4 * c),
    out4 = new BigUint64Array(4 * r);
  const ms4 = bench(() => k.matmulNT(out4, x4, reg, 4, r, c));
  line('matmul u64 WASM (matmulNT, K=4)', `${r}x${c}`, `${((4 * r * c) / ms4 / 1e6).toFixed(2)} GMAC/s`, ms4);
  const wf = Float64Array.from({ length: r * c }, (_, i) => (i % 13) / 7),
    xf = Float64Array.from({ length: c }, (_, i) => i / c),
    of = new Float64Array(r);
  const msf = bench(() => f64Matvec(of, wf, xf, r, c));
  line('matvec float64 plain JS loop', `${r}x${c}`, `${((r * c) / msf / 1e6).toFixed(2)} GMAC/s`, msf);
  if (r * c <= 128 * 512) {
    const msr = bench(() => matmulNTRef(out, x, w, 1, r, c), 60, 3);
    line('matvec u64 BigInt JS reference', `${r}x${c}`, `${((r * c) / msr / 1e6).toFixed(2)} GMAC/s`, msr);
  }
  k.release(reg);
}

for (const n of [1 << 14, 1 << 20]) {
  const a = prg.ring(n),
    b = prg.ring(n),
    o = new BigUint64Array(n);
  const ra = k.alloc(n),
    rb = k.alloc(n),
    ro = k.alloc(n);
  k.u64(ra).set(a);
  k.u64(rb).set(b);
  let ms = bench(() => k.mulRegions(ro, ra, rb));
  line('element-wise mul WASM (arena)', `${n}`, `${(n / ms / 1e6).toFixed(2)} Gelem/s`, ms);
  ms = bench(() => k.addRegions(ro, ra, rb));
  line('element-wise add WASM (arena)', `${n}`, `${(n / ms / 1e6).toFixed(2)} Gelem/s`, ms);
  ms = bench(() => mulInto(o, a, b));
  line('element-wise mul JS BigUint64Array', `${n}`, `${(n / ms / 1e6).toFixed(2)} Gelem/s`, ms);
  ms = bench(() => addInto(o, a, b));
  line('element-wise add JS BigUint64Array', `${n}`, `${(n / ms / 1e6).toFixed(2)} Gelem/s`, ms);
  for (const r of [ra, rb, ro]) k.release(r);
}

const buf = new BigUint64Array(1 << 20);
const msPrg = bench(() => prg.ringInto(buf));
line('AES-128-CTR PRG into a reused buffer', '8 MiB', `${((8 * 2 ** 20) / msPrg / 1e6).toFixed(2)} GB/s`, msPrg);

process.stdout.write(
  `kernel benchmark (node ${process.version}, GLIBC_TUNABLES=${process.env['GLIBC_TUNABLES'] ? 'set' : 'unset'}; median of 7 samples)\n`,
);
process.stdout.write(rows.join('\n') + '\n');
