/**
 * AES-128-CTR pseudo-random generator: expands a 128-bit seed into ring elements and bits.
 *
 * One long-lived cipher per stream. The caller owns every output buffer (`*Into`); internally
 * node's cipher returns each ≤64 KiB chunk in a buffer it allocates, which we copy out (node has
 * no in-place update; research/ts-performance.md §3 measured ~4.5 GB/s this way with the tuned
 * malloc). Streams are told apart by a 64-bit stream id placed in the high half of the counter
 * block, so one seed yields independent streams (e.g. session material vs. weight masks).
 *
 * Security: AES-CTR under a uniformly random 128-bit key is a PRG; a stream must not exceed
 * 2^64 blocks (it cannot in practice). Never used with a seed that appears in logs.
 */
import { createCipheriv, randomBytes, type Cipher } from 'node:crypto';
import { invariant } from '../util/errors.js';

export const SEED_BYTES = 16;
const CHUNK = 64 * 1024;
const ZEROS = Buffer.alloc(CHUNK);

export function randomSeed(): Uint8Array {
  return new Uint8Array(randomBytes(SEED_BYTES));
}

export class Prg {
  private readonly cipher: Cipher;
  /** Bytes of keystream produced so far (both parties and the dealer can compare positions). */
  position = 0;

  constructor(seed: Uint8Array, streamId = 0n) {
    invariant(seed.length === SEED_BYTES, 'E_INTERNAL', `PRG seed must be ${SEED_BYTES} bytes`);
    const iv = Buffer.alloc(16);
    iv.writeBigUInt64BE(BigInt.asUintN(64, streamId), 0);
    this.cipher = createCipheriv('aes-128-ctr', seed, iv);
  }

  /** Fills `out` (any typed array) with keystream bytes. */
  fillInto(out: ArrayBufferView): void {
    const dst = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
    for (let off = 0; off < dst.length; off += CHUNK) {
      const len = Math.min(CHUNK, dst.length - off);
      const ks = this.cipher.update(len === CHUNK ? ZEROS : ZEROS.subarray(0, len));
      dst.set(ks, off);
    }
    this.position += dst.length;
  }

  /** Uniform ring elements into `out`. */
  ringInto(out: BigUint64Array): BigUint64Array {
    this.fillInto(out);
    return out;
  }

  /** Convenience: n fresh uniform ring elements. */
  ring(n: number): BigUint64Array {
    return this.ringInto(new BigUint64Array(n));
  }

  /** Uniform bits, one per byte (0 or 1), into `out`. */
  bitsInto(out: Uint8Array): Uint8Array {
    this.fillInto(out);
    for (let i = 0; i < out.length; i++) out[i]! &= 1;
    return out;
  }

  bits(n: number): Uint8Array {
    return this.bitsInto(new Uint8Array(n));
  }

  /** Uniform bytes (e.g. packed bit vectors). */
  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    this.fillInto(out);
    return out;
  }
}
