import { DecodeError } from '@bftx/crypto';
import { partialSynchrony, simulate, STRATEGY_KINDS, synchronous, withPartitions, type Strategy } from '@bftx/sim';
import fc from 'fast-check';
import { decodePbftMessage, decodeSafetyState, encodePbftMessage, pbft } from '../src/index';
import { clusterKeys, replicaConfig } from './helpers';

const DELTA = 10;

describe('pbft replicas', () => {
  test('all honest under synchrony: a batch every 2 delta, executed three message delays later, checkpoints collect garbage', () => {
    const r = simulate({ protocol: pbft(), n: 4, seed: 1, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 1000, transactions: { every: 10, perBatch: 2 } });
    expect(r.verdict).toBe('safe');
    expect(r.honestFinalizedHeight).toBeGreaterThanOrEqual(45);
    expect(r.messagesByKind['view-change'] ?? 0).toBe(0);
    expect(r.latency.ms.p50).toBeLessThanOrEqual(3 * DELTA);
    // Every K = 8 executed batches, each replica signs a checkpoint.
    expect(r.messagesByKind.checkpoint).toBe(4 * 3 * Math.floor(r.honestFinalizedHeight / 8));
  });

  const strategies: Strategy[] = STRATEGY_KINDS.map((kind) => (kind === 'crash' ? { kind, at: 300 } : kind === 'delay' ? { kind, by: 30 } : { kind }) as Strategy);
  test.each(strategies.map((s) => [s.kind, s] as const))('4 honest + 1 Byzantine primary (%s): safety holds and commits continue', (_kind, strategy) => {
    const r = simulate({ protocol: pbft(), n: 5, seed: 12, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 3000, byzantine: [{ replica: 0, strategy }] });
    expect(r.verdict).toBe('safe');
    expect(r.honestFinalizedHeight).toBeGreaterThanOrEqual(60);
    expect(r.offenders.every((o) => o === 0)).toBe(true);
    if (strategy.kind === 'equivocate') expect(r.offenders).toEqual([0]);
  });

  test('a silent primary is replaced by a view change; the new view keeps every executed batch', () => {
    const r = simulate({ protocol: pbft(), n: 4, seed: 2, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 1500, byzantine: [{ replica: 0, strategy: { kind: 'crash', at: 400 } }], traceKinds: ['view', 'finalize'] });
    expect(r.verdict).toBe('safe');
    const views = new Set(r.trace.filter((e) => e.ev === 'view' && e.replica !== 0).map((e) => e.view));
    expect(views.has(1)).toBe(true);
    const honest = r.replicas.filter((x) => x.validator !== 0);
    expect(Math.min(...honest.map((x) => x.finalized))).toBeGreaterThan(40);
  });

  test('after a long partition heals, the minority catches up from committed batches with their commits', () => {
    const r = simulate({ protocol: pbft(), n: 4, seed: 3, network: withPartitions(synchronous(DELTA), [{ from: 50, until: 900, groups: [[0, 1, 2], [3]] }]), timing: { delta: DELTA }, duration: 1500 });
    expect(r.verdict).toBe('safe');
    const heights = r.replicas.map((x) => x.finalized);
    expect(Math.min(...heights)).toBeGreaterThan(50);
    expect(Math.max(...heights) - Math.min(...heights)).toBeLessThanOrEqual(4);
    expect(r.messagesByKind.committed ?? 0).toBeGreaterThan(0);
  });

  test('primaries rotate with the view (round robin)', () => {
    // Each view a replica moves to is traced with its primary: views 1 to 5 as the progress timer fires.
    const r = pbft().create(replicaConfig(clusterKeys(4), 2));
    r.step({ type: 'start', now: 0 });
    const leaders = [1, 2, 3, 4, 5].flatMap((i) => r.step({ type: 'timer', timer: 'progress', now: 100 * i }).flatMap((o) => (o.type === 'trace' && o.event.kind === 'view' ? [o.event.leader] : [])));
    expect(leaders).toEqual([1, 2, 3, 0, 1]);
  });

  test('the same seed gives the same trace, byte for byte', () => {
    const config = { protocol: pbft(), n: 7, seed: 9, network: partialSynchrony(DELTA, 300), timing: { delta: DELTA }, duration: 1500, byzantine: [{ replica: 0, strategy: { kind: 'equivocate' } as Strategy }], transactions: { every: 15, perBatch: 2 } };
    const a = simulate(config).traceJsonl();
    expect(a.length).toBeGreaterThan(10_000);
    expect(simulate(config).traceJsonl()).toBe(a);
  });

  test('end to end with real Ed25519 signatures and every message through the wire format, across a view change', () => {
    const r = simulate({ protocol: pbft(), n: 4, seed: 5, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 800, signatures: 'ed25519', wireCheck: true, transactions: { every: 20, perBatch: 2 }, byzantine: [{ replica: 0, strategy: { kind: 'crash', at: 200 } }] });
    expect(r.verdict).toBe('safe');
    expect(r.messagesByKind['new-view']).toBeGreaterThan(0);
    expect(r.honestFinalizedHeight).toBeGreaterThanOrEqual(20);
  });

  test('safety state round-trips and is what a restarted replica resumes from', () => {
    const r = simulate({ protocol: pbft(), n: 4, seed: 6, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 200, trace: false });
    expect(r.replicas.every((x) => x.persisted > 0)).toBe(true);
    expect(() => decodeSafetyState(new Uint8Array([1, 2, 3]))).toThrow(DecodeError);
  });

  test('malformed messages are refused with a DecodeError, never another exception', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          const m = decodePbftMessage(bytes);
          expect(decodePbftMessage(encodePbftMessage(m))).toEqual(m);
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: bftxRuns(2000) },
    );
  });
});
