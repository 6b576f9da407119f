/** Token input/output of the fixed-point emulation: plain ids, table rows looked up directly. */
import { invariant } from '../../util/errors.js';
import type { Clear } from '../../ring/tensor.js';
import type { ClearFixed } from '../../protocol/prims/clear.js';
import type { Prims } from '../../protocol/prims/types.js';
import type { RingTokenIO } from './ops.js';

/**
 * A one-hot row times the embedding matrix is exactly that row, so reading rows gives the ring
 * values the secure client-assisted product computes.
 */
export const CLEAR_TOKEN_IO: RingTokenIO<Clear, ClearFixed, readonly number[]> = {
  async embedTokens(P: Prims<Clear, ClearFixed>, wte: ClearFixed, tokens: readonly number[]): Promise<Clear> {
    for (const t of tokens)
      invariant(
        Number.isInteger(t) && t >= 0 && t < wte.rowsUsed,
        'E_INPUT',
        `token id ${t} is outside the vocabulary of ${wte.rowsUsed}`,
      );
    return P.reshape(P.fixedRows(wte, tokens), [tokens.length, wte.cols]);
  },
  async emitTokens(_P: Prims<Clear, ClearFixed>, idx: Clear): Promise<readonly number[]> {
    return Array.from(idx.data, (v) => Number(BigInt.asIntN(64, v)));
  },
};
