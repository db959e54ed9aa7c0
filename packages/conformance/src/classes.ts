// The classes of runs that outsiders used to break the protocols, generated rather than imagined
// one at a time: every n from 4 to 13, honest crash-restarts at any point (mid-step included,
// several replicas or a quorum at once), loss, duplication and reordering before GST, one replica
// cut off until GST while f are silent, delays of exactly 0 and exactly delta, Byzantine answers to
// fetches, replays of old messages and floods of far-future ones. Every run is a RunSpec: plain
// data, so a failure prints as JSON and replays as it is, and regression cases are files of it.
import type { ProtocolDefinition, Timing } from '@bftx/consensus';
import { networkFromJson, simulate, type NetworkJson, type Restart, type SimulationResult, type Strategy } from '@bftx/sim';
import fc from 'fast-check';

/** A network model as data; the simulator's `networkFromJson` builds it. */
export type NetworkSpec = NetworkJson;

/** One simulated run and what it must show, as JSON. */
export interface RunSpec {
  readonly n: number;
  readonly seed: number;
  readonly network: NetworkSpec;
  readonly timing: Timing;
  readonly duration: number;
  readonly byzantine?: ReadonlyArray<{ readonly replica: number; readonly strategy: Strategy }>;
  readonly restarts?: ReadonlyArray<Restart>;
  readonly twins?: readonly number[];
  readonly leaderSchedule?: readonly number[];
  readonly transactions?: { readonly every: number; readonly perBatch: number; readonly size?: number };
  /**
   * Liveness owed: from `from` on, every honest replica finalizes a new block in every window of
   * the protocol's stated bound ('every-window'), or at least one new block ('eventually': where
   * silent replicas may lead many views in a row, the bound does not apply but progress does).
   */
  readonly live?: { readonly from: number; readonly mode: 'every-window' | 'eventually' };
  /** Largest footprint().retained allowed at the end (default 64 n^2), and largest persisted state in bytes (default 256 KiB). */
  readonly maxRetained?: number;
  readonly maxPersistedBytes?: number;
}

/** What the checks need from a run (a subset of @bftx/sim's SimulationResult). */
export interface CheckedOutcome {
  readonly safetyViolation: string | undefined;
  /** Set when the run stopped early, at this instant: unbounded progress in zero virtual time (a responsive protocol with zero delays). */
  readonly stoppedAt?: number | undefined;
  readonly doubleSigns?: readonly string[];
  readonly offenders: readonly number[];
  readonly replicas: ReadonlyArray<{
    readonly validator: number;
    readonly honest: boolean;
    readonly ledger: readonly string[];
    readonly commitTimes: readonly number[];
    /** Transactions in its finalized blocks that were already final earlier in its ledger. */
    readonly duplicateTransactions?: number;
    readonly maxPersistedBytes?: number;
    readonly footprint?: { readonly retained: number; readonly dropped: number } | undefined;
    /** Its commit certificates, when the simulator checked them (`checkCertificates`): the first that failed, if any. */
    readonly certificates?: { readonly failed: string | undefined };
  }>;
}

export const CLASS_DELTA = 10;
const TIMING: Timing = { delta: CLASS_DELTA };
const VIEW = 2 * CLASS_DELTA;
export const DEFAULT_MAX_PERSISTED_BYTES = 256 * 1024;

/** Strategies that behave honestly in everything a leader must do: liveness is still owed with them. */
const BENIGN_FOR_LIVENESS = new Set(['replay', 'far-future', 'bad-fetch-answers', 'silent', 'crash']);

export type RunClass = 'restarts' | 'loss-before-gst' | 'cut-off' | 'exact-delay' | 'byzantine-io' | 'equivocating-leaders';
export const RUN_CLASSES: readonly RunClass[] = ['restarts', 'loss-before-gst', 'cut-off', 'exact-delay', 'byzantine-io', 'equivocating-leaders'];

/**
 * Runs a spec with the simulator (the protocol given separately: specs are data). With
 * `checkCertificates`, every commit certificate of an honest replica is verified as it comes (see
 * @bftx/sim), and `checkOutcome` reports the first that failed.
 */
export function runSpec<M>(protocol: ProtocolDefinition<M>, spec: RunSpec, options: { readonly checkCertificates?: boolean } = {}): SimulationResult {
  const { live: _live, maxRetained: _r, maxPersistedBytes: _p, network, ...rest } = spec;
  return simulate({ ...rest, protocol, network: networkFromJson(network), trace: false, ...(options.checkCertificates === true ? { checkCertificates: true } : {}) });
}

/** Every check a run must pass; the first problem, or undefined. */
export function checkOutcome<M>(protocol: ProtocolDefinition<M>, spec: RunSpec, outcome: CheckedOutcome): string | undefined {
  if (outcome.safetyViolation !== undefined) return `safety: ${outcome.safetyViolation}`;
  if ((outcome.doubleSigns?.length ?? 0) > 0) return `double signing: ${outcome.doubleSigns![0]}`;
  const honest = outcome.replicas.filter((r) => r.honest);
  for (let a = 0; a < honest.length; a++) {
    for (let b = a + 1; b < honest.length; b++) {
      const x = honest[a]!.ledger;
      const y = honest[b]!.ledger;
      for (let h = 0; h < Math.min(x.length, y.length); h++) if (x[h] !== y[h]) return `agreement: replicas ${honest[a]!.validator} and ${honest[b]!.validator} disagree at height ${h + 1}`;
    }
  }
  // An honest leader proposes only what is not on the chain it extends, even while it is still
  // fetching that chain (a restarted replica catching up): no transaction is final twice.
  for (const r of honest) if ((r.duplicateTransactions ?? 0) > 0) return `transactions final twice: replica ${r.validator} finalized ${r.duplicateTransactions} transaction(s) a second time`;
  // Where the run checked them: every commit certificate an honest replica output verifies by the keys alone and names the last block of its commit.
  for (const r of honest) if (r.certificates?.failed !== undefined) return `commit certificate: replica ${r.validator}: ${r.certificates.failed}`;
  const honestValidators = new Set(honest.map((r) => r.validator));
  const accused = outcome.offenders.filter((o) => honestValidators.has(o));
  if (accused.length > 0) return `evidence against honest replica(s) ${accused.join(', ')}`;
  const maxRetained = spec.maxRetained ?? 64 * spec.n * spec.n;
  const maxPersisted = spec.maxPersistedBytes ?? DEFAULT_MAX_PERSISTED_BYTES;
  for (const r of honest) {
    // A run that asks for a memory bound needs the protocol to report what it holds.
    if (spec.maxRetained !== undefined && r.footprint === undefined) return `bounded state: replica ${r.validator} reports no footprint (the run bounds it at ${spec.maxRetained})`;
    if (r.footprint !== undefined && r.footprint.retained > maxRetained) return `bounded state: replica ${r.validator} retains ${r.footprint.retained} entries (bound ${maxRetained}; ${r.footprint.dropped} dropped)`;
    if ((r.maxPersistedBytes ?? 0) > maxPersisted) return `bounded state: replica ${r.validator} persisted ${r.maxPersistedBytes} bytes (bound ${maxPersisted})`;
  }
  if (spec.live !== undefined && outcome.stoppedAt !== undefined) {
    // Time stopped because blocks kept coming at one instant; what is owed then is that they came.
    for (const r of honest) if (r.ledger.length === 0) return `liveness: the run stopped at ${outcome.stoppedAt} ms (unbounded events at one instant) and replica ${r.validator} finalized nothing`;
  } else if (spec.live !== undefined) {
    const bound = protocol.livenessBound(spec.timing, spec.n);
    const { from, mode } = spec.live;
    for (const r of honest) {
      if (mode === 'eventually') {
        if (!r.commitTimes.some((t) => t >= from)) return `liveness: replica ${r.validator} finalized nothing after ${from} ms (run until ${spec.duration} ms)`;
        continue;
      }
      for (let w = from; w + bound <= spec.duration; w += bound) {
        if (!r.commitTimes.some((t) => t >= w && t < w + bound)) return `liveness: replica ${r.validator} finalized nothing in [${w}, ${w + bound}) ms (bound ${bound} ms)`;
      }
    }
  }
  return undefined;
}

/** Runs and checks a spec; throws with the spec as JSON (a replayable case) on any problem. */
export function assertRun<M>(protocol: ProtocolDefinition<M>, spec: RunSpec, label = ''): void {
  const problem = checkOutcome(protocol, spec, runSpec(protocol, spec));
  if (problem !== undefined) throw new Error(`${label}${problem}\nspec: ${JSON.stringify(spec)}\nreplay: npm run soak -- --protocol ${protocol.name.split('(')[0]} --replay '${JSON.stringify(spec)}'`);
}

/** A regression case as a data file: the issue item it guards, what it is, and the run. */
export interface RegressionCase {
  readonly item: string;
  readonly title: string;
  readonly config: RunSpec;
}

// ---- generators ----

const nArb = fc.integer({ min: 4, max: 13 });
const fOf = (n: number) => Math.floor((n - 1) / 3);
const range = (n: number) => Array.from({ length: n }, (_, i) => i);

function partialSynchrony(gst: number): NetworkSpec {
  return { kind: 'partial-synchrony', delta: CLASS_DELTA, gst };
}

/** Honest restarts: `count` of them among `honest`, some at one instant (several, or a quorum, at once). */
function restartsArb(honest: readonly number[], n: number, latest: number): fc.Arbitrary<NonNullable<RunSpec['restarts']>> {
  const quorum = Math.ceil((2 * n) / 3);
  const one = fc.record({
    replica: fc.constantFrom(...honest),
    at: fc.integer({ min: 0, max: latest }),
    downFor: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 6 * VIEW })),
    prefix: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }),
  });
  const together = fc
    .record({ size: fc.constantFrom(2, quorum, honest.length), at: fc.integer({ min: 0, max: latest }), downFor: fc.integer({ min: 0, max: 4 * VIEW }), seed: fc.nat() })
    .map(({ size, at, downFor, seed }) => [...honest].sort((a, b) => ((a * 7919 + seed) % 97) - ((b * 7919 + seed) % 97)).slice(0, Math.min(size, honest.length)).map((replica) => ({ replica, at, downFor })));
  return fc.oneof(fc.array(one, { minLength: 1, maxLength: 6 }), together, fc.tuple(together, fc.array(one, { maxLength: 3 })).map(([a, b]) => [...a, ...b])).map((list) => list.map((r: { replica: number; at: number; downFor: number; prefix?: number | undefined }) => (r.prefix === undefined ? { replica: r.replica, at: r.at, downFor: r.downFor } : { ...r, prefix: r.prefix })));
}

const lastRecovery = (restarts: RunSpec['restarts']) => Math.max(0, ...(restarts ?? []).map((r) => r.at + r.downFor));

/** Runs of one class for `protocol` (its liveness bound sets how long runs last). */
export function runClassArb<M>(protocol: ProtocolDefinition<M>, kind: RunClass, strategies: readonly string[]): fc.Arbitrary<RunSpec> {
  return nArb.chain((n) => {
    const f = fOf(n);
    const bound = protocol.livenessBound(TIMING, n);
    // A replica that was down catches up (fetching) before it owes a block per bound again.
    const catchUp = 2 * bound;
    const tail = 3 * bound;
    switch (kind) {
      case 'restarts':
        return fc.record({ seed: fc.nat(), gst: fc.integer({ min: 0, max: 15 }).map((e) => e * VIEW), net: fc.constantFrom('synchronous', 'partial-synchrony', 'lossy-until'), byz: fc.shuffledSubarray(range(n), { maxLength: f }), kinds: fc.array(fc.constantFrom(...strategies), { minLength: f, maxLength: f }) }).chain((b) => {
          const honest = range(n).filter((i) => !b.byz.includes(i));
          return restartsArb(honest, n, 30 * VIEW).map((restarts): RunSpec => {
            const byzantine = b.byz.map((replica, i) => ({ replica, strategy: strategyOf(b.kinds[i]!, b.seed) }));
            const network: NetworkSpec = b.net === 'synchronous' ? { kind: 'synchronous', delta: CLASS_DELTA } : b.net === 'partial-synchrony' ? partialSynchrony(b.gst) : { kind: 'lossy-until', base: partialSynchrony(b.gst), until: b.gst, loss: 0.1, duplication: 0.1 };
            const liveOwed = byzantine.every((x) => BENIGN_FOR_LIVENESS.has(x.strategy.kind) && x.strategy.kind !== 'silent' && x.strategy.kind !== 'crash');
            const from = Math.max(b.net === 'synchronous' ? 0 : b.gst, lastRecovery(restarts)) + catchUp;
            return { n, seed: b.seed, network, timing: TIMING, duration: from + tail, byzantine, restarts, ...(liveOwed ? { live: { from, mode: 'every-window' as const } } : {}) };
          });
        });
      case 'loss-before-gst':
        return fc.record({ seed: fc.nat(), gst: fc.integer({ min: 2, max: 20 }).map((e) => e * VIEW), loss: fc.constantFrom(0.05, 0.2, 0.4), duplication: fc.constantFrom(0, 0.1, 0.3) }).map(({ seed, gst, loss, duplication }): RunSpec => {
          const from = gst + catchUp;
          return { n, seed, network: { kind: 'lossy-until', base: partialSynchrony(gst), until: gst, loss, duplication }, timing: TIMING, duration: from + tail, live: { from, mode: 'every-window' } };
        });
      case 'cut-off':
        // One replica cut off until GST; f others silent from the start or crashing before GST (the
        // cluster first goes on without the cut-off one, then needs it). GST is short or long: a
        // replica that climbs views alone for long must still come back.
        // (Uniform, not biased to small values: the long cut-offs with late crashes are the point.)
        return fc
          .record({
            seed: fc.nat(),
            gst: fc.noBias(fc.oneof(fc.integer({ min: 2, max: 20 }), fc.integer({ min: 20, max: 300 }), fc.integer({ min: 50, max: 300 }))).map((e) => e * VIEW),
            order: fc.shuffledSubarray(range(n), { minLength: f + 1, maxLength: f + 1 }),
            crashAt: fc.option(fc.noBias(fc.integer({ min: 0, max: 1000 })).map((k) => k / 1000), { nil: undefined, freq: 3 }),
            load: fc.boolean(),
            // Synchronous but for the cut: the others make progress without it until the crashes.
            synchronousElsewhere: fc.boolean(),
          })
          .map(({ seed, gst, order, crashAt, load, synchronousElsewhere }): RunSpec => {
            const [cut, ...silent] = order;
            const from = gst + catchUp;
            const strategy: Strategy = crashAt === undefined ? { kind: 'silent' } : { kind: 'crash', at: Math.floor(crashAt * gst) };
            return {
              n,
              seed,
              network: { kind: 'isolated-until', base: synchronousElsewhere ? { kind: 'synchronous', delta: CLASS_DELTA } : partialSynchrony(gst), replicas: [cut!], until: gst },
              timing: TIMING,
              duration: from + 2 * tail,
              byzantine: silent.map((replica) => ({ replica, strategy })),
              ...(load ? { transactions: { every: CLASS_DELTA, perBatch: 2 } } : {}),
              live: { from, mode: 'eventually' },
            };
          });
      case 'equivocating-leaders':
        // The f Byzantine replicas lead the first views and equivocate (or vote for everything), with
        // client load so that conflicting blocks differ: quorum intersection at every n, 3f+1 or not.
        return fc
          .record({ seed: fc.nat(), byz: fc.shuffledSubarray(range(n), { minLength: Math.max(1, f), maxLength: Math.max(1, f) }), kinds: fc.array(fc.constantFrom('equivocate', 'equivocate', 'double-vote'), { minLength: Math.max(1, f), maxLength: Math.max(1, f) }), views: fc.integer({ min: 1, max: 12 }), sync: fc.boolean(), gst: fc.integer({ min: 0, max: 15 }).map((e) => e * VIEW) })
          .map(({ seed, byz, kinds, views, sync, gst }): RunSpec => ({
            n,
            seed,
            network: sync ? { kind: 'synchronous', delta: CLASS_DELTA } : partialSynchrony(gst),
            timing: TIMING,
            duration: 60 * VIEW,
            byzantine: byz.map((replica, i) => ({ replica, strategy: { kind: kinds[i]! } })),
            leaderSchedule: Array.from({ length: views + 1 }, (_, v) => byz[v % byz.length]!),
            transactions: { every: CLASS_DELTA, perBatch: 2 },
          }));
      case 'exact-delay':
        return fc.record({ seed: fc.nat(), delay: fc.constantFrom(0, CLASS_DELTA), withRestarts: fc.boolean() }).chain(({ seed, delay, withRestarts }) =>
          (withRestarts ? restartsArb(range(n), n, 20 * VIEW) : fc.constant([])).map((restarts): RunSpec => {
            const from = (restarts.length > 0 ? lastRecovery(restarts) + catchUp : 0) + bound;
            return { n, seed, network: { kind: 'fixed-delay', delay }, timing: TIMING, duration: from + tail, ...(restarts.length > 0 ? { restarts } : {}), live: { from, mode: 'every-window' } };
          }),
        );
      case 'byzantine-io':
        return fc.record({ seed: fc.nat(), gst: fc.integer({ min: 0, max: 10 }).map((e) => e * VIEW), byz: fc.shuffledSubarray(range(n), { minLength: 1, maxLength: Math.max(1, f) }), kinds: fc.array(fc.constantFrom('replay', 'far-future', 'bad-fetch-answers'), { minLength: Math.max(1, f), maxLength: Math.max(1, f) }) }).chain((b) => {
          const honest = range(n).filter((i) => !b.byz.includes(i));
          return fc.option(restartsArb(honest, n, 20 * VIEW), { nil: undefined }).map((restarts): RunSpec => {
            const from = Math.max(b.gst, lastRecovery(restarts)) + catchUp;
            return {
              n,
              seed: b.seed,
              network: partialSynchrony(b.gst),
              timing: TIMING,
              duration: from + tail,
              byzantine: b.byz.map((replica, i) => ({ replica, strategy: { kind: b.kinds[i]! } })),
              ...(restarts !== undefined ? { restarts } : {}),
              live: { from, mode: 'eventually' },
            };
          });
        });
    }
  });
}

function strategyOf(kind: string, seed: number): Strategy {
  if (kind === 'crash') return { kind, at: (seed % 40) * VIEW };
  if (kind === 'delay') return { kind, by: 1 + (seed % (4 * VIEW)) };
  return { kind } as Strategy;
}

/** Any class, weighted to the ones that found bugs. */
export function anyClassArb<M>(protocol: ProtocolDefinition<M>, strategies: readonly string[]): fc.Arbitrary<RunSpec> {
  return fc.oneof(
    { weight: 3, arbitrary: runClassArb(protocol, 'restarts', strategies) },
    { weight: 2, arbitrary: runClassArb(protocol, 'loss-before-gst', strategies) },
    { weight: 1, arbitrary: runClassArb(protocol, 'cut-off', strategies) },
    { weight: 1, arbitrary: runClassArb(protocol, 'exact-delay', strategies) },
    { weight: 2, arbitrary: runClassArb(protocol, 'byzantine-io', strategies) },
    { weight: 2, arbitrary: runClassArb(protocol, 'equivocating-leaders', strategies) },
  );
}

/** The property: every generated run of `kind` (or of any class) passes every check. */
export function classProperty<M>(protocol: ProtocolDefinition<M>, strategies: readonly string[], kind?: RunClass) {
  const arb = kind === undefined ? anyClassArb(protocol, strategies) : runClassArb(protocol, kind, strategies);
  return fc.property(arb, (spec) => assertRun(protocol, spec));
}

/**
 * Persisted state is bounded by the protocol's window, not by history: the largest safety state
 * of a run four times as long (same cluster, same load) is at most 1.5 times that of the short run
 * plus 1 KiB.
 */
export function persistedStateProperty<M>(protocol: ProtocolDefinition<M>) {
  const arb = fc.record({ n: fc.constantFrom(4, 7), seed: fc.nat() });
  return fc.property(arb, ({ n, seed }) => {
    const base: RunSpec = { n, seed, network: { kind: 'synchronous', delta: CLASS_DELTA }, timing: TIMING, duration: 40 * VIEW, transactions: { every: CLASS_DELTA, perBatch: 3 } };
    const largest = (o: CheckedOutcome) => Math.max(...o.replicas.map((r) => r.maxPersistedBytes ?? 0));
    const short = largest(runSpec(protocol, base));
    const long = largest(runSpec(protocol, { ...base, duration: 4 * base.duration }));
    if (long > 1.5 * short + 1024) throw new Error(`persisted state grows with history: ${short} bytes after ${base.duration} ms, ${long} after ${4 * base.duration} ms\nscenario: ${JSON.stringify({ n, seed })}`);
  });
}

/**
 * A mutant of any protocol: it never persists anything (its `persist` outputs are dropped), so a
 * restarted instance starts from scratch. The restart classes must catch it (it signs twice).
 */
export function withoutPersistence<M>(protocol: ProtocolDefinition<M>): ProtocolDefinition<M> {
  return {
    ...protocol,
    name: `${protocol.name}(persists nothing)`,
    create(config) {
      const { safetyState: _ignored, ...fresh } = config;
      const inner = protocol.create(fresh);
      return { self: inner.self, step: (input) => inner.step(input).filter((o) => o.type !== 'persist') };
    },
  };
}

/** Runs a spec and returns its first problem (undefined: it passes every check). */
export function runProblem<M>(protocol: ProtocolDefinition<M>, spec: RunSpec): string | undefined {
  return checkOutcome(protocol, spec, runSpec(protocol, spec));
}
