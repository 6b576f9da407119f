import { Prg } from '../../shared/ring/prg.js';

describe('AES-128-CTR PRG', () => {
  test('known answer: AES-128(key=0, block=0)', () => {
    // FIPS-197 style vector: the first keystream block of CTR with key 0 and counter 0 is AES_0(0).
    const p = new Prg(new Uint8Array(16));
    expect(Buffer.from(p.bytes(16)).toString('hex')).toBe('66e94bd4ef8a2c3b884cfa59ca342b2e');
  });
  test('deterministic per seed and stream; streams differ', () => {
    const seed = Uint8Array.from({ length: 16 }, (_, i) => i);
    const a = new Prg(seed, 1n).ring(1000),
      b = new Prg(seed, 1n).ring(1000),
      c = new Prg(seed, 2n).ring(1000);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });
  test('chunked fills equal one large fill (stream continuity across 64 KiB chunks)', () => {
    const seed = new Uint8Array(16).fill(9);
    const whole = new Prg(seed).bytes(200_000);
    const p = new Prg(seed);
    const parts = [p.bytes(1), p.bytes(65_535), p.bytes(70_000), p.bytes(64_464)];
    expect(Buffer.concat(parts.map((x) => Buffer.from(x)))).toEqual(Buffer.from(whole));
    expect(p.position).toBe(200_000);
  });
  test('bits are 0/1 and roughly balanced', () => {
    const b = new Prg(new Uint8Array(16).fill(1)).bits(10_000);
    const ones = b.reduce((s, v) => s + v, 0);
    expect(b.every((v) => v === 0 || v === 1)).toBe(true);
    expect(ones).toBeGreaterThan(4700);
    expect(ones).toBeLessThan(5300);
  });
});
