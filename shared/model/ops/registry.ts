/**
 * Backends selectable by name for plaintext runs (eval, reference checks). The secure backend is
 * not listed: it runs inside the party runtime, never from a single process.
 *
 * A name that maps to `null` is planned but not built yet; asking for it is a clear E_CONFIG error
 * rather than a silent fallback to another backend.
 */
import { MpcError } from '../../util/index.js';
import { floatOps } from './float.js';
import { fixedOps } from '../ring/recipes.js';
import type { Ops, PlainTypes } from './types.js';

interface BackendEntry {
  readonly description: string;
  readonly ops: Ops<PlainTypes> | null;
  /** Backends with state (an arena) are built fresh per use. */
  readonly make?: () => Ops<PlainTypes>;
}

const BACKENDS: Readonly<Record<string, BackendEntry>> = {
  float64: { description: 'float64 plaintext reference', ops: floatOps },
  fixed: {
    description: 'fixed-point emulation, Z_2^64 with 16 fractional bits',
    ops: null,
    make: () => fixedOps() as unknown as Ops<PlainTypes>,
  },
};

/** Names of every known plaintext backend, available or not. */
export function plainBackendNames(): string[] {
  return Object.keys(BACKENDS);
}

/**
 * The backend registered under `name`.
 * @throws MpcError E_CONFIG if the name is unknown or the backend is not available yet.
 */
export function plainBackend(name: string): Ops<PlainTypes> {
  const entry = Object.prototype.hasOwnProperty.call(BACKENDS, name) ? BACKENDS[name] : undefined;
  if (entry === undefined) {
    throw new MpcError('E_CONFIG', `unknown backend "${name}" (known: ${plainBackendNames().join(', ')})`);
  }
  if (entry.make) return entry.make();
  if (entry.ops === null)
    throw new MpcError('E_CONFIG', `backend "${name}" (${entry.description}) is not available yet`);
  return entry.ops;
}
