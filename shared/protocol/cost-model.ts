/**
 * The cost model that picks a design per operation (nonlinear/design.ts): a program's declared
 * cost (cost.ts) turned into seconds on a named network, so that LAN and WAN runs can choose
 * differently. Public and deterministic: every role evaluates the same candidates on the same
 * public shapes and picks the same one (ties go to the earlier candidate).
 *
 *   time = rounds · oneWay + (online bytes per direction + dealer bytes) / bandwidth
 *
 * A round costs one one-way delay: both parties send at once and each waits only for the other's
 * frame. Online bytes are one direction's frames (both directions flow at once). Dealer bytes
 * (party 1's corrections) are charged at the same bandwidth as if they shared the link: on a real
 * network the dealer's link carries them, and a dealer streaming ahead only hides them while they
 * fit in the time the parties spend anyway, which this conservative sum ignores.
 *
 * | network | round trip | one-way | bandwidth   | one round ≈ |
 * |---------|------------|---------|-------------|-------------|
 * | lan     | 0.5 ms     | 0.25 ms | 1 Gbit/s    | 31 KB       |
 * | wan     | 40 ms      | 20 ms   | 100 Mbit/s  | 250 KB      |
 *
 * Small shapes buy rounds with online bytes: below one round's worth of bytes a call takes the
 * round-saving variant (xlut-spec's second fix opening, fast truncations). Decoding with MPCache
 * (~100 kept rows) is mostly such calls — GeLU over 4·d elements, LayerNorm, exp over H·~100
 * scores — so its online bytes per token rise against the LEGACY design (embedded, ctx 1024:
 * 281.8 → 413.7 KiB, of which xlut-spec 57 KiB and openFull 21 KiB) while its dealer bytes fall
 * 7.86 → 3.15 MiB and its rounds 527 → 478: ≈ 149 ms of modelled LAN time instead of 200.
 */
import type { Cost } from './cost.js';

export type Network = 'lan' | 'wan';

export interface NetworkModel {
  readonly rttMs: number;
  readonly bitsPerSecond: number;
}

export const NETWORKS: Readonly<Record<Network, NetworkModel>> = {
  lan: { rttMs: 0.5, bitsPerSecond: 1e9 },
  wan: { rttMs: 40, bitsPerSecond: 100e6 },
};

/** Modelled seconds of a declared cost on a network. */
export function modelSeconds(c: Cost, net: Network): number {
  const m = NETWORKS[net];
  return (c.rounds * m.rttMs) / 2 / 1000 + ((c.frameBytes + c.dealerBytes) * 8) / m.bitsPerSecond;
}

/** The candidate with the least modelled time (first on ties), and every candidate's cost. */
export async function cheapest<D>(
  candidates: readonly D[],
  costOf: (d: D) => Promise<Cost>,
  net: Network,
): Promise<{ best: D; costs: Cost[] }> {
  const costs: Cost[] = [];
  for (const d of candidates) costs.push(await costOf(d));
  let at = 0;
  costs.forEach((c, i) => {
    if (modelSeconds(c, net) < modelSeconds(costs[at]!, net)) at = i;
  });
  return { best: candidates[at]!, costs };
}
