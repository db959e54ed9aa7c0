import { hotstuff } from '@bftx/hotstuff';
import { pbft } from '@bftx/pbft';
import { streamlet } from '@bftx/streamlet';
import { fairnessReplicas, runFairness } from '../src/index';

const DURATION = 20_000;

describe('the fairness harness', () => {
  test('the coalition is where it leads and the observer honest: PBFT primary 0, otherwise the last replicas', () => {
    expect(fairnessReplicas(pbft().name, 4)).toEqual({ byzantine: [0], observer: 1 });
    expect(fairnessReplicas(hotstuff().name, 4)).toEqual({ byzantine: [3], observer: 0 });
    expect(fairnessReplicas(streamlet().name, 7)).toEqual({ byzantine: [6, 5], observer: 0 });
    expect(() => runFairness({ protocol: hotstuff(), attack: 'none', defence: 'leader', seed: 1, byzantine: [0, 1] })).toThrow(RangeError);
  });

  test('under leader order a sandwich extracts value: the Byzantine leader brackets the victim and sells back at its limit (seeds 1-3)', () => {
    const honest = runFairness({ protocol: hotstuff(), attack: 'none', defence: 'leader', seed: 1, duration: DURATION });
    expect(honest.attackerPnl).toBe(0); // the coalition trades only when it attacks
    let total = 0;
    for (const seed of [1, 2, 3]) {
      const r = runFairness({ protocol: hotstuff(), attack: 'sandwich', defence: 'leader', seed, duration: DURATION });
      total += r.attackerPnl;
      expect(r.stateRootsAgree).toBe(true);
      expect(r.offenders).toEqual([]); // nothing under leader order objects to the leader's order
      const bracketed = (orders: readonly string[], i: number) => orders[i]!.startsWith('victim') && i > 0 && orders[i - 1]!.startsWith('attacker') && orders[i + 1]?.startsWith('attacker') === true;
      const sandwiches = r.blocks.filter((b) => b.byzantineProposer && b.orders.some((_, i) => bracketed(b.orders, i)));
      expect(sandwiches.length).toBeGreaterThan(0);
      // In each, the coalition's last order sold back to the victim at the victim's limit.
      for (const b of sandwiches) {
        const victim = b.orders.find((o) => o.startsWith('victim '))!;
        const limit = Number(victim.split(' @ ')[1]!.split(' ')[0]);
        expect(b.prices).toContain(limit);
      }
    }
    expect(total).toBeGreaterThan(0);
  });

  test('under leader-proof ordering a leader that still sandwiches is refused and convicted, and honest state roots agree', () => {
    const r = runFairness({ protocol: hotstuff(), attack: 'sandwich', defence: 'ordering', seed: 1, duration: DURATION, deviate: true });
    expect(r.attackStats!.rewritten).toBeGreaterThan(0);
    expect(r.offenders).toEqual([{ validator: 3, evidence: 'unfair-proposal' }]);
    expect(r.refusedProposals).toBeGreaterThan(0);
    expect(r.stateRootsAgree).toBe(true);
    expect(r.blocks.flatMap((b) => b.orders).filter((o) => o.startsWith('attacker'))).toEqual([]);
    expect(r.attackerPnl).toBe(0);
  });

  test('under leader-proof ordering the coalition playing by the rules trades as a client, unconvicted; every order waits at most a few blocks', () => {
    const r = runFairness({ protocol: streamlet(), attack: 'sandwich', defence: 'both', seed: 2, duration: DURATION });
    expect(r.offenders).toEqual([]);
    expect(r.stateRootsAgree).toBe(true);
    expect(r.attackStats!.inserted).toBeGreaterThan(0);
    expect(r.finalizedOrders).toBeGreaterThan(100);
    expect(r.latencyMs.length).toBe(r.finalizedOrders);
    expect(Math.max(...r.censorshipDelays)).toBeLessThanOrEqual(4);
    // Batch matching: one price per block.
    expect(r.blocks.some((b) => b.prices.length > 1)).toBe(true);
    for (const b of r.blocks) expect(new Set(b.prices).size).toBeLessThanOrEqual(1);
  });

  test("the 'client' baseline: the same reactions sent as a client, no replica powers used", () => {
    const r = runFairness({ protocol: hotstuff(), attack: 'front-run', defence: 'leader', seed: 2, duration: DURATION, coalition: 'client' });
    expect(r.attackStats!.inserted).toBeGreaterThan(0);
    expect(r.attackStats!.rewritten).toBe(0);
    expect(r.offenders).toEqual([]);
    expect(r.blocks.some((b) => b.orders.some((o) => o.startsWith('attacker')))).toBe(true);
  });
});
