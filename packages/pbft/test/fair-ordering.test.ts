import { fairOrderingSuite } from '@bftx/conformance';
import { fairOrdering } from '@bftx/consensus';
import { Rng, simulate, synchronous } from '@bftx/sim';
import { pbft } from '../src/index';

// Replica 0 is the primary of view 0: its deviating pre-prepares must be refused and a view change elect another.
fairOrderingSuite(pbft(), { byzantine: 0 });

describe('pbft: fair ordering across view changes', () => {
  // A NEW-VIEW re-proposes batches prepared in the old view; their receive logs are old by then.
  // Judged again by the payload policy they were refused (INVALID_PAYLOAD), a batch the view-change
  // rule obliges the new primary to carry.
  test.each([1000, 1003, 1007, 1500])('the primary crashes at %i ms: re-proposed batches are prepared, not judged again, and every transaction is final', (at) => {
    const rng = new Rng(at);
    const workload: Array<{ at: number; txs: Uint8Array[]; to: number[] }> = [];
    for (let k = 0; k < 400; k++) {
      const tx = Uint8Array.of(1, 9, (k >> 8) & 255, k & 255);
      for (let r = 0; r < 4; r++) workload.push({ at: 5 + k * 5 + rng.int(0, 9), txs: [tx], to: [r] });
    }
    const result = simulate({ protocol: fairOrdering(pbft()), n: 4, seed: at, network: synchronous(10), timing: { delta: 10 }, duration: 6_000, workload, byzantine: [{ replica: 0, strategy: { kind: 'crash', at } }] });
    expect(result.safetyViolation).toBeUndefined();
    expect(result.rejections['INVALID_PAYLOAD'] ?? 0).toBe(0);
    for (const r of result.replicas.filter((x) => x.honest)) expect(r.transactions).toBe(400);
  });
});
