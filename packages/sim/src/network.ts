import type { Rng } from './rng';

/** When (if ever) a message sent at `now` from `from` to `to` arrives: a list of arrival times (empty: lost; two: duplicated). */
export interface NetworkModel {
  readonly name: string;
  deliveries(from: number, to: number, now: number, rng: Rng): number[];
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
    deliveries(from, to, now, rng) {
      const arrivals = base.deliveries(from, to, now, rng);
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
    deliveries(from, to, now, rng) {
      if (rng.chance(loss)) return [];
      const first = base.deliveries(from, to, now, rng);
      return rng.chance(duplication) ? [...first, ...base.deliveries(from, to, now, rng)] : first;
    },
  };
}
