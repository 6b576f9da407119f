/**
 * What the generation socket suites share: a random tiny model and its two share files in a temp
 * directory, and a dealer and two parties serving it in this process (launched processes:
 * `shareFlags` of shared/runtime/launch.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DealerService } from '../../shared/runtime/dealer-service.js';
import { PartyService, type PartyPowers } from '../../shared/runtime/party-service.js';
import { clientTlsOf, tempDeployment } from '../../shared/runtime/launch.js';
import type { Deployment } from '../../shared/runtime/deployment.js';
import { loadTls, type TlsConfig } from '../../shared/net/tls.js';
import type { Limits } from '../../shared/net/limits.js';
import { silentLogger } from '../../shared/util/index.js';
import { loadGpt2 } from '../../shared/model/weights.js';
import { encodeRingModel } from '../../shared/model/ring/fold.js';
import type { RingNonlinear } from '../../shared/model/ring/ops.js';
import { readPartyShares, writeShares, sha256File, type ShareConfig } from '../../shared/model/ring/share-file.js';
import { hfConfig, randomTensors, toFile, type TinySpec } from '../model/tiny-model.js';
import type { TestRng } from './rng.js';

export interface TinyShares {
  readonly root: string;
  readonly modelDir: string;
  readonly sharesDir: string;
  readonly cfg: ShareConfig;
  /** Removes the temp directory. */
  remove(): void;
}

/** Random weights of `spec` (drawn from `rng`), as a model directory plus the two parties' share files. */
export function writeTinyShares(
  prefix: string,
  spec: TinySpec,
  rng: TestRng,
  o: { secretWeights?: boolean } = {},
): TinyShares {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const modelDir = join(root, 'model'),
    sharesDir = join(root, 'shares');
  mkdirSync(modelDir);
  writeFileSync(join(modelDir, 'config.json'), JSON.stringify(hfConfig(spec)));
  writeFileSync(join(modelDir, 'model.safetensors'), toFile(randomTensors(spec, rng)));
  // random test weights are not secret unless asked (test hooks may reveal activations)
  const cfg = writeShares(
    sharesDir,
    hfConfig(spec),
    sha256File(join(modelDir, 'model.safetensors')),
    encodeRingModel(loadGpt2(modelDir)),
    { secretWeights: o.secretWeights ?? false },
  );
  return { root, modelDir, sharesDir, cfg, remove: () => rmSync(root, { recursive: true, force: true }) };
}

export interface InProcessParties {
  readonly urls: [string, string];
  readonly dealerUrl: string;
  readonly peerUrl: string;
  readonly deployment: Deployment;
  readonly services: { dealer: DealerService; party0: PartyService; party1: PartyService };
  /** Client options for `urls` (TLS material of the client role). */
  readonly opts: { timeoutMs: number; maxFrameBytes: number; tls: TlsConfig };
  close(): Promise<void>;
}

/** A dealer and two parties on loopback in this process (TLS, a throwaway deployment), serving the shares in `sharesDir`. */
export async function startParties(
  sharesDir: string,
  o: { nl: RingNonlinear; limits: Limits; powers?: Partial<PartyPowers> },
): Promise<InProcessParties> {
  const pki = tempDeployment(),
    d = pki.deployment;
  const tls = (role: 'dealer' | 'party0' | 'party1') =>
    loadTls({ ca: d.ca, cert: d.roles[role].cert, key: d.roles[role].key }, role);
  const dealer = new DealerService({
    host: '127.0.0.1',
    port: 0,
    limits: o.limits,
    log: silentLogger,
    nl: o.nl,
    tls: tls('dealer'),
  });
  const dport = await dealer.listen();
  const party = (role: 0 | 1) => ({
    host: '127.0.0.1',
    clientPort: 0,
    dealerUrl: `wss://127.0.0.1:${dport}`,
    limits: o.limits,
    log: silentLogger,
    tls: tls(role === 0 ? 'party0' : 'party1'),
    model: {
      shares: readPartyShares(join(sharesDir, 'config.json'), join(sharesDir, `party${role}.safetensors`), role),
      nl: o.nl,
    },
    powers: o.powers ?? {},
  });
  const p1 = new PartyService({ role: 1, peerPort: 0, ...party(1) });
  const a = await p1.listen();
  const p0 = new PartyService({ role: 0, peerUrl: `wss://127.0.0.1:${a.peerPort}`, ...party(0) });
  const b = await p0.listen();
  return {
    urls: [`wss://127.0.0.1:${b.clientPort}`, `wss://127.0.0.1:${a.clientPort}`],
    dealerUrl: `wss://127.0.0.1:${dport}`,
    peerUrl: `wss://127.0.0.1:${a.peerPort}`,
    deployment: d,
    services: { dealer, party0: p0, party1: p1 },
    opts: { timeoutMs: o.limits.timeoutMs, maxFrameBytes: 1 << 26, tls: clientTlsOf(d) },
    close: async () => {
      await Promise.all([p0.close(), p1.close(), dealer.close()]);
      pki.remove();
    },
  };
}
