/** Validation of TaskOptions at the generator boundary, with per-task defaults and limits. */
import { MpcError } from '../util/index.js';
import type { TaskRng } from './rng.js';
import type { Haystack, Placement, TaskOptions } from './types.js';

/** Longest sample any generator builds; far above any model's positions, it only bounds work. */
export const MAX_LENGTH = 1 << 18;

export interface Resolved {
  length: number;
  seed: number;
  placement: Placement;
  depth: number;
  numQueries: number;
  numDistractors: number;
  hops: number;
  haystack: Haystack;
}

export interface Limits {
  numQueries: { default: number; min: number; max: number };
  numDistractors: { default: number; min: number; max: number };
  hops?: { default: number; min: number; max: number };
  haystack: Haystack;
}

function bad(task: string, what: string): never {
  throw new MpcError('E_INPUT', `task ${task}: ${what}`);
}

function intIn(task: string, name: string, v: unknown, lo: number, hi: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < lo || v > hi) {
    bad(task, `${name} must be an integer in [${lo}, ${hi}]`);
  }
  return v;
}

/**
 * Checks `opts` and fills defaults; a random depth is drawn from `rng` here so that it is part of the
 * seeded stream.
 * @throws MpcError E_INPUT naming the offending option.
 */
export function resolveOptions(task: string, opts: TaskOptions, limits: Limits, rng: TaskRng): Resolved {
  if (typeof opts !== 'object' || opts === null) bad(task, 'options must be an object');
  const length = intIn(task, 'length', opts.length, 1, MAX_LENGTH);
  const seed = intIn(task, 'seed', opts.seed, 0, Number.MAX_SAFE_INTEGER);
  const placement = opts.placement ?? 'prompt';
  if (placement !== 'prompt' && placement !== 'decode') bad(task, "placement must be 'prompt' or 'decode'");
  const haystack = opts.haystack ?? limits.haystack;
  if (haystack !== 'noise' && haystack !== 'text') bad(task, "haystack must be 'noise' or 'text'");
  const d = opts.depth ?? 'random';
  let depth: number;
  if (d === 'random') depth = rng.float();
  else if (typeof d === 'number' && Number.isFinite(d) && d >= 0 && d <= 1) depth = d;
  else bad(task, "depth must be a number in [0, 1] or 'random'");
  const q = limits.numQueries;
  const numQueries = intIn(task, 'numQueries', opts.numQueries ?? q.default, q.min, q.max);
  const nd = limits.numDistractors;
  const numDistractors = intIn(task, 'numDistractors', opts.numDistractors ?? nd.default, nd.min, nd.max);
  const h = limits.hops ?? { default: 1, min: 1, max: 1 };
  const hops = intIn(task, 'hops', opts.hops ?? h.default, h.min, h.max);
  return { length, seed, placement, depth, numQueries, numDistractors, hops, haystack };
}
