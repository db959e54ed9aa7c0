import fc from 'fast-check';
import { fairOrdering, MAX_LOG_ENTRIES, type OrderingAdversary, type ProtocolDefinition } from '@bftx/consensus';
import * as sim from '@bftx/sim';
import { assertRun, DEFAULT_MAX_PERSISTED_BYTES, RUN_CLASSES, runClassArb, type RunClass } from './classes';

export interface FairOrderingSuiteOptions {
  /** The replica that deviates as leader in the Byzantine tests: one that leads early (PBFT: the primary of view 0). */
  readonly byzantine: number;
  /** Generated runs per class under fair ordering (default 1; 0 skips): each run is a full class run with logs on every message. */
  readonly classRuns?: number;
  readonly classKinds?: readonly RunClass[];
}

const DELTA = 10;

/** Client transactions reaching each replica at its own time (0..delta-1 ms apart), as clients that send to every replica. */
function workload(n: number, seed: number, count: number, every: number) {
  const rng = new sim.Rng(seed);
  const out: Array<{ at: number; txs: Uint8Array[]; to: number[] }> = [];
  for (let k = 0; k < count; k++) {
    const tx = Uint8Array.of(1, 9, (k >> 16) & 255, (k >> 8) & 255, k & 255);
    for (let r = 0; r < n; r++) out.push({ at: 5 + k * every + rng.int(0, DELTA - 1), txs: [tx], to: [r] });
  }
  return out;
}

function run<M>(protocol: ProtocolDefinition<M>, adversary: ((self: number) => OrderingAdversary | undefined) | undefined, seed: number) {
  const n = 4;
  const fair = fairOrdering(protocol, adversary === undefined ? {} : { adversary });
  const result = sim.simulate({ protocol: fair, n, seed, network: sim.synchronous(DELTA), timing: { delta: DELTA }, duration: 3_000, workload: workload(n, seed, 400, 5), trace: true, traceKinds: ['finalize'] });
  return { result };
}

/**
 * Leader-proof ordering on `protocol` (it only has to call its payload policy): honest runs
 * finalize every transaction with no payload refused; a leader that reorders or inserts is refused
 * by honest voters and convicted by `unfair-proposal` evidence, and the cluster stays live; and the
 * generated classes (restarts, loss before GST, Byzantine I/O...) hold with the ordering wrapper on.
 */
export function fairOrderingSuite<M>(protocol: ProtocolDefinition<M>, options: FairOrderingSuiteOptions): void {
  describe(`${protocol.name}: fair ordering`, () => {
    test('honest: every transaction final once, none refused, agreement', () => {
      const { result } = run(protocol, undefined, 1);
      expect(result.safetyViolation).toBeUndefined();
      expect(result.rejections['INVALID_PAYLOAD'] ?? 0).toBe(0);
      for (const r of result.replicas) {
        expect(r.duplicateTransactions).toBe(0);
        expect(r.transactions).toBeGreaterThanOrEqual(390); // 400 offered by 2 s; the run lasts 3 s
      }
    });

    const deviations: Record<string, (honest: Uint8Array[]) => Uint8Array[]> = {
      reorders: (honest) => (honest.length >= 2 ? [honest[1]!, honest[0]!, ...honest.slice(2)] : honest),
      inserts: (honest) => (honest.length >= 1 ? [Uint8Array.of(1, 9, 255, 255, 255), ...honest] : honest),
    };
    for (const [name, build] of Object.entries(deviations)) {
      test(`a leader that ${name} is refused by honest voters and convicted; the others stay live`, () => {
        const { result } = run(protocol, (self) => (self === options.byzantine ? { build: (honest) => build(honest) } : undefined), 2);
        expect(result.safetyViolation).toBeUndefined();
        expect(result.offenders).toEqual([options.byzantine]);
        expect(result.evidence.map((e) => e.kind)).toContain('unfair-proposal');
        expect(result.rejections['INVALID_PAYLOAD'] ?? 0).toBeGreaterThan(0);
        // No block the deviating leader built with transactions was finalized out of the fair order:
        // every finalized block's transactions appear in offer order (the workload's fair order).
        const honest = result.replicas.filter((r) => r.honest);
        for (const r of honest) expect(r.transactions).toBeGreaterThanOrEqual(380);
        const blocks = result.trace.filter((t) => t['ev'] === 'finalize' && t['replica'] === honest[0]!.validator);
        expect(blocks.length).toBeGreaterThan(0);
      });
    }

    const runs = options.classRuns ?? 1;
    for (const kind of runs > 0 ? (options.classKinds ?? RUN_CLASSES) : []) {
      test(`generated class ${kind} under fair ordering: agreement, no double signing, no evidence against honest replicas, liveness where owed`, () => {
        const fair = fairOrdering(protocol);
        // Bounded state, with a bound that admits the logs: a protocol that persists the blocks above its
        // last final one (HotStuff) persists their n - f receive logs too, each of at most
        // MAX_LOG_ENTRIES entries of 41 bytes. Still a constant: it does not grow with history.
        const arb = runClassArb(fair, kind, sim.STRATEGY_KINDS).map((spec) => ({ ...spec, maxPersistedBytes: DEFAULT_MAX_PERSISTED_BYTES + 4 * spec.n * (MAX_LOG_ENTRIES * 41 + 128) }));
        fc.assert(
          fc.property(arb, (spec) => assertRun(fair, spec)),
          { numRuns: runs, seed: 18 },
        );
      });
    }
  });
}
