/**
 * One error class for the whole runtime, with codes from one registry.
 *
 * Why a registry: every process (dealer, parties, client) reports failures by code over the wire,
 * and `docs/errors.md` documents each one; a test keeps the two in sync. Messages name labels,
 * shapes and sequence numbers, never secret values.
 */

/** Every error code the runtime can raise, with a one-line meaning (mirrored in docs/errors.md). */
export const ERROR_CODES = {
  E_CONFIG: 'invalid command-line flag, config file or session parameter',
  E_INPUT: 'invalid user input (prompt, token id, tensor shape, op name)',
  E_SHAPE: 'tensor shape or length does not match what the operation expects',
  E_FRAME: 'malformed binary frame or control message',
  E_FRAME_TOO_LARGE: 'a frame or message exceeds the configured size bound',
  E_AUTH: "a peer's certificate is not of the deployment, not of the role this link needs, or not the pinned one",
  E_BUSY: 'a server refused work because a configured cap (connections, sessions) is reached',
  E_PROTOCOL: 'peer sent a message that does not fit the protocol state (wrong round, label or order)',
  E_CORR_MISMATCH: 'a correlation was taken with an identity (seq, kind, shape) other than the dealer sent',
  E_PEER_CLOSED: 'the other party, the dealer or the client closed its connection',
  E_TIMEOUT: 'a peer did not answer within the deadline',
  E_ABORTED: 'the session was aborted because another process reported an error',
  E_MODEL: 'model file or share file is malformed or does not match its config',
  E_OVERFLOW: 'a fixed-point value exceeded the representable range',
  E_INTERNAL: 'an internal invariant failed (a bug)',
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

export function isErrorCode(s: unknown): s is ErrorCode {
  return typeof s === 'string' && Object.prototype.hasOwnProperty.call(ERROR_CODES, s);
}

/** The only error class thrown on purpose by project code. */
export class MpcError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.name = 'MpcError';
    this.code = code;
  }
}

/** Always-on internal check; use for conditions that indicate a bug or a protocol violation. */
export function invariant(cond: unknown, code: ErrorCode, message: string | (() => string)): asserts cond {
  if (!cond) throw new MpcError(code, typeof message === 'string' ? message : message());
}

/** Wraps any thrown value as an MpcError, keeping codes of errors that already have one. */
export function toMpcError(err: unknown, fallback: ErrorCode = 'E_INTERNAL'): MpcError {
  if (err instanceof MpcError) return err;
  const msg = err instanceof Error ? err.message : String(err);
  return new MpcError(fallback, msg, { cause: err });
}
