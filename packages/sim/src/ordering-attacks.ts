// Front-running attacks on the order of transactions, as ordering behaviour of Byzantine replicas
// (`OrderingAdversary`): wrappers around the honest replica's payload policy, never forks of
// protocol code. Generic over transactions: the trading layer says what a transaction is through
// `AttackTrader`, so this package knows nothing of orders or exchanges.
import { txKey, type OrderingAdversary, type PayloadContext } from '@bftx/consensus';

/** The attacks, each as a Byzantine leader would run it and as a coalition can under fair ordering. */
export const ORDERING_ATTACKS = ['front-run', 'sandwich', 'displacement', 'censor', 'delay', 'ignore-cancels', 'condorcet'] as const;
export type OrderingAttackKind = (typeof ORDERING_ATTACKS)[number];

/** What the coalition's trading desk knows and does; supplied by the trading layer (the harness). */
export interface AttackTrader {
  /** The coalition's own client (its orders are signed by it). */
  readonly self: string;
  /** A victim's transaction worth attacking (a large marketable order). */
  isTarget(tx: Uint8Array): boolean;
  /** A maker's cancel (the target of ignore-cancels). */
  isCancel(tx: Uint8Array): boolean;
  /** Who sent `tx` (a client id; the coalition's own orders give `self`). */
  client(tx: Uint8Array): string;
  /**
   * The coalition's own signed orders reacting to `tx` (a target, or a cancel under
   * ignore-cancels), seen at `now`: those to go before it and those to go after it.
   */
  respond(tx: Uint8Array, now: number, kind: OrderingAttackKind): { readonly before: readonly Uint8Array[]; readonly after: readonly Uint8Array[] };
  /** Sends `txs` as a client to every replica at time `at` (>= the time it is called; the harness wires it to the simulation's offer). */
  submit(txs: readonly Uint8Array[], at: number): void;
}

export interface OrderingAttackOptions {
  /** How long after the target the coalition sends its `after` orders as a client (ms; default 10, a message delay). */
  readonly afterDelay?: number;
  /**
   * Leader order: also race as a client (default false). The coalition sends its reaction the
   * moment it sees a target, as under fair ordering, so it trades on targets whoever leads; when
   * one of its replicas leads a block with the target, it moves those orders right around it.
   */
  readonly race?: boolean;
}

/** What the adversary did, for tests and reports. */
export interface OrderingAttackStats {
  /** Targets (or cancels) the coalition responded to. */
  responded: number;
  /** Blocks the coalition built as leader that it changed (insertions, reorderings, drops, cuts). */
  rewritten: number;
  /** Own transactions put into its blocks (leader order) or sent as a client (fair ordering). */
  inserted: number;
  /** Others' transactions it left out of a block it led or out of its signed log. */
  withheld: number;
}

/**
 * One coalition's ordering behaviour: give the same object to each of its (at most f) replicas,
 * so a target is answered once whoever sees it first or leads the block that carries it. Under
 * leader order the coalition signs its orders when its block is built (fresh prices, nonces in
 * the order they execute); under fair ordering the moment it first sees the target.
 *
 * `mode` 'leader' (the replicas run leader order, e.g. `adversarialPayload(new
 * FifoPayloadPolicy(), attack)`): the leader rewrites its block. front-run and sandwich: its
 * `before` orders right ahead of the target and its `after` orders right behind it (the trader
 * decides what they are: a front-runner withdrawing what the target did not take, a sandwich
 * selling back into the target's remainder). displacement: its orders first, the target behind
 * every other order of the block, its `after` orders last. censor: every order of a targeted
 * client left out. delay: the target left out (to a later block), its `before` orders in its
 * place (its `after` orders unused). ignore-cancels: its orders against a maker's stale quote
 * first, the block's cancels last. condorcet: its orders first, the rest in the reverse of the
 * order received (a schedule no majority of replicas saw), its `after` orders last.
 *
 * `mode` 'fair' (the replicas run `fairOrdering`, which refuses any block but a prefix of the fair
 * order and convicts an insertion or reordering): the best a coalition can do without being
 * convicted. It sends its orders as a client the moment it sees the target (`submit`), signs
 * receipt time 0 for its own orders and leaves the target (the censored client's orders, the
 * cancels) out of its log, and as leader ends its block just before the first target (once per
 * target, so the chain behind it does not stall; the censored client's orders every time). condorcet
 * signs every other transaction's time mirrored within a window (its log orders them against the
 * honest logs). A 'leader' attack run under fair ordering is the deviating leader honest voters refuse.
 *
 * `mode` 'client' (either ordering): no powers at all, its replicas honest; it only trades as
 * a client on what its replicas see, as under 'fair' (no log lies, no cut blocks). The baseline
 * that isolates what the ordering powers are worth from what reacting to the information is.
 */
export function orderingAttack(kind: OrderingAttackKind, trader: AttackTrader, mode: 'leader' | 'fair' | 'client', options: OrderingAttackOptions = {}): OrderingAdversary & { readonly stats: OrderingAttackStats } {
  const stats: OrderingAttackStats = { responded: 0, rewritten: 0, inserted: 0, withheld: 0 };
  const afterDelay = options.afterDelay ?? 10;
  const censored = new Set<string>();
  const delayed = new Set<string>();
  const respondsTo = (tx: Uint8Array) => (kind === 'ignore-cancels' ? trader.isCancel(tx) : trader.isTarget(tx));
  const own = (tx: Uint8Array) => trader.client(tx) === trader.self;
  /** The target of the attack in a block (or a log): the transaction whose place it bends. */
  const targeted = (tx: Uint8Array) => !own(tx) && (kind === 'censor' ? censored.has(trader.client(tx)) : respondsTo(tx));

  const race = mode === 'leader' && options.race === true;
  /** Racing under leader order: the reaction sent for each target, and the target each own order reacts to. */
  const raced = new Map<string, { readonly before: readonly Uint8Array[]; readonly after: readonly Uint8Array[] }>();
  const raceOwn = new Map<string, string>();
  /** Targets seen (leader order without racing: answered when a block of the coalition carries them, so its orders are fresh and signed in the order they execute). */
  const targets = new Set<string>();
  const seen = (tx: Uint8Array, now: number) => {
    if (own(tx) || !respondsTo(tx)) return;
    const key = txKey(tx);
    if (targets.has(key)) return;
    targets.add(key);
    stats.responded++;
    if (kind === 'censor') {
      censored.add(trader.client(tx));
      return;
    }
    if (mode === 'leader' && !race) return;
    // As a client, at once: the only way its orders get ahead under fair ordering.
    const r = trader.respond(tx, now, kind);
    if (r.before.length > 0) trader.submit(r.before, now);
    if (r.after.length > 0) trader.submit(r.after, now + afterDelay);
    stats.inserted += r.before.length + r.after.length;
    if (race) {
      raced.set(key, r);
      for (const o of [...r.before, ...r.after]) raceOwn.set(txKey(o), key);
    }
  };

  /** The coalition's orders against `tx` the first time one of its blocks carries it (undefined after). */
  const used = new Set<string>();
  const take = (tx: Uint8Array, context: PayloadContext) => {
    const key = txKey(tx);
    if (kind === 'censor' || !targets.has(key) || used.has(key)) return undefined;
    used.add(key);
    if (race) {
      // Sent already: placed here unless the chain it extends carries them.
      const r = raced.get(key);
      if (r === undefined) return undefined;
      const fresh = (o: Uint8Array) => !context.pending.has(txKey(o));
      return { before: r.before.filter(fresh), after: r.after.filter(fresh) };
    }
    const r = trader.respond(tx, context.now, kind);
    stats.inserted += r.before.length + r.after.length;
    return r;
  };

  // A plain client: it reacts as above and does nothing else (honest log, honest blocks).
  if (mode === 'client') return { stats, seen };

  if (mode === 'fair') {
    let windowStart = -1;
    return {
      stats,
      seen,
      logTime(tx, time) {
        if (own(tx)) return 0;
        if (targeted(tx)) {
          stats.withheld++;
          return undefined;
        }
        if (kind === 'condorcet') {
          // Mirror receipt times within windows of `afterDelay` ms: later ones claimed earlier.
          if (windowStart < 0 || time >= windowStart + afterDelay) windowStart = time;
          return windowStart + afterDelay - (time - windowStart);
        }
        return time;
      },
      build(honest, _context: PayloadContext) {
        // Once per target (the censored client's orders: always): cutting again would only stall the chain behind it.
        const cut = honest.findIndex((tx) => targeted(tx) && (kind === 'censor' || !delayed.has(txKey(tx))));
        if (cut < 0) return honest;
        delayed.add(txKey(honest[cut]!));
        stats.rewritten++;
        stats.withheld += honest.length - cut;
        return honest.slice(0, cut);
      },
    };
  }

  return {
    stats,
    seen,
    build(received, context: PayloadContext) {
      if (!received.some(targeted)) return received;
      let honest = received;
      if (race) {
        // Its own orders reacting to a target of this block are placed around the target below.
        const here = new Set(received.filter(targeted).map(txKey));
        honest = received.filter((tx) => {
          const target = raceOwn.get(txKey(tx));
          return target === undefined || !here.has(target) || used.has(target);
        });
      }
      const out: Uint8Array[] = [];
      switch (kind) {
        case 'front-run':
        case 'sandwich':
          for (const tx of honest) {
            const r = targeted(tx) ? take(tx, context) : undefined;
            if (r !== undefined) out.push(...r.before);
            out.push(tx);
            if (r !== undefined) out.push(...r.after);
          }
          break;
        case 'displacement':
        case 'ignore-cancels': {
          const back: Uint8Array[] = [];
          const rest: Uint8Array[] = [];
          const after: Uint8Array[] = [];
          for (const tx of honest) {
            if (!targeted(tx)) {
              rest.push(tx);
              continue;
            }
            const r = take(tx, context);
            if (r !== undefined) {
              out.push(...r.before);
              after.push(...r.after);
            }
            back.push(tx);
          }
          out.push(...rest, ...back, ...after);
          break;
        }
        case 'censor':
          for (const tx of honest) {
            if (targeted(tx)) stats.withheld++;
            else out.push(tx);
          }
          break;
        case 'delay':
          for (const tx of honest) {
            if (!targeted(tx) || delayed.has(txKey(tx))) {
              out.push(tx);
              continue;
            }
            delayed.add(txKey(tx));
            const r = take(tx, context);
            if (r !== undefined) out.push(...r.before);
            stats.withheld++;
          }
          break;
        case 'condorcet': {
          const rest: Uint8Array[] = [];
          const after: Uint8Array[] = [];
          for (const tx of honest) {
            const r = targeted(tx) ? take(tx, context) : undefined;
            if (r !== undefined) {
              out.push(...r.before);
              after.push(...r.after);
            }
            rest.push(tx);
          }
          out.push(...rest.reverse(), ...after);
          break;
        }
      }
      stats.rewritten++;
      return out;
    },
  };
}
