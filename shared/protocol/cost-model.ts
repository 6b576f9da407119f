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
 * Online bytes are protected by a slack (ONLINE_SLACK): a call takes the fastest variant among
 * those within 10 % (LAN) or 25 % (WAN) of its leanest one in online bytes. Without it, small
 * shapes (decoding with MPCache: GeLU over 4·d elements, LayerNorm, exp over H·~100 scores) took
 * the round-saving variants (xlut-spec's second fix opening, fast truncations, the fused
 * normalisation) at up to twice the online bytes, and MPCache's online cost per token rose 47 %
 * against the LEGACY design (embedded, ctx 1024: 281.8 → 413.7 KiB) for 527 → 478 rounds.
 * With it (declared, `npm run nl-costs -- --tokens`, 'lan', per token at ctx 1024; LEGACY in
 * brackets): embedded full cache 1.10 MiB online (1.19) / 530 rounds (567) / 9.05 MiB dealer
 * (44.2), MPCache 0.31 (0.28) / 522 (527) / 2.65 (7.89); GPT-2-small shape full 12.33 (12.75) /
 * 1519 (1604) / 98.5 (435.1), MPCache 5.11 (4.52) / 1507 (1484) / 36.9 (108.2). What the xlut
 * tables cost online (8 B per value, the price of their 1-bit one-hots: GeLU 37.5 B per element
 * instead of 18.6, for 309 B of dealer material instead of 1377) is outside the slack, as the
 * table knob offers only XOR-shared variants: so MPCache's ratio to full cache in online bytes
 * rises (0.235 → 0.282 embedded, 0.355 → 0.414 GPT-2-small shape) while both get cheaper in
 * dealer bytes.
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

/**
 * How much more online traffic than the call's leanest candidate a choice may spend (a fraction),
 * per network. Online bytes are the one cost that can neither be dealt ahead (dealer bytes can:
 * `--preprocess ahead`) nor overlapped with the dealer's link, and they are what eviction's ratio
 * to full cache is measured in; so a variant buys rounds or dealer bytes with at most this much
 * of them: 10 % on a LAN, 25 % on a WAN, where a round is worth 250 KB.
 */
export const ONLINE_SLACK: Readonly<Record<Network, number>> = { lan: 0.1, wan: 0.25 };

/**
 * The candidate with the least modelled time (first on ties) among those within ONLINE_SLACK of
 * the fewest online bytes, and every candidate's cost.
 */
export async function cheapest<D>(
  candidates: readonly D[],
  costOf: (d: D) => Promise<Cost>,
  net: Network,
  slack = ONLINE_SLACK[net],
): Promise<{ best: D; costs: Cost[] }> {
  const costs: Cost[] = [];
  for (const d of candidates) costs.push(await costOf(d));
  const budget = Math.min(...costs.map((c) => c.frameBytes)) * (1 + slack);
  let at = -1;
  costs.forEach((c, i) => {
    if (c.frameBytes <= budget && (at < 0 || modelSeconds(c, net) < modelSeconds(costs[at]!, net))) at = i;
  });
  return { best: candidates[at]!, costs };
}
