// The conformance suite every bftx protocol runs: safety, liveness after GST, ledger agreement and
// evidence, Twins, restarts that never double-sign, and the generated run classes, as fast-check
// properties over runs of @bftx/sim with Byzantine replicas and hostile networks.
//
//   import { conformanceSuite } from '@bftx/conformance';
//   conformanceSuite(streamlet());
//
// Every failure prints the fast-check seed and a replay command (BFTX_SEED, BFTX_PATH), and the
// scenario, whose simulation seed reproduces the run.
import type { ProtocolDefinition, Timing } from '@bftx/consensus';
import * as sim from '@bftx/sim';
import { splitBrainProperty } from './forensics';
import type { NetworkModel, SimulationResult, Strategy } from '@bftx/sim';
import fc from 'fast-check';
import { certificateProperty } from './certificates';
import { assertRun, classProperty, persistedStateProperty, RUN_CLASSES, type RegressionCase, type RunClass } from './classes';

export const DELTA = 10;
const TIMING: Timing = { delta: DELTA };
const VIEW = 2 * DELTA;

/**
 * random: random strategies and network. split-brain: honest replicas split in two for the whole run,
 * every Byzantine replica double-voting on both sides (attacks quorum intersection). rotating: the
 * honest replicas are re-split every few views, Byzantine ones double-vote (views diverge, then merge:
 * attacks the finality rule). fork: the Byzantine leaders build one fork from genesis (attacks the
 * longest-notarized-chain rule). late-votes: proposals arrive on time but each replica gets the votes of
 * some views only views later, so replicas see notarizations late and in different orders, and
 * Byzantine replicas vote for everything (builds notarized forks: attacks the finality rule).
 */
export type ScenarioFamily = 'random' | 'split-brain' | 'rotating' | 'fork' | 'late-votes';

export interface Scenario {
  readonly family: ScenarioFamily;
  readonly n: number;
  readonly seed: number;
  readonly byzantine: ReadonlyArray<{ readonly replica: number; readonly strategy: Strategy }>;
  readonly network: 'synchronous' | 'partial-synchrony' | 'partition' | 'lossy';
  readonly gst: number;
  readonly partition: { readonly from: number; readonly until: number; readonly cut: number };
  /** rotating: window length in views, and one split seed per window. */
  readonly rotation: { readonly views: number; readonly splits: readonly number[] };
  /** late-votes: holds[replica][view] = views for which votes sent to it in that view are held (0: on time). */
  readonly holds: readonly (readonly number[])[];
  readonly duration: number;
}

/** Random adversarial scenarios: the families above, f Byzantine replicas at most, every n from 4 to 13 (not only 3f+1). */
export function scenarioArb(strategies: readonly string[]): fc.Arbitrary<Scenario> {
  const family = fc.constantFrom<ScenarioFamily>('random', 'random', 'split-brain', 'rotating', 'fork', 'late-votes', 'late-votes');
  return fc.tuple(family, fc.integer({ min: 4, max: 13 })).chain(([family, n]) => {
    const f = Math.floor((n - 1) / 3);
    const all = Array.from({ length: n }, (_, i) => i);
    const targeted = family !== 'random';
    const byzantine: fc.Arbitrary<Scenario['byzantine']> = targeted
      ? fc.shuffledSubarray(all, { minLength: f, maxLength: f }).map((replicas) => replicas.map((replica) => ({ replica, strategy: { kind: family === 'fork' ? 'fork' : 'double-vote' } })))
      : fc
          .shuffledSubarray(all, { minLength: 0, maxLength: f })
          .chain((replicas) => fc.tuple(...replicas.map((replica) => fc.record({ replica: fc.constant(replica), strategy: strategyArb(strategies) }))).map((list) => list as Scenario['byzantine']));
    return fc.record({
      family: fc.constant(family),
      n: fc.constant(n),
      seed: fc.nat(),
      byzantine,
      network: targeted ? fc.constant('synchronous' as const) : fc.constantFrom('synchronous', 'partial-synchrony', 'partition', 'partition', 'lossy'),
      gst: fc.integer({ min: 0, max: 20 }).map((e) => e * VIEW),
      partition: fc.record({ from: fc.integer({ min: 0, max: 15 }).map((e) => e * VIEW), until: fc.integer({ min: 5, max: 40 }).map((e) => e * VIEW), cut: fc.nat() }),
      rotation: fc.record({ views: fc.integer({ min: 1, max: 4 }), splits: fc.array(fc.nat(), { minLength: 45, maxLength: 45 }) }),
      holds:
        family === 'late-votes'
          ? fc.array(fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 6 })), { minLength: 45, maxLength: 45 }), { minLength: n, maxLength: n })
          : fc.constant([]),
      duration: fc.constant(45 * VIEW),
    });
  });
}

function strategyArb(kinds: readonly string[]) {
  return fc.constantFrom(...kinds).chain((kind) => {
    if (kind === 'crash') return fc.integer({ min: 0, max: 40 * VIEW }).map((at) => ({ kind, at }));
    if (kind === 'delay') return fc.integer({ min: 1, max: 4 * VIEW }).map((by) => ({ kind, by }));
    return fc.constant({ kind });
  });
}

function network(s: Scenario): NetworkModel {
  const byz = new Set(s.byzantine.map((b) => b.replica));
  const honest = Array.from({ length: s.n }, (_, i) => i).filter((i) => !byz.has(i));
  // Two groups of honest replicas; Byzantine replicas are in both, so they talk to everyone.
  const split = (seed: number, balanced: boolean) => {
    const order = balanced ? honest : [...honest].sort((a, b) => ((a * 7919 + seed) % 101) - ((b * 7919 + seed) % 101));
    const cut = balanced ? Math.ceil(order.length / 2) : 1 + (seed % Math.max(1, order.length - 1));
    return [
      [...order.slice(0, cut), ...byz],
      [...order.slice(cut), ...byz],
    ];
  };
  switch (s.family) {
    case 'split-brain':
      return sim.withPartitions(sim.synchronous(DELTA), [{ from: 0, until: s.duration, groups: split(s.partition.cut, true) }]);
    case 'rotating': {
      const window = s.rotation.views * VIEW;
      const partitions = s.rotation.splits.map((seed, i) => ({ from: i * window, until: (i + 1) * window, groups: split(seed, false) })).filter((p) => p.from < s.duration);
      return sim.withPartitions(sim.synchronous(DELTA), partitions);
    }
    case 'fork':
      return sim.synchronous(DELTA);
    case 'late-votes':
      return sim.heldVotes(sim.synchronous(DELTA), VIEW, (to, w) => s.holds[to]?.[w] ?? 0);
    case 'random':
      break;
  }
  switch (s.network) {
    case 'synchronous':
      return sim.synchronous(DELTA);
    case 'partial-synchrony':
      return sim.partialSynchrony(DELTA, s.gst);
    case 'lossy':
      return sim.lossy(sim.partialSynchrony(DELTA, s.gst), 0.05, 0.05);
    case 'partition': {
      const from = Math.min(s.partition.from, s.partition.until);
      return sim.withPartitions(sim.partialSynchrony(DELTA, s.gst), [{ from, until: Math.max(s.partition.from, s.partition.until), groups: split(s.partition.cut, false) }]);
    }
  }
}

/** The simulation settings of a scenario (all but the protocol): for suites of layers above consensus that add their own workload. */
export function scenarioConfig(s: Scenario) {
  return { n: s.n, seed: s.seed, network: network(s), timing: TIMING, duration: s.duration, byzantine: s.byzantine, trace: false };
}

function run<M>(protocol: ProtocolDefinition<M>, s: Scenario): SimulationResult {
  return sim.simulate({ protocol, ...scenarioConfig(s) });
}

/** The first honest pair whose ledgers are not one a prefix of the other. */
export function ledgerDisagreement(outcome: SimulationResult): string | undefined {
  const honest = outcome.replicas.filter((r) => r.honest);
  for (let a = 0; a < honest.length; a++) {
    for (let b = a + 1; b < honest.length; b++) {
      const x = honest[a]!.ledger;
      const y = honest[b]!.ledger;
      const common = Math.min(x.length, y.length);
      for (let h = 0; h < common; h++) {
        if (x[h] !== y[h]) return `replicas ${honest[a]!.validator} and ${honest[b]!.validator} disagree at height ${h + 1}`;
      }
    }
  }
  return undefined;
}

export interface PropertyRuns {
  readonly safety: number;
  readonly liveness: number;
  readonly evidence: number;
  /** Twins scenarios (0 leaves the property out). */
  readonly twins: number;
  /** Generated runs of each class (restarts, loss before GST, cut-off, exact delays, Byzantine I/O, equivocating leaders). */
  readonly classes?: number;
  /** Only these classes (default: all). */
  readonly classKinds?: readonly RunClass[];
  /** Pairs of runs checking that persisted state does not grow with history. */
  readonly persisted?: number;
  /** Generated runs (any class) whose commit certificates are tampered with (see certificateProperty); 0 leaves it out. */
  readonly certificates?: number;
  /** Split-brain coalitions beyond f: the fork exactly when the bound allows it, forensics convicting f+1 (see splitBrainProperty); 0 leaves it out. */
  readonly forensics?: number;
}

export const DEFAULT_RUNS = { safety: 200, liveness: 40, evidence: 40, twins: 3_000, classes: 30, persisted: 3, certificates: 8, forensics: 30 } as const satisfies PropertyRuns;

/** Runs from BFTX_RUNS when set (the global fast-check setting), else the default. */
function runs(n: number): number {
  const fromEnv = (globalThis as { bftxRuns?: (d: number) => number }).bftxRuns;
  return fromEnv ? fromEnv(n) : n;
}

/** Safety and agreement: no two honest replicas finalize different blocks at one height; no honest ledger reverts. */
export function safetyProperty<M>(protocol: ProtocolDefinition<M>, strategies: readonly string[] = sim.STRATEGY_KINDS) {
  return fc.property(scenarioArb(strategies), (s) => {
    const outcome = run(protocol, s);
    const problem = outcome.safetyViolation ?? ledgerDisagreement(outcome);
    if (problem !== undefined) throw new Error(`safety violated: ${problem}\nscenario: ${JSON.stringify(s)}`);
  });
}

/**
 * Liveness: all replicas honest, partial synchrony; after GST plus one bound,
 * every honest replica finalizes at least one new block in every window of
 * the protocol's stated bound.
 */
export function livenessProperty<M>(protocol: ProtocolDefinition<M>) {
  const arb = fc.record({ n: fc.integer({ min: 4, max: 13 }), seed: fc.nat(), gstViews: fc.integer({ min: 0, max: 15 }) });
  return fc.property(arb, ({ n, seed, gstViews }) => {
    const bound = protocol.livenessBound(TIMING, n);
    const gst = gstViews * VIEW;
    const duration = gst + 5 * bound;
    const outcome = sim.simulate({ protocol, n, seed, network: sim.partialSynchrony(DELTA, gst), timing: TIMING, duration, trace: false });
    for (const r of outcome.replicas) {
      for (let w = gst + bound; w + bound <= duration; w += bound) {
        if (!r.commitTimes.some((t) => t >= w && t < w + bound)) {
          throw new Error(`liveness: replica ${r.validator} finalized nothing in [${w}, ${w + bound}) ms (GST ${gst}, bound ${bound} ms)\nscenario: ${JSON.stringify({ n, seed, gstViews })}`);
        }
      }
    }
  });
}

/** Evidence: every replica that equivocates is reported with verified evidence; no honest replica ever is. */
export function evidenceProperty<M>(protocol: ProtocolDefinition<M>) {
  const arb = fc.integer({ min: 4, max: 13 }).chain((n) =>
    fc.record({
      n: fc.constant(n),
      seed: fc.nat(),
      equivocators: fc.shuffledSubarray(
        Array.from({ length: n }, (_, i) => i),
        { minLength: 0, maxLength: Math.floor((n - 1) / 3) },
      ),
    }),
  );
  return fc.property(arb, ({ n, seed, equivocators }) => {
    const outcome = sim.simulate({
      protocol,
      n,
      seed,
      network: sim.synchronous(DELTA),
      timing: TIMING,
      duration: 30 * VIEW,
      byzantine: equivocators.map((replica) => ({ replica, strategy: { kind: 'equivocate' } })),
      trace: false,
    });
    const expected = [...equivocators].sort((a, b) => a - b);
    const wrongly = outcome.offenders.filter((o) => !equivocators.includes(o));
    if (wrongly.length > 0) throw new Error(`evidence against honest replica(s) ${wrongly.join(', ')}\nscenario: ${JSON.stringify({ n, seed, equivocators })}`);
    const missed = expected.filter((e) => !outcome.offenders.includes(e));
    if (missed.length > 0) throw new Error(`no evidence for equivocating replica(s) ${missed.join(', ')}\nscenario: ${JSON.stringify({ n, seed, equivocators })}`);
  });
}

/** A Twins scenario: n = 4 validators, one of them run twice; per round a leader and a split of the five endpoints. */
export interface TwinsScenario {
  readonly seed: number;
  readonly twin: number;
  readonly rounds: ReadonlyArray<{ readonly leader: number; readonly side: readonly boolean[] }>;
}

export const TWINS_N = 4;

export function twinsScenarioArb(): fc.Arbitrary<TwinsScenario> {
  const round = fc.record({ leader: fc.nat(TWINS_N - 1), side: fc.array(fc.boolean(), { minLength: TWINS_N + 1, maxLength: TWINS_N + 1 }) });
  return fc.record({ seed: fc.nat(), twin: fc.nat(TWINS_N - 1), rounds: fc.array(round, { minLength: 7, maxLength: 10 }) });
}

/**
 * Runs one Twins scenario (Bano et al., "Twins: BFT Systems Made Robust", 2022): validator `twin`
 * runs as two instances with one key (endpoints twin and n); round r lasts one view (2 delta), is
 * led by rounds[r].leader, and splits the five endpoints into at most two groups that only hear
 * each other. After the last round the network heals and the run goes on for ten more views.
 */
export function runTwinsScenario<M>(protocol: ProtocolDefinition<M>, s: TwinsScenario): SimulationResult {
  const partitions = s.rounds.map((r, i) => ({
    from: i * VIEW,
    until: (i + 1) * VIEW,
    groups: [r.side.flatMap((x, e) => (x ? [e] : [])), r.side.flatMap((x, e) => (x ? [] : [e]))],
  }));
  const leaderSchedule = [0, ...s.rounds.map((r) => r.leader)];
  const duration = (s.rounds.length + 10) * VIEW;
  return sim.simulate({ protocol, n: TWINS_N, seed: s.seed, twins: [s.twin], leaderSchedule, network: sim.withPartitions(sim.synchronous(DELTA), partitions), timing: TIMING, duration, trace: false });
}

/** Twins: whatever the leaders and partitions, no two honest replicas disagree, and only the twinned key is ever accused. */
export function twinsProperty<M>(protocol: ProtocolDefinition<M>) {
  return fc.property(twinsScenarioArb(), (s) => {
    const outcome = runTwinsScenario(protocol, s);
    const problem = outcome.safetyViolation ?? ledgerDisagreement(outcome);
    if (problem !== undefined) throw new Error(`safety violated under Twins: ${problem}\nscenario: ${JSON.stringify(s)}`);
    const wrongly = outcome.offenders.filter((o) => o !== s.twin);
    if (wrongly.length > 0) throw new Error(`evidence against honest replica(s) ${wrongly.join(', ')} under Twins\nscenario: ${JSON.stringify(s)}`);
  });
}

/**
 * Registers the whole suite as jest tests. Runs are CI-sized by default
 * (at least 200 safety runs) and follow BFTX_RUNS when it is set.
 */
export function conformanceSuite<M>(protocol: ProtocolDefinition<M>, counts: PropertyRuns = DEFAULT_RUNS, regressions: readonly RegressionCase[] = []): void {
  const classRuns = counts.classes ?? DEFAULT_RUNS.classes;
  const persistedRuns = counts.persisted ?? DEFAULT_RUNS.persisted;
  describe(`${protocol.name}: conformance`, () => {
    for (const kind of classRuns > 0 ? (counts.classKinds ?? RUN_CLASSES) : []) {
      test(`generated class ${kind}: agreement, no double signing, no evidence against honest replicas, bounded state, liveness where owed`, () => {
        fc.assert(classProperty(protocol, sim.STRATEGY_KINDS, kind), { numRuns: runs(classRuns) });
      });
    }
    if (persistedRuns > 0) {
      test('persisted state does not grow with history', () => {
        fc.assert(persistedStateProperty(protocol), { numRuns: runs(persistedRuns) });
      });
    }
    const certificateRuns = counts.certificates ?? DEFAULT_RUNS.certificates;
    if (certificateRuns > 0 && protocol.verifyCommit !== undefined) {
      test('commit certificates: verify by the validator keys alone, and not after a bit flip, with other keys, or short of a quorum; finality proofs down a header chain', () => {
        fc.assert(certificateProperty(protocol, sim.STRATEGY_KINDS), { numRuns: runs(certificateRuns) });
      });
    }
    const forensicRuns = counts.forensics ?? DEFAULT_RUNS.forensics;
    if (forensicRuns > 0 && protocol.verifyCommit !== undefined) {
      test('beyond f: a split-brain coalition forks exactly when two quorums fit, and forensics convicts at least f+1 of it, never an honest validator (one transcript from each side; one alone is not enough)', () => {
        fc.assert(splitBrainProperty(protocol), { numRuns: runs(forensicRuns) });
      });
    }
    for (const r of regressions) {
      test(`regression ${r.item}: ${r.title}`, () => assertRun(protocol, r.config, `regression ${r.item}: `));
    }
    test(`safety and ledger agreement under Byzantine replicas and hostile networks`, () => {
      fc.assert(safetyProperty(protocol), { numRuns: runs(counts.safety) });
    });
    test(`liveness after GST within the stated bound`, () => {
      fc.assert(livenessProperty(protocol), { numRuns: runs(counts.liveness) });
    });
    test(`evidence for every equivocating replica and for no honest one`, () => {
      fc.assert(evidenceProperty(protocol), { numRuns: runs(counts.evidence) });
    });
    if (counts.twins > 0) {
      test(`Twins: ${counts.twins} scenarios of n = 4 plus a twin, a leader and a partition per round`, () => {
        fc.assert(twinsProperty(protocol), { numRuns: runs(counts.twins) });
      });
    }
  });
}

/** For mutation checks: does any of the suite's properties fail for `protocol`? Returns the first failure's message. */
export function suiteFailure<M>(protocol: ProtocolDefinition<M>, counts: PropertyRuns = DEFAULT_RUNS, seed = 1): string | undefined {
  // Cheapest first: evidence and liveness runs are short, safety runs are many.
  const checks: Array<[string, fc.IProperty<any>, number]> = [
    ['evidence', evidenceProperty(protocol), counts.evidence],
    ['liveness', livenessProperty(protocol), counts.liveness],
    ...(counts.classKinds ?? RUN_CLASSES).map((kind): [string, fc.IProperty<any>, number] => [kind, classProperty(protocol, sim.STRATEGY_KINDS, kind), counts.classes ?? 0]),
    ['persisted', persistedStateProperty(protocol), counts.persisted ?? 0],
    ['safety', safetyProperty(protocol), counts.safety],
    ['twins', twinsProperty(protocol), counts.twins],
    ['forensics', splitBrainProperty(protocol), protocol.verifyCommit === undefined ? 0 : (counts.forensics ?? 0)],
  ];
  for (const [name, property, numRuns] of checks) {
    if (numRuns === 0) continue;
    const details = fc.check(property, { numRuns, seed, endOnFailure: true });
    if (details.failed) return `${name}: ${details.errorInstance instanceof Error ? details.errorInstance.message.split('\n')[0] : String(details.errorInstance)}`;
  }
  return undefined;
}
