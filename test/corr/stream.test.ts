/** The correlation stream refuses reuse, reordering and shape mismatches with E_CORR_MISMATCH, and parameters its kind's schema rejects with E_INTERNAL. */
import { Kernels } from '../../shared/ring/kernels.js';
import { Link, memoryPair } from '../../shared/net/link.js';
import { DealerCorrSink, DealerEnv, PartyCorrStream } from '../../shared/corr/index.js';
import { CORR_FRAME } from '../../shared/net/frame-types.js';
import { MUL as MUL_PRIMITIVE, SQUARE as SQUARE_PRIMITIVE } from '../../shared/protocol/primitives/index.js';

const MUL = MUL_PRIMITIVE.kind,
  SQUARE = SQUARE_PRIMITIVE.kind;

const LIM = { maxFrameBytes: 1 << 24, timeoutMs: 5000 };

function setup() {
  const [a, b] = memoryPair();
  const dealerLink = new Link(a, { name: 'dealer', remote: 'party 1', ...LIM });
  const p1Link = new Link(b, { name: 'dealer', remote: 'dealer', ...LIM });
  const s0 = new Uint8Array(16).fill(1),
    s1 = new Uint8Array(16).fill(2);
  const sink = new DealerCorrSink(s0, s1, 's', dealerLink, new DealerEnv(new Kernels()), 1 << 20);
  const p1 = new PartyCorrStream(1, s1, 's', p1Link);
  return { sink, p1, a, dealerLink };
}

describe('correlation stream identity checks', () => {
  test('in-order takes with matching kinds succeed and agree with the dealer digest', async () => {
    const { sink, p1 } = setup();
    await sink.take(MUL, { n: 4, m: 4 });
    await sink.take(SQUARE, { n: 3 });
    await p1.take(MUL, { n: 4, m: 4 });
    await p1.take(SQUARE, { n: 3 });
    expect(p1.digest).toBe(sink.digest);
    expect(p1.seq).toBe(2);
  });

  test('taking a different kind than the dealer sent (out of order) is E_CORR_MISMATCH', async () => {
    const { sink, p1 } = setup();
    await sink.take(MUL, { n: 4, m: 4 });
    await expect(p1.take(SQUARE, { n: 4 })).rejects.toThrow(/E_CORR_MISMATCH.*expected kind square/);
  });

  test('taking the right kind with another shape is E_CORR_MISMATCH', async () => {
    const { sink, p1 } = setup();
    await sink.take(MUL, { n: 4, m: 4 });
    await expect(p1.take(MUL, { n: 5, m: 5 })).rejects.toThrow(/E_CORR_MISMATCH.*parameters differ/);
  });

  test('a replayed item (the same correlation consumed twice) is E_CORR_MISMATCH', async () => {
    const { sink, p1, dealerLink } = setup();
    await sink.take(MUL, { n: 2, m: 2 });
    await p1.take(MUL, { n: 2, m: 2 });
    // resend item #0 as if the dealer or a man in the middle replayed it
    dealerLink.sendTensor({ type: CORR_FRAME, seq: 0n, tag: 0, check: 0, parts: [] });
    await expect(p1.take(MUL, { n: 2, m: 2 })).rejects.toThrow(/E_CORR_MISMATCH.*expected correlation #1.*sent #0/);
  });

  test("parameters outside the kind's schema are refused where the item is taken, by both ends", async () => {
    const { sink, p1 } = setup();
    await expect(sink.take(MUL, { n: 5, m: 2 })).rejects.toThrow(/^E_INTERNAL: mul: bad parameters/); // n must be a multiple of m
    await expect(p1.take(SQUARE, { n: -1 })).rejects.toThrow(/^E_INTERNAL: square: bad parameters at 'n'/);
    expect(p1.seq).toBe(0); // nothing consumed
  });
});
