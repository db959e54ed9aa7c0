import type { Rng } from './rng';

/** What a network adversary may see of a message: its kind, and whether it is a vote (it cannot read or forge contents). */
export interface MessageTraits {
  readonly kind: string;
  readonly vote: boolean;
}

/** When (if ever) a message sent at `now` from `from` to `to` arrives: a list of arrival times (empty: lost; two: duplicated). */
export interface NetworkModel {
  readonly name: string;
  deliveries(from: number, to: number, now: number, rng: Rng, message: MessageTraits): number[];
}

/** Synchrony: every message arrives within `delta` (at least `min`, default 1). */
export function synchronous(delta: number, min = 1): NetworkModel {
  return { name: `synchronous(delta=${delta})`, deliveries: (_f, _t, now, rng) => [now + rng.int(Math.min(min, delta), delta)] };
}

/** Asynchrony: delays uniform in [1, maxDelay], no bound that a protocol may rely on for liveness. */
export function asynchronous(maxDelay: number): NetworkModel {
  return { name: `asynchronous(max=${maxDelay})`, deliveries: (_f, _t, now, rng) => [now + rng.int(1, maxDelay)] };
}

/**
 * Partial synchrony: before GST the adversary delays messages arbitrarily
 * (here: uniformly up to GST + delta), but every message sent before GST
 * arrives by GST + delta; after GST, within delta.
 */
export function partialSynchrony(delta: number, gst: number): NetworkModel {
  return {
    name: `partial-synchrony(delta=${delta}, gst=${gst})`,
    deliveries: (_f, _t, now, rng) => [now >= gst ? now + rng.int(1, delta) : rng.int(now + 1, gst + delta)],
  };
}

/** A partition during [from, until): messages between replicas that share no group are held until it heals. */
export interface Partition {
  readonly from: number;
  readonly until: number;
  readonly groups: readonly (readonly number[])[];
}

/** `base`, with scheduled partitions on top. */
export function withPartitions(base: NetworkModel, partitions: readonly Partition[]): NetworkModel {
  // A node listed in several groups (a Byzantine replica, say) stays connected to each of them.
  const connected = (p: Partition, a: number, b: number) => p.groups.some((g) => g.includes(a) && g.includes(b));
  return {
    name: `${base.name} + ${partitions.length} partition(s)`,
    deliveries(from, to, now, rng, message) {
      const arrivals = base.deliveries(from, to, now, rng, message);
      return arrivals.map((at) => {
        for (const p of partitions) {
          if (at >= p.from && now < p.until && !connected(p, from, to)) at = Math.max(at, p.until + (at - now));
        }
        return at;
      });
    },
  };
}

/** `base`, with each message lost with probability `loss` and duplicated with probability `duplication`. No liveness promise. */
export function lossy(base: NetworkModel, loss: number, duplication: number): NetworkModel {
  return {
    name: `${base.name} + loss ${loss} + duplication ${duplication}`,
    deliveries(from, to, now, rng, message) {
      if (rng.chance(loss)) return [];
      const first = base.deliveries(from, to, now, rng, message);
      return rng.chance(duplication) ? [...first, ...base.deliveries(from, to, now, rng, message)] : first;
    },
  };
}

/**
 * An asynchronous adversary that targets votes: time is cut in windows (a protocol's epoch, say);
 * a vote sent to `to` in window w arrives only just before window w + holds(to, w) starts, when
 * that is more than 0. Everything else follows `base`. Replicas then see notarizations late and in
 * different orders, while proposals still arrive on time: the schedules behind forks of notarized
 * chains, which a finality rule must survive. No liveness promise while votes are held.
 */
export function heldVotes(base: NetworkModel, window: number, holds: (to: number, window: number) => number): NetworkModel {
  return {
    name: `${base.name} + held votes (window ${window})`,
    deliveries(from, to, now, rng, message) {
      const arrivals = base.deliveries(from, to, now, rng, message);
      if (!message.vote) return arrivals;
      const w = Math.floor(now / window);
      const hold = holds(to, w);
      if (hold <= 0) return arrivals;
      const release = (w + hold) * window - 1;
      return arrivals.map((at) => Math.max(at, release));
    },
  };
}
