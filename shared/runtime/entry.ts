/**
 * What the three entry points (dealer/, party0/, party1/) share: their flags (command line, a JSON
 * config file or MPC_* environment variables: config/cli.ts), logger set-up, the "listening" line on
 * stdout (the launcher reads ports from it), and clean shutdown on SIGTERM/SIGINT. Logs go to stderr.
 */
import { z } from 'zod';
import { MpcError, createLogger, toMpcError } from '../util/index.js';
import { readPartyShares } from '../model/ring/share-file.js';
import { STANDARD_NL } from '../model/ring/recipes.js';
import { commandFlags } from '../config/cli.js';
import { DEFAULT_LIMITS, type Limits } from '../net/limits.js';
import { loadTls, type Role, type TlsConfig } from '../net/tls.js';
import { DealerService } from './dealer-service.js';
import { PartyService } from './party-service.js';
import { ServerMetrics, serveMetrics } from './metrics.js';

const port = (d: number, what: string) => z.number().int().min(0).max(65535).default(d).describe(what);
const wssUrl = (what: string) =>
  z
    .string()
    .regex(/^wss:\/\/./, 'must be a wss:// URL (every link is TLS)')
    .describe(what);
const fingerprint = (role: Role) =>
  z
    .string()
    .regex(/^([0-9a-fA-F]{2}:?){31}[0-9a-fA-F]{2}$/, 'must be a SHA-256 fingerprint (64 hex digits)')
    .optional()
    .describe(`accept only the ${role} certificate with this SHA-256 fingerprint`);

const Common = {
  host: z.string().default('127.0.0.1').describe('address to listen on'),
  tlsCa: z.string().describe('the deployment CA certificate (PEM; `npm run ca` makes one)'),
  tlsCert: z.string().describe("this process's role certificate (PEM)"),
  tlsKey: z.string().describe("this process's private key (PEM)"),
  pinDealer: fingerprint('dealer'),
  pinParty0: fingerprint('party0'),
  pinParty1: fingerprint('party1'),
  pinClient: fingerprint('client'),
  timeoutMs: z
    .number()
    .int()
    .positive()
    .default(DEFAULT_LIMITS.timeoutMs)
    .describe('deadline of any wait on another process during a session'),
  helloMs: z
    .number()
    .int()
    .positive()
    .default(DEFAULT_LIMITS.helloMs)
    .describe('deadline of the first message on a new connection'),
  maxFrameMb: z
    .number()
    .positive()
    .max(4096)
    .default(DEFAULT_LIMITS.maxFrameBytes / 2 ** 20)
    .describe('largest message on session links, MiB'),
  maxConnections: z
    .number()
    .int()
    .positive()
    .default(DEFAULT_LIMITS.maxConnections)
    .describe('open connections per listening port'),
  maxSessions: z.number().int().positive().default(DEFAULT_LIMITS.maxSessions).describe('sessions served at once'),
  logLevel: z
    .enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])
    .optional()
    .describe('log level (default info, or MPC_LOG_LEVEL)'),
  metricsPort: z
    .number()
    .int()
    .min(0)
    .max(65535)
    .optional()
    .describe('plain-HTTP port for GET /health and GET /metrics (Prometheus); off when absent, 0 picks a free port'),
  metricsHost: z.string().default('127.0.0.1').describe('address the metrics port listens on'),
  exitWithStdin: z
    .boolean()
    .default(false)
    .describe('stop when standard input closes (harnesses: the server ends with the process that started it)'),
};

type CommonFlags = z.infer<z.ZodObject<typeof Common>>;

function tlsOf(f: CommonFlags, role: Role): TlsConfig {
  return loadTls({ ca: f.tlsCa, cert: f.tlsCert, key: f.tlsKey }, role, {
    dealer: f.pinDealer,
    party0: f.pinParty0,
    party1: f.pinParty1,
    client: f.pinClient,
  });
}

function limitsOf(f: CommonFlags & { maxPromptTokens?: number }): Limits {
  return {
    ...DEFAULT_LIMITS,
    timeoutMs: f.timeoutMs,
    helloMs: f.helloMs,
    maxFrameBytes: Math.floor(f.maxFrameMb * 2 ** 20),
    maxConnections: f.maxConnections,
    maxSessions: f.maxSessions,
    ...(f.maxPromptTokens ? { maxPromptTokens: f.maxPromptTokens } : {}),
  };
}

/** Stops the server on SIGTERM and SIGINT, and when standard input closes if `exitWithStdin`. */
function onSignals(stop: () => Promise<void>, exitWithStdin: boolean): void {
  let stopping = false;
  const handler = (): void => {
    if (stopping) return;
    stopping = true;
    void stop().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 3000).unref();
  };
  process.on('SIGTERM', handler);
  process.on('SIGINT', handler);
  if (exitWithStdin) {
    process.stdin.on('close', handler).on('end', handler).on('error', handler);
    process.stdin.resume();
  }
}

function fatal(role: string, e: unknown): never {
  const err = toMpcError(e);
  process.stderr.write(`${role}: ${err.message}\n`);
  process.exit(2);
}

const DealerFlags = z.object({ ...Common, port: port(7100, 'port the parties connect to') });

export async function dealerMain(argv: readonly string[]): Promise<void> {
  try {
    const { flags: f } = commandFlags(
      {
        usage: 'node dist/dealer/main.js [flags] (or --config dealer.json)',
        configFile: true,
        flags: DealerFlags,
        summary:
          'The dealer: deals correlated randomness to party 0 and party 1, which alone may connect (role certificates).',
      },
      argv,
    );
    const log = createLogger({ role: 'dealer', level: f.logLevel });
    const metrics = f.metricsPort === undefined ? undefined : new ServerMetrics('dealer');
    const svc = new DealerService({
      host: f.host,
      port: f.port,
      limits: limitsOf(f),
      log,
      nl: STANDARD_NL,
      tls: tlsOf(f, 'dealer'),
      ...(metrics ? { metrics } : {}),
    });
    const ops = await serveMetrics(metrics, f, () => svc.state());
    const bound = await svc.listen();
    process.stdout.write(JSON.stringify({ event: 'listening', role: 'dealer', port: bound, ...ops.line }) + '\n');
    log.info({ port: bound, ...ops.line }, 'dealer listening');
    onSignals(async () => {
      await Promise.all([svc.close(), ops.close()]);
    }, f.exitWithStdin);
  } catch (e) {
    fatal('dealer', e);
  }
}

const PartyCommon = {
  ...Common,
  dealer: wssUrl("the dealer's URL"),
  shares: z.string().optional().describe("this party's share file (serve a model for generation)"),
  shareConfig: z.string().optional().describe('the public share config beside the share files'),
  allowLogits: z.boolean().default(false).describe('clients may receive the logits (both parties must allow it)'),
  allowRevealedPrefill: z
    .boolean()
    .default(false)
    .describe('benchmark mode: clients may ask for a prefill computed in the clear (never with secret weights)'),
  allowTestHooks: z
    .boolean()
    .default(false)
    .describe('tests: clients may receive hidden states and selections (never with secret weights)'),
  maxPromptTokens: z
    .number()
    .int()
    .positive()
    .default(DEFAULT_LIMITS.maxPromptTokens)
    .describe('longest prompt accepted'),
};
const Party0Flags = z.object({
  ...PartyCommon,
  clientPort: port(7000, 'port clients connect to'),
  peer: wssUrl("party 1's peer URL"),
});
const Party1Flags = z.object({
  ...PartyCommon,
  clientPort: port(7001, 'port clients connect to'),
  peerPort: port(7011, 'port party 0 connects to'),
});

export async function partyMain(role: 0 | 1, argv: readonly string[]): Promise<void> {
  try {
    const schema = role === 0 ? Party0Flags : Party1Flags;
    const { flags } = commandFlags(
      {
        usage: `node dist/party${role}/main.js [flags] (or --config party${role}.json)`,
        configFile: true,
        flags: schema as typeof Party0Flags,
        summary: `Party ${role}: holds one additive share of the model and of the KV cache; serves clients over TLS (client certificates only)${role === 1 ? ' and party 0 on its peer port' : ' and starts every session'}.`,
      },
      argv,
    );
    const f = flags as z.infer<typeof Party0Flags> & z.infer<typeof Party1Flags>;
    const log = createLogger({ role: `party${role}`, level: f.logLevel });
    if ((f.shares === undefined) !== (f.shareConfig === undefined))
      throw new MpcError('E_CONFIG', '--shares and --share-config go together');
    const model = f.shares ? { shares: readPartyShares(f.shareConfig!, f.shares, role), nl: STANDARD_NL } : undefined;
    const metrics = f.metricsPort === undefined ? undefined : new ServerMetrics(role === 0 ? 'party0' : 'party1');
    const svc = new PartyService({
      role,
      host: f.host,
      clientPort: f.clientPort,
      dealerUrl: f.dealer,
      ...(role === 0 ? { peerUrl: f.peer } : { peerPort: f.peerPort }),
      limits: limitsOf(f),
      log,
      ...(model ? { model } : {}),
      tls: tlsOf(f, role === 0 ? 'party0' : 'party1'),
      powers: { logits: f.allowLogits, revealedPrefill: f.allowRevealedPrefill, testHooks: f.allowTestHooks },
      ...(metrics ? { metrics } : {}),
    });
    const ops = await serveMetrics(metrics, f, () => svc.state());
    const ports = { ...(await svc.listen()), ...ops.line };
    process.stdout.write(JSON.stringify({ event: 'listening', role: `party${role}`, ...ports }) + '\n');
    log.info(ports, 'party listening');
    onSignals(async () => {
      await Promise.all([svc.close(), ops.close()]);
    }, f.exitWithStdin);
  } catch (e) {
    fatal(`party${role}`, e);
  }
}
