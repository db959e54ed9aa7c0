import { fairOrderingSuite } from '@bftx/conformance';
import { fairOrdering, type OrderingAdversary } from '@bftx/consensus';
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

describe('pbft: a primary that censors under fair ordering is replaced', () => {
  // Fair ordering lets a leader end its block early, never skip. A stable primary that always ends
  // its block just before one transaction would stall it and everything after it: executing batches
  // without an owed transaction must not count as progress, so the progress timer replaces it.
  test('the primary ends every block before one transaction: a view change, and every transaction final', () => {
    const rng = new Rng(5);
    const workload: Array<{ at: number; txs: Uint8Array[]; to: number[] }> = [];
    for (let k = 0; k < 300; k++) {
      const tx = Uint8Array.of(1, 9, (k >> 8) & 255, k & 255);
      for (let r = 0; r < 4; r++) workload.push({ at: 5 + k * 5 + rng.int(0, 9), txs: [tx], to: [r] });
    }
    const victim = (tx: Uint8Array) => tx[2] === 0 && tx[3] === 100;
    const censor: OrderingAdversary = {
      build: (honest) => {
        const i = honest.findIndex(victim);
        return i < 0 ? honest : honest.slice(0, i);
      },
    };
    const result = simulate({ protocol: fairOrdering(pbft(), { adversary: (self) => (self === 0 ? censor : undefined) }), n: 4, seed: 5, network: synchronous(10), timing: { delta: 10 }, duration: 6_000, workload, trace: true, traceKinds: ['view'] });
    expect(result.safetyViolation).toBeUndefined();
    for (const r of result.replicas.filter((x) => x.honest)) expect(r.transactions).toBe(300);
    expect(result.trace.some((t) => t['ev'] === 'view' && (t['view'] as number) > 0)).toBe(true);
  });
});
