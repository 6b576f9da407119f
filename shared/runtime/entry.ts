/**
 * What the three entry points (dealer/, party0/, party1/) share: flag schemas, logger set-up,
 * the "listening" line on stdout (the launcher reads ports from it), and clean shutdown on
 * SIGTERM/SIGINT. Logs go to stderr.
 */
import { z } from 'zod';
import { MpcError, createLogger, toMpcError } from '../util/index.js';
import { readPartyShares } from '../model/ring/share-file.js';
import { STANDARD_NL } from '../model/ring/recipes.js';
import { parseFlags, splitArgv } from '../config/argv.js';
import { DEFAULT_LIMITS, type Limits } from '../net/limits.js';
import { loadTls, type TlsConfig } from '../net/tls.js';
import { DealerService } from './dealer-service.js';
import { PartyService } from './party-service.js';

const Common = {
  host: z.string().default('127.0.0.1'),
  timeoutMs: z.number().int().positive().default(DEFAULT_LIMITS.timeoutMs),
  maxFrameMb: z.number().positive().max(4096).default(DEFAULT_LIMITS.maxFrameBytes / 2 ** 20),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  /** TLS with certificates for every link (all three or none). */
  tlsCa: z.string().optional(),
  tlsCert: z.string().optional(),
  tlsKey: z.string().optional(),
};

function tlsOf(f: { tlsCa?: string | undefined; tlsCert?: string | undefined; tlsKey?: string | undefined }): { tls?: TlsConfig } {
  const tls = loadTls({ ca: f.tlsCa, cert: f.tlsCert, key: f.tlsKey });
  return tls ? { tls } : {};
}

function limitsOf(f: { timeoutMs: number; maxFrameMb: number }): Limits {
  return { ...DEFAULT_LIMITS, timeoutMs: f.timeoutMs, maxFrameBytes: Math.floor(f.maxFrameMb * 2 ** 20) };
}

function onSignals(stop: () => Promise<void>): void {
  let stopping = false;
  const handler = (): void => {
    if (stopping) return;
    stopping = true;
    stop().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
}

function fatal(role: string, e: unknown): never {
  const err = toMpcError(e);
  process.stderr.write(`${role}: ${err.message}\n`);
  process.exit(2);
}

export async function dealerMain(argv: readonly string[]): Promise<void> {
  try {
    const f = parseFlags(z.object({ ...Common, port: z.number().int().min(0).max(65535).default(7100) }), splitArgv(argv).flags, 'dealer');
    const log = createLogger({ role: 'dealer', level: f.logLevel });
    const svc = new DealerService({ host: f.host, port: f.port, limits: limitsOf(f), log, nl: STANDARD_NL, ...tlsOf(f) });
    const port = await svc.listen();
    process.stdout.write(JSON.stringify({ event: 'listening', role: 'dealer', port }) + '\n');
    log.info({ port }, 'dealer listening');
    onSignals(() => svc.close());
  } catch (e) {
    fatal('dealer', e);
  }
}

export async function partyMain(role: 0 | 1, argv: readonly string[]): Promise<void> {
  try {
    const schema = z.object({
      ...Common,
      clientPort: z.number().int().min(0).max(65535).default(role === 0 ? 7000 : 7001),
      dealer: z.string().regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL').default('ws://127.0.0.1:7100'),
      /** This party's share file and the public share config (serve a model for generation). */
      shares: z.string().optional(),
      shareConfig: z.string().optional(),
      /** Accept generation test hooks (tests and bench:decode only: they reveal activations or selections). */
      allowTestHooks: z.boolean().default(false),
      ...(role === 0 ? { peer: z.string().regex(/^wss?:\/\//, 'must be a ws:// or wss:// URL').default('ws://127.0.0.1:7011') } : { peerPort: z.number().int().min(0).max(65535).default(7011) }),
    });
    const f = parseFlags(schema, splitArgv(argv).flags, `party${role}`) as z.infer<typeof schema> & { peer?: string; peerPort?: number };
    const log = createLogger({ role: `party${role}`, level: f.logLevel });
    if ((f.shares === undefined) !== (f.shareConfig === undefined)) throw new MpcError('E_CONFIG', '--shares and --share-config go together');
    const model = f.shares ? { shares: readPartyShares(f.shareConfig!, f.shares, role), nl: STANDARD_NL } : undefined;
    const svc = new PartyService({
      role, host: f.host, clientPort: f.clientPort, dealerUrl: f.dealer,
      ...(role === 0 ? { peerUrl: f.peer! } : { peerPort: f.peerPort! }),
      limits: limitsOf(f), log, ...(model ? { model } : {}), ...tlsOf(f), allowTestHooks: f.allowTestHooks,
    });
    const ports = await svc.listen();
    process.stdout.write(JSON.stringify({ event: 'listening', role: `party${role}`, ...ports }) + '\n');
    log.info(ports, 'party listening');
    onSignals(() => svc.close());
  } catch (e) {
    fatal(`party${role}`, e);
  }
}
