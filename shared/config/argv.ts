/**
 * Command-line flags: `--name value`, `--flag` (boolean true) and positionals, parsed once and
 * validated with zod. Numbers are converted where the schema expects them; unknown flags are
 * rejected with E_CONFIG so a typo never silently falls back to a default.
 */
import { z } from 'zod';
import { MpcError } from '../util/errors.js';

export interface ParsedArgv {
  positional: string[];
  flags: Record<string, string | true>;
}

export function splitArgv(argv: readonly string[]): ParsedArgv {
  const positional: string[] = [];
  const flags: Record<string, string | true> = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith('--')) {
      const eq = a.indexOf('=');
      const name = (eq >= 0 ? a.slice(2, eq) : a.slice(2)).replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
      if (!name) throw new MpcError('E_CONFIG', `bad flag '${a}'`);
      if (eq >= 0) flags[name] = a.slice(eq + 1);
      else if (i + 1 < argv.length && !argv[i + 1]!.startsWith('--')) flags[name] = argv[++i]!;
      else flags[name] = true;
    } else positional.push(a);
  }
  return { positional, flags };
}

/** Converts numeric-looking strings to numbers and 'true'/'false' to booleans for zod. */
function coerce(v: string | true): unknown {
  if (v === true) return true;
  if (v === 'true') return true;
  if (v === 'false') return false;
  if (/^-?\d+(\.\d+)?(e-?\d+)?$/i.test(v)) return Number(v);
  return v;
}

/** Validates flags against an object schema; unknown flags are an error. */
export function parseFlags<S extends z.ZodObject<z.ZodRawShape>>(schema: S, flags: Record<string, string | true>, what: string): z.infer<S> {
  const known = new Set(Object.keys(schema.shape));
  for (const k of Object.keys(flags)) {
    if (!known.has(k)) throw new MpcError('E_CONFIG', `${what}: unknown flag --${k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())} (known: ${[...known].map((n) => '--' + n.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase())).join(', ')})`);
  }
  const input: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(flags)) {
    const field = schema.shape[k];
    // keep strings for string-typed flags (e.g. a prompt that looks like a number)
    input[k] = field instanceof z.ZodString || (field instanceof z.ZodOptional && field.unwrap() instanceof z.ZodString) ? (v === true ? '' : v) : coerce(v);
  }
  const r = schema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new MpcError('E_CONFIG', `${what}: --${String(i.path[0] ?? '?')}: ${i.message}`);
  }
  return r.data;
}
