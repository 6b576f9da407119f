import { byteTokenizer as tok } from '../../shared/model/tokenizer/index.js';
import { MpcError } from '../../shared/util/index.js';
import { seeded } from '../util/rng.js';

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof MpcError ? e.code : 'not MpcError';
  }
  return undefined;
}

describe('byte tokenizer', () => {
  it('has 256 byte ids plus <|endoftext|> = 256', () => {
    expect(tok.name).toBe('byte');
    expect(tok.vocabSize).toBe(257);
    expect(tok.eot).toBe(256);
  });

  it('encodes to UTF-8 bytes without adding BOS', () => {
    expect(tok.encode('')).toEqual([]);
    expect(tok.encode('Hi.\n')).toEqual([72, 105, 46, 10]);
    expect(tok.encode('é€')).toEqual([0xc3, 0xa9, 0xe2, 0x82, 0xac]);
  });

  it('round-trips random unicode text', () => {
    const rng = seeded();
    for (let n = 0; n < 50; n++) {
      let s = '';
      for (let i = 0; i < 40; i++) s += String.fromCodePoint(rng.int(0x20, 0x2fff));
      expect(tok.decode(tok.encode(s))).toBe(s);
    }
  });

  it('decodes partial UTF-8 with replacement characters instead of throwing', () => {
    expect(tok.decode([0xe2, 0x82])).toBe('\ufffd');
    expect(tok.decode([65, 0xc3])).toBe('A\ufffd');
    expect(tok.decode([0xff, 66])).toBe('\ufffdB');
  });

  it('writes <|endoftext|> for id 256 and keeps bytes around it apart', () => {
    expect(tok.decode([256, 104, 105, 256])).toBe('<|endoftext|>hi<|endoftext|>');
    expect(tok.decode([0xc3, 256, 0xa9])).toBe('\ufffd<|endoftext|>\ufffd');
  });

  it.each([[[257]], [[-1]], [[1.5]], [[NaN]], [[65, 1e9]]])('rejects bad id list %j with E_INPUT', (ids) => {
    expect(code(() => tok.decode(ids))).toBe('E_INPUT');
  });
});
