/**
 * A deliberately simple RingNonlinear for plumbing tests of the generation runtime: cheap,
 * deterministic stand-ins (centering instead of LayerNorm, ReLU instead of GeLU, masking instead
 * of softmax) plus a real argmax. Secure and emulated runs of the same program must agree bit for
 * bit whatever the functions are; model quality is not what these tests measure.
 */
import { FRAC_BITS } from '../../shared/ring/fixed-point.js';
import type { AnyTensor } from '../../shared/ring/tensor.js';
import type { FixedHandle, Prims } from '../../shared/protocol/prims/types.js';
import type { RingNonlinear } from '../../shared/model/ring/ops.js';

const F = FRAC_BITS;

/** Row-wise argmax by a tournament of adjacent pairs (left wins ties, so the lowest index wins). */
export async function argmaxRows<T extends AnyTensor, Fx extends FixedHandle>(P: Prims<T, Fx>, x: T): Promise<T> {
  const n0 = x.shape[x.shape.length - 1]!,
    R = x.shape.slice(0, -1).reduce((a, b) => a * b, 1);
  let v = P.reshape(x, [R, n0]);
  let idx = P.constant(
    [R, n0],
    Float64Array.from({ length: n0 }, (_, i) => i),
    0,
  );
  let n = n0;
  while (n > 1) {
    const h = Math.floor(n / 2);
    const pairV = P.reshape(P.sliceLast(v, 0, 2 * h), [R * h, 2]),
      pairI = P.reshape(P.sliceLast(idx, 0, 2 * h), [R * h, 2]);
    const a = P.sliceLast(pairV, 0, 1),
      b = P.sliceLast(pairV, 1, 2);
    const ia = P.sliceLast(pairI, 0, 1),
      ib = P.sliceLast(pairI, 1, 2);
    const d = P.sub(a, b);
    const { prods } = await P.cmpMul(d, [d, P.sub(ia, ib)]);
    let nv = P.reshape(P.add(b, prods[0]!), [R, h]),
      ni = P.reshape(P.add(ib, prods[1]!), [R, h]);
    if (n % 2 === 1) {
      nv = P.concatLast([nv, P.sliceLast(v, n - 1, n)]);
      ni = P.concatLast([ni, P.sliceLast(idx, n - 1, n)]);
    }
    v = nv;
    idx = ni;
    n = h + (n % 2);
  }
  return P.reshape(idx, x.shape.slice(0, -1));
}

export const SIMPLE_NL: RingNonlinear = {
  async layerNorm(P, x) {
    const d = x.shape[x.shape.length - 1]!;
    const mean = await P.trunc(P.mulPublic(P.sumLast(x), 1 / d, F), F);
    return P.sub(x, P.repeatLast(mean, d));
  },
  async gelu(P, x) {
    return (await P.cmpMul(x, [x])).prods[0]!;
  },
  async softmax(P, x, valid) {
    const n = x.shape[x.shape.length - 1]!;
    const mask = new Float64Array(valid.length * n);
    valid.forEach((v, r) => mask.fill(1, r * n, r * n + v));
    return P.mulPublic(x, mask, 0);
  },
  argmax: (P, x) => argmaxRows(P, x),
};
