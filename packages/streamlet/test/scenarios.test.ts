import { ValidatorSet } from '@bftx/consensus';
import { partialSynchrony, simulate, STRATEGY_KINDS, synchronous, type NetworkModel, type Strategy } from '@bftx/sim';
import { streamlet, streamletLeader } from '../src/index';

const DELTA = 50;
const VIEW = 2 * DELTA;

describe("the prototype's scenarios, made true", () => {
  test('5 honest replicas, 12 views: every block proposed in views 1-10 is notarized and finalized everywhere', () => {
    const r = simulate({ protocol: streamlet(), n: 5, seed: 11, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 12 * VIEW + DELTA, transactions: { every: 20, perBatch: 3 } });
    const proposed = r.trace.filter((e) => e.ev === 'propose' && (e.view as number) <= 10);
    expect(proposed.map((e) => e.view)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const p of proposed) {
      expect(r.trace.some((e) => e.ev === 'certify' && e.block === p.block)).toBe(true);
      for (const replica of r.replicas) expect(replica.ledger).toContain(p.block);
    }
    expect(r.safetyViolation).toBeUndefined();
  });

  const strategies: Strategy[] = STRATEGY_KINDS.map((kind) => (kind === 'crash' ? { kind, at: 10 * VIEW } : kind === 'delay' ? { kind, by: 3 * VIEW } : { kind }) as Strategy);
  test.each(strategies.map((s) => [s.kind, s] as const))('4 honest + 1 Byzantine (%s): safety holds and finalization continues', (_kind, strategy) => {
    // Replica 0 leads views 3 and 13 among others (leaders are H(e) mod n, public).
    const r = simulate({ protocol: streamlet(), n: 5, seed: 12, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 40 * VIEW, byzantine: [{ replica: 0, strategy }] });
    expect(r.safetyViolation).toBeUndefined();
    expect(r.honestFinalizedHeight).toBeGreaterThanOrEqual(10);
    expect(r.offenders.every((o) => o === 0)).toBe(true);
    if (strategy.kind === 'equivocate') expect(r.offenders).toEqual([0]);
  });

  test('3 honest + 2 Byzantine of 5 is beyond f = 1: no guarantee, and here no progress at all', () => {
    expect(new ValidatorSet(Array.from({ length: 5 }, (_, i) => new Uint8Array(32).fill(i + 1))).f).toBe(1);
    const r = simulate({
      protocol: streamlet(),
      n: 5,
      seed: 13,
      network: synchronous(DELTA),
      timing: { delta: DELTA },
      duration: 40 * VIEW,
      byzantine: [
        { replica: 0, strategy: { kind: 'silent' } },
        { replica: 1, strategy: { kind: 'silent' } },
      ],
    });
    // A notarization needs ceil(2*5/3) = 4 votes; 3 honest replicas cannot make one.
    expect(r.honestFinalizedHeight).toBe(0);
    expect(r.trace.some((e) => e.ev === 'certify' && e.replica !== 0 && e.replica !== 1)).toBe(false);
  });
});

describe('a replica that lost messages (down, or cut off) catches up by fetching the blocks it misses', () => {
  // Everything sent to replica 3 during views 5-14 is lost (not held: a crashed process loses what
  // was in flight). Afterwards its tree lacks ten views of blocks that new proposals build on.
  const cut = (from: number, until: number): NetworkModel => {
    const base = synchronous(DELTA);
    return { name: 'replica 3 cut off', deliveries: (f, to, now, rng, m) => (to === 3 && now >= from && now < until ? [] : base.deliveries(f, to, now, rng, m)) };
  };
  test.each([
    ['with fetching (as shipped)', true],
    ['and the same run shows it is the fetching that does it: the answers dropped, it never catches up', false],
  ])('%s', (_what, answers) => {
    const network = cut(5 * VIEW, 15 * VIEW);
    const model: NetworkModel = answers ? network : { name: 'no answers', deliveries: (f, to, now, rng, m) => (m.kind === 'block' ? [] : network.deliveries(f, to, now, rng, m)) };
    const r = simulate({ protocol: streamlet(), n: 4, seed: 21, network: model, timing: { delta: DELTA }, duration: 30 * VIEW, transactions: { every: 20, perBatch: 2 } });
    expect(r.safetyViolation).toBeUndefined();
    const others = Math.min(...r.replicas.slice(0, 3).map((x) => x.ledger.length));
    expect(others).toBeGreaterThanOrEqual(15);
    const lagging = r.replicas[3]!.ledger.length;
    if (answers) expect(lagging).toBeGreaterThanOrEqual(others - 2);
    else expect(lagging).toBeLessThan(others - 5);
  });
});

describe('determinism', () => {
  const config = (seed: number) => ({
    protocol: streamlet(),
    n: 7,
    seed,
    network: partialSynchrony(DELTA, 10 * VIEW),
    timing: { delta: DELTA },
    duration: 30 * VIEW,
    byzantine: [{ replica: 2, strategy: { kind: 'equivocate' } as Strategy }],
    transactions: { every: 30, perBatch: 2 },
  });
  test('the same seed gives the same trace, byte for byte; another seed does not', () => {
    const a = simulate(config(99)).traceJsonl();
    const b = simulate(config(99)).traceJsonl();
    expect(a.length).toBeGreaterThan(10_000);
    expect(b).toBe(a);
    expect(simulate(config(100)).traceJsonl()).not.toBe(a);
  });

  test('leaders are a public function of the view, so Byzantine replicas lead too', () => {
    const leaders = Array.from({ length: 50 }, (_, e) => streamletLeader(e + 1, 5));
    expect(new Set(leaders).size).toBe(5);
    expect(streamletLeader(7, 5)).toBe(streamletLeader(7, 5));
  });
});

describe('end to end with real Ed25519 signatures and the wire format', () => {
  test('4 replicas finalize, messages survive encode/decode', () => {
    const r = simulate({ protocol: streamlet(), n: 4, seed: 5, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 10 * VIEW, signatures: 'ed25519', wireCheck: true, transactions: { every: 25, perBatch: 2 } });
    expect(r.safetyViolation).toBeUndefined();
    expect(r.honestFinalizedHeight).toBeGreaterThanOrEqual(6);
  });
});

describe('run summary', () => {
  test('per-replica counts, latency distributions and the verdict agree with the trace', () => {
    const r = simulate({ protocol: streamlet(), n: 5, seed: 21, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 20 * VIEW + DELTA, transactions: { every: 20, perBatch: 2 } });
    expect(r.verdict).toBe('safe');
    // One proposal per view 1..20, each by that view's leader.
    expect(r.replicas.reduce((a, x) => a + x.proposed, 0)).toBe(20);
    for (const x of r.replicas) {
      expect(x.proposed).toBe(r.trace.filter((e) => e.ev === 'propose' && e.replica === x.validator).length);
      expect(x.certified).toBe(r.trace.filter((e) => e.ev === 'certify' && e.replica === x.validator).length);
      expect(x.finalized).toBe(x.ledger.length);
      expect(x.certified).toBeGreaterThanOrEqual(x.finalized);
    }
    // Under synchrony the block of view e is final once e+1's block is notarized, within view e+1.
    const finalizations = r.replicas.reduce((a, x) => a + x.finalized, 0);
    expect(r.latency.views.count).toBe(finalizations);
    expect(r.latency.ms.count).toBe(finalizations);
    expect(r.latency.views.min).toBe(1);
    expect(r.latency.views.max).toBe(1);
    expect(r.latency.ms.min).toBeGreaterThan(VIEW);
    expect(r.latency.ms.max).toBeLessThan(2 * VIEW);
    expect(r.latency.ms.p50).toBeGreaterThanOrEqual(r.latency.ms.min);
    expect(r.latency.ms.p99).toBeLessThanOrEqual(r.latency.ms.max);
  });
});
