import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { ERROR_CODES, MpcError, invariant, toMpcError } from '../../shared/util/errors.js';
import { projectPath } from '../../shared/util/paths.js';

describe('error registry', () => {
  test('docs/errors.md lists exactly the registered codes', () => {
    const doc = readFileSync(projectPath('docs', 'errors.md'), 'utf8');
    const documented = [...doc.matchAll(/^\| `(E_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });
  test('every registered code is raised somewhere in shared/ (no code is promised and never used)', () => {
    const files = (d: string): string[] =>
      readdirSync(d).flatMap((f) =>
        statSync(join(d, f)).isDirectory() ? files(join(d, f)) : f.endsWith('.ts') ? [join(d, f)] : [],
      );
    const src = files(projectPath('shared'))
      .filter((f) => !f.endsWith(join('util', 'errors.ts')))
      .map((f) => readFileSync(f, 'utf8'))
      .join('\n');
    expect(Object.keys(ERROR_CODES).filter((code) => !src.includes(`'${code}'`))).toEqual([]);
  });
  test('MpcError carries its code in the message; invariant and toMpcError', () => {
    const e = new MpcError('E_SHAPE', 'x');
    expect(e.message).toBe('E_SHAPE: x');
    expect(() => invariant(false, 'E_INTERNAL', 'boom')).toThrow(/E_INTERNAL: boom/);
    expect(toMpcError(new Error('plain')).code).toBe('E_INTERNAL');
    expect(toMpcError(e)).toBe(e);
  });
});
