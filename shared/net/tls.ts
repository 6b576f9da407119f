/**
 * WebSocket servers and connections, plain (loopback runs) or TLS with authentication of both
 * ends (DESIGN §10: across machines every link is TLS). With TLS every process presents a
 * certificate signed by the deployment's CA and accepts only peers presenting one: party↔party,
 * party↔dealer and client↔party alike. URLs then use wss://.
 */
import { readFileSync } from 'node:fs';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { WebSocket, WebSocketServer } from 'ws';
import { MpcError } from '../util/errors.js';

export interface TlsConfig {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** @throws MpcError E_CONFIG if a file cannot be read or only some of the three are given. */
export function loadTls(paths: { ca?: string | undefined; cert?: string | undefined; key?: string | undefined }): TlsConfig | undefined {
  const given = [paths.ca, paths.cert, paths.key].filter((p) => p !== undefined).length;
  if (given === 0) return undefined;
  if (given !== 3) throw new MpcError('E_CONFIG', 'TLS needs all of --tls-ca, --tls-cert and --tls-key');
  const read = (p: string): Buffer => {
    try { return readFileSync(p); } catch (e) { throw new MpcError('E_CONFIG', `cannot read ${p}: ${(e as Error).message}`); }
  };
  return { ca: read(paths.ca!), cert: read(paths.cert!), key: read(paths.key!) };
}

/** A WebSocket server on host:port (0 = any free port), TLS-wrapped when `tls` is given. */
export async function listenWs(host: string, port: number, maxPayload: number, tls?: TlsConfig): Promise<{ wss: WebSocketServer; port: number; close(): Promise<void> }> {
  let https: HttpsServer | undefined;
  let wss: WebSocketServer;
  if (tls) {
    https = createHttpsServer({ ca: tls.ca, cert: tls.cert, key: tls.key, requestCert: true, rejectUnauthorized: true, minVersion: 'TLSv1.3' });
    wss = new WebSocketServer({ server: https, maxPayload, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => { https!.once('error', reject); https!.listen(port, host, () => resolve()); });
  } else {
    wss = new WebSocketServer({ host, port, maxPayload, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => { wss.once('listening', resolve); wss.once('error', reject); });
  }
  const addr = (https ?? wss).address() as { port: number };
  return {
    wss, port: addr.port,
    close: async () => {
      for (const c of wss.clients) c.terminate();
      await new Promise<void>((r) => wss.close(() => r()));
      if (https) await new Promise<void>((r) => https!.close(() => r()));
    },
  };
}

/** Opens a WebSocket to `url` (ws:// or wss://), failing with a coded error within `timeoutMs`. */
export function dialWs(url: string, remote: string, opts: { timeoutMs: number; maxFrameBytes: number; tls?: TlsConfig | undefined }): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    if (url.startsWith('wss://') && !opts.tls) { reject(new MpcError('E_CONFIG', `${url} needs --tls-ca, --tls-cert and --tls-key`)); return; }
    const ws = new WebSocket(url, {
      maxPayload: opts.maxFrameBytes, perMessageDeflate: false,
      // a zero mask skips the XOR pass (still a valid client frame): research/ts-performance.md §4
      generateMask: (m: Buffer) => m.fill(0),
      ...(opts.tls ? { ca: opts.tls.ca, cert: opts.tls.cert, key: opts.tls.key, minVersion: 'TLSv1.3' } : {}),
    } as WebSocket.ClientOptions);
    const timer = setTimeout(() => { ws.terminate(); reject(new MpcError('E_TIMEOUT', `connecting to ${remote} at ${url}`)); }, opts.timeoutMs);
    timer.unref();
    ws.once('open', () => { clearTimeout(timer); resolve(ws); });
    ws.once('error', (e) => { clearTimeout(timer); reject(new MpcError('E_PEER_CLOSED', `cannot connect to ${remote} at ${url}: ${e.message}`)); });
  });
}
