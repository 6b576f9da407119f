/**
 * The comparison tree of cmpk.ts (its blocks and nodes also serve lut.ts's borrow): a masked
 * value compared against the mask block by block, blocks combined by nodes (ring/bit-tables.ts):
 * 4-bit blocks under 4-ary L1 nodes and at most one top node, or, in cmpk's one-node variants,
 * one node over all blocks — 5-bit blocks (up to 7: 35 bits, a 13-input node) or 8-bit blocks
 * (up to 4). The plan is pure and public (dealer and parties build the same one from the same
 * parameters); `tree` evaluates it on a party's shares, opening each node's inputs under fresh
 * dealer mask bits.
 */
import { invariant } from '../../util/errors.js';
import type { Material } from '../../corr/kind.js';
import {
  BLOCK4,
  BLOCK5,
  BLOCK8,
  buildNode,
  nodeXor,
  parity32,
  prefixLtTerms,
  type BlockTables,
  type NodeTables,
} from '../../ring/bit-tables.js';
import type { PartyCtx } from '../ctx.js';
import { openBits } from '../open.js';

/** Static shape of the comparison tree for one width and mode. */
export interface CmpkPlan {
  readonly width: number;
  readonly eq: boolean;
  /** Block width in bits (4; 5 or 8 for the one-node variants) and bytes of one block's monomial vector. */
  readonly bb: BlockBits;
  readonly monBytes: number;
  /** Low bits compared by the block tree: width − 1 ('ge', the top bit enters separately) or width ('eq'). */
  readonly lowBits: number;
  readonly nb: number;
  readonly blockBits: readonly number[];
  /** L1 nodes (empty when nb = 1); node g covers blocks 4g .. 4g + children − 1. */
  readonly l1: readonly NodeTables[];
  readonly l1Children: readonly number[];
  /** Opened input bits per L1 node, their mask bytes and mask-monomial words (offsets within an element's). */
  readonly l1Bits: readonly number[];
  readonly l1MaskAt: readonly number[];
  readonly l1WordAt: readonly number[];
  /** Mask bytes and mask-monomial words of all L1 nodes of one (element, threshold). */
  readonly maskPer: number;
  readonly wordsPer: number;
  readonly top: NodeTables | undefined;
  readonly topBits: number;
}

export type BlockBits = 4 | 5 | 8;

const TABLES: Record<BlockBits, BlockTables> = { 4: BLOCK4, 5: BLOCK5, 8: BLOCK8 };
/** Blocks one node can take: its inputs are G_0..G_{c−1}, E_1..E_{c−1} (13 at most). */
const ONE_NODE_BLOCKS: Record<BlockBits, number> = { 4: 4, 5: 7, 8: 4 };

const nodeCache = new Map<string, NodeTables>();

/**
 * A tree node over c children. 'ge': inputs G_0..G_{c−1}, E_1..E_{c−1} (+E_0 last when the node
 * must also output "all equal" for its parent); outputs [prefix less-than] (+ [all equal]).
 * 'eq': inputs E_0..E_{c−1}; output [all equal].
 */
export function treeNode(eq: boolean, c: number, withE: boolean): NodeTables {
  const key = `${eq}:${c}:${withE}`;
  let t = nodeCache.get(key);
  if (!t) {
    const all = (1 << c) - 1;
    t = eq
      ? buildNode({ inputs: c, outputs: [[all]], out: 'xor' })
      : buildNode({
          inputs: 2 * c - 1 + (withE ? 1 : 0),
          outputs: withE ? [prefixLtTerms(c), [all << c]] : [prefixLtTerms(c)],
          out: 'xor',
        });
    nodeCache.set(key, t);
  }
  return t;
}

const planCache = new Map<string, CmpkPlan>();

export function cmpkPlan(width: number, eq: boolean, bb: BlockBits = 4): CmpkPlan {
  invariant(
    Number.isInteger(width) && width >= 2 && width <= 64,
    'E_INTERNAL',
    `comparison width ${width} outside [2, 64]`,
  );
  const key = `${width}:${eq}:${bb}`;
  const hit = planCache.get(key);
  if (hit) return hit;
  const lowBits = eq ? width : width - 1;
  const nb = Math.ceil(lowBits / bb);
  invariant(
    bb === 4 || nb <= ONE_NODE_BLOCKS[bb],
    'E_INTERNAL',
    `${bb}-bit blocks cover at most ${bb * ONE_NODE_BLOCKS[bb]} compared bits, not ${lowBits}`,
  );
  const blockBits = Array.from({ length: nb }, (_, b) => Math.min(bb, lowBits - bb * b));
  const per = bb === 4 ? 4 : nb;
  const n1 = nb > 1 ? Math.ceil(nb / per) : 0;
  const l1Children = Array.from({ length: n1 }, (_, g) => Math.min(per, nb - per * g));
  const l1 = l1Children.map((c, g) => treeNode(eq, c, !eq && n1 > 1 && g > 0));
  const l1Bits = l1.map((t) => t.spec.inputs);
  const maskBytes = l1Bits.map((b) => Math.ceil(b / 8)),
    words = l1.map((t) => t.words);
  const offsets = (xs: number[]) => xs.map((_, g) => xs.slice(0, g).reduce((a, b) => a + b, 0));
  const top = n1 > 1 ? treeNode(eq, n1, false) : undefined;
  const plan: CmpkPlan = {
    width,
    eq,
    bb,
    monBytes: Math.max(2, (1 << bb) / 8),
    lowBits,
    nb,
    blockBits,
    l1,
    l1Children,
    l1Bits,
    l1MaskAt: offsets(maskBytes),
    l1WordAt: offsets(words),
    maskPer: maskBytes.reduce((a, b) => a + b, 0),
    wordsPer: words.reduce((a, b) => a + b, 0),
    top,
    topBits: top ? top.spec.inputs : 0,
  };
  planCache.set(key, plan);
  return plan;
}

/** Block b (of `bb`-bit blocks) of the low bits of `v` (given as 32-bit halves lo, hi). */
export function blockOf(lo: number, hi: number, b: number, bits: number, bb = 4): number {
  const at = bb * b,
    v = at >= 32 ? hi >>> (at - 32) : at + bits > 32 ? (lo >>> at) | (hi << (32 - at)) : lo >>> at;
  return v & ((1 << bits) - 1);
}

/** Views of XOR material as 16- or 32-bit words (copied when unaligned). */
export function u16View(b: Uint8Array): Uint16Array {
  return b.byteOffset % 2 === 0
    ? new Uint16Array(b.buffer, b.byteOffset, b.byteLength / 2)
    : new Uint16Array(b.slice().buffer);
}
export function u32View(b: Uint8Array): Uint32Array {
  return b.byteOffset % 4 === 0
    ? new Uint32Array(b.buffer, b.byteOffset, b.byteLength / 4)
    : new Uint32Array(b.slice().buffer);
}

/** XOR output o of a single-word node for opened byte u (party 0 adds the public constant). */
function nodeOut(t: NodeTables, o: number, u: number, mm: number, first: boolean): number {
  const at = (o << t.spec.inputs) + u;
  return parity32(t.coefXor[at]! & mm) ^ (first ? t.constant[at]! : 0);
}

/** Node g's mask (one or two bytes, little-endian) for (element, threshold) e. */
export function nodeMask(pl: CmpkPlan, m: Uint8Array, e: number, g: number): number {
  const at = e * pl.maskPer + pl.l1MaskAt[g]!;
  return pl.l1Bits[g]! > 8 ? m[at]! | (m[at + 1]! << 8) : m[at]!;
}

function putBits(dst: Uint8Array, off: number, v: number, count: number): void {
  for (let b = 0; b < count; b++) dst[off + b] = (v >>> b) & 1;
}
function getBits(src: Uint8Array, off: number, count: number): number {
  let v = 0;
  for (let b = 0; b < count; b++) v |= (src[off + b]! & 1) << b;
  return v;
}

/** Step 2, locally: XOR shares G, E of every block of each (element, threshold), handed to `use`. */
function forBlocks(
  mat: Material,
  pl: CmpkPlan,
  nt: number,
  zh: BigUint64Array,
  use: (e: number, G: Uint8Array, E: Uint8Array) => void,
): void {
  const zw = new Uint32Array(zh.buffer, zh.byteOffset, 2 * zh.length),
    tab = TABLES[pl.bb],
    words = tab.words;
  const mon16 = pl.bb === 4 ? u16View(mat.xor('mon')) : undefined,
    mon32 = pl.bb === 4 ? undefined : u32View(mat.xor('mon'));
  const G = new Uint8Array(pl.nb),
    E = new Uint8Array(pl.nb);
  for (let e = 0; e < zh.length; e++) {
    const i = Math.floor(e / nt),
      lo = zw[2 * e]!,
      hi = zw[2 * e + 1]!;
    for (let b = 0; b < pl.nb; b++) {
      const v = blockOf(lo, hi, b, pl.blockBits[b]!, pl.bb),
        base = (i * pl.nb + b) * words;
      let g = 0,
        q = 0;
      for (let k = 0; k < words; k++) {
        const mk = mon16 ? mon16[base + k]! : mon32![base + k]!;
        g ^= tab.anfLt[v * words + k]! & mk;
        q ^= tab.anfEq[v * words + k]! & mk;
      }
      G[b] = pl.eq ? 0 : parity32(g);
      E[b] = parity32(q);
    }
    use(e, G, E);
  }
}

/** Step 2: the L1 nodes' masked input bits, element-major. */
function l1Inputs(mat: Material, pl: CmpkPlan, nt: number, zh: BigUint64Array): Uint8Array {
  const n1 = pl.l1.length,
    per1 = pl.l1Bits.reduce((a, b) => a + b, 0),
    m1 = mat.xor('m1');
  const in1 = new Uint8Array(zh.length * per1);
  forBlocks(mat, pl, nt, zh, (e, G, E) => {
    let off = e * per1;
    for (let g = 0; g < n1; g++) {
      const c = pl.l1Children[g]!,
        b0 = (pl.bb === 4 ? 4 : pl.nb) * g;
      let byte = 0;
      for (let t = 0; t < c; t++) {
        if (pl.eq) byte |= E[b0 + t]! << t;
        else {
          byte |= G[b0 + t]! << t;
          if (t > 0) byte |= E[b0 + t]! << (c + t - 1);
        }
      }
      if (!pl.eq && pl.l1Bits[g] === 2 * c) byte |= E[b0]! << (2 * c - 1);
      putBits(in1, off, byte ^ nodeMask(pl, m1, e, g), pl.l1Bits[g]!);
      off += pl.l1Bits[g]!;
    }
  });
  return in1;
}

/** Step 3: the L1 outputs, into `low` (no top node) or as the top node's masked inputs. */
function l1Outputs(mat: Material, pl: CmpkPlan, u1: Uint8Array, first: boolean, low: Uint8Array): Uint8Array {
  const n1 = pl.l1.length,
    per1 = pl.l1Bits.reduce((a, b) => a + b, 0),
    mm1 = u32View(mat.xor('mm1')),
    first1 = first;
  const top = pl.top,
    in2 = new Uint8Array(top ? low.length * pl.topBits : 0),
    m2 = top ? mat.xor('m2') : undefined;
  for (let e = 0; e < low.length; e++) {
    let off = e * per1,
      byte = 0;
    for (let g = 0; g < n1; g++) {
      const t = pl.l1[g]!,
        u = getBits(u1, off, pl.l1Bits[g]!),
        mmAt = e * pl.wordsPer + pl.l1WordAt[g]!;
      off += pl.l1Bits[g]!;
      const out0 = nodeXor(t, 0, u, mm1, mmAt, first1);
      if (!top) {
        low[e] = out0;
        continue;
      }
      byte |= out0 << g;
      if (!pl.eq && g > 0) byte |= nodeXor(t, 1, u, mm1, mmAt, first1) << (n1 + g - 1);
    }
    if (top) putBits(in2, e * pl.topBits, byte ^ m2![e]!, pl.topBits);
  }
  return in2;
}

/**
 * cmpk.ts steps 2–3: XOR shares of [ẑ_low < r_low] ('ge') or [ẑ = r] ('eq') for every masked
 * value ẑ (element-major, `nt` per element of r), in 0, 1 or 2 rounds.
 */
export async function tree(
  ctx: PartyCtx,
  mat: Material,
  pl: CmpkPlan,
  nt: number,
  zh: BigUint64Array,
): Promise<Uint8Array> {
  const m = zh.length,
    first = ctx.me === 0,
    low = new Uint8Array(m);
  if (pl.nb === 1) {
    forBlocks(mat, pl, nt, zh, (e, G, E) => {
      low[e] = pl.eq ? E[0]! : G[0]!;
    });
    return low;
  }
  const [u1] = await openBits(ctx, 'cmpk.l1', [l1Inputs(mat, pl, nt, zh)]);
  const in2 = l1Outputs(mat, pl, u1!, first, low);
  if (!pl.top) return low;
  const [u2] = await openBits(ctx, 'cmpk.top', [in2]);
  const mm2 = u32View(mat.xor('mm2'));
  for (let e = 0; e < m; e++) low[e] = nodeOut(pl.top, 0, getBits(u2!, e * pl.topBits, pl.topBits), mm2[e]!, first);
  return low;
}
