/**
 * Runs a program with all three roles in one process over in-memory links: dealer (DealerPrims,
 * streaming party 1's corrections over a link), party 0 and party 1 (SecurePrims), plus the
 * clear emulation. Used by protocol tests for breadth and by quick benchmarks; the real
 * multi-process path is runtime/ with ws sockets.
 */
import { Kernels } from '../ring/kernels.js';
import { Prg, randomSeed } from '../ring/prg.js';
import { clear, share, shapeOnly, type Clear, type ShapeOnly, type Share } from '../ring/tensor.js';
import { encodeArray } from '../ring/fixed-point.js';
import { Link, memoryPair } from '../net/link.js';
import { Meter, type MeterReport } from '../net/meter.js';
import { DealerEnv } from '../corr/env.js';
import { DealerCorrSink, PartyCorrStream } from '../corr/stream.js';
import { PeerChannel, type PartyCtx } from '../protocol/ctx.js';
import { SecurePrims } from '../protocol/prims/secure.js';
import { ClearPrims } from '../protocol/prims/clear.js';
import { DealerPrims } from '../protocol/prims/dealer.js';
import type { Program, ProgramInput } from './program.js';

export interface InProcessResult {
  /** Reconstructed outputs of the secure run (ring values). */
  secure: Clear[];
  /** Outputs of the clear emulation. */
  clear: Clear[];
  meters: [MeterReport, MeterReport];
  /** Dealer bytes sent to party 1 (corrections, excluding frame headers). */
  dealerBytes: number;
  rounds: number;
  ms: number;
}

const LIMITS = { maxFrameBytes: 1 << 30, timeoutMs: 60_000 };

export function splitShares(x: BigUint64Array, prg: Prg): [BigUint64Array, BigUint64Array] {
  const x0 = prg.ring(x.length),
    x1 = new BigUint64Array(x.length);
  for (let i = 0; i < x.length; i++) x1[i] = x[i]! - x0[i]!;
  return [x0, x1];
}

/** In-memory links: party 0 with party 1 (each metered), and the dealer to party 1 (metered at party 1). */
interface Links {
  readonly meters: [Meter, Meter];
  readonly peer0: Link;
  readonly peer1: Link;
  readonly dealerToP1: Link;
  readonly p1FromDealer: Link;
}

function memoryLinks(): Links {
  const [t01, t10] = memoryPair();
  const [td1, t1d] = memoryPair();
  const meters: [Meter, Meter] = [new Meter(), new Meter()];
  return {
    meters,
    peer0: new Link(t01, { name: 'peer', remote: 'party 1', meter: meters[0], ...LIMITS }),
    peer1: new Link(t10, { name: 'peer', remote: 'party 0', meter: meters[1], ...LIMITS }),
    dealerToP1: new Link(td1, { name: 'dealer', remote: 'party 1', ...LIMITS }),
    p1FromDealer: new Link(t1d, { name: 'dealer', remote: 'dealer', meter: meters[1], ...LIMITS }),
  };
}

/** Both parties' contexts: party 0 derives everything from its seed, party 1 also reads the dealer's corrections. */
function partyContexts(links: Links, seeds: readonly [Uint8Array, Uint8Array], session: string): [PartyCtx, PartyCtx] {
  const { meters } = links;
  const ctxOf = (me: 0 | 1, link: Link, meter: Meter, corr: PartyCorrStream): PartyCtx => {
    const ch = new PeerChannel(link, meter, () => corr);
    return { me, kernels: new Kernels(), corr, meter, exchange: (s, p) => ch.exchange(s, p) };
  };
  const c0 = new PartyCorrStream(0, seeds[0], session, undefined);
  const c1 = new PartyCorrStream(1, seeds[1], session, links.p1FromDealer, meters[1]);
  return [ctxOf(0, links.peer0, meters[0], c0), ctxOf(1, links.peer1, meters[1], c1)];
}

/** Runs the program as party 0, party 1 (on their shares of the inputs) and the dealer (on their shapes) at once. */
function runRoles(
  program: Program,
  inputs: readonly ProgramInput[],
  shares: ReadonlyArray<[BigUint64Array, BigUint64Array]>,
  ctx: [PartyCtx, PartyCtx],
  sink: DealerCorrSink,
): Promise<[Share[], Share[], ShapeOnly[]]> {
  return Promise.all([
    program(
      new SecurePrims(ctx[0]),
      inputs.map((inp, k) => share(inp.shape, shares[k]![0], inp.fracBits)),
    ),
    program(
      new SecurePrims(ctx[1]),
      inputs.map((inp, k) => share(inp.shape, shares[k]![1], inp.fracBits)),
    ),
    program(
      new DealerPrims(sink),
      inputs.map((inp) => shapeOnly(inp.shape, inp.fracBits)),
    ),
  ]);
}

/** Adds the parties' output shares. */
function reconstruct(o0: readonly Share[], o1: readonly Share[]): Clear[] {
  return o0.map((s0, k) => {
    const s1 = o1[k]!;
    const v = new BigUint64Array(s0.data.length);
    for (let i = 0; i < v.length; i++) v[i] = s0.data[i]! + s1.data[i]!;
    return clear(s0.shape, v, s0.fracBits);
  });
}

export async function runInProcess(
  program: Program,
  inputs: readonly ProgramInput[],
  opts: { seed?: Uint8Array } = {},
): Promise<InProcessResult> {
  const seedPrg = new Prg(opts.seed ?? randomSeed(), 99n);
  const seed0 = seedPrg.bytes(16),
    seed1 = seedPrg.bytes(16);
  const session = 'inproc';
  const encoded = inputs.map((i) => encodeArray(i.values, i.fracBits));

  // clear emulation
  const clearOut = await program(
    new ClearPrims(new Kernels()),
    inputs.map((inp, k) => clear(inp.shape, encoded[k]!, inp.fracBits)),
  );

  const links = memoryLinks();
  const { meters } = links;
  const sink = new DealerCorrSink(seed0, seed1, session, links.dealerToP1, new DealerEnv(new Kernels()), 64 << 20);
  const creditPump = sink.readCredit();
  const ctx = partyContexts(links, [seed0, seed1], session);

  const shares = encoded.map((e) => splitShares(e, seedPrg));
  for (const m of meters) m.setPhase('online');
  const t0 = performance.now();
  const [o0, o1] = await runRoles(program, inputs, shares, ctx, sink);
  const ms = performance.now() - t0;
  const secure = reconstruct(o0, o1);
  for (const l of [links.peer0, links.peer1, links.dealerToP1, links.p1FromDealer]) l.close();
  await creditPump;
  return {
    secure,
    clear: clearOut as Clear[],
    meters: [meters[0].report(), meters[1].report()],
    dealerBytes: sink.dealtBytes,
    rounds: meters[0].report().links.peer.rounds,
    ms,
  };
}
