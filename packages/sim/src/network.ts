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
 * An asynchronous adversary that targets votes: time is cut in windows (a protocol's view, say);
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

/** Every message takes exactly `delay` ms (0 allowed: it arrives at the instant it is sent, after what is already queued then). */
export function fixedDelay(delay: number): NetworkModel {
  if (!Number.isSafeInteger(delay) || delay < 0) throw new RangeError(`fixedDelay: delay must be a non-negative integer, got ${delay}`);
  return { name: `fixed-delay(${delay})`, deliveries: (_f, _t, now) => [now + delay] };
}

/**
 * `base`, with loss, duplication and reordering only before `until` (GST, say): a message sent
 * before it is lost with probability `loss`, and duplicated with probability `duplication`, the
 * copy arriving at another time (so copies also reorder). After `until`, `base` alone.
 */
export function lossyUntil(base: NetworkModel, until: number, loss: number, duplication: number): NetworkModel {
  return {
    name: `${base.name} + loss ${loss} + duplication ${duplication} until ${until}`,
    deliveries(from, to, now, rng, message) {
      if (now >= until) return base.deliveries(from, to, now, rng, message);
      if (rng.chance(loss)) return [];
      const first = base.deliveries(from, to, now, rng, message);
      return rng.chance(duplication) ? [...first, ...base.deliveries(from, to, now, rng, message)] : first;
    },
  };
}

/** `base`, with every message to or from `replicas` (endpoints) held until `until`: those replicas are cut off until then. */
export function isolatedUntil(base: NetworkModel, replicas: readonly number[], until: number): NetworkModel {
  const cut = new Set(replicas);
  return {
    name: `${base.name} + ${[...cut].join(',')} isolated until ${until}`,
    deliveries(from, to, now, rng, message) {
      const arrivals = base.deliveries(from, to, now, rng, message);
      if (now >= until || (!cut.has(from) && !cut.has(to))) return arrivals;
      return arrivals.map((at) => Math.max(at, until + (at - now)));
    },
  };
}

/** A network model as data (regression files, replay commands). */
export type NetworkJson =
  | { readonly kind: 'synchronous'; readonly delta: number; readonly min?: number }
  | { readonly kind: 'asynchronous'; readonly maxDelay: number }
  | { readonly kind: 'partial-synchrony'; readonly delta: number; readonly gst: number }
  | { readonly kind: 'fixed-delay'; readonly delay: number }
  | { readonly kind: 'lossy'; readonly base: NetworkJson; readonly loss: number; readonly duplication: number }
  | { readonly kind: 'lossy-until'; readonly base: NetworkJson; readonly until: number; readonly loss: number; readonly duplication: number }
  | { readonly kind: 'isolated-until'; readonly base: NetworkJson; readonly replicas: readonly number[]; readonly until: number }
  | { readonly kind: 'partitions'; readonly base: NetworkJson; readonly partitions: readonly Partition[] }
  | { readonly kind: 'held-votes'; readonly base: NetworkJson; readonly window: number; readonly holds: readonly (readonly number[])[] };

/** The model a NetworkJson describes; throws RangeError naming the unknown kind. */
export function networkFromJson(j: NetworkJson): NetworkModel {
  switch (j.kind) {
    case 'synchronous':
      return synchronous(j.delta, j.min);
    case 'asynchronous':
      return asynchronous(j.maxDelay);
    case 'partial-synchrony':
      return partialSynchrony(j.delta, j.gst);
    case 'fixed-delay':
      return fixedDelay(j.delay);
    case 'lossy':
      return lossy(networkFromJson(j.base), j.loss, j.duplication);
    case 'lossy-until':
      return lossyUntil(networkFromJson(j.base), j.until, j.loss, j.duplication);
    case 'isolated-until':
      return isolatedUntil(networkFromJson(j.base), j.replicas, j.until);
    case 'partitions':
      return withPartitions(networkFromJson(j.base), j.partitions);
    case 'held-votes':
      return heldVotes(networkFromJson(j.base), j.window, (to, w) => j.holds[to]?.[w] ?? 0);
    default:
      throw new RangeError(`unknown network kind ${JSON.stringify((j as { kind?: unknown }).kind)}`);
  }
}
