import { TaskRng } from '../../shared/tasks/index.js';
import { MpcError } from '../../shared/util/index.js';

describe('TaskRng', () => {
  it('is deterministic per seed and differs between seeds (also above 2^32)', () => {
    const a = new TaskRng(42);
    const b = new TaskRng(42);
    const xs = Array.from({ length: 8 }, () => a.u32());
    expect(Array.from({ length: 8 }, () => b.u32())).toEqual(xs);
    const c = new TaskRng(43);
    expect(Array.from({ length: 8 }, () => c.u32())).not.toEqual(xs);
    const d = new TaskRng(42 + 2 ** 32);
    expect(Array.from({ length: 8 }, () => d.u32())).not.toEqual(xs);
  });

  it('pins its first outputs (a change would silently change every task sample)', () => {
    const r = new TaskRng(0);
    expect(Array.from({ length: 4 }, () => r.u32().toString(16))).toEqual([
      'e308dc58',
      '4392d0e4',
      '3318f97',
      'ac593a63',
    ]);
  });

  it('draws integers in range, roughly uniform', () => {
    const r = new TaskRng(7);
    const counts = new Array(10).fill(0);
    for (let i = 0; i < 20000; i++) {
      const v = r.int(0, 10);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(10);
      counts[v]++;
    }
    for (const c of counts) expect(Math.abs(c - 2000)).toBeLessThan(200);
    expect(r.digits(5)).toMatch(/^[1-9][0-9]{4}$/);
  });

  it.each([[-1], [1.5], [NaN], [2 ** 60]])('rejects seed %p with E_INPUT', (seed) => {
    expect(() => new TaskRng(seed)).toThrow(MpcError);
  });
});
