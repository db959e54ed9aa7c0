import { DecodeError } from '@bftx/crypto';
import { partialSynchrony, simulate, STRATEGY_KINDS, synchronous, withPartitions, type Strategy } from '@bftx/sim';
import fc from 'fast-check';
import { roundRobin } from '@bftx/consensus';
import { decodeHotStuffMessage, encodeHotStuffMessage, hotstuff } from '../src/index';

const DELTA = 10;

describe('hotstuff replicas', () => {
  test('all honest under synchrony: a block per view, commits three views behind, no timeouts', () => {
    const r = simulate({ protocol: hotstuff(), n: 4, seed: 1, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 500, transactions: { every: 10, perBatch: 2 } });
    expect(r.verdict).toBe('safe');
    expect(r.honestFinalizedHeight).toBeGreaterThan(30);
    expect(r.messagesByKind.timeout ?? 0).toBe(0);
    // A block is final when the QC of its grandchild arrives, with the proposal of the view after.
    expect(r.latency.views.p50).toBe(3);
    // Responsive: a view lasts about two message delays (votes, then the next proposal), not a timeout.
    expect(r.latency.ms.p50).toBeLessThanOrEqual(3 * 2 * DELTA);
  });

  test('n = 1: its own vote is a quorum, yet it proposes a block per delta (no recursion, no spinning at one instant) and finalizes every transaction', () => {
    // Before: its own proposal formed the QC and proposed the next block inside the same call, until the stack overflowed.
    const r = simulate({ protocol: hotstuff(), n: 1, seed: 1, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 500, transactions: { every: 10, perBatch: 2 } });
    expect(r.verdict).toBe('safe');
    expect(r.replicas[0]!.transactions).toBeGreaterThanOrEqual(90);
    expect(r.honestFinalizedHeight).toBeGreaterThanOrEqual(45);
    expect(r.honestFinalizedHeight).toBeLessThanOrEqual(51);
  });

  test('idleViewMs: an idle cluster makes a block per idle interval, not one per round trip; a transaction ends the wait and is final as fast as without it', () => {
    const run = (idleViewMs: number) =>
      simulate({ protocol: hotstuff({ idleViewMs }), n: 4, seed: 3, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 3_000, workload: [{ at: 1_503, txs: [Uint8Array.of(1, 2, 3)] }] });
    const eager = run(0);
    const idle = run(2 * DELTA);
    expect(eager.verdict).toBe('safe');
    expect(idle.verdict).toBe('safe');
    // Without the option, a view every round trip (about 2 delta); with it, about one per 2 delta of waiting plus the round trip.
    expect(eager.honestFinalizedHeight).toBeGreaterThan(100);
    expect(idle.honestFinalizedHeight).toBeLessThan(eager.honestFinalizedHeight * 0.6);
    expect(idle.honestFinalizedHeight).toBeGreaterThan(20);
    // The one transaction is finalized in both, and the wait does not delay it: the leader proposes
    // it at once, and the blocks that commit it are not waited for (the chain holds a transaction).
    const finalTime = (r: ReturnType<typeof run>) => r.trace.find((e) => e.ev === 'finalize' && (e.txs as number) > 0)?.t as number | undefined;
    expect(finalTime(eager)).toBeDefined();
    expect(finalTime(idle)).toBeDefined();
    expect(finalTime(idle)! - 1_503).toBeLessThanOrEqual(finalTime(eager)! - 1_503 + 2 * DELTA);
  });

  const strategies: Strategy[] = STRATEGY_KINDS.map((kind) => (kind === 'crash' ? { kind, at: 200 } : kind === 'delay' ? { kind, by: 30 } : { kind }) as Strategy);
  test.each(strategies.map((s) => [s.kind, s] as const))('4 honest + 1 Byzantine (%s): safety holds and commits continue', (_kind, strategy) => {
    const r = simulate({ protocol: hotstuff(), n: 5, seed: 12, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 3000, byzantine: [{ replica: 2, strategy }] });
    expect(r.verdict).toBe('safe');
    expect(r.honestFinalizedHeight).toBeGreaterThanOrEqual(20);
    expect(r.offenders.every((o) => o === 2)).toBe(true);
    if (strategy.kind === 'equivocate') expect(r.offenders).toEqual([2]);
  });

  test('an equivocating leader whose votes go to Byzantine collectors only is still convicted: a timeout carries the proposal its signer saw', () => {
    // n = 10: replica 9 leads views 9 and 19, whose votes go to the leaders after them, 0 and 1, both Byzantine.
    const r = simulate({ protocol: hotstuff(), n: 10, seed: 0, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 600, byzantine: [0, 9, 1].map((replica) => ({ replica, strategy: { kind: 'equivocate' } as Strategy })) });
    expect(r.verdict).toBe('safe');
    expect(r.offenders).toEqual([0, 1, 9]);
  });

  test('after a long partition heals, the minority catches up (fetching the blocks it missed)', () => {
    const r = simulate({
      protocol: hotstuff(),
      n: 4,
      seed: 3,
      network: withPartitions(synchronous(DELTA), [{ from: 50, until: 600, groups: [[0, 1, 2], [3]] }]),
      timing: { delta: DELTA },
      duration: 1200,
    });
    expect(r.verdict).toBe('safe');
    const heights = r.replicas.map((x) => x.finalized);
    expect(Math.min(...heights)).toBeGreaterThan(30);
    expect(Math.max(...heights) - Math.min(...heights)).toBeLessThanOrEqual(3);
    expect(r.messagesByKind.fetch ?? 0).toBeGreaterThan(0);
  });

  test('leaders rotate round-robin (view mod n), so Byzantine replicas lead too', () => {
    const r = simulate({ protocol: hotstuff(), n: 4, seed: 1, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 300, traceKinds: ['propose'] });
    const proposals = r.traceJsonl().trim().split('\n').map((l) => JSON.parse(l) as { replica: number; view: number });
    expect(proposals.length).toBeGreaterThan(8);
    for (const p of proposals) expect(p.replica).toBe(roundRobin(p.view, 4));
    expect(new Set(proposals.map((p) => p.replica)).size).toBe(4);
  });

  test('the same seed gives the same trace, byte for byte', () => {
    const config = { protocol: hotstuff(), n: 7, seed: 9, network: partialSynchrony(DELTA, 300), timing: { delta: DELTA }, duration: 1500, byzantine: [{ replica: 3, strategy: { kind: 'equivocate' } as Strategy }], transactions: { every: 15, perBatch: 2 } };
    const a = simulate(config).traceJsonl();
    expect(a.length).toBeGreaterThan(10_000);
    expect(simulate(config).traceJsonl()).toBe(a);
  });

  test('end to end with real Ed25519 signatures and every message through the wire format', () => {
    const r = simulate({ protocol: hotstuff(), n: 4, seed: 5, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 300, signatures: 'ed25519', wireCheck: true, transactions: { every: 20, perBatch: 2 }, byzantine: [{ replica: 1, strategy: { kind: 'equivocate' } }] });
    expect(r.verdict).toBe('safe');
    expect(r.honestFinalizedHeight).toBeGreaterThanOrEqual(5);
    expect(r.offenders).toEqual([1]);
  });

  test('Twins: validator 0 runs twice with one key, under random per-window partitions: always safe', () => {
    const N = 4;
    const windowArb = fc.record({ views: fc.integer({ min: 1, max: 6 }), side: fc.array(fc.boolean(), { minLength: N + 1, maxLength: N + 1 }) });
    fc.assert(
      fc.property(fc.nat(), fc.array(windowArb, { minLength: 1, maxLength: 12 }), (seed, windows) => {
        let t = 0;
        const partitions = windows.map(({ views, side }) => {
          const p = { from: t, until: t + views * 3 * DELTA, groups: [side.flatMap((s, i) => (s ? [i] : [])), side.flatMap((s, i) => (s ? [] : [i]))] };
          t = p.until;
          return p;
        });
        const r = simulate({ protocol: hotstuff(), n: N, seed, twins: [0], network: withPartitions(synchronous(DELTA), partitions), timing: { delta: DELTA }, duration: t + 500, trace: false });
        if (r.safetyViolation !== undefined) throw new Error(`safety violated with twins: ${r.safetyViolation}`);
        if (r.offenders.some((o) => o !== 0)) throw new Error(`evidence against honest replica(s): ${r.offenders.join(', ')}`);
      }),
      { numRuns: bftxRuns(150) },
    );
  });

  test('malformed messages are refused with a DecodeError, never another exception', () => {
    const r = simulate({ protocol: hotstuff(), n: 4, seed: 2, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 100, traceKinds: [] });
    expect(r.verdict).toBe('safe');
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        try {
          const m = decodeHotStuffMessage(bytes);
          expect(decodeHotStuffMessage(encodeHotStuffMessage(m))).toEqual(m); // whatever decodes, round-trips
        } catch (e) {
          expect(e).toBeInstanceOf(DecodeError);
        }
      }),
      { numRuns: bftxRuns(2000) },
    );
  });
});
