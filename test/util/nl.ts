/**
 * Test harness for programs over Prims: runs dealer + both parties + the emulation in process,
 * asserts secure == emulation byte for byte, and asserts that the metered rounds, sent bytes
 * (frames included) and dealer bytes equal the program's declared cost (protocol/cost.ts).
 */
import { runInProcess, type InProcessResult } from '../../shared/runtime/inprocess.js';
import type { Program, ProgramInput } from '../../shared/runtime/program.js';
import { declaredCost, type Cost } from '../../shared/protocol/cost.js';
import { shapeOnly } from '../../shared/ring/tensor.js';
import { decodeArray, FRAC_BITS } from '../../shared/ring/fixed-point.js';
import { sameRing } from './rng.js';

export interface Checked {
  r: InProcessResult;
  cost: Cost;
  /** Decoded outputs of the secure run. */
  out: Float64Array[];
}

export const inp = (values: Float64Array, shape: number[], fracBits = FRAC_BITS): ProgramInput => ({
  values,
  shape,
  fracBits,
});

export async function runChecked(prog: Program, inputs: ProgramInput[]): Promise<Checked> {
  const r = await runInProcess(prog, inputs);
  r.secure.forEach((s, k) => {
    if (!sameRing(s.data, r.clear[k]!.data)) throw new Error(`output ${k}: secure and emulation differ`);
  });
  const cost = await declaredCost(async (P) =>
    prog(
      P,
      inputs.map((i) => shapeOnly(i.shape, i.fracBits)),
    ),
  );
  expect({
    rounds: r.rounds,
    sent: r.meters[0].links.peer.sentBytes,
    recv: r.meters[1].links.peer.sentBytes,
    dealer: r.dealerBytes,
  }).toEqual({ rounds: cost.rounds, sent: cost.frameBytes, recv: cost.frameBytes, dealer: cost.dealerBytes });
  return { r, cost, out: r.secure.map((s) => decodeArray(s.data, s.fracBits)) };
}

/** Largest |got − want| and where. */
export function maxAbsErr(got: ArrayLike<number>, want: ArrayLike<number>): { err: number; at: number } {
  let err = 0,
    at = -1;
  for (let i = 0; i < got.length; i++) {
    const e = Math.abs(got[i]! - want[i]!);
    if (!(e <= err)) {
      err = e;
      at = i;
    }
  }
  return { err, at };
}

/** Rounds a real to what the fixed-point encoding holds. */
export const q = (x: number, f = FRAC_BITS): number => Math.round(x * 2 ** f) / 2 ** f;
