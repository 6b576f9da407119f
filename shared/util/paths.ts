/** Locates files of the checkout the same way from sources (jest) and from dist/ (node). */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | undefined;

/** The folder holding this project's package.json. */
export function projectRoot(): string {
  if (cached !== undefined) return cached;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'shared'))) return (cached = dir);
    const up = resolve(dir, '..');
    if (up === dir) throw new Error('project root not found above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
}

export function projectPath(...parts: string[]): string {
  return join(projectRoot(), ...parts);
}
