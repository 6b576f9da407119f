import { ONLINE_SLACK, cheapest, modelSeconds } from '../../shared/protocol/cost-model.js';
import type { Cost } from '../../shared/protocol/cost.js';

const cost = (rounds: number, frameBytes: number, dealerBytes: number): Cost => ({
  rounds,
  frameBytes,
  payloadBytes: frameBytes,
  dealerBytes,
  items: 1,
});
const pickOf = async (cs: Cost[], net: 'lan' | 'wan', slack?: number) =>
  (await cheapest(cs, async (c) => c, net, slack)).best;

test('a round costs one one-way delay; bytes the bandwidth', () => {
  expect(modelSeconds(cost(2, 0, 0), 'wan')).toBeCloseTo(0.04, 12);
  expect(modelSeconds(cost(0, 1e6, 1.5e6), 'lan')).toBeCloseTo(0.02, 12);
});

test('the least modelled time wins, ties go to the earlier candidate', async () => {
  const few = cost(3, 10_000, 0),
    many = cost(4, 10_000, 0);
  expect(await pickOf([many, few], 'lan')).toBe(few);
  expect(await pickOf([few, cost(3, 10_000, 0)], 'lan')).toBe(few);
});

test('a candidate beyond the online slack is never chosen, however fast', async () => {
  const lean = cost(10, 100_000, 0),
    fast = cost(2, 100_000 * (1 + ONLINE_SLACK.wan) + 1, 0),
    within = cost(3, 100_000 * (1 + ONLINE_SLACK.wan), 0);
  expect(await pickOf([lean, fast], 'wan')).toBe(lean);
  expect(await pickOf([lean, fast, within], 'wan')).toBe(within);
  // without a slack the time alone decides
  expect(await pickOf([lean, fast], 'wan', Infinity)).toBe(fast);
});
