/**
 * fixedMatmulClient: x · W for an input x ([K, rows] for 'nn', [K, cols] for 'nt', one group) that
 * only the client knows (client-assisted embedding, DESIGN §6). Exact; scale fracBits + W's.
 *
 * Kind `fixed.product` (fixed-product.ts) marked `client`, with `squares` when the input must be
 * one-hot rows; it declares only the check's round. The
 * client receives r (both shares) and returns x̂ = x − r: no party↔party bytes for the product,
 * client bytes 8·K·in per party each way. The client learns r, a one-time mask independent of W:
 * nothing. With `oneHotRows` the parties check in one round that x is one token per row
 * (client-check.ts: opens 96 ring elements, 0 for an honest client) before using it.
 *  1. Send r to the client; receive x̂.
 *  2. (oneHotRows) check x̂ + r is K one-hot rows.
 *  3. W·x = W_i·x̂ + Ŵ·r_i + (B·r)_i, as fixed-product.ts.
 * The emulation has no client (it reads the clear input directly), so `clear` refuses.
 */
import { MpcError, invariant } from '../../util/errors.js';
import type { Region } from '../../ring/kernels.js';
import type { FixedHandle } from '../fixed-mask.js';
import { checkOneHotRowsS } from '../client-check.js';
import { definePrimitive } from '../primitive.js';
import { FIXED_PRODUCT, fixedProductParams, type FixedProductParams } from './fixed-product.js';

export interface ClientProductOpts {
  readonly K: number;
  readonly layout: 'nt' | 'nn';
  readonly fracBits: number;
  readonly oneHotRows: boolean;
}

function params(w: FixedHandle, o: ClientProductOpts): FixedProductParams {
  invariant(w.groups === 1, 'E_SHAPE', 'client-assisted products use one group');
  return {
    ...fixedProductParams(w, o.layout, o.K, w.rowsUsed),
    client: true,
    ...(o.oneHotRows ? { squares: true } : {}),
  };
}

export const FIXED_CLIENT = definePrimitive<ClientProductOpts, FixedProductParams>({
  name: 'fixedMatmulClient',
  alwaysSecure: true,
  kind: FIXED_PRODUCT.kind,
  params: (_xs, o, [w]) => params(w!, o),
  outputs: (_p, _xs, o, [w]) => [
    { shape: [o.K, o.layout === 'nt' ? w!.rowsUsed : w!.cols], fracBits: o.fracBits + w!.fracBits },
  ],
  clear: () => {
    throw new MpcError(
      'E_INTERNAL',
      'client-assisted products do not exist in the emulation (it reads the clear input directly)',
    );
  },
  async secure(ctx, mat, { o, ws: [w] }) {
    invariant(ctx.client !== undefined, 'E_INTERNAL', 'client-assisted product without a client');
    const { K, layout } = o,
      rows = w!.rowsUsed,
      inLen = layout === 'nt' ? w!.cols : rows,
      outLen = layout === 'nt' ? rows : w!.cols;
    const r = mat.ring('r'),
      c = mat.ring('c');
    // 1. r to the client, x̂ back
    ctx.client.sendMask(r);
    const xh = await ctx.client.receiveMasked(K * inLen);
    invariant(xh.length === K * inLen, 'E_SHAPE', `client sent ${xh.length} masked elements, expected ${K * inLen}`);
    // 2. one token per row
    if (o.oneHotRows) await checkOneHotRowsS(ctx, ctx.client.challenges, xh, r, mat.ring('r2'), K, inLen);
    // 3. W_i·x̂ + Ŵ·r_i + c_i
    const out = new BigUint64Array(K * outLen),
      tmp = new BigUint64Array(K * outLen);
    const reg = (x: Region): Region => ({ offset: x.offset, length: w!.rowsCap * w!.cols });
    if (layout === 'nt') {
      ctx.kernels.matmulNT(out, xh, reg(w!.mine), K, rows, w!.cols, w!.cols);
      ctx.kernels.matmulNT(tmp, r, reg(w!.pub), K, rows, w!.cols, w!.cols);
    } else {
      ctx.kernels.matmulNN(out, xh, reg(w!.mine), K, w!.cols, rows, w!.cols);
      ctx.kernels.matmulNN(tmp, r, reg(w!.pub), K, w!.cols, rows, w!.cols);
    }
    for (let i = 0; i < out.length; i++) out[i] = out[i]! + tmp[i]! + c[i]!;
    return [out];
  },
  relation: (v, p, env) => FIXED_PRODUCT.relation(v, p, env),
  example: () => ({
    inputs: [{ shape: [5, 3], fracBits: 16, values: Float64Array.from({ length: 15 }, (_, i) => i / 8) }],
    program: async (P, [rows]) => {
      const w = await P.fixedAlloc('ex', 1, 5, 3, 16);
      await P.fixedAppend(w, rows!);
      return [await P.fixedMatmulClient(w, 2, 'nn', 0, true), await P.fixedMatmulClient(w, 1, 'nt', 16, false)];
    },
    inProcess: false,
  }),
});
