import { MpcError } from '../../shared/util/index.js';

/** The MpcError `f` throws (any other error is rethrown; no error fails the test). */
export function errorOf(f: () => unknown): MpcError {
  try {
    f();
  } catch (e) {
    if (e instanceof MpcError) return e;
    throw e;
  }
  throw new Error('no error');
}
