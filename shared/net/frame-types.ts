/**
 * The one registry of tensor frame types (the `type` field of net/frame.ts's header). Every process
 * tells frames apart by this number alone, so two uses must never share one; test/net/frame.test.ts
 * checks that they are distinct. Who sends what is in runtime/wire.ts (session protocol),
 * protocol/ctx.ts (rounds) and corr/stream.ts (correlations).
 */
export const FRAME_TYPES = {
  /** party ↔ party: one round of a protocol (protocol/ctx.ts). */
  EXCHANGE: 1,
  /** dealer → party 1: one correlation item's corrections (corr/stream.ts). */
  CORR: 2,
  /** client → party: input shares of an op. */
  INPUT: 3,
  /** party → client: output shares of an op. */
  OUTPUT: 4,
  /** party → client: this party's share of a client-assisted product's input mask. */
  MASK: 5,
  /** client → party: the masked input x − r (tag STOP_TAG: the client ends generation). */
  MASKED: 6,
  /** party → client: this party's share of the next token id (and of the logits on request). */
  REVEAL: 7,
  /** party → client, test hook (revealHidden): shares of a layer's residual stream. */
  HIDDEN: 8,
  /** party → client: "layer `seq` done" (no data): progress on long prefills; keeps waits alive. */
  PROGRESS: 9,
  /** party → client, test hook (revealSelections): shares of a selection (seq = index, tag 0 top-k / 1 gather; parts: data, shape). */
  SELECTION: 10,
} as const;

export const EXCHANGE_FRAME = FRAME_TYPES.EXCHANGE;
export const CORR_FRAME = FRAME_TYPES.CORR;
export const INPUT_FRAME = FRAME_TYPES.INPUT;
export const OUTPUT_FRAME = FRAME_TYPES.OUTPUT;
export const MASK_FRAME = FRAME_TYPES.MASK;
export const MASKED_FRAME = FRAME_TYPES.MASKED;
export const REVEAL_FRAME = FRAME_TYPES.REVEAL;
export const HIDDEN_FRAME = FRAME_TYPES.HIDDEN;
export const PROGRESS_FRAME = FRAME_TYPES.PROGRESS;
export const SELECTION_FRAME = FRAME_TYPES.SELECTION;
