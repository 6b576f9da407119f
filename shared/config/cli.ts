/**
 * The one command-line parser of the project: `node:util` parseArgs reads the syntax, a zod object
 * says what each flag means. Every command (the three servers, the client and every script)
 * declares its flags once, as a zod object whose keys are the camelCase flag names and whose
 * `.describe()` texts are the `--help` lines:
 *
 *   --max-new-tokens 8   → maxNewTokens: 8      (numbers are converted only for number fields:
 *   --host 8080          → host: '8080'          a string field keeps digits as text)
 *   --clusters 4,2       → clusters: [4, 2]      (arrays: comma-separated)
 *   --lo -4              → lo: -4                (a number flag takes a negative value)
 *   --json, --no-check, --check=false           (booleans; `--no-x` sets x to false; a boolean
 *                                                declared as `noX`, e.g. --no-share, is a flag of its own)
 *
 * Unknown flags, a missing value and a value of the wrong type are E_CONFIG errors that name the
 * flag. Servers also read a JSON config file (`--config f.json`, keys as the camelCase flag names)
 * and environment variables (`MPC_` + the flag in UPPER_SNAKE, e.g. MPC_TLS_CERT); command line >
 * environment > config file > defaults. Unknown keys in a config file are errors too.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { MpcError } from '../util/errors.js';

type Shape = Record<string, z.ZodType>;

export interface CommandSpec<S extends Shape> {
  /** As typed by the user, e.g. `npm start --` or `node dist/party0/main.js`. */
  readonly usage: string;
  /** One paragraph for --help. */
  readonly summary: string;
  readonly flags: z.ZodObject<S>;
  /** Names of positional arguments (for --help); none allowed when absent. */
  readonly positionals?: readonly string[];
  /** Servers: accept `--config <file.json>` and MPC_* environment variables. */
  readonly configFile?: boolean;
}

export type Parsed<S extends Shape> =
  { help: true; text: string } | { help: false; flags: z.infer<z.ZodObject<S>>; positionals: string[] };

type Base = 'string' | 'number' | 'boolean' | 'list-number' | 'list-string' | 'enum';

/** The underlying type of a (possibly optional, defaulted, refined) zod field. */
function baseOf(field: z.ZodType): Base {
  let t: z.ZodType = field;
  for (;;) {
    if (t instanceof z.ZodDefault || t instanceof z.ZodOptional || t instanceof z.ZodNullable)
      t = t.unwrap() as z.ZodType;
    else if (t instanceof z.ZodPipe) t = t.in as z.ZodType;
    else break;
  }
  if (t instanceof z.ZodNumber) return 'number';
  if (t instanceof z.ZodBoolean) return 'boolean';
  if (t instanceof z.ZodEnum || t instanceof z.ZodLiteral) return 'enum';
  if (t instanceof z.ZodArray) return t.element instanceof z.ZodNumber ? 'list-number' : 'list-string';
  return 'string';
}

export const kebab = (k: string): string => k.replace(/[A-Z]/g, (c) => '-' + c.toLowerCase());
const camel = (k: string): string => k.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());
const envName = (k: string): string => 'MPC_' + kebab(k).replace(/-/g, '_').toUpperCase();

const NUMBER = /^[-+]?(\d+(\.\d*)?|\.\d+)(e[-+]?\d+)?$/i;

function toNumber(flag: string, v: string): number {
  if (!NUMBER.test(v.trim()))
    throw new MpcError('E_CONFIG', `--${kebab(flag)} must be a number (got '${v.slice(0, 40)}')`);
  return Number(v);
}

/** A text value (command line or environment) as the field's type. */
function convert(flag: string, base: Base, v: string | boolean): unknown {
  if (typeof v === 'boolean') return v;
  switch (base) {
    case 'number':
      return toNumber(flag, v);
    case 'boolean':
      if (v === 'true' || v === '1') return true;
      if (v === 'false' || v === '0') return false;
      throw new MpcError('E_CONFIG', `--${kebab(flag)} must be true or false (got '${v.slice(0, 40)}')`);
    case 'list-number':
      return v.split(',').map((x) => toNumber(flag, x));
    case 'list-string':
      return v.split(',').map((x) => x.trim());
    default:
      return v;
  }
}

function describe(field: z.ZodType): string {
  const d = field.description ?? '';
  const def = field instanceof z.ZodDefault ? (field.def.defaultValue as unknown) : undefined;
  return def === undefined ? d : `${d}${d ? ' ' : ''}(default: ${Array.isArray(def) ? def.join(',') : String(def)})`;
}

/** The --help text of a command. */
export function helpText<S extends Shape>(cmd: CommandSpec<S>): string {
  const lines = [`usage: ${cmd.usage}`, '', cmd.summary, '', 'flags:'];
  const all: Array<[string, string]> = Object.entries(cmd.flags.shape).map(([k, f]) => {
    const base = baseOf(f);
    const arg = base === 'boolean' ? '' : base.startsWith('list') ? ' a,b,…' : base === 'number' ? ' n' : ' value';
    return [`  --${kebab(k)}${arg}`, describe(f)];
  });
  if (cmd.configFile)
    all.push([
      '  --config file.json',
      'read flags from a JSON file (keys: the camelCase flag names); MPC_<FLAG> environment variables too',
    ]);
  all.push(['  --help', 'this text']);
  const w = Math.min(34, Math.max(...all.map(([a]) => a.length)) + 2);
  for (const [a, d] of all) lines.push(a.length >= w ? `${a}\n${' '.repeat(w)}${d}` : `${a.padEnd(w)}${d}`);
  return lines.join('\n') + '\n';
}

/** Values from a JSON config file, checked against the declared flags. */
function readConfigFile(path: string, shape: Shape): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    throw new MpcError('E_CONFIG', `config file ${path}: ${(e as Error).message}`);
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new MpcError('E_CONFIG', `config file ${path}: expected a JSON object`);
  const unknown = Object.keys(raw).filter((k) => !(k in shape));
  if (unknown.length)
    throw new MpcError(
      'E_CONFIG',
      `config file ${path}: unknown key${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `'${k}'`).join(', ')}`,
    );
  return raw as Record<string, unknown>;
}

type Options = Record<string, { type: 'string' | 'boolean' }>;

/** node:util parseArgs options of a command, and the base type of each flag. */
function optionsOf<S extends Shape>(cmd: CommandSpec<S>): { options: Options; bases: Map<string, Base> } {
  const options: Options = { help: { type: 'boolean' } };
  const bases = new Map<string, Base>();
  const declare = (flag: string, type: 'string' | 'boolean'): void => {
    // a boolean declared as `noX` (the --no-share ablation) is a flag of its own; a boolean `x` beside it would make --no-x ambiguous
    if (flag in options)
      throw new MpcError(
        'E_INTERNAL',
        `${cmd.usage}: --${flag} is declared twice (a flag and the negation of another)`,
      );
    options[flag] = { type };
  };
  for (const [k, f] of Object.entries(cmd.flags.shape as Shape)) {
    bases.set(k, baseOf(f));
    declare(kebab(k), bases.get(k) === 'boolean' ? 'boolean' : 'string');
  }
  for (const [k, base] of bases) if (base === 'boolean') declare(`no-${kebab(k)}`, 'boolean');
  if (cmd.configFile) declare('config', 'string');
  return { options, bases };
}

/** The E_CONFIG error for the first zod issue, naming the flag (and, for servers, where else it can be set). */
function issueError<S extends Shape>(
  cmd: CommandSpec<S>,
  issue: z.core.$ZodIssue,
  input: Record<string, unknown>,
): MpcError {
  if (issue.path.length === 0) return new MpcError('E_CONFIG', issue.message);
  const key = String(issue.path[0]);
  if (input[key] !== undefined) return new MpcError('E_CONFIG', `--${kebab(key)}: ${issue.message}`);
  const where = cmd.configFile ? ` (flag --${kebab(key)}, config key '${key}' or ${envName(key)})` : '';
  return new MpcError('E_CONFIG', `--${kebab(key)} is required${where}`);
}

/**
 * What parseArgs would misread: `--flag=false` for a boolean flag reads as `--no-flag`, and a
 * negative number after a number flag (`--lo -4`) is its value, not an option.
 */
function normalise(argv: readonly string[], bases: ReadonlyMap<string, Base>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!,
      m = /^--([a-z0-9-]+)(?:=(true|false))?$/.exec(a),
      base = m ? bases.get(camel(m[1]!)) : undefined;
    if (base === 'boolean' && m![2] !== undefined) out.push(m![2] === 'true' ? `--${m![1]}` : `--no-${m![1]}`);
    else if ((base === 'number' || base === 'list-number') && m![2] === undefined && /^-[\d.]/.test(argv[i + 1] ?? ''))
      out.push(`${a}=${argv[++i]}`);
    else out.push(a);
  }
  return out;
}

/**
 * Parses argv (without node and script) for a command.
 * @throws MpcError E_CONFIG naming the flag at fault.
 */
export function parseCommand<S extends Shape>(
  cmd: CommandSpec<S>,
  argv: readonly string[],
  env: NodeJS.ProcessEnv = process.env,
): Parsed<S> {
  const { options, bases } = optionsOf(cmd);
  const args = normalise(argv, bases);
  let values: Record<string, string | boolean | undefined>, positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options,
      strict: true,
      allowPositionals: (cmd.positionals?.length ?? 0) > 0,
    }) as { values: Record<string, string | boolean | undefined>; positionals: string[] });
  } catch (e) {
    throw new MpcError(
      'E_CONFIG',
      `${(e as Error).message.replace(/\. To specify a positional.*$/s, '')} (see --help)`,
    );
  }
  if (values['help'] === true) return { help: true, text: helpText(cmd) };
  const input: Record<string, unknown> =
    cmd.configFile && typeof values['config'] === 'string' ? readConfigFile(values['config'], cmd.flags.shape) : {};
  for (const [k, base] of bases) {
    const fromEnv = cmd.configFile ? env[envName(k)] : undefined;
    if (fromEnv !== undefined) input[k] = convert(k, base, fromEnv);
    const v = values[kebab(k)];
    if (v !== undefined) input[k] = convert(k, base, v);
    if (values[`no-${kebab(k)}`] === true) input[k] = false;
  }
  const r = cmd.flags.safeParse(input);
  if (!r.success) throw issueError(cmd, r.error.issues[0]!, input);
  return { help: false, flags: r.data, positionals };
}

/**
 * parseCommand for a process entry point: prints --help and exits 0, or returns the flags.
 * @throws MpcError E_CONFIG as parseCommand.
 */
export function commandFlags<S extends Shape>(
  cmd: CommandSpec<S>,
  argv: readonly string[] = process.argv.slice(2),
): { flags: z.infer<z.ZodObject<S>>; positionals: string[] } {
  const p = parseCommand(cmd, argv);
  if (p.help) {
    process.stdout.write(p.text);
    process.exit(0);
  }
  return p;
}
