// A block larger than any byte budget (an honest leader's 18 MB block: 300 client transactions of
// 60 KB, within the wire's limits) while it stands on the chain up to the lock: the safety state
// keeps it (it is what the lock depends on, and a whole cluster that restarts finds it nowhere
// else), it encodes (a body over 16 MiB once made every vote throw), and once the block is final
// the state is small again: it holds the chain from the finalized tip up to the lock, no more.
// (Such a run persists more than the suite's default 256 KiB bound: by design, see the README.)
import * as sim from '@bftx/sim';
import { streamlet } from '../src/index';

const big = Array.from({ length: 300 }, (_, i) => new Uint8Array(60_000).fill(i & 0xff).map((x, j) => (j < 2 ? (i >> (8 * j)) & 0xff : x)));

test('an 18 MB block is finalized; the safety state holds it (once: only the chain up to the lock)', () => {
  const protocol = streamlet();
  const r = sim.simulate({ protocol, n: 4, seed: 1, network: sim.synchronous(10), timing: { delta: 10 }, duration: 1_500, workload: [{ at: 1, txs: big }], trace: false });
  expect(r.safetyViolation).toBeUndefined();
  for (const x of r.replicas) {
    expect(x.transactions).toBe(300);
    expect(x.maxPersistedBytes).toBeGreaterThan(18_000_000);
    expect(x.maxPersistedBytes).toBeLessThan(19_000_000);
  }
});

test('the whole cluster restarts while locked on the 18 MB block: it finalizes it and goes on (the block was not kept before: its 300 transactions were lost)', () => {
  const at = 50;
  const protocol = streamlet();
  const restarts = [0, 1, 2, 3].map((replica) => ({ replica, at, downFor: 5 }));
  const r = sim.simulate({ protocol, n: 4, seed: 1, network: sim.synchronous(10), timing: { delta: 10 }, duration: 1_500, workload: [{ at: 1, txs: big }], restarts, trace: false });
  expect(r.safetyViolation).toBeUndefined();
  expect(r.doubleSigns).toEqual([]);
  for (const x of r.replicas) {
    expect(x.transactions).toBe(300);
    expect(x.ledger.length).toBeGreaterThan(30);
  }
});
