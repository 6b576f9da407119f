/**
 * One secure operation runnable by `npm run op -- <name>` across three real processes (and by
 * the in-process runner in tests and benchmarks). An op is public parameters + a program over
 * Prims + random inputs + a float64 reference. Parties receive only the op name and parameters
 * (validated by `params`) and shares of the inputs; the dealer receives the name and parameters.
 */
import type { z } from 'zod';
import type { Program, ProgramInput } from '../program.js';

/** Deterministic source of test inputs (seeded by the caller). */
export interface InputRng {
  float(): number;
  uniform(lo: number, hi: number): number;
  int(lo: number, hi: number): number;
  normal(): number;
}

export interface OpCheck {
  /**
   * 'exact': every decoded output element equals the reference (comparison-based ops);
   * 'abs': max |secure − reference| ≤ tol.
   */
  mode: 'exact' | 'abs';
  tol?: number;
}

export interface OpSpec<P = any> {
  readonly name: string;
  readonly summary: string;
  /** Public parameters, parsed from CLI flags (numbers) by the op command; defaults live here. */
  readonly params: z.ZodType<P>;
  /** Shape string for reports, e.g. "768x3072". */
  shape(p: P): string;
  inputs(p: P, rng: InputRng): ProgramInput[];
  program(p: P): Program;
  /** Float64 reference outputs from the (decoded) inputs. */
  reference(p: P, inputs: readonly Float64Array[]): Float64Array[];
  check(p: P): OpCheck;
}

export function defineOp<P>(op: OpSpec<P>): OpSpec<P> {
  return Object.freeze(op);
}
