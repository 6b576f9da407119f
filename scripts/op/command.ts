/**
 * The command line of `npm run op -- <name> [flags]`: its flags depend on the op, so the command is
 * built after reading the op name (the first word): the op's own parameters (its `params` zod
 * object, shared/runtime/ops) merged with the runner's flags. The op's object is parsed once more
 * on the parameters alone, so its cross-field rules (`lo and hi must be even`) hold too.
 */
import { z } from 'zod';
import type { CommandSpec } from '../../shared/config/index.js';
import { DEFAULT_LIMITS } from '../../shared/net/limits.js';
import { getOp, OPS, type OpSpec } from '../../shared/runtime/ops/index.js';
import { parseOpParams } from '../../shared/runtime/op-runner.js';
import { MpcError, invariant } from '../../shared/util/index.js';

const RUNNER = {
  seed: z
    .number()
    .int()
    .nonnegative()
    .optional()
    .describe('seed of the random inputs (default: a random one, printed in the result)'),
  timeoutMs: z
    .number()
    .int()
    .positive()
    .default(DEFAULT_LIMITS.timeoutMs)
    .describe('deadline of any wait on another process'),
  inProcess: z.boolean().default(false).describe('run the dealer and both parties in this process'),
  breakdown: z.boolean().default(false).describe('add online bytes and rounds per protocol step'),
  logLevel: z.string().optional().describe("the processes' log level (their stderr is shown when given)"),
};

export type RunnerFlags = z.infer<z.ZodObject<typeof RUNNER>>;

type Flags = Record<string, z.ZodType>;

const USAGE = 'npm run op -- <name> [op parameters] [--seed n] [--in-process] [--breakdown]';

/** The command before an op is named: --help lists the ops. */
export const OP_INDEX: CommandSpec<Flags> = {
  usage: USAGE,
  summary:
    'Runs one secure op across the dealer and both parties as processes on loopback, checks it against float64 and prints ' +
    `one JSON line (error, time, bytes, rounds). \`npm run op -- <name> --help\` lists the op's parameters. Ops:\n${OPS.map((o) => `  ${o.name.padEnd(12)} ${o.summary}`).join('\n')}`,
  flags: z.object(RUNNER),
  positionals: ['name'],
};

/** The command of one op: its parameters as flags, beside the runner's. */
export function opCommand(op: OpSpec): CommandSpec<Flags> {
  invariant(
    op.params instanceof z.ZodObject,
    'E_INTERNAL',
    `op ${op.name}: params must be a zod object (its keys are the flags)`,
  );
  const shape = op.params.shape as Flags;
  for (const k of Object.keys(RUNNER))
    invariant(!(k in shape), 'E_INTERNAL', `op ${op.name}: parameter ${k} is also a runner flag`);
  return {
    usage: USAGE.replace('<name>', op.name),
    summary: `${op.name}: ${op.summary}`,
    flags: z.object({ ...shape, ...RUNNER }),
    positionals: ['name'],
  };
}

/**
 * The command for argv: the op named by its first word, or the index when there is none.
 * @throws MpcError E_INPUT for an unknown op.
 */
export function commandOf(argv: readonly string[]): { op?: OpSpec; spec: CommandSpec<Flags> } {
  const name = argv[0];
  if (name === undefined || name.startsWith('-')) return { spec: OP_INDEX };
  const op = getOp(name);
  return { op, spec: opCommand(op) };
}

/**
 * Splits an op command's parsed flags into the op's parameters (checked by the op's own schema)
 * and the runner's flags.
 * @throws MpcError E_CONFIG naming a bad parameter or an extra argument.
 */
export function splitOpFlags(
  op: OpSpec,
  flags: Record<string, unknown>,
  positionals: readonly string[],
): { params: Record<string, unknown>; runner: RunnerFlags } {
  if (positionals.length > 1)
    throw new MpcError('E_CONFIG', `unexpected argument '${positionals[1]}' after the op name (see --help)`);
  const params = Object.fromEntries(Object.entries(flags).filter(([k]) => !(k in RUNNER)));
  parseOpParams(op, params);
  return { params, runner: flags as RunnerFlags };
}
