/**
 * Checks that a client's masked input is one token per row (DESIGN §10): the embedding is a
 * client-assisted product (primitives/fixed-client.ts) whose input x = x̂ + r the parties never
 * see; a client that sent a mixture of rows instead of a one-hot would query the model on inputs
 * no token makes, a stronger interface for model extraction. Kinds: the product's own `fixed.product`
 * with `squares` (the dealer adds shares of r∘r). 1 round; opens REPS ring elements, which are 0
 * for an honest client (so nothing about x is revealed); dealer bytes: 8 per input element.
 *
 *   1. d = x∘x − x and s_k = Σ_i x_{k,i} − 1 are linear in the shares: x∘x = x̂∘x̂ + 2x̂∘r + r∘r.
 *      x is K one-hot rows iff d = 0 and s = 0 (over Z_2^64, x(x−1) = 0 forces x ∈ {0, 1}, as one
 *      of x, x − 1 is odd).
 *   2. Public challenges from the session's common seed (both parties, never the client): U [R, V]
 *      once per session, v [R] and W [R, K] per call. c_j = Σ_k W_{j,k}·(Σ_i U_{j,i}·d_{k,i} + v_j·s_k).
 *   3. Open c; any c_j ≠ 0 aborts with E_INPUT.
 *
 * Soundness: a nonzero (d, s) passes one challenge with probability at most 3/4 (the worst case is
 * an error of 2^63, which needs U and W odd at its place), so REPS = 96 challenges miss a mixture
 * with probability ≤ (3/4)^96 ≈ 2^-39.8; errors of lower 2-adic valuation are caught far more surely.
 * Cost: K·V·R multiply-adds in the kernels (≈ 4.8 M per decoded token at V = 50 257).
 */
import { MpcError } from '../util/errors.js';
import type { Prg } from '../ring/prg.js';
import type { Kernels, Region } from '../ring/kernels.js';
import type { PartyCtx } from './ctx.js';
import { openRing } from './open.js';

export const CLIENT_CHECK_REPS = 96;
/** Rows of d formed at once (bounds the scratch memory for long prompts). */
const CHUNK_ROWS = 32;

/** Per-session challenge state: U is drawn at the first check and reused (it never leaves the parties). */
export class ClientChallenges {
  private u: Region | undefined;
  constructor(readonly prg: Prg) {}

  /** U [REPS, V] in the kernel arena. */
  rows(kernels: Kernels, V: number): Region {
    if (!this.u) {
      this.u = kernels.alloc(CLIENT_CHECK_REPS * V);
      this.prg.ringInto(kernels.u64(this.u));
    }
    if (this.u.length !== CLIENT_CHECK_REPS * V)
      throw new MpcError('E_INTERNAL', 'one-hot checks of different widths in one session');
    return this.u;
  }

  release(kernels: Kernels): void {
    if (this.u) kernels.release(this.u);
    this.u = undefined;
  }
}

/**
 * Checks that x = x̂ + r is K one-hot rows of width V (see the header).
 * @throws MpcError E_INPUT if it is not.
 */
export async function checkOneHotRowsS(
  ctx: PartyCtx,
  ch: ClientChallenges,
  xh: BigUint64Array,
  r: BigUint64Array,
  r2: BigUint64Array,
  K: number,
  V: number,
): Promise<void> {
  const R = CLIENT_CHECK_REPS;
  const U = ch.rows(ctx.kernels, V);
  const v = ch.prg.ring(R),
    W = ch.prg.ring(R * K);
  const c = new BigUint64Array(R);
  const d = new BigUint64Array(Math.min(K, CHUNK_ROWS) * V),
    e = new BigUint64Array(Math.min(K, CHUNK_ROWS) * R);
  const s = new BigUint64Array(1); // a typed-array accumulator wraps mod 2^64 (a BigInt local would grow)
  for (let k0 = 0; k0 < K; k0 += CHUNK_ROWS) {
    const rows = Math.min(CHUNK_ROWS, K - k0);
    const dk = d.subarray(0, rows * V),
      ek = e.subarray(0, rows * R);
    for (let k = 0; k < rows; k++) {
      s[0] = ctx.me === 0 ? -1n : 0n;
      for (let i = 0, at = (k0 + k) * V; i < V; i++, at++) {
        const x = xh[at]!,
          ri = r[at]!;
        dk[k * V + i] = (ctx.me === 0 ? x * x - x : 0n) + (2n * x - 1n) * ri + r2[at]!;
        s[0] = s[0]! + (ctx.me === 0 ? x : 0n) + ri;
      }
      // e_{k,j} = Σ_i U_{j,i} d_{k,i} + v_j s_k (the sum over i by the kernel below)
      for (let j = 0; j < R; j++) ek[k * R + j] = v[j]! * s[0]!;
    }
    const prod = new BigUint64Array(rows * R);
    ctx.kernels.matmulNT(prod, dk, U, rows, R, V);
    for (let k = 0; k < rows; k++) {
      for (let j = 0; j < R; j++) c[j] = c[j]! + W[j * K + k0 + k]! * (prod[k * R + j]! + ek[k * R + j]!);
    }
  }
  const [opened] = await openRing(ctx, 'client.check', [c]);
  if (opened!.some((x) => x !== 0n))
    throw new MpcError(
      'E_INPUT',
      `the client's input is not one token per row (the one-hot check failed on ${K} row${K > 1 ? 's' : ''})`,
    );
}
