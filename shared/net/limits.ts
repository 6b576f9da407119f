/** Size, count and time bounds of the servers and links (documented in docs/errors.md). */
export interface Limits {
  /** Largest message on a party's client and peer links and on party 1's dealer link. */
  maxFrameBytes: number;
  /** Largest message the dealer's listener accepts (parties send it only small control messages). */
  dealerListenBytes: number;
  /** Deadline for any single wait on another process during a session. */
  timeoutMs: number;
  /** Deadline for the first message on a new connection. */
  helloMs: number;
  /** Dealer stream window: unacknowledged bytes the dealer may have in flight to party 1. */
  dealerWindowBytes: number;
  /** The same for a run whose material is dealt ahead (`preprocess: 'ahead'`): what party 1 may buffer. */
  aheadWindowBytes: number;
  /** Open connections per listening port. */
  maxConnections: number;
  /** Sessions a server runs or waits for at once (more are refused with E_BUSY). */
  maxSessions: number;
  /** Longest prompt a party accepts (tokens). */
  maxPromptTokens: number;
}

export const DEFAULT_LIMITS: Limits = {
  maxFrameBytes: 512 * 1024 * 1024,
  dealerListenBytes: 1024 * 1024,
  timeoutMs: 30_000,
  helloMs: 10_000,
  dealerWindowBytes: 64 * 1024 * 1024,
  aheadWindowBytes: 4 * 1024 * 1024 * 1024,
  maxConnections: 64,
  maxSessions: 8,
  maxPromptTokens: 8192,
};
