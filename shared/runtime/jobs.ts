/**
 * From a public job description to the program every role runs and the inputs the client must
 * supply. Both parties and the dealer resolve the same job independently; any disagreement
 * surfaces as a correlation or protocol mismatch, never as silently wrong output.
 */
import { MpcError } from '../util/errors.js';
import type { Program } from './program.js';
import type { Job } from './wire.js';
import { getOp, type InputRng } from './ops/index.js';

export interface InputSpec {
  shape: readonly number[];
  fracBits: number;
}

export interface ResolvedJob {
  program: Program;
  inputs: InputSpec[];
}

const ZERO_RNG: InputRng = { float: () => 0, uniform: (lo) => lo, int: (lo) => lo, normal: () => 0 };

/** Bounds a job's total input size before anything is allocated. */
export const MAX_JOB_INPUT_ELEMENTS = 64 * 1024 * 1024;

export function resolveJob(job: Job): ResolvedJob {
  if (job.kind === 'op') {
    const op = getOp(job.op);
    const r = op.params.safeParse(job.params);
    if (!r.success) {
      const i = r.error.issues[0]!;
      throw new MpcError('E_INPUT', `op ${job.op}: parameter ${String(i.path[0] ?? '?')}: ${i.message}`);
    }
    const p = r.data;
    // Shapes come from the op's own input generator run on a constant source (values unused).
    const inputs = op.inputs(p, ZERO_RNG).map((i) => ({ shape: i.shape, fracBits: i.fracBits }));
    const total = inputs.reduce((s, i) => s + i.shape.reduce((a, b) => a * b, 1), 0);
    if (total > MAX_JOB_INPUT_ELEMENTS)
      throw new MpcError('E_INPUT', `op ${job.op}: ${total} input elements exceed ${MAX_JOB_INPUT_ELEMENTS}`);
    return { program: op.program(p), inputs };
  }
  throw new MpcError('E_INPUT', `job kind '${job.kind}' is not available on this server`);
}
