/**
 * What the generation socket suites share: a random tiny model and its two share files in a temp
 * directory, and a dealer and two parties serving it in this process (launched processes:
 * `shareFlags` of shared/runtime/launch.ts).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DealerService } from '../../shared/runtime/dealer-service.js';
import { PartyService } from '../../shared/runtime/party-service.js';
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
export function writeTinyShares(prefix: string, spec: TinySpec, rng: TestRng): TinyShares {
  const root = mkdtempSync(join(tmpdir(), prefix));
  const modelDir = join(root, 'model'), sharesDir = join(root, 'shares');
  mkdirSync(modelDir);
  writeFileSync(join(modelDir, 'config.json'), JSON.stringify(hfConfig(spec)));
  writeFileSync(join(modelDir, 'model.safetensors'), toFile(randomTensors(spec, rng)));
  const cfg = writeShares(sharesDir, hfConfig(spec), sha256File(join(modelDir, 'model.safetensors')), encodeRingModel(loadGpt2(modelDir)));
  return { root, modelDir, sharesDir, cfg, remove: () => rmSync(root, { recursive: true, force: true }) };
}

export interface InProcessParties {
  readonly urls: [string, string];
  close(): Promise<void>;
}

/** A dealer and two parties on loopback in this process, serving the shares in `sharesDir`. */
export async function startParties(sharesDir: string, o: { nl: RingNonlinear; limits: Limits; allowTestHooks: boolean }): Promise<InProcessParties> {
  const dealer = new DealerService({ host: '127.0.0.1', port: 0, limits: o.limits, log: silentLogger, nl: o.nl });
  const dport = await dealer.listen();
  const party = (role: 0 | 1) => ({
    host: '127.0.0.1', clientPort: 0, dealerUrl: `ws://127.0.0.1:${dport}`, limits: o.limits, log: silentLogger,
    model: { shares: readPartyShares(join(sharesDir, 'config.json'), join(sharesDir, `party${role}.safetensors`), role), nl: o.nl }, allowTestHooks: o.allowTestHooks,
  });
  const p1 = new PartyService({ role: 1, peerPort: 0, ...party(1) });
  const a = await p1.listen();
  const p0 = new PartyService({ role: 0, peerUrl: `ws://127.0.0.1:${a.peerPort}`, ...party(0) });
  const b = await p0.listen();
  return {
    urls: [`ws://127.0.0.1:${b.clientPort}`, `ws://127.0.0.1:${a.clientPort}`],
    close: async () => { await Promise.all([p0.close(), p1.close(), dealer.close()]); },
  };
}
