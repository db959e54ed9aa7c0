// Issue 15, item 5: the view-change timer starts only once a quorum of view changes for the new
// view is in (Castro and Liskov, 4.5.2), and a replica that fell behind in views comes back (f+1
// replicas seen in higher views). Before, the timer was re-armed at every view change: a replica
// cut off before GST climbed views alone, always a view or more ahead of the others once they
// stalled, and with f replicas crashed the cluster never had a quorum in one view again.
import { simulate } from '@bftx/sim';
import type { ProtocolOutput } from '@bftx/consensus';
import { pbft, type PbftMessage } from '../src/index';
import { clusterKeys, cutOffScenario, leastAfterGst, replicaConfig } from './helpers';

const timers = (out: readonly ProtocolOutput<PbftMessage>[]) => out.filter((o) => o.type === 'set-timer' && o.timer === 'progress');

describe('pbft view changes', () => {
  test.each([4, 5, 7, 8])('n = %i: one replica cut off until GST while f crash: every honest replica finalizes again after GST', (n) => {
    const r = simulate({ protocol: pbft(), ...cutOffScenario(n, n) });
    expect(r.safetyViolation).toBeUndefined();
    expect(leastAfterGst(r)).toBeGreaterThan(100);
  });

  test('the timer of a view change starts with a quorum of view changes for the new view, not with the replica own one', () => {
    const keys = clusterKeys(4);
    const replicas = [0, 1, 2, 3].map((i) => pbft().create(replicaConfig(keys, i)));
    for (const r of replicas) r.step({ type: 'start', now: 0 });
    const viewChanges = [1, 2, 3].map((i) => replicas[i]!.step({ type: 'timer', timer: 'progress', now: 100 }));
    // Replica 2 (not the new primary) alone in view 1: no timer (only a cancel of the old one).
    expect(timers(viewChanges[1]!)).toEqual([]);
    const message = (i: number) => (viewChanges[i]!.find((o) => o.type === 'broadcast' && o.message.type === 'view-change') as { message: PbftMessage }).message;
    expect(timers(replicas[2]!.step({ type: 'message', from: 1, message: message(0), now: 105 }))).toEqual([]);
    // The third view change for view 1 makes a quorum: the timer starts, doubled (one view change in a row).
    const armed = timers(replicas[2]!.step({ type: 'message', from: 3, message: message(2), now: 110 }));
    expect(armed).toEqual([{ type: 'set-timer', timer: 'progress', at: 110 + 200 }]);
  });

  test('a replica left behind in views joins the highest view f+1 others show in signed messages', () => {
    const keys = clusterKeys(4);
    const replicas = [0, 1, 2, 3].map((i) => pbft().create(replicaConfig(keys, i)));
    for (const r of replicas) r.step({ type: 'start', now: 0 });
    // Replicas 1 and 2 go to view 1, then view 2 (as if their quorum timer ran), replica 0 missed it all.
    let vc: PbftMessage[] = [];
    for (const i of [1, 2]) {
      replicas[i]!.step({ type: 'timer', timer: 'progress', now: 100 });
      const out = replicas[i]!.step({ type: 'timer', timer: 'progress', now: 300 });
      vc = vc.concat(out.flatMap((o) => (o.type === 'broadcast' && o.message.type === 'view-change' ? [o.message] : [])));
    }
    expect(vc).toHaveLength(2);
    replicas[0]!.step({ type: 'message', from: 1, message: vc[0]!, now: 310 });
    const joined = replicas[0]!.step({ type: 'message', from: 2, message: vc[1]!, now: 311 });
    const own = joined.find((o) => o.type === 'broadcast' && o.message.type === 'view-change') as { message: Extract<PbftMessage, { type: 'view-change' }> } | undefined;
    expect(own?.message.viewChange.statement.view).toBe(2);
  });
});
