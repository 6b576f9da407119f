import {
  decodeTensorFrame,
  encodeTensorFrame,
  packBits,
  unpackBits,
  roundFrameBytes,
  roundPayload,
  tensorFrameBytes,
  type TensorFrame,
} from '../../shared/net/frame.js';
import { FRAME_TYPES } from '../../shared/net/frame-types.js';
import { MpcError } from '../../shared/util/errors.js';
import { encodeControl, decodeControlRaw, parseControl } from '../../shared/net/control.js';
import { z } from 'zod';

const codeOf = (f: () => unknown): string | undefined => {
  try {
    f();
  } catch (e) {
    return e instanceof MpcError ? e.code : 'not-mpc';
  }
  return undefined;
};

describe('tensor frames', () => {
  const frame: TensorFrame = {
    type: 1,
    seq: 5n,
    tag: 0xdeadbeef,
    check: 7,
    parts: [
      { kind: 'u64', data: BigUint64Array.of(1n, 2n ** 64n - 1n) },
      { kind: 'bits', data: Uint8Array.of(0b101), count: 3 },
      { kind: 'bytes', data: Uint8Array.of(9, 8, 7) },
    ],
  };

  test('known-answer encoding (hex)', () => {
    const hex = encodeTensorFrame(frame).toString('hex');
    expect(hex).toBe(
      '4d504354' +
        '0100' +
        '0300' +
        '0500000000000000' +
        'efbeadde' +
        '07000000' +
        '20000000' +
        '00000000' +
        '00000000' +
        '02000000' +
        '01000000' +
        '03000000' +
        '02000000' +
        '03000000' +
        '0100000000000000' +
        'ffffffffffffffff' +
        '0500000000000000' +
        '0908070000000000',
    );
    expect(tensorFrameBytes(frame.parts)).toBe(hex.length / 2);
  });

  test('round trip, including from an unaligned buffer', () => {
    const buf = encodeTensorFrame(frame);
    const shifted = new Uint8Array(buf.length + 3);
    shifted.set(buf, 3);
    for (const b of [buf, shifted.subarray(3)]) {
      const f = decodeTensorFrame(b, 1 << 20);
      expect(f.seq).toBe(5n);
      expect(f.tag).toBe(0xdeadbeef);
      expect(f.parts[0]!.data).toEqual(frame.parts[0]!.data);
      expect(unpackBits(f.parts[1]!.data as Uint8Array, 3)).toEqual(Uint8Array.of(1, 0, 1));
      expect(Array.from(f.parts[2]!.data as Uint8Array)).toEqual([9, 8, 7]);
    }
  });

  test('malformed frames give E_FRAME, oversized ones E_FRAME_TOO_LARGE', () => {
    const buf = encodeTensorFrame(frame);
    expect(codeOf(() => decodeTensorFrame(buf.subarray(0, 20), 1 << 20))).toBe('E_FRAME'); // shorter than the header
    expect(codeOf(() => decodeTensorFrame(buf.subarray(0, buf.length - 8), 1 << 20))).toBe('E_FRAME'); // truncated payload
    const badMagic = Buffer.from(buf);
    badMagic[0] = 0;
    expect(codeOf(() => decodeTensorFrame(badMagic, 1 << 20))).toBe('E_FRAME');
    const badKind = Buffer.from(buf);
    badKind.writeUInt32LE(7, 32);
    expect(codeOf(() => decodeTensorFrame(badKind, 1 << 20))).toBe('E_FRAME');
    const hugeCount = Buffer.from(buf);
    hugeCount.writeUInt32LE(0xffffff, 36);
    expect(codeOf(() => decodeTensorFrame(hugeCount, 1 << 20))).toBe('E_FRAME');
    const manyParts = Buffer.from(buf);
    manyParts.writeUInt16LE(60000, 6);
    expect(codeOf(() => decodeTensorFrame(manyParts, 1 << 20))).toBe('E_FRAME');
    expect(codeOf(() => decodeTensorFrame(buf, 16))).toBe('E_FRAME_TOO_LARGE');
  });

  test('bit packing is LSB first', () => {
    expect(Array.from(packBits(Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 1, 1)))).toEqual([0x81, 0x01]);
  });
});

describe('control messages', () => {
  test('msgpack round trip and zod validation with coded errors', () => {
    const buf = encodeControl({ t: 'x', n: 3 });
    expect(parseControl(z.object({ t: z.literal('x'), n: z.number() }), decodeControlRaw(buf), 'test')).toEqual({
      t: 'x',
      n: 3,
    });
    expect(codeOf(() => parseControl(z.object({ t: z.literal('y') }), decodeControlRaw(buf), 'test'))).toBe('E_FRAME');
    expect(codeOf(() => decodeControlRaw(Uint8Array.of(0x4d, 0x50, 0x43, 0x4c, 0x92)))).toBe('E_FRAME');
  });
});

describe('frame types and declared rounds', () => {
  test('the registry gives every use its own type number (u16)', () => {
    const types = Object.values(FRAME_TYPES);
    expect(new Set(types).size).toBe(types.length);
    for (const t of types) expect(Number.isInteger(t) && t > 0 && t < 2 ** 16).toBe(true);
  });
  test('a declared round costs what the encoder writes', () => {
    const parts = [
      { kind: 'u64' as const, data: new BigUint64Array(3) },
      { kind: 'bits' as const, data: new Uint8Array(2), count: 13 },
      { kind: 'bytes' as const, data: new Uint8Array(5) },
    ];
    expect(roundFrameBytes({ u64: [3], bits: [13], bytes: [5] })).toBe(tensorFrameBytes(parts));
    expect(roundFrameBytes({ u64: [3], bits: [13], bytes: [5] })).toBe(
      encodeTensorFrame({ type: 1, seq: 0n, tag: 0, check: 0, parts }).length,
    );
    expect(roundPayload({ u64: [3], bits: [13], bytes: [5] })).toBe(24 + 2 + 5);
  });
});
