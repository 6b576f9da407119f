/**
 * The design knobs every non-linear recipe takes: which variant of each building block it uses.
 * Each knob trades rounds against bytes (online or dealer) with the same exact function, so a
 * choice never changes a value, only the cost. A knob is either fixed, or a network: then each
 * call picks the variant with the least modelled time on that network for its own public size
 * (cost-model.ts), e.g. a max tree's wide first levels and its narrow last ones differently.
 *
 * | knob        | variants                                                                           |
 * |-------------|------------------------------------------------------------------------------------|
 * | fewerRounds | comparisons of ≤ 36 bits in one node of 5-bit blocks (3 rounds, 61 B dealer per     |
 * |             | threshold-element at 32 bits) or two levels of 4-bit blocks (4 rounds, 37 B)        |
 * | openFull    | comparisons with self products open x̂ over the ring (+4 B online, −24 B dealer)      |
 * |             | (per call, like fewerRounds, when set to a network)                                 |
 * | tables      | 'lut': arithmetic one-hots (8 B dealer per table entry); 'xlut': XOR one-hots (1 bit |
 * |             | per entry, +1 round, +8 B online per value); 'xlut-spec': no extra round, twice the |
 * |             | fix bytes                                                                           |
 * | trunc       | 'fast' (2 rounds, 112 B dealer at 16 bits) or 'lean' (3 rounds, 36 B); 'auto': lean  |
 * |             | from 4096 elements                                                                  |
 */
import { shapeOnly, type AnyTensor } from '../../ring/tensor.js';
import { declaredCost, type Cost } from '../cost.js';
import { cheapest, type Network } from '../cost-model.js';
import type { CmpkOpts, XlutField } from '../primitives/index.js';
import type { FixedHandle, Prims, TruncMode } from '../prims/types.js';

export interface Design {
  readonly fewerRounds: boolean | Network;
  readonly openFull: boolean | Network;
  readonly tables: 'lut' | 'xlut' | 'xlut-spec' | Network;
  readonly trunc: TruncMode | 'auto' | Network;
}

const isNetwork = (v: unknown): v is Network => v === 'lan' || v === 'wan';

/** What the recipes did before issue #17 (with `legacy` exp; the figures of docs/protocols.md before). */
export const LEGACY: Design = { fewerRounds: true, openFull: false, tables: 'lut', trunc: 'auto' };

/** Fewest dealer bytes. */
export const LEAN: Design = { fewerRounds: false, openFull: true, tables: 'xlut', trunc: 'lean' };

/** Fewest rounds with XOR tables. */
export const SWIFT: Design = { fewerRounds: true, openFull: true, tables: 'xlut-spec', trunc: 'fast' };

/** Every knob decided per call for a network. */
export const tunedFor = (network: Network): Design => ({
  fewerRounds: network,
  openFull: network,
  tables: network,
  trunc: network,
});

/** The design with a caller's fixed comparison choice, if it gives one. */
export const withFewer = (d: Design, fewerRounds: boolean | undefined): Design =>
  fewerRounds === undefined ? d : { ...d, fewerRounds };

/** Choices per (variant set, shape): the same public inputs always give the same choice. */
const memo = new Map<string, Promise<number>>();
const MEMO_ENTRIES = 4096;

/** Index of the cheapest of `programs` on `net` (declared costs on shapes), memoised by `key`. */
function pick(
  key: string,
  net: Network,
  programs: ReadonlyArray<(P: Prims<AnyTensor, FixedHandle>) => Promise<unknown>>,
): Promise<number> {
  const k = `${net}|${key}`;
  let v = memo.get(k);
  if (!v) {
    if (memo.size >= MEMO_ENTRIES) memo.clear();
    v = cheapest(
      programs.map((_, i) => i),
      (i): Promise<Cost> => declaredCost((Q) => programs[i]!(Q)),
      net,
    ).then((r) => r.best);
    memo.set(k, v);
  }
  return v;
}

/** cmpK with the design's comparison variant (one node or two levels; the full opening for self products). */
export async function cmpK<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  o: Omit<CmpkOpts, 'fewerRounds' | 'openFull'> & { payloads?: readonly T[] },
  d: Design,
) {
  const f = d.fewerRounds,
    { payloads = [], ...rest } = o;
  let fewerRounds = f === true,
    openFull = d.openFull === true;
  const net = isNetwork(f) ? f : isNetwork(d.openFull) ? d.openFull : undefined;
  if (net && P.mode !== 'clear') {
    // the variants each knob leaves open: a fixed knob keeps its value
    const fr = isNetwork(f) ? [false, true] : [fewerRounds],
      of = isNetwork(d.openFull) ? [false, true] : [openFull];
    const variants = fr.flatMap((a) => of.map((b) => [a, b] as const));
    const run =
      ([a, b]: readonly [boolean, boolean]) =>
      (Q: Prims<AnyTensor, FixedHandle>) =>
        Q.cmpK(shapeOnly(x.shape, x.fracBits), {
          ...rest,
          fewerRounds: a,
          openFull: b,
          payloads: payloads.map((y) => shapeOnly(y.shape, y.fracBits)),
        });
    const key = `cmpk:${x.shape}:${JSON.stringify(rest)}:${payloads.length}:${fr}:${of}`;
    [fewerRounds, openFull] = variants[await pick(key, net, variants.map(run))]!;
  }
  return P.cmpK(x, { ...o, fewerRounds, openFull });
}

/** ⌊a / 2^s⌋ by the design's truncation protocol. */
export async function truncBy<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  a: T,
  s: number,
  d: Design,
): Promise<T> {
  const t = d.trunc;
  if (!isNetwork(t)) return P.trunc(a, s, t === 'auto' ? undefined : t);
  if (P.mode === 'clear') return P.trunc(a, s);
  const modes = ['fast', 'lean'] as const;
  const run = (m: TruncMode) => (Q: Prims<AnyTensor, FixedHandle>) => Q.trunc(shapeOnly(a.shape, a.fracBits), s, m);
  return P.trunc(a, s, modes[await pick(`trunc:${a.shape}:${a.fracBits}:${s}`, t, modes.map(run))]);
}

/** Table fields (intercept and optional slope, no product fields) through the design's table protocol. */
export async function tables<T extends AnyTensor, F extends FixedHandle>(
  P: Prims<T, F>,
  x: T,
  k: number,
  fields: readonly XlutField[],
  d: Design,
): Promise<T[]> {
  const t = d.tables;
  if (t === 'lut') return P.lut(x, k, fields);
  if (!isNetwork(t)) return P.xlut(x, k, fields, t === 'xlut-spec');
  if (P.mode === 'clear') return P.xlut(x, k, fields);
  const run = (spec: boolean) => (Q: Prims<AnyTensor, FixedHandle>) =>
    Q.xlut(shapeOnly(x.shape, x.fracBits), k, fields, spec);
  const key = `xlut:${x.shape}:${k}:${fields.map((f) => `${f.s}/${f.w}/${f.table.b ? 1 : 0}`)}`;
  return P.xlut(x, k, fields, (await pick(key, t, [run(false), run(true)])) === 1);
}
