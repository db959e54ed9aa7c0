// Issue 15, item 6: a replica that fell behind keeps fetching, range after range (an answer holds at
// most 64 batches), asking another peer on a timer while it stays behind, until it has executed
// what the others did. Before, it fetched once per stable checkpoint adopted: more than 64 batches
// behind, and with f replicas crashed (its checkpoint signature needed to move the watermarks), the
// cluster halted for good.
import { simulate, synchronous } from '@bftx/sim';
import { signStatement, type ProtocolOutput } from '@bftx/consensus';
import { nullBatch, PbftDomains, pbft, type CommittedBatch, type PbftMessage } from '../src/index';
import { clusterKeys, replicaConfig } from './helpers';

const DELTA = 10;
const BACK = 2550;

/** Replica n-1 down from 50 to 2550 while the others execute about 100 batches; f others crash at 2000. */
function farBehind(n: number, seed: number, byzantineAnswers = false) {
  const f = Math.floor((n - 1) / 3);
  const crashed = Array.from({ length: f }, (_, i) => ({ replica: i + 1, strategy: { kind: 'crash' as const, at: 2000 } }));
  return {
    protocol: pbft(),
    n,
    seed,
    network: synchronous(DELTA),
    timing: { delta: DELTA },
    duration: 6000,
    // With Byzantine answers the f Byzantine replicas answer fetches wrongly instead of crashing.
    byzantine: byzantineAnswers ? crashed.map((b) => ({ replica: b.replica, strategy: { kind: 'bad-fetch-answers' as const } })) : crashed,
    restarts: [{ replica: n - 1, at: 50, downFor: BACK - 50 }],
    transactions: { every: 10, perBatch: 2 },
    trace: false,
  };
}

describe('pbft catch-up', () => {
  test.each([4, 7, 10])('n = %i: a replica about 100 batches behind catches up although answers hold 64, and the cluster, needing it, goes on', (n) => {
    const r = simulate(farBehind(n, n));
    expect(r.safetyViolation).toBeUndefined();
    const honest = r.replicas.filter((x) => x.honest);
    const lagging = honest.find((x) => x.validator === n - 1)!;
    expect(lagging.commitTimes.filter((t) => t < BACK).length).toBeLessThan(5);
    expect(Math.min(...honest.map((x) => x.commitTimes.filter((t) => t > BACK + 1000).length))).toBeGreaterThan(50);
    expect(Math.max(...honest.map((x) => x.finalized)) - lagging.finalized).toBeLessThanOrEqual(4);
    expect(r.messagesByKind.committed).toBeGreaterThanOrEqual(2);
  });

  test('Byzantine peers answering fetches with commits withheld or other batches: the replica asks others and catches up', () => {
    const r = simulate(farBehind(7, 3, true));
    expect(r.safetyViolation).toBeUndefined();
    expect(r.doubleSigns).toEqual([]);
    const honest = r.replicas.filter((x) => x.honest);
    expect(Math.max(...honest.map((x) => x.finalized)) - Math.min(...honest.map((x) => x.finalized))).toBeLessThanOrEqual(4);
    expect(Math.min(...honest.map((x) => x.finalized))).toBeGreaterThan(150);
  });

  test('answers are bounded (64 batches) and a peer asking again and again is answered a few times in a burst, then once per delta', () => {
    const keys = clusterKeys(4);
    const server = pbft().create(replicaConfig(keys, 0));
    server.step({ type: 'start', now: 0 });
    // 100 committed batches, each with a quorum of commits, reach the server as answers to its own fetches.
    const committed = (seq: number): CommittedBatch => {
      const batch = nullBatch(0, seq, 0);
      return { batch, commits: [0, 1, 2].map((i) => signStatement(keys.signers[i]!, i, PbftDomains.commit, { epoch: 0, slot: seq, phase: 0, blockHash: batch.hash })) };
    };
    for (let from = 1; from <= 100; from += 50) server.step({ type: 'message', from: 1, message: { type: 'committed', batches: Array.from({ length: 50 }, (_, i) => committed(from + i)) }, now: 1 });
    const answers = (out: readonly ProtocolOutput<PbftMessage>[]) => out.flatMap((o) => (o.type === 'send' && o.message.type === 'committed' ? [o.message.batches.length] : []));
    const ask = (now: number) => answers(server.step({ type: 'message', from: 2, message: { type: 'fetch', fromSeq: 1 }, now }));
    expect(ask(10)).toEqual([64]);
    expect([ask(10), ask(10), ask(10), ask(10), ask(10)]).toEqual([[64], [64], [64], [], []]);
    expect(ask(20)).toEqual([64]);
    expect(ask(20)).toEqual([]);
    expect(answers(server.step({ type: 'message', from: 2, message: { type: 'fetch', fromSeq: 65 }, now: 40 }))).toEqual([36]);
  });
});
