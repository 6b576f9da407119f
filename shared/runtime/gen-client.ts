/**
 * The client side of a private generation. It alone knows the token ids: it turns each token into
 * a one-hot row masked by the parties' input mask (x̂ = e_t − r, so neither server learns t),
 * reconstructs each generated id from the two parties' shares, and may stop early.
 */
import { MpcError, toMpcError } from '../util/errors.js';
import type { Link } from '../net/link.js';
import type { MeterReport } from '../net/meter.js';
import { openSession, type ClientOptions } from './client.js';
import {
  HIDDEN_FRAME,
  MASK_FRAME,
  MASKED_FRAME,
  PROGRESS_FRAME,
  REVEAL_FRAME,
  ResultMsg,
  SELECTION_FRAME,
  STOP_TAG,
} from './wire.js';
import { parseGenerateParams, type GenerateParams, type GenerateRequest } from './generation.js';

export interface GenerationCallbacks {
  /** Called with each generated token; return true to stop after it. */
  onToken?: (token: number, step: number) => boolean | void;
  /** Test hook: reconstructed residual stream of layer `index` (requires revealHidden). */
  onHidden?: (index: number, values: BigUint64Array) => void;
  /** Opt-in logits (requires revealLogits). */
  onLogits?: (values: BigUint64Array) => void;
  /** Party 0 finished layer `index` of the current forward call (progress on long prefills). */
  onProgress?: (index: number) => void;
  /** Test hook: reconstructed selection number `index` (requires revealSelections). */
  onSelection?: (index: number, what: 'topk' | 'gather', shape: number[], values: BigUint64Array) => void;
}

export interface GenerationResult {
  tokens: number[];
  reports: [MeterReport, MeterReport];
  /** Client-side times in ms: time to first token, then gap before each following token. */
  ttftMs: number;
  tokenMs: number[];
  wallMs: number;
  stopped: boolean;
}

type Side = (kind: number, i: number, tag: number, parts: BigUint64Array[]) => void;

async function nextOf(
  l: Link,
  type: number,
  what: string,
  side: Side,
  progress?: (i: number) => void,
): Promise<BigUint64Array[]> {
  for (;;) {
    const f = await l.nextTensor(what);
    if (f.type === PROGRESS_FRAME) {
      progress?.(Number(f.seq));
      continue;
    }
    if (f.type === HIDDEN_FRAME || f.type === SELECTION_FRAME) {
      side(
        f.type,
        Number(f.seq),
        f.tag,
        f.parts.map((p) => (p.kind === 'u64' ? p.data : new BigUint64Array(0))),
      );
      continue;
    }
    if (f.type !== type) throw new MpcError('E_PROTOCOL', `expected ${what}, got frame type ${f.type}`);
    return f.parts.map((p) => {
      if (p.kind !== 'u64') throw new MpcError('E_PROTOCOL', `${what}: not a ring part`);
      return p.data;
    });
  }
}

function add(a: BigUint64Array, b: BigUint64Array): BigUint64Array {
  if (a.length !== b.length) throw new MpcError('E_PROTOCOL', 'the parties sent shares of different lengths');
  const out = new BigUint64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!;
  return out;
}

/** The prompt must have the job's length, and every token id must be in the vocabulary. */
function checkPrompt(params: GenerateParams, prompt: readonly number[], vocab: number): void {
  if (prompt.length !== params.promptLen) throw new MpcError('E_INPUT', 'prompt length does not match the job');
  for (const t of prompt)
    if (!Number.isInteger(t) || t < 0 || t >= vocab)
      throw new MpcError('E_INPUT', `token id ${t} is outside the vocabulary of ${vocab}`);
}

/**
 * The reader of each party's side frames (hidden states, selections): once both parties' shares of
 * a frame are in, the reconstructed values go to the client's hooks.
 */
function sideFrames(params: GenerateParams, cb: GenerationCallbacks): (party: number) => Side {
  const sideParts = new Map<string, BigUint64Array[][]>();
  return (party) => (kind, i, tag, parts) => {
    // side frames only for a hook this client asked for, and well-formed: data (+ shape for selections)
    const selection = kind === SELECTION_FRAME;
    if (!(selection ? params.revealSelections : params.revealHidden))
      throw new MpcError(
        'E_PROTOCOL',
        `party ${party} sent ${selection ? 'a selection' : 'hidden states'} nobody asked for`,
      );
    if (parts.length !== (selection ? 2 : 1))
      throw new MpcError('E_PROTOCOL', `party ${party}: malformed ${selection ? 'selection' : 'hidden-state'} frame`);
    const key = `${kind}:${i}`,
      got = sideParts.get(key) ?? [];
    got[party] = parts;
    sideParts.set(key, got);
    if (!got[0] || !got[1]) return;
    sideParts.delete(key);
    const [a, b] = [got[0], got[1]];
    if (a[0]!.length !== b[0]!.length)
      throw new MpcError('E_PROTOCOL', `side frame ${i}: the parties sent shares of different lengths`);
    const v = add(a[0]!, b[0]!);
    if (!selection) {
      cb.onHidden?.(i, v);
      return;
    }
    const shape = Array.from(a[1]!, Number);
    if (shape.join() !== Array.from(b[1]!, Number).join() || shape.reduce((x, y) => x * y, 1) !== v.length)
      throw new MpcError('E_PROTOCOL', `selection ${i}: inconsistent shape`);
    cb.onSelection?.(i, tag === 0 ? 'topk' : 'gather', shape, v);
  };
}

/**
 * Sends `tokens` as masked one-hot rows e_t − r: for each input mask r the parties send (one per
 * chunk of rows, generation.ts CLIENT_INPUT_MAX_ELEMENTS), the next r.length / vocab tokens.
 */
async function sendMasked(
  links: readonly Link[],
  tokens: readonly number[],
  vocab: number,
  side: (party: number) => Side,
): Promise<void> {
  for (let a = 0; a < tokens.length;) {
    const [r0, r1] = await Promise.all(links.map((l, i) => nextOf(l, MASK_FRAME, 'input mask', side(i))));
    const r = add(r0![0]!, r1![0]!);
    const rows = r.length / vocab;
    if (!Number.isInteger(rows) || rows < 1 || rows > tokens.length - a)
      throw new MpcError('E_PROTOCOL', `mask of ${r.length} elements for ${tokens.length - a} tokens`);
    const x = new BigUint64Array(r.length);
    for (let i = 0; i < x.length; i++) x[i] = 0n - r[i]!;
    for (let k = 0; k < rows; k++) x[k * vocab + tokens[a + k]!]! += 1n;
    for (const l of links)
      l.sendTensor({ type: MASKED_FRAME, seq: 0n, tag: 0, check: 0, parts: [{ kind: 'u64', data: x }] });
    a += rows;
  }
}

/** Reconstructs the next token from the parties' shares (and the logits, when asked for). */
async function nextToken(
  links: readonly Link[],
  params: GenerateParams,
  side: (party: number) => Side,
  cb: GenerationCallbacks,
): Promise<number> {
  const [a, b] = await Promise.all(
    links.map((l, i) => nextOf(l, REVEAL_FRAME, 'next token', side(i), i === 0 ? cb.onProgress : undefined)),
  );
  const tok = Number(BigInt.asIntN(64, add(a![0]!, b![0]!)[0]!));
  if (params.revealLogits && a![1] && b![1]) cb.onLogits?.(add(a![1], b![1]));
  return tok;
}

/** Stops the parties early: consumes their next mask request, then tells them to stop (this reveals the length). */
async function stopParties(links: readonly Link[], side: (party: number) => Side): Promise<void> {
  await Promise.all(links.map((l, i) => nextOf(l, MASK_FRAME, 'input mask', side(i))));
  for (const l of links) l.sendTensor({ type: MASKED_FRAME, seq: 0n, tag: STOP_TAG, check: 0, parts: [] });
}

type Decoded = Pick<GenerationResult, 'tokens' | 'ttftMs' | 'tokenMs' | 'stopped'>;

/** The decoding loop: each token is revealed to the client, which feeds it back masked (or stops). */
async function decode(
  links: readonly Link[],
  params: GenerateParams,
  vocab: number,
  side: (party: number) => Side,
  cb: GenerationCallbacks,
  t0: number,
): Promise<Decoded> {
  const out: Decoded = { tokens: [], tokenMs: [], ttftMs: 0, stopped: false };
  let last = t0;
  for (let step = 0; step < params.maxNewTokens; step++) {
    const tok = await nextToken(links, params, side, cb);
    const now = performance.now();
    if (step === 0) out.ttftMs = now - t0;
    else out.tokenMs.push(now - last);
    last = now;
    out.tokens.push(tok);
    const stop = cb.onToken?.(tok, step) === true;
    if (step === params.maxNewTokens - 1) break;
    if (stop) {
      await stopParties(links, side);
      out.stopped = true;
      break;
    }
    await sendMasked(links, [tok], vocab, side);
  }
  return out;
}

export async function runGeneration(
  urls: readonly [string, string],
  request: GenerateRequest,
  prompt: readonly number[],
  vocab: number,
  opts: ClientOptions,
  cb: GenerationCallbacks = {},
): Promise<GenerationResult> {
  const params = parseGenerateParams(request);
  checkPrompt(params, prompt, vocab);
  const t0 = performance.now();
  const { links } = await openSession(urls, { kind: 'generate', params }, opts);
  const side = sideFrames(params, cb);
  try {
    for (const l of links)
      l.onFailure((e) => {
        for (const o of links) o.abort(e);
      });
    await sendMasked(links, prompt, vocab, side);
    const { tokens, ttftMs, tokenMs, stopped } = await decode(links, params, vocab, side, cb, t0);
    const results = await Promise.all(links.map((l) => l.nextControl(ResultMsg, 'result')));
    return {
      tokens,
      reports: [results[0]!.report, results[1]!.report],
      ttftMs,
      tokenMs,
      wallMs: performance.now() - t0,
      stopped,
    };
  } catch (e) {
    const err = toMpcError(e);
    for (const l of links) l.abort(err);
    throw err;
  } finally {
    for (const l of links) l.close('client done');
  }
}
