import { byteTokenizer as tok } from '../../shared/model/tokenizer/index.js';
import { answerSpan, getTask, score, type TaskSample } from '../../shared/tasks/index.js';
import { MpcError } from '../../shared/util/index.js';

const sample: TaskSample = {
  task: 'niah',
  context: 'ctx\n',
  placement: 'prompt',
  queries: [
    { question: 'q1', answer: ' 1234567' },
    { question: 'q2', answer: ' 7654321' },
  ],
  meta: {},
};

describe('score', () => {
  it('counts exact first answer spans', () => {
    expect(score(sample, [' 1234567\n', ' 7654321\n'])).toBe(1);
    expect(score(sample, [' 1234567\nWhat is', ' 7654321<|endoftext|>junk'])).toBe(1);
    expect(score(sample, [' 1234567', ' 765432\n'])).toBe(0.5);
    expect(score(sample, [' 12345678\n', ' 7654321 and more\n'])).toBe(0);
    expect(score(sample, ['\n 1234567', ' 7654321\n'])).toBe(0.5);
  });

  it('trims whitespace but is otherwise exact', () => {
    expect(answerSpan('  42 \nrest')).toBe('42');
    expect(score(sample, ['1234567\n', '  7654321  \n'])).toBe(1);
  });

  it('scores the reference answers of generated samples as right', () => {
    const s = getTask('vartrack').generate({ length: 1024, seed: 2, numDistractors: 2, numQueries: 3 }, tok);
    expect(
      score(
        s,
        s.queries.map((q) => q.answer + '\n'),
      ),
    ).toBe(1);
    expect(
      score(
        s,
        s.queries.map(() => ' = 12345\n'),
      ),
    ).toBe(0);
  });

  it('rejects a wrong number of outputs with E_INPUT', () => {
    for (const outputs of [['x'], [], ['a', 'b', 'c']]) {
      expect(() => score(sample, outputs)).toThrow(MpcError);
      expect(() => score(sample, outputs)).toThrow(/^E_INPUT/);
    }
  });
});
