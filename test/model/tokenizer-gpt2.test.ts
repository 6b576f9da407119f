import { describe, expect, test } from '@jest/globals';
import { parseGpt2Config } from '../../shared/model/index.js';
import { byteTokenizer, gpt2Tokenizer as tok, tokenizerFor } from '../../shared/model/tokenizer/index.js';

describe('GPT-2 BPE tokenizer (gpt-tokenizer r50k_base)', () => {
  test('known ids of GPT-2', () => {
    expect(tok.encode('Hello world')).toEqual([15496, 995]);
    expect(tok.encode(' the quick brown fox\n\nJumps')).toEqual([262, 2068, 7586, 21831, 198, 198, 41, 8142]);
    expect(tok).toMatchObject({ name: 'gpt2', vocabSize: 50257, eot: 50256 });
    expect(tok.decode([15496, 995, 50256])).toBe('Hello world<|endoftext|>');
  });

  test.each([
    'The pass key is 48213. Remember it.',
    'héllo 🌍 世界 — "quotes" and\ttabs\n\nnew lines',
    '   leading and trailing spaces   ',
    '',
  ])('round trip %j', (text) => {
    expect(tok.decode(tok.encode(text))).toBe(text);
  });

  test('text "<|endoftext|>" is ordinary characters, never the EOT id', () => {
    const ids = tok.encode('a<|endoftext|>b');
    expect(ids).not.toContain(50256);
    expect(tok.decode(ids)).toBe('a<|endoftext|>b');
  });

  test('a character cut mid-way becomes U+FFFD and does not leak into the next call', () => {
    const ids = tok.encode(' 🌍');
    expect(ids.length).toBeGreaterThan(1);
    expect(tok.decode(ids.slice(0, 1))).toBe(' \uFFFD');
    expect(tok.decode(ids)).toBe(' 🌍');
  });

  test('rejects ids outside the vocabulary with E_INPUT', () => {
    expect(() => tok.decode([50257])).toThrow(/^E_INPUT: .*index 0/);
    expect(() => tok.decode([1, 2.5])).toThrow(/^E_INPUT: .*index 1/);
  });
});

describe('tokenizerFor(config)', () => {
  const base = { n_layer: 1, n_head: 1, n_embd: 4, n_positions: 8 };
  test('byte models get the byte tokenizer, GPT-2 configs the BPE', () => {
    expect(tokenizerFor(parseGpt2Config({ ...base, vocab_size: 257, tokenizer: 'byte', eot_token_id: 256 }))).toBe(
      byteTokenizer,
    );
    expect(tokenizerFor(parseGpt2Config({ ...base, vocab_size: 50257 }))).toBe(tok);
    expect(tokenizerFor(parseGpt2Config({ ...base, vocab_size: 50304 }))).toBe(tok); // padded vocabulary
  });

  test('rejects a vocabulary or EOT that does not fit the tokenizer, with E_MODEL', () => {
    expect(() => tokenizerFor(parseGpt2Config({ ...base, vocab_size: 300, eos_token_id: 299 }))).toThrow(
      /^E_MODEL: vocab_size 300 is smaller than the gpt2 tokenizer's 50257/,
    );
    expect(() =>
      tokenizerFor(parseGpt2Config({ ...base, vocab_size: 258, tokenizer: 'byte', eot_token_id: 257 })),
    ).toThrow(/^E_MODEL: EOT id 257 .* byte tokenizer's 256/);
  });
});
