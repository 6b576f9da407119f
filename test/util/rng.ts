/**
 * Seeded generator for property tests (splitmix64 on BigInt; test data only, never for
 * correlations). Use `seeded()` and print `rng.seed` in failure messages to reproduce a failure.
 */
export class TestRng {
  private s: bigint;
  constructor(readonly seed: number) {
    this.s = BigInt.asUintN(64, BigInt(seed) * 0x9e3779b97f4a7c15n + 1n);
  }
  u64(): bigint {
    this.s = BigInt.asUintN(64, this.s + 0x9e3779b97f4a7c15n);
    let z = this.s;
    z = BigInt.asUintN(64, (z ^ (z >> 30n)) * 0xbf58476d1ce4e5b9n);
    z = BigInt.asUintN(64, (z ^ (z >> 27n)) * 0x94d049bb133111ebn);
    return z ^ (z >> 31n);
  }
  /** Uniform float in [0, 1). */
  float(): number {
    return Number(this.u64() >> 11n) / 2 ** 53;
  }
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.float();
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.float() * (hi - lo));
  }
  ring(n: number): BigUint64Array {
    const out = new BigUint64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.u64();
    return out;
  }
  floats(n: number, lo: number, hi: number): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.uniform(lo, hi);
    return out;
  }
  normal(): number {
    const u = Math.max(this.float(), 1e-300);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.float());
  }
}

/** A generator whose seed comes from MPC_TEST_SEED or the clock; the seed is in `rng.seed`. */
export function seeded(fixed?: number): TestRng {
  const env = process.env['MPC_TEST_SEED'];
  const seed = fixed ?? (env !== undefined ? Number(env) : Date.now() % 1_000_000_007);
  return new TestRng(seed);
}

/** Byte equality of two ring arrays (jest's deep equality on millions of BigInts is very slow). */
export function sameRing(a: BigUint64Array, b: BigUint64Array): boolean {
  return (
    a.length === b.length &&
    Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength))
  );
}
