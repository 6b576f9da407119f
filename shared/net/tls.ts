/**
 * Authenticated links (DESIGN §10): every WebSocket is TLS 1.3 with certificates on both ends, and
 * every end checks the other's **role** before any message is read.
 *
 * A deployment has one CA (runtime/deployment.ts, `npm run ca`) that issues one certificate per
 * role; the role is the subject's OU, `mpcache-<role>` (dealer, party0, party1, client). A listener
 * accepts a connection only if the peer's certificate chains to the CA, carries a role the listener
 * serves (party 1's peer port: party0 only; a party's client port: client only; the dealer: party0
 * and party1) and, where the operator pinned that role to one certificate, has the pinned SHA-256
 * fingerprint. Anything else is refused during the HTTP upgrade (status 403), logged with the
 * peer's role and name, and the listener keeps serving. A dialer checks the server's certificate
 * the same way (host name, then role and pin), so a party never sends a byte to an impostor.
 */
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { checkServerIdentity, type PeerCertificate, type TLSSocket } from 'node:tls';
import { WebSocket, WebSocketServer } from 'ws';
import { MpcError } from '../util/errors.js';
import type { Logger } from '../util/logger.js';

export const ROLES = ['dealer', 'party0', 'party1', 'client'] as const;
export type Role = (typeof ROLES)[number];

/** The subject OU that names a role in a certificate. */
export const roleUnit = (role: Role): string => `mpcache-${role}`;

export interface TlsConfig {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
  /** This process's role, as its own certificate says. */
  readonly role: Role;
  /** Roles pinned to one certificate: SHA-256 fingerprints (hex, no colons, lower case). */
  readonly pins: Readonly<Partial<Record<Role, string>>>;
}

/** Who is at the other end of an accepted or dialled link (from its verified certificate). */
export interface PeerIdentity {
  readonly role: Role;
  readonly name: string;
  readonly fingerprint: string;
}

const normalise = (fp: string): string => fp.replace(/:/g, '').toLowerCase();

function fieldOf(subject: string | Record<string, unknown>, key: string): string[] {
  if (typeof subject === 'string')
    return subject
      .split('\n')
      .filter((l) => l.startsWith(key + '='))
      .map((l) => l.slice(key.length + 1));
  const v = subject[key];
  return Array.isArray(v) ? v.map(String) : v === undefined ? [] : [String(v)];
}

/** The role a certificate subject names (exactly one `mpcache-*` OU), or undefined. */
export function roleOfSubject(subject: string | Record<string, unknown> | undefined): Role | undefined {
  if (subject === undefined) return undefined;
  const roles = fieldOf(subject, 'OU').flatMap((ou) => ROLES.filter((r) => ou === roleUnit(r)));
  return roles.length === 1 ? roles[0] : undefined;
}

function identityOf(cert: PeerCertificate | undefined): PeerIdentity | undefined {
  if (!cert || !cert.subject) return undefined;
  const role = roleOfSubject(cert.subject as unknown as Record<string, unknown>);
  if (!role) return undefined;
  return {
    role,
    name: fieldOf(cert.subject as unknown as Record<string, unknown>, 'CN')[0] ?? '?',
    fingerprint: normalise(cert.fingerprint256),
  };
}

/**
 * Reads this process's TLS material and checks that its certificate is issued for `role`.
 * @throws MpcError E_CONFIG if a file is missing or unreadable, or the certificate has another role.
 */
export function loadTls(
  paths: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined },
  role: Role,
  pins: Partial<Record<Role, string>> = {},
): TlsConfig {
  const missing = (['ca', 'cert', 'key'] as const).filter((k) => paths[k] === undefined);
  if (missing.length) {
    throw new MpcError(
      'E_CONFIG',
      `every link is TLS with role certificates: give ${missing.map((k) => `--tls-${k}`).join(', ')} (make a deployment with \`npm run ca\`)`,
    );
  }
  const read = (p: string): Buffer => {
    try {
      return readFileSync(p);
    } catch (e) {
      throw new MpcError('E_CONFIG', `cannot read ${p}: ${(e as Error).message}`);
    }
  };
  const cert = read(paths.cert!);
  let own: Role | undefined;
  try {
    own = roleOfSubject(new X509Certificate(cert).subject);
  } catch (e) {
    throw new MpcError('E_CONFIG', `${paths.cert} is not a PEM certificate: ${(e as Error).message}`);
  }
  if (own !== role)
    throw new MpcError(
      'E_CONFIG',
      `${paths.cert} is a certificate for ${own ?? 'no mpcache role'}, but this process is the ${role}`,
    );
  const norm: Partial<Record<Role, string>> = {};
  for (const [r, fp] of Object.entries(pins)) if (fp) norm[r as Role] = normalise(fp);
  return { ca: read(paths.ca!), cert, key: read(paths.key!), role, pins: norm };
}

/** Why a listener refuses a connection (counted by reason in the servers' metrics). */
export type ListenRefusal = 'tls' | 'role' | 'pin' | 'connections';

/** Why an identity may not connect here, or null if it may. */
function refusal(
  id: PeerIdentity | undefined,
  accept: readonly Role[],
  pins: TlsConfig['pins'],
): [ListenRefusal, string] | null {
  if (!id) return ['role', 'its certificate names no mpcache role'];
  if (!accept.includes(id.role)) return ['role', `role ${id.role} is not served here (only ${accept.join(', ')})`];
  const pin = pins[id.role];
  if (pin !== undefined && pin !== id.fingerprint) return ['pin', `its ${id.role} certificate is not the pinned one`];
  return null;
}

export interface ListenOptions {
  host: string;
  port: number;
  /** Largest message accepted on this listener (ws rejects larger ones before buffering them). */
  maxPayload: number;
  tls: TlsConfig;
  /** Roles this listener serves. */
  accept: readonly Role[];
  /** Open connections at most; more are refused (503). */
  maxConnections: number;
  /** What this listener is, for logs ('client port', 'peer port', 'dealer'). */
  what: string;
  log: Logger;
  /** Called for each refused connection (metrics). */
  onRefused?: (reason: ListenRefusal) => void;
}

export interface Listener {
  readonly port: number;
  /** Registers the handler of accepted connections (with the peer's verified identity). */
  onConnection(cb: (ws: WebSocket, peer: PeerIdentity) => void): void;
  /** Open connections. */
  readonly connections: number;
  close(): Promise<void>;
}

/** A TLS WebSocket server that accepts only the given roles. */
export async function listenWs(o: ListenOptions): Promise<Listener> {
  const https = createHttpsServer({
    ca: o.tls.ca,
    cert: o.tls.cert,
    key: o.tls.key,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.3',
  });
  const peers = new WeakMap<IncomingMessage, PeerIdentity>();
  const wss = new WebSocketServer({
    server: https,
    maxPayload: o.maxPayload,
    perMessageDeflate: false,
    verifyClient: ({ req }, done) => {
      const id = identityOf((req.socket as TLSSocket).getPeerCertificate?.());
      const why =
        refusal(id, o.accept, o.tls.pins) ??
        (wss.clients.size >= o.maxConnections
          ? (['connections', `${o.maxConnections} connections are open`] as const)
          : null);
      if (why) {
        o.log.warn(
          { listener: o.what, peerRole: id?.role ?? 'none', peerName: id?.name ?? '?' },
          `refused a connection: ${why[1]}`,
        );
        o.onRefused?.(why[0]);
        done(false, why[0] === 'connections' ? 503 : 403, why[1]);
        return;
      }
      peers.set(req, id!);
      done(true);
    },
  });
  https.on('tlsClientError', (e) => {
    o.log.warn({ listener: o.what, reason: e.message.slice(0, 200) }, 'refused a TLS handshake');
    o.onRefused?.('tls');
  });
  await new Promise<void>((resolve, reject) => {
    https.once('error', reject);
    https.listen(o.port, o.host, () => resolve());
  });
  https.on('error', (e) => o.log.error({ listener: o.what, reason: e.message }, 'listener error'));
  let handler: (ws: WebSocket, peer: PeerIdentity) => void = (ws) => ws.terminate();
  wss.on('connection', (ws, req) => handler(ws, peers.get(req)!));
  return {
    port: (https.address() as { port: number }).port,
    onConnection: (cb) => {
      handler = cb;
    },
    get connections() {
      return wss.clients.size;
    },
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => https.close(() => r()));
    },
  };
}

export interface DialOptions {
  timeoutMs: number;
  maxFrameBytes: number;
  tls: TlsConfig;
  /** The role the server must prove. */
  expect: Role;
}

/**
 * Opens a wss:// connection to `url` and checks the server's certificate: host name, then role
 * (and pin). @throws MpcError E_AUTH if the server is not who it must be or refuses this client,
 * E_CONFIG for a non-wss URL, E_PEER_CLOSED if it cannot be reached, E_TIMEOUT.
 */
export function dialWs(url: string, remote: string, o: DialOptions): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    if (!url.startsWith('wss://')) {
      reject(new MpcError('E_CONFIG', `${remote} at ${url}: every link is TLS, use a wss:// URL`));
      return;
    }
    let authError: string | undefined;
    const ws = new WebSocket(url, {
      maxPayload: o.maxFrameBytes,
      perMessageDeflate: false,
      // a zero mask skips the XOR pass (still a valid client frame): research/ts-performance.md §4
      generateMask: (m: Buffer) => m.fill(0),
      ca: o.tls.ca,
      cert: o.tls.cert,
      key: o.tls.key,
      minVersion: 'TLSv1.3',
      checkServerIdentity: (host: string, cert: PeerCertificate) => {
        const bad = checkServerIdentity(host, cert);
        if (bad) {
          authError = bad.message;
          return bad;
        }
        const why = refusal(identityOf(cert), [o.expect], o.tls.pins);
        if (why) {
          authError = `${remote} at ${url} is not the ${o.expect}: ${why[1]}`;
          return new Error(authError);
        }
        return undefined;
      },
    } as unknown as WebSocket.ClientOptions);
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new MpcError('E_TIMEOUT', `connecting to ${remote} at ${url}`));
    }, o.timeoutMs);
    timer.unref();
    ws.once('open', () => {
      clearTimeout(timer);
      resolve(ws);
    });
    ws.once('unexpected-response', (_req, res) => {
      clearTimeout(timer);
      ws.terminate();
      reject(
        new MpcError(
          res.statusCode === 403 ? 'E_AUTH' : res.statusCode === 503 ? 'E_BUSY' : 'E_PEER_CLOSED',
          `${remote} at ${url} refused this connection (${res.statusCode}: ${res.statusMessage ?? ''})`,
        ),
      );
    });
    ws.once('error', (e) => {
      clearTimeout(timer);
      reject(
        authError
          ? new MpcError('E_AUTH', authError)
          : new MpcError('E_PEER_CLOSED', `cannot connect to ${remote} at ${url}: ${e.message}`),
      );
    });
  });
}
