/**
 * Network conditions for benchmarks (DESIGN §8, issue #13): the `--net` presets and custom
 * specs, parsed once from text and validated with zod.
 *
 * Text forms: `loopback`, `lan`, `wan`, a preset with overrides (`wan,jitter=2ms`), or a custom
 * spec `rate=200mbit,rtt=10ms[,jitter=1ms]` (optionally written `custom,rate=…`). Rates use tc's
 * units (bit, kbit, mbit, gbit: powers of 1000), times us, ms or s.
 */
import { z } from 'zod';
import { MpcError } from '../util/errors.js';

/** One row per shaped preset: the settings papers use (research/mpc-anchors.md, "Network"). */
export const PRESETS = {
  lan: { rateBitsPerS: 1e9, rttMs: 0.5, jitterMs: 0 },
  wan: { rateBitsPerS: 100e6, rttMs: 40, jitterMs: 0 },
} as const;

export const NET_NAMES = ['loopback', 'lan', 'wan', 'custom'] as const;
export type NetName = (typeof NET_NAMES)[number];

/** A shaped network: every host's link has this rate each way; any two hosts are `rttMs` apart. */
export interface ShapedNet {
  readonly name: 'lan' | 'wan' | 'custom';
  /** Link rate of each host's interface, per direction, in bits per second (layer 2, as tc counts). */
  readonly rateBitsPerS: number;
  /** Round-trip time between any two hosts; each direction adds half. */
  readonly rttMs: number;
  /** Each chunk's one-way delay is rttMs/2 ± up to jitterMs (uniform), never reordering bytes. */
  readonly jitterMs: number;
}

export type NetSpec = { readonly name: 'loopback' } | ShapedNet;

const MAX_RTT_MS = 10_000;

const ShapedSchema = z
  .object({
    name: z.enum(['lan', 'wan', 'custom']),
    rateBitsPerS: z
      .number({ error: 'rate= is required (e.g. rate=200mbit)' })
      .min(8e3, 'rate must be at least 8kbit')
      .max(100e9, 'rate must be at most 100gbit'),
    rttMs: z
      .number({ error: 'rtt= is required (e.g. rtt=10ms)' })
      .min(0, 'rtt must not be negative')
      .max(MAX_RTT_MS, `rtt must be at most ${MAX_RTT_MS / 1000}s`),
    jitterMs: z.number().min(0, 'jitter must not be negative').default(0),
  })
  .refine((s) => s.jitterMs <= s.rttMs / 2, {
    message: 'jitter must be at most rtt/2 (it varies the one-way delay)',
    path: ['jitterMs'],
  });

const RATE_UNITS: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9 };
const TIME_UNITS: Record<string, number> = { us: 1e-3, ms: 1, s: 1e3 };

function quantity(key: string, value: string, units: Record<string, number>): number {
  const m = /^(\d+(?:\.\d+)?)([a-z]+)$/i.exec(value);
  const scale = m ? units[m[2]!.toLowerCase()] : undefined;
  if (!m || scale === undefined)
    throw new MpcError(
      'E_CONFIG',
      `--net: ${key}=${value}: expected a number with a unit (${Object.keys(units).join(', ')})`,
    );
  return Number(m[1]) * scale;
}

const FIELDS = {
  rate: (v: string) => ({ rateBitsPerS: quantity('rate', v, RATE_UNITS) }),
  rtt: (v: string) => ({ rttMs: quantity('rtt', v, TIME_UNITS) }),
  jitter: (v: string) => ({ jitterMs: quantity('jitter', v, TIME_UNITS) }),
} as const;

/**
 * Parses a `--net` value.
 * @throws MpcError E_CONFIG naming the offending field (unknown preset or key, bad unit, out of range).
 */
export function parseNetSpec(text: string): NetSpec {
  const parts = text
    .trim()
    .split(',')
    .map((p) => p.trim());
  const head = parts[0]!.includes('=') ? 'custom' : parts.shift()!;
  if (!(NET_NAMES as readonly string[]).includes(head))
    throw new MpcError(
      'E_CONFIG',
      `--net: unknown network '${head}' (known: ${NET_NAMES.join(', ')}, or rate=…,rtt=…[,jitter=…])`,
    );
  if (head === 'loopback') {
    if (parts.length > 0) throw new MpcError('E_CONFIG', '--net: loopback takes no settings');
    return { name: 'loopback' };
  }
  let input: Record<string, unknown> = { name: head, ...(head === 'custom' ? {} : PRESETS[head as 'lan' | 'wan']) };
  for (const p of parts) {
    const eq = p.indexOf('=');
    const key = p.slice(0, eq);
    if (eq < 0 || !Object.prototype.hasOwnProperty.call(FIELDS, key))
      throw new MpcError(
        'E_CONFIG',
        `--net: '${p}': expected one of ${Object.keys(FIELDS)
          .map((k) => k + '=…')
          .join(', ')}`,
      );
    input = { ...input, ...FIELDS[key as keyof typeof FIELDS](p.slice(eq + 1)) };
  }
  return shapedNet(input);
}

/**
 * Validates a shaped network given as an object (for callers that build one in code).
 * @throws MpcError E_CONFIG naming the offending field.
 */
export function shapedNet(input: unknown): ShapedNet {
  const r = ShapedSchema.safeParse(input);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new MpcError('E_CONFIG', `--net: ${String(i.path[0] ?? 'spec')}: ${i.message}`);
  }
  return r.data;
}

/** A short human-readable form, e.g. `wan (100 Mbit/s, rtt 40 ms, jitter 0 ms)`. */
export function describeNet(spec: NetSpec): string {
  if (spec.name === 'loopback') return 'loopback (no shaping)';
  return `${spec.name} (${spec.rateBitsPerS / 1e6} Mbit/s, rtt ${spec.rttMs} ms, jitter ${spec.jitterMs} ms)`;
}
