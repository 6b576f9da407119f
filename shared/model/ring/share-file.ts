/**
 * Share files: one safetensors file per party holding its additive shares (dtype U64) of the
 * folded, encoded model, plus a public `config.json` beside them. A random `shareId` ties the
 * two files of one sharing run together (mixing files of two runs would reconstruct garbage, so
 * the parties compare ids before loading), and `modelSha256` lets a client check that the model
 * file it holds is the one that was shared.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { MpcError } from '../../util/index.js';
import { FRAC_BITS } from '../../ring/fixed-point.js';
import { Prg, randomSeed } from '../../ring/prg.js';
import { parseModelConfig, type ModelConfig } from '../llama-config.js';
import { parseSafetensors } from '../safetensors.js';
import type { EncodedTensor } from './fold.js';
import { anyRingSpec } from './any-model.js';

export const ShareConfig = z.object({
  format: z.literal('mpcache-shares/1'),
  shareId: z.string().regex(/^[0-9a-f]{32}$/),
  modelSha256: z.string().regex(/^[0-9a-f]{64}$/),
  fracBits: z.number().int().min(1).max(30),
  /** The Hugging Face style config of the model (public architecture). */
  model: z.record(z.string(), z.unknown()),
  /**
   * False only for weights that are public anyway (random benchmark models, the project's own
   * model): parties then may serve the benchmark and test modes that reveal activations.
   */
  secretWeights: z.boolean().default(true),
});
export type ShareConfig = z.infer<typeof ShareConfig>;

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** Serialises u64 tensors as safetensors (dtype U64), header padded to 8 bytes. */
export function encodeU64Safetensors(
  tensors: ReadonlyArray<[string, { shape: readonly number[]; data: BigUint64Array }]>,
  metadata: Record<string, string>,
): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    header[name] = { dtype: 'U64', shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((Buffer.byteLength(json) + 8) % 8)) % 8);
  const hb = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + hb.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(hb.length), true);
  out.set(hb, 8);
  let at = 8 + hb.length;
  for (const [, t] of tensors) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Writes config.json, party0.safetensors and party1.safetensors into `dir`.
 * The party files are the only place the shares exist; each party is given only its own file.
 */
export function writeShares(
  dir: string,
  hfConfig: Record<string, unknown>,
  modelSha256: string,
  enc: ReadonlyMap<string, EncodedTensor>,
  o: { secretWeights?: boolean } = {},
): ShareConfig {
  mkdirSync(dir, { recursive: true });
  const shareId = randomBytes(16).toString('hex');
  const prg = new Prg(randomSeed());
  const p0: Array<[string, { shape: readonly number[]; data: BigUint64Array }]> = [];
  const p1: typeof p0 = [];
  for (const [name, t] of enc) {
    const s0 = prg.ring(t.data.length),
      s1 = new BigUint64Array(t.data.length);
    for (let i = 0; i < s1.length; i++) s1[i] = t.data[i]! - s0[i]!;
    p0.push([name, { shape: t.shape, data: s0 }]);
    p1.push([name, { shape: t.shape, data: s1 }]);
  }
  const cfg: ShareConfig = {
    format: 'mpcache-shares/1',
    shareId,
    modelSha256,
    fracBits: FRAC_BITS,
    model: hfConfig,
    secretWeights: o.secretWeights ?? true,
  };
  writeFileSync(join(dir, 'config.json'), JSON.stringify(cfg, null, 2) + '\n');
  writeFileSync(join(dir, 'party0.safetensors'), encodeU64Safetensors(p0, { shareId, party: '0' }));
  writeFileSync(join(dir, 'party1.safetensors'), encodeU64Safetensors(p1, { shareId, party: '1' }));
  return cfg;
}

export interface PartyShares {
  readonly config: ModelConfig;
  readonly shareConfig: ShareConfig;
  /** This party's share of every tensor, in `anyRingSpec` order. */
  readonly tensors: Map<string, EncodedTensor>;
}

/**
 * Reads a party's share file and the public config, checking every tensor against the spec.
 * @throws MpcError E_MODEL for a malformed file, a missing/misshaped tensor, another sharing run
 *   (shareId) or another party's file.
 */
export function readPartyShares(configPath: string, sharesPath: string, party: 0 | 1): PartyShares {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(configPath, 'utf8'));
  } catch (e) {
    throw new MpcError('E_MODEL', `${configPath}: ${(e as Error).message}`);
  }
  const r = ShareConfig.safeParse(raw);
  if (!r.success)
    throw new MpcError(
      'E_MODEL',
      `${configPath}: not a share config (${r.error.issues[0]?.path.join('.')}: ${r.error.issues[0]?.message})`,
    );
  const shareConfig = r.data;
  const config = parseModelConfig(shareConfig.model, configPath);
  const st = parseSafetensors(new Uint8Array(readFileSync(sharesPath)), sharesPath);
  if (st.metadata['shareId'] !== shareConfig.shareId)
    throw new MpcError('E_MODEL', `${sharesPath} belongs to another sharing run than ${configPath}`);
  if (st.metadata['party'] !== String(party))
    throw new MpcError('E_MODEL', `${sharesPath} is party ${st.metadata['party']}'s file, not party ${party}'s`);
  const tensors = new Map<string, EncodedTensor>();
  for (const [name, spec] of anyRingSpec(config, shareConfig.fracBits)) {
    const t = st.tensors.get(name);
    if (!t || t.dtype !== 'U64' || t.shape.join(',') !== spec.shape.join(',')) {
      throw new MpcError('E_MODEL', `${sharesPath}: tensor ${name} missing or not U64 [${spec.shape.join(', ')}]`);
    }
    const data = new BigUint64Array(t.shape.reduce((a, b) => a * b, 1));
    new Uint8Array(data.buffer).set(st.bytes.subarray(t.begin, t.end));
    tensors.set(name, { ...spec, data });
  }
  return { config, shareConfig, tensors };
}
