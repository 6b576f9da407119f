/**
 * Structured logging with pino: one root logger per process bound to its role, children per
 * module. Redaction is a backstop; the first line of defence is that code never passes shares,
 * seeds, masks, tokens or weights to a logger (typed arrays are dropped by the serializer).
 */
import { pino, type Logger } from 'pino';

export type { Logger };

/** Field paths censored wherever they appear (one and two levels deep). */
export const REDACT_KEYS = [
  'share',
  'shares',
  'seed',
  'seeds',
  'mask',
  'masks',
  'token',
  'tokens',
  'tokenIds',
  'weight',
  'weights',
  'prompt',
  'text',
  'logits',
  'data',
  'key',
  'secret',
];

const REDACT_PATHS = REDACT_KEYS.flatMap((k) => [k, `*.${k}`]);

/** Replaces typed arrays and buffers by their length so that no element ever reaches a log. */
function scrub(value: unknown, depth = 0): unknown {
  if (ArrayBuffer.isView(value))
    return `<${value.constructor.name} len=${(value as { length?: number }).length ?? value.byteLength}>`;
  if (value instanceof ArrayBuffer) return `<ArrayBuffer ${value.byteLength}B>`;
  if (depth > 3 || value === null || typeof value !== 'object') {
    return typeof value === 'bigint' ? '<bigint>' : value;
  }
  if (Array.isArray(value))
    return value.length > 32 ? `<array len=${value.length}>` : value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth + 1);
  return out;
}

export interface LoggerOptions {
  role: string;
  level?: string;
  /** Destination stream; defaults to stderr so that stdout stays free for machine-readable output. */
  destination?: NodeJS.WritableStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  const level = opts.level ?? process.env['MPC_LOG_LEVEL'] ?? 'info';
  return pino(
    {
      level,
      base: { role: opts.role, pid: process.pid },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      formatters: { log: (obj) => scrub(obj) as Record<string, unknown> },
      serializers: { err: pino.stdSerializers.err },
    },
    (opts.destination ?? process.stderr) as pino.DestinationStream,
  );
}

/** A logger that discards everything (tests and library use without a process). */
export const silentLogger: Logger = pino({ level: 'silent' });
