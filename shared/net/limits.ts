/** Size and time bounds shared by every link (documented in docs/errors.md). */
export interface Limits {
  /** Largest binary or control message accepted on any link. */
  maxFrameBytes: number;
  /** Deadline for any single wait on another process. */
  timeoutMs: number;
  /** Dealer stream window: unacknowledged bytes the dealer may have in flight to party 1. */
  dealerWindowBytes: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxFrameBytes: 512 * 1024 * 1024,
  timeoutMs: 30_000,
  dealerWindowBytes: 64 * 1024 * 1024,
};
