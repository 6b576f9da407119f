import { describe, expect, test } from '@jest/globals';
import { encodeSafetensors, parseSafetensors, tensorData, MAX_HEADER_BYTES } from '../../shared/model/index.js';
import { bf16ToNumber, f16ToNumber, numberToBf16, numberToF16 } from '../../shared/model/half.js';
import { MpcError } from '../../shared/util/index.js';
import { seeded } from '../util/rng.js';

/** A file from a raw header string and raw data bytes (for malformed cases). */
function raw(header: string, data: Uint8Array = new Uint8Array(0), lenOverride?: bigint): Uint8Array {
  const h = new TextEncoder().encode(header);
  const out = new Uint8Array(8 + h.length + data.length);
  new DataView(out.buffer).setBigUint64(0, lenOverride ?? BigInt(h.length), true);
  out.set(h, 8);
  out.set(data, 8 + h.length);
  return out;
}

function codeOf(f: () => unknown): string {
  try {
    f();
  } catch (e) {
    return e instanceof MpcError ? e.message : `non-MpcError: ${String(e)}`;
  }
  return 'no error';
}

describe('half-precision conversions', () => {
  test('known bit patterns', () => {
    const f16: [number, number][] = [
      [1, 0x3c00],
      [-2, 0xc000],
      [65504, 0x7bff],
      [2 ** -24, 0x0001],
      [2 ** -14, 0x0400],
      [0.5, 0x3800],
      [Infinity, 0x7c00],
      [70000, 0x7c00],
      [0, 0],
    ];
    for (const [x, h] of f16) {
      expect(numberToF16(x)).toBe(h);
      if (x !== 70000) expect(f16ToNumber(h)).toBe(x);
    }
    expect(numberToF16(1 + 2 ** -11)).toBe(0x3c00); // tie rounds to even
    expect(numberToF16(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(Number.isNaN(f16ToNumber(0x7e00))).toBe(true);
    expect(numberToBf16(1)).toBe(0x3f80);
    expect(numberToBf16(-3.5)).toBe(0xc060);
    expect(bf16ToNumber(0x3f80)).toBe(1);
    expect(bf16ToNumber(0x4049)).toBe(3.140625);
  });
});

describe('safetensors reader and writer', () => {
  test('round trip of every float dtype, with metadata', () => {
    const rng = seeded(7);
    // Multiples of 1/16 within ±4 need at most 7 significant bits: exact in F16, BF16 and F32.
    const exact = Float64Array.from({ length: 12 }, () => Math.round(rng.uniform(-4, 4) * 16) / 16);
    const anyF64 = Float64Array.from({ length: 6 }, () => rng.normal());
    const bytes = encodeSafetensors(
      {
        a: { dtype: 'F64', shape: [2, 3], data: anyF64 },
        b: { dtype: 'F32', shape: [12], data: exact },
        c: { dtype: 'F16', shape: [3, 4], data: exact },
        d: { dtype: 'BF16', shape: [4, 3], data: exact },
        e: { dtype: 'F32', shape: [], data: [1.5] },
      },
      { format: 'pt' },
    );
    const st = parseSafetensors(bytes, 'round-trip');
    expect(st.metadata).toEqual({ format: 'pt' });
    expect([...st.tensors.keys()]).toEqual(['a', 'b', 'c', 'd', 'e']);
    expect(st.tensors.get('c')?.shape).toEqual([3, 4]);
    expect(tensorData(st, 'a')).toEqual(anyF64);
    for (const name of ['b', 'c', 'd']) expect(tensorData(st, name)).toEqual(exact);
    expect(tensorData(st, 'e')).toEqual(Float64Array.of(1.5));
    expect(new DataView(bytes.buffer).getBigUint64(0, true) % 8n).toBe(0n); // data section stays aligned
  });

  test('reads unaligned data', () => {
    // One byte of U8 first pushes the F32 tensor to an odd offset.
    const data = new Uint8Array(1 + 8);
    const dv = new DataView(data.buffer);
    dv.setFloat32(1, 0.25, true);
    dv.setFloat32(5, -8, true);
    const st = parseSafetensors(
      raw(
        '{"u":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},"f":{"dtype":"F32","shape":[2],"data_offsets":[1,9]}}',
        data,
      ),
    );
    expect(tensorData(st, 'f')).toEqual(Float64Array.of(0.25, -8));
    expect(codeOf(() => tensorData(st, 'u'))).toMatch(/^E_MODEL: .*dtype U8 cannot be converted/);
    expect(codeOf(() => tensorData(st, 'zz'))).toMatch(/^E_MODEL: .*"zz" not found/);
  });

  const ok = '{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}';
  const cases: [string, Uint8Array, RegExp][] = [
    ['empty file', new Uint8Array(3), /truncated: 3 bytes/],
    ['header length zero', raw('', new Uint8Array(0), 0n), /bad header length 0/],
    ['header length beyond the limit', raw(ok, new Uint8Array(8), BigInt(MAX_HEADER_BYTES) + 1n), /bad header length/],
    ['header length beyond the file', raw(ok, new Uint8Array(8), 4000n), /truncated: header needs 4000 bytes/],
    ['bad JSON', raw('{"x":', new Uint8Array(8)), /not valid JSON/],
    ['JSON array', raw('[1,2]'), /not an object/],
    [
      'unknown dtype',
      raw('{"x":{"dtype":"F12","shape":[2],"data_offsets":[0,8]}}', new Uint8Array(8)),
      /tensor "x": unknown dtype "F12"/,
    ],
    [
      'negative shape',
      raw('{"x":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}', new Uint8Array(8)),
      /shape must be/,
    ],
    [
      'offsets not a pair',
      raw('{"x":{"dtype":"F32","shape":[2],"data_offsets":[0]}}', new Uint8Array(8)),
      /data_offsets must be/,
    ],
    ['offsets outside the file', raw(ok, new Uint8Array(6)), /outside the 6-byte data section/],
    [
      'offsets backwards',
      raw('{"x":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}', new Uint8Array(8)),
      /run backwards/,
    ],
    [
      'shape/length mismatch',
      raw('{"x":{"dtype":"F32","shape":[3],"data_offsets":[0,8]}}', new Uint8Array(8)),
      /needs 12 bytes but data_offsets span 8/,
    ],
    [
      'overlap',
      raw(
        '{"x":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"y":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}',
        new Uint8Array(8),
      ),
      /"x" and "y" overlap/,
    ],
    ['bad metadata', raw('{"__metadata__":{"a":1}}'), /__metadata__ must map strings/],
  ];
  test.each(cases)('rejects %s with E_MODEL', (_, bytes, msg) => {
    const got = codeOf(() => parseSafetensors(bytes, 'bad.safetensors'));
    expect(got).toMatch(/^E_MODEL: bad\.safetensors: /);
    expect(got).toMatch(msg);
  });

  test('writer refuses data that does not match the shape', () => {
    expect(codeOf(() => encodeSafetensors({ x: { dtype: 'F32', shape: [2, 2], data: [1, 2, 3] } }))).toMatch(
      /^E_SHAPE/,
    );
  });
});
