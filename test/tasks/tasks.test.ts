import { byteTokenizer as tok, type Tokenizer } from '../../shared/model/tokenizer/index.js';
import {
  getTask,
  promptTokens,
  segments,
  sequenceTokens,
  STOP,
  TASKS,
  type TaskOptions,
} from '../../shared/tasks/index.js';
import { MpcError } from '../../shared/util/index.js';
import { seeded } from '../util/rng.js';

/** A coarser tokenizer (two bytes per token) to check length targets are not byte-specific. */
const pairTok: Tokenizer = {
  name: 'pairs',
  vocabSize: 65537,
  eot: 65536,
  bos: 65536,
  encode: (s) => {
    const b = tok.encode(s);
    const out: number[] = [];
    for (let i = 0; i < b.length; i += 2) out.push(b[i]! * 256 + (b[i + 1] ?? 0));
    return out;
  },
  decode: () => '',
};

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return e instanceof MpcError ? e.code : 'not MpcError';
  }
  return undefined;
}

const NAMES = Object.keys(TASKS);

describe('task generators', () => {
  it.each(NAMES)('%s is deterministic per seed and varies across seeds', (name) => {
    const g = getTask(name);
    const a = g.generate({ length: 700, seed: 11 }, tok);
    expect(g.generate({ length: 700, seed: 11 }, tok)).toEqual(a);
    const b = g.generate({ length: 700, seed: 12 }, tok);
    expect(b.context === a.context && b.queries[0]!.answer === a.queries[0]!.answer).toBe(false);
    expect(a.task).toBe(name);
  });

  it.each(NAMES)('%s hits the target length exactly-ish and never exceeds it', (name) => {
    const rng = seeded();
    for (const length of [400, 512, 1000, 1024, 2048, 4096]) {
      const seed = rng.int(0, 1e9);
      const s = getTask(name).generate({ length, seed }, tok);
      const n = sequenceTokens(s, tok).tokens.length;
      expect(n).toBe(s.meta['length']);
      expect(s.meta['target']).toBe(length);
      // Byte tokenizer: at most one short (cutting just after a space drops the space too).
      expect([length - 1, length]).toContain(n);
      const p = getTask(name).generate({ length, seed }, pairTok);
      const m = sequenceTokens(p, pairTok).tokens.length;
      expect(m).toBeLessThanOrEqual(length);
      expect(m).toBeGreaterThanOrEqual(length - 4);
    }
  });

  it.each(NAMES)('%s: the first needle sits at the requested depth', (name) => {
    let prev = -1;
    for (const depth of [0, 0.25, 0.5, 0.75, 1]) {
      const s = getTask(name).generate({ length: 2048, seed: 5, depth }, tok);
      const d = s.meta['depth'] as number;
      // Needles go to sentence boundaries; prose sentences are up to a few hundred bytes long.
      expect(Math.abs(d - depth)).toBeLessThan(name === 'passkey' || name === 'mqar' ? 0.03 : 0.15);
      expect(d).toBeGreaterThanOrEqual(prev);
      prev = d;
      const { tokens } = sequenceTokens(s, tok);
      const at = s.meta['needleToken'] as number;
      const needle = tok.decode(tokens.slice(at, at + (s.meta['needleTokens'] as number)));
      const key = name === 'vartrack' ? s.queries[0]!.answer.split(' = ').pop()! : s.queries[0]!.answer.trim();
      expect(needle).toContain(key);
    }
  });

  it.each(NAMES)('%s: placements differ only in where the prompt ends', (name) => {
    const opts: TaskOptions = { length: 1024, seed: 3 };
    const p = getTask(name).generate({ ...opts, placement: 'prompt' }, tok);
    const d = getTask(name).generate({ ...opts, placement: 'decode' }, tok);
    expect(sequenceTokens(p, tok)).toEqual(sequenceTokens(d, tok));
    const q = tok.encode(p.queries[0]!.question);
    expect(promptTokens(p, tok).length).toBe(promptTokens(d, tok).length + q.length);
    expect(promptTokens(d, tok)[0]).toBe(tok.eot);
    expect(tok.decode(promptTokens(d, tok).slice(-1))).toBe('\n');
    expect(segments(d, tok).steps[0]!.feed).toEqual(q);
    expect(segments(p, tok).steps[0]!.feed).toEqual([]);
  });

  it.each(NAMES)('%s: answers end with STOP and fit maxAnswerTokens', (name) => {
    const g = getTask(name);
    for (let seed = 0; seed < 30; seed++) {
      const s = g.generate({ length: 1500, seed, numQueries: 1, ...(name === 'vartrack' ? { hops: 3 } : {}) }, tok);
      for (const st of segments(s, tok).steps) {
        expect(st.answer.length).toBeLessThanOrEqual(g.maxAnswerTokens);
        expect(tok.decode(st.answer.slice(-1))).toBe(STOP);
        expect(tok.decode(st.answer.slice(0, -1))).not.toContain(STOP);
      }
    }
  });
});

describe('task contents', () => {
  it('passkey uses the classic filler and states the key twice', () => {
    const s = getTask('passkey').generate({ length: 600, seed: 1, depth: 0.5 }, tok);
    const key = s.queries[0]!.answer.trim();
    expect(s.context).toContain('The grass is green. The sky is blue.');
    expect(s.context).toContain(`The pass key is ${key}. Remember it. ${key} is the pass key.`);
    expect(s.queries[0]!.question).toBe('What is the pass key? The pass key is');
  });

  it('niah hides one needle per key, distinct keys, and asks the ones requested', () => {
    const s = getTask('niah').generate({ length: 2048, seed: 9, numDistractors: 5, numQueries: 3 }, tok);
    const needles = [...s.context.matchAll(/One of the special magic numbers for ([a-z]+) is: ([0-9]+)\./g)];
    expect(needles.length).toBe(6);
    expect(new Set(needles.map((m) => m[1])).size).toBe(6);
    const table = new Map(needles.map((m) => [m[1]!, m[2]!]));
    expect(s.queries.length).toBe(3);
    for (const q of s.queries) {
      const key = /for ([a-z]+)\?/.exec(q.question)![1]!;
      expect(q.answer).toBe(` ${table.get(key)}`);
    }
  });

  it('mqar keys are unique and every query is answered by its pair', () => {
    const s = getTask('mqar').generate({ length: 2048, seed: 4, numQueries: 8 }, tok);
    const pairs = s.context
      .trim()
      .split(' ')
      .filter((p) => /^[a-z]{4}=[0-9]{4}$/.test(p));
    expect(pairs.length).toBeGreaterThan(150);
    const keys = pairs.map((p) => p.slice(0, 4));
    expect(new Set(keys).size).toBe(keys.length);
    for (const q of s.queries) expect(pairs).toContain(q.question + q.answer);
  });

  it('vartrack answers spell the chain found in the context', () => {
    for (let seed = 0; seed < 10; seed++) {
      const s = getTask('vartrack').generate({ length: 1500, seed, hops: 3, numDistractors: 2, numQueries: 3 }, tok);
      const assign = new Map(
        [...s.context.matchAll(/VAR ([A-Z]{5}) = (VAR [A-Z]{5}|[0-9]{5})\./g)].map((m) => [m[1]!, m[2]!]),
      );
      expect(assign.size).toBe(12);
      for (const q of s.queries) {
        let v = /VAR ([A-Z]{5})\?/.exec(q.question)![1]!;
        let path = '';
        while (assign.get(v)!.startsWith('VAR ')) {
          path += ` = ${assign.get(v)}`;
          v = assign.get(v)!.slice(4);
        }
        expect(q.answer).toBe(`${path} = ${assign.get(v)}`);
      }
    }
  });
});

describe('task options', () => {
  const bad: Array<[string, Partial<TaskOptions>]> = [
    ['passkey', { length: 50 }],
    ['passkey', { length: 0 }],
    ['passkey', { length: 1.5 }],
    ['passkey', { seed: -1 }],
    ['passkey', { depth: 1.5 }],
    ['passkey', { depth: NaN }],
    ['passkey', { placement: 'middle' as never }],
    ['passkey', { numQueries: 2 }],
    ['niah', { numDistractors: 1, numQueries: 3 }],
    ['niah', { haystack: 'essays' as never }],
    ['mqar', { numQueries: 0 }],
    ['vartrack', { hops: 4 }],
    ['vartrack', { hops: 0 }],
  ];
  it.each(bad)('%s rejects %j with E_INPUT', (name, opts) => {
    expect(code(() => getTask(name).generate({ length: 1024, seed: 1, ...opts }, tok))).toBe('E_INPUT');
  });

  it('getTask rejects unknown names with E_INPUT', () => {
    expect(code(() => getTask('qa'))).toBe('E_INPUT');
    expect(code(() => getTask('toString'))).toBe('E_INPUT');
  });
});
