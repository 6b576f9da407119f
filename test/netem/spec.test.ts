/** `--net` values: presets, overrides, custom specs, and an E_CONFIG naming the field for each mistake. */
import { describeNet, parseNetSpec, PRESETS } from '../../shared/netem/spec.js';
import { MpcError } from '../../shared/util/errors.js';

function errorOf(text: string): string {
  try {
    parseNetSpec(text);
    return 'ok';
  } catch (e) {
    return e instanceof MpcError ? e.message : String(e);
  }
}

describe('netem spec', () => {
  test('presets, overrides and custom specs', () => {
    expect(parseNetSpec('loopback')).toEqual({ name: 'loopback' });
    expect(parseNetSpec('lan')).toEqual({ name: 'lan', ...PRESETS.lan });
    expect(parseNetSpec('wan')).toEqual({ name: 'wan', rateBitsPerS: 100e6, rttMs: 40, jitterMs: 0 });
    expect(parseNetSpec('wan,jitter=2ms')).toEqual({ name: 'wan', rateBitsPerS: 100e6, rttMs: 40, jitterMs: 2 });
    expect(parseNetSpec('rate=200mbit,rtt=10ms,jitter=1ms')).toEqual({
      name: 'custom',
      rateBitsPerS: 200e6,
      rttMs: 10,
      jitterMs: 1,
    });
    expect(parseNetSpec(' custom, rate=1.5Gbit, rtt=500us ')).toEqual({
      name: 'custom',
      rateBitsPerS: 1.5e9,
      rttMs: 0.5,
      jitterMs: 0,
    });
    expect(parseNetSpec('rate=64kbit,rtt=1s')).toMatchObject({ rateBitsPerS: 64e3, rttMs: 1000 });
    expect(describeNet(parseNetSpec('wan'))).toBe('wan (100 Mbit/s, rtt 40 ms, jitter 0 ms)');
  });

  test.each([
    ['satellite', /E_CONFIG: --net: unknown network 'satellite'/],
    ['loopback,rtt=1ms', /loopback takes no settings/],
    ['custom', /rateBitsPerS: rate= is required/],
    ['rate=10mbit', /rttMs: rtt= is required/],
    ['rate=10mbps,rtt=1ms', /rate=10mbps: expected a number with a unit \(bit, kbit, mbit, gbit\)/],
    ['rate=10mbit,rtt=-1ms', /rtt=-1ms: expected a number with a unit/],
    ['rate=10mbit,rtt=1ms,loss=1%', /'loss=1%': expected one of rate=…, rtt=…, jitter=…/],
    ['wan,jitter=30ms', /jitterMs: jitter must be at most rtt\/2/],
    ['rate=1kbit,rtt=1ms', /rate must be at least 8kbit/],
    ['rate=10mbit,rtt=20s', /rtt must be at most 10s/],
  ])('%s → E_CONFIG', (text, message) => {
    expect(errorOf(text)).toMatch(message);
  });
});
