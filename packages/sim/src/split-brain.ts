// The attack the lower bound predicts (issue 22): a coalition of validators, more than f, runs each
// member twice (Twins: one key, two instances) and splits the honest replicas in two groups that do
// not hear each other. Each group, with one instance of every coalition member, is a world of its
// own; the coalition leads every view, so the two worlds run in step and each certifies its own
// blocks (each group gets other client transactions, so the blocks differ). When both worlds hold a
// quorum (honest in it + coalition >= ceil(2n/3)), honest replicas finalize different blocks at one
// height: a fork. It needs at least 2 * quorum - n colluding validators (f+1 when n = 3f+1).
import type { ProtocolDefinition, Timing } from '@bftx/consensus';
import { synchronous, withPartitions, type NetworkModel } from './network';
import type { SimulationConfig } from './simulation';

export interface SplitBrainOptions<M> {
  readonly protocol: ProtocolDefinition<M>;
  readonly n: number;
  /** The colluding validators (at least one; not all). */
  readonly coalition: readonly number[];
  readonly seed: number;
  /** Which group each honest validator is in (by its index among the honest ones): true for the first. Default: alternating. */
  readonly sides?: readonly boolean[];
  /** Message delay bound, ms (default 10): the run is synchronous; the fork needs no asynchrony. */
  readonly delta?: number;
  /** Virtual ms (default 60 deltas). */
  readonly duration?: number;
  /**
   * Virtual ms of common history before the split (default 0: split from the start). Until then
   * every validator hears every other, and each colluder's second instance only listens (what it
   * sends is dropped): the worlds then fork from a ledger both hold, whose signers sign both
   * worlds' certificates (a stable checkpoint, a common parent).
   */
  readonly commonUntil?: number;
}

export interface SplitBrainPlan<M> {
  readonly config: SimulationConfig<M>;
  /** The honest validators of each world. */
  readonly honest: readonly [readonly number[], readonly number[]];
}

/** The simulation of a split-brain attack: run it with `simulate(plan.config)`. */
export function splitBrain<M>(o: SplitBrainOptions<M>): SplitBrainPlan<M> {
  const { n, coalition } = o;
  const colluding = new Set(coalition);
  if (colluding.size !== coalition.length || coalition.some((v) => !Number.isSafeInteger(v) || v < 0 || v >= n)) throw new RangeError(`coalition ${JSON.stringify(coalition)}: distinct validators of 0..${n - 1}`);
  const honest = Array.from({ length: n }, (_, v) => v).filter((v) => !colluding.has(v));
  if (coalition.length === 0 || honest.length < 2) throw new RangeError(`a split brain needs a coalition and two honest groups: ${coalition.length} colluding of ${n}`);
  const sides = o.sides ?? honest.map((_, i) => i % 2 === 0);
  if (sides.length !== honest.length) throw new RangeError(`sides: one per honest validator (${honest.length})`);
  const first = honest.filter((_, i) => sides[i]);
  const second = honest.filter((_, i) => !sides[i]);
  if (first.length === 0 || second.length === 0) throw new RangeError('sides: each group needs an honest validator');
  const delta = o.delta ?? 10;
  const duration = o.duration ?? 60 * delta;
  const timing: Timing = { delta };
  const commonUntil = o.commonUntil ?? 0;
  if (!Number.isSafeInteger(commonUntil) || commonUntil < 0 || commonUntil >= duration) throw new RangeError(`commonUntil ${commonUntil}: an integer in [0, duration)`);
  // Endpoints: validator v is v; the twin of coalition[k] is n + k.
  const twinOf = coalition.map((_, k) => n + k);
  const worlds = [
    [...first, ...coalition],
    [...second, ...twinOf],
  ];
  // The coalition leads every view, in turn: both worlds move in step (no honest leader that one
  // world hears and the other waits out).
  // A view lasts at least a delta, so duration / delta views cover the run.
  const leaderSchedule = Array.from({ length: Math.ceil(duration / delta) + 16 }, (_, v) => coalition[v % coalition.length]!);
  // Each world gets its own client transactions (a transfer in one, another in the other: a double spend).
  // Before the split, common transactions to every instance.
  const workload = [];
  const everyone = [...Array.from({ length: n }, (_, v) => v), ...twinOf];
  for (let at = delta, k = 0; at < duration; at += 2 * delta, k++) {
    if (at < commonUntil) workload.push({ at, endpoints: everyone, txs: [Uint8Array.of(0x5b, 2, k & 0xff, (k >> 8) & 0xff, ...new Array<number>(28).fill(3))] });
    else for (const [w, endpoints] of worlds.entries()) workload.push({ at, endpoints, txs: [Uint8Array.of(0x5b, w, k & 0xff, (k >> 8) & 0xff, ...new Array<number>(28).fill(w + 1))] });
  }
  const split = withPartitions(synchronous(delta), [{ from: commonUntil, until: duration + 1, groups: worlds }]);
  const shadows = new Set(twinOf);
  const network: NetworkModel =
    commonUntil === 0
      ? split
      : { name: `${split.name}, common until ${commonUntil}`, deliveries: (from, to, now, rng, message) => (now < commonUntil && shadows.has(from) ? [] : split.deliveries(from, to, now, rng, message)) };
  return {
    honest: [first, second],
    config: {
      protocol: o.protocol,
      n,
      seed: o.seed,
      twins: coalition,
      leaderSchedule,
      network,
      timing,
      duration,
      workload,
      transcripts: true,
      trace: false,
    },
  };
}
