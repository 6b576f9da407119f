/**
 * The one-way stack of shared/ (STYLE §1): a folder imports only from folders above it in
 * this list, and model/ and kvcache/ never import net/ or corr/ directly.
 */
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative, dirname, resolve } from 'node:path';
import { projectPath } from '../../shared/util/paths.js';

const ORDER = ['util', 'config', 'ring', 'net', 'corr', 'protocol', 'model', 'kvcache', 'tasks', 'runtime', 'netem'];
const FORBIDDEN: Record<string, string[]> = { model: ['net', 'corr'], kvcache: ['net', 'corr'] };

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('shared/ imports point only down the stack', () => {
  const root = projectPath('shared');
  const bad: string[] = [];
  for (const f of files(root)) {
    const from = relative(root, f).split('/')[0]!;
    const src = readFileSync(f, 'utf8');
    for (const m of src.matchAll(/from '(\.[^']+)'/g)) {
      const target = relative(root, resolve(dirname(f), m[1]!)).split('/')[0]!;
      if (target === from || target.startsWith('..')) continue;
      if (ORDER.indexOf(target) > ORDER.indexOf(from) || ORDER.indexOf(target) < 0)
        bad.push(`${relative(root, f)} → ${target}`);
      if (FORBIDDEN[from]?.includes(target)) bad.push(`${relative(root, f)} → ${target} (forbidden)`);
    }
  }
  expect(bad).toEqual([]);
});
