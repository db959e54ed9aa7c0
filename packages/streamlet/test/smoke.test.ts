import { partialSynchrony, simulate, synchronous } from '@bftx/sim';
import { streamlet } from '../src/index';

test('5 honest replicas finalize under synchrony', () => {
  const r = simulate({ protocol: streamlet(), n: 5, seed: 1, network: synchronous(100), timing: { delta: 100 }, duration: 12 * 200 + 100, transactions: { every: 50, perBatch: 2 } });
  console.log(r.honestFinalizedHeight, r.messages, r.safetyViolation, r.replicas.map((x) => x.ledger.length));
  expect(r.safetyViolation).toBeUndefined();
  expect(r.honestFinalizedHeight).toBeGreaterThan(5);
});
test('partial synchrony', () => {
  const r = simulate({ protocol: streamlet(), n: 4, seed: 2, network: partialSynchrony(100, 2000), timing: { delta: 100 }, duration: 6000 });
  console.log(r.honestFinalizedHeight, r.messages, r.safetyViolation);
  expect(r.safetyViolation).toBeUndefined();
});
