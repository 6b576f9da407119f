import { readFileSync } from 'node:fs';
import { ERROR_CODES, MpcError, invariant, toMpcError } from '../../shared/util/errors.js';
import { projectPath } from '../../shared/util/paths.js';

describe('error registry', () => {
  test('docs/errors.md lists exactly the registered codes', () => {
    const doc = readFileSync(projectPath('docs', 'errors.md'), 'utf8');
    const documented = [...doc.matchAll(/^\| `(E_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });
  test('MpcError carries its code in the message; invariant and toMpcError', () => {
    const e = new MpcError('E_SHAPE', 'x');
    expect(e.message).toBe('E_SHAPE: x');
    expect(() => invariant(false, 'E_INTERNAL', 'boom')).toThrow(/E_INTERNAL: boom/);
    expect(toMpcError(new Error('plain')).code).toBe('E_INTERNAL');
    expect(toMpcError(e)).toBe(e);
  });
});
