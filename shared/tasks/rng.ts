/**
 * Seeded PRNG for task generation: xoshiro128** on 32-bit integers, seeded through splitmix32.
 *
 * Why our own: task samples must be identical in TypeScript (generation, evaluation) across Node
 * versions and machines, and Math.random cannot be seeded. 32-bit arithmetic (Math.imul, >>> 0) keeps
 * it exact and fast without BigInt. Not for anything cryptographic.
 */
import { MpcError } from '../util/index.js';

function splitmix32(state: number): [number, number] {
  const s = (state + 0x9e3779b9) | 0;
  let z = s;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return [s, (z ^ (z >>> 16)) >>> 0];
}

export class TaskRng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  /** @throws MpcError E_INPUT unless `seed` is a safe non-negative integer. */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed) || seed < 0) {
      throw new MpcError('E_INPUT', 'task seed must be a non-negative safe integer');
    }
    // Fold both 32-bit halves of the seed in so seeds above 2^32 still differ.
    let s = (seed >>> 0) ^ Math.imul(Math.floor(seed / 2 ** 32), 0x27d4eb2d);
    const out: number[] = [];
    for (let i = 0; i < 4; i++) {
      const [next, z] = splitmix32(s);
      s = next;
      out.push(z);
    }
    [this.a, this.b, this.c, this.d] = out as [number, number, number, number];
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1; // xoshiro's one bad state
  }

  /** Next uniform 32-bit unsigned integer. */
  u32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  float(): number {
    return this.u32() / 2 ** 32;
  }

  /** Uniform integer in [lo, hi) (hi − lo ≤ 2^32; the tiny modulo bias is irrelevant for tasks). */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo));
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length)]!;
  }

  /** Fisher–Yates shuffle of a copy. */
  shuffle<T>(items: readonly T[]): T[] {
    const out = items.slice();
    for (let i = out.length - 1; i > 0; i--) {
      const j = this.int(0, i + 1);
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }

  /** `len` random characters from `alphabet`. */
  word(alphabet: string, len: number): string {
    let s = '';
    for (let i = 0; i < len; i++) s += alphabet[this.int(0, alphabet.length)];
    return s;
  }

  /** Decimal string of exactly `digits` digits (leading digit non-zero). */
  digits(digits: number): string {
    return String(this.int(10 ** (digits - 1), 10 ** digits));
  }

  /** A new generator whose stream is independent of this one's future output. */
  fork(): TaskRng {
    return new TaskRng(this.u32() * 2 ** 20 + (this.u32() >>> 12));
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
