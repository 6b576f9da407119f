/** Logs at debug level contain no seed, share or mask bytes (STYLE §7). */
import { Writable } from 'node:stream';
import { createLogger } from '../../shared/util/logger.js';

test('redaction and typed-array scrubbing', () => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk, _enc, cb) {
      lines.push(String(chunk));
      cb();
    },
  });
  const log = createLogger({ role: 'test', level: 'debug', destination: sink });
  const seed = Uint8Array.from({ length: 16 }, (_, i) => 200 + i);
  log.debug(
    {
      seed: Buffer.from(seed).toString('hex'),
      session: 's1',
      nested: { share: '1234567890abcdef', data: BigUint64Array.of(123456789n) },
    },
    'x',
  );
  log.debug({ payload: seed, round: 3 }, 'y');
  const out = lines.join('');
  expect(out).not.toContain(Buffer.from(seed).toString('hex'));
  expect(out).not.toContain('1234567890abcdef');
  expect(out).not.toContain('123456789');
  expect(out).toContain('[redacted]');
  expect(out).toContain('<Uint8Array len=16>');
  expect(out).toContain('"round":3');
});
