/**
 * Fits a context to a token budget: filler sentences with needles inserted at the sentence boundaries
 * nearest their requested depths, the filler cut (at a character) so that the whole sample fits.
 *
 * Why a search on characters: token counts are only monotone-ish in the text for BPE, so we binary-search
 * the filler length on the real tokenizer instead of predicting it; for the byte tokenizer the count is
 * exact and the target is hit to the token.
 */
import { MpcError } from '../util/index.js';
import type { Tokenizer } from '../model/tokenizer/index.js';

export interface Needle {
  text: string;
  /** Fraction of the filler before the needle, in [0, 1]. */
  depth: number;
}

export interface Layout {
  /** Filler and needles, ending with "\n". */
  context: string;
  /** Character offset of each needle in `context`, in the order given. */
  needleChars: number[];
}

/**
 * @param tailTokens tokens after the context (questions, answers, stops); BOS is counted here.
 * @param next source of filler sentences (endless).
 * @throws MpcError E_INPUT if even the needles and questions alone exceed `length`.
 */
export function layoutContext(
  task: string,
  tok: Tokenizer,
  length: number,
  tailTokens: number,
  needles: readonly Needle[],
  next: () => string,
): Layout {
  const filler = buildFiller(tok, length, next);
  const count = (n: number): number => 1 + tailTokens + tok.encode(assemble(filler, n, needles).context).length;
  if (count(0) > length) {
    throw new MpcError('E_INPUT', `task ${task}: length ${length} is too small (needs at least ${count(0)} tokens)`);
  }
  let lo = 0;
  let hi = filler.text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (count(mid) <= length) lo = mid;
    else hi = mid - 1;
  }
  // A needle followed by filler costs one more separator than one at the very end, so the count can
  // dip by a token just past the search result: look a few characters further for a closer fit.
  let best = lo;
  for (let n = lo + 1; n <= Math.min(lo + 8, filler.text.length); n++) if (count(n) <= length) best = n;
  return assemble(filler, best, needles);
}

interface Filler {
  text: string;
  /** Offsets where a sentence starts: the only places a needle may go. */
  starts: number[];
}

function buildFiller(tok: Tokenizer, length: number, next: () => string): Filler {
  let text = '';
  const starts: number[] = [];
  let want = length;
  for (;;) {
    while (text.length < want) {
      if (text.length > 0) text += ' ';
      starts.push(text.length);
      text += next();
    }
    if (tok.encode(text).length >= length) return { text, starts };
    want = text.length * 2;
  }
}

function assemble(filler: Filler, n: number, needles: readonly Needle[]): Layout {
  const bounds = filler.starts.filter((s) => s < n);
  bounds.push(n);
  const at = needles.map((nd) => nearest(bounds, nd.depth * n));
  const order = needles.map((_, i) => i).sort((a, b) => at[a]! - at[b]! || a - b);
  const needleChars = new Array<number>(needles.length);
  let out = '';
  let pos = 0;
  for (const i of order) {
    out += filler.text.slice(pos, at[i]);
    pos = at[i]!;
    if (out.length > 0 && !out.endsWith(' ')) out += ' ';
    needleChars[i] = out.length;
    out += needles[i]!.text + ' ';
  }
  out += filler.text.slice(pos, n);
  return { context: out.trimEnd() + '\n', needleChars };
}

function nearest(sorted: readonly number[], x: number): number {
  let best = sorted[0]!;
  for (const b of sorted) if (Math.abs(b - x) < Math.abs(best - x)) best = b;
  return best;
}
