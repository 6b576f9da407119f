/**
 * STYLE §2/§4: only `open*` makes a value public. Every call of a context's `exchange` is in
 * shared/protocol/open.ts; the only other occurrences are the runtimes wiring a context's
 * `exchange` to its peer channel (protocol/ctx.ts) and SecurePrims forwarding the openings of a
 * batched round (prims/batch.ts) in one frame. A new direct call fails here.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { projectPath } from '../../shared/util/paths.js';

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('every opening goes through protocol/open.ts', () => {
  const root = projectPath('shared'),
    stray: string[] = [];
  for (const f of files(root)) {
    const rel = relative(root, f);
    if (rel === join('protocol', 'open.ts')) continue;
    const forwards = rel === join('protocol', 'prims', 'secure.ts');
    readFileSync(f, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (forwards && /await ctx\.exchange\(\{ tag, split \}, parts\)/.test(line)) return;
        if (/\.exchange\(/.test(line) && !/\bexchange: \(\w+, \w+\) => \w+\.exchange\(\w+, \w+\)/.test(line))
          stray.push(`${rel}:${i + 1}: ${line.trim()}`);
      });
  }
  expect(stray).toEqual([]);
  expect(readFileSync(projectPath('shared', 'protocol', 'open.ts'), 'utf8')).toMatch(/ctx\.exchange\(/);
});
