// A block over the safety state's budget for bodies (an honest leader's 18 MB block: 300 client
// transactions of 60 KB, within the wire's limits) is not kept in the safety state: before, the
// state could not be encoded (a body over 16 MiB) and every vote on its chain threw.
import * as sim from '@bftx/sim';
import { streamlet } from '../src/index';

test('an 18 MB block is finalized and the safety state stays within its budget', () => {
  const big = Array.from({ length: 300 }, (_, i) => new Uint8Array(60_000).fill(i & 0xff).map((x, j) => (j < 2 ? (i >> (8 * j)) & 0xff : x)));
  const r = sim.simulate({ protocol: streamlet(), n: 4, seed: 1, network: sim.synchronous(10), timing: { delta: 10 }, duration: 1_500, workload: [{ at: 1, txs: big }], trace: false });
  expect(r.safetyViolation).toBeUndefined();
  for (const x of r.replicas) {
    expect(x.transactions).toBe(300);
    expect(x.maxPersistedBytes).toBeLessThan(256 * 1024);
  }
});
