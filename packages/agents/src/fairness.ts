// The fairness harness (issue 18): one trading session on a simulated cluster with a Byzantine
// coalition that front-runs a victim, under a chosen defence; what the coalition extracted, what
// the victim paid, how long orders waited, how often the ledger contradicted what honest replicas
// received. The bench's attack x defence matrix runs this per cell and seed.
import { SimulatedSignatureScheme, txKey, type ProtocolDefinition } from '@bftx/consensus';
import { toHex, type SignatureScheme, type Signer } from '@bftx/crypto';
import { decodeTransaction, DEFAULT_CLUSTER, expiryFrom, placeAction, signOrder, type OrderAction, type Trade } from '@bftx/exchange';
import { orderingAttack, Rng, type AttackTrader, type OrderingAttackKind, type OrderingAttackStats } from '@bftx/sim';
import { MarketMaker, RandomTrader, Value, type Agent, type AgentContext } from './agents';
import { Fundamental, type FundamentalConfig } from './fundamental';
import { BASE, QUOTE, runMarket } from './market';
import { exponential } from './random';
import { simulatedCluster, type ClusterHandle, type FinalizedBlock } from './simulated-cluster';

/** Where order comes from: the leader (today), leader-proof ordering, a uniform-price batch per block, or both. */
export type FairnessDefence = 'leader' | 'ordering' | 'batch' | 'both';
export const FAIRNESS_DEFENCES: readonly FairnessDefence[] = ['leader', 'ordering', 'batch', 'both'];

export interface FairnessOptions {
  /** The consensus protocol (streamlet(), hotstuff(), pbft(), ...): a name starting with "pbft" makes the Byzantine replicas the first primaries. */
  readonly protocol: ProtocolDefinition<any>;
  readonly attack: OrderingAttackKind | 'none';
  readonly defence: FairnessDefence;
  readonly seed: number;
  /** Replicas (default 4); the coalition is f = floor((n - 1) / 3) of them. */
  readonly n?: number;
  /** Message delay bound (ms, default 10); clients reach each replica after 1..delta ms. */
  readonly delta?: number;
  /** Session length in ms (default 30,000). */
  readonly duration?: number;
  /** Client signatures (default the simulator's fast scheme). */
  readonly clientScheme?: SignatureScheme;
  /** The coalition's replicas, overriding the default choice (see `fairnessReplicas`). */
  readonly byzantine?: readonly number[];
  /**
   * Under leader-proof ordering ('ordering', 'both'), run the leader-order attack anyway: the
   * coalition's leader rewrites its blocks (inserts, reorders), which honest voters refuse and
   * convict (`offenders`). Default false: the coalition does the best it can unconvicted.
   */
  readonly deviate?: boolean;
  /**
   * 'replica' (default): the coalition uses its replicas' powers (leader rewrites, log lies, cut
   * blocks). 'client': its replicas are honest and its desk only sends the same reactions as a
   * client (what an honest replica's operator could do with what it sees). PnL(attack, replica) -
   * PnL(attack, client) is what the ordering powers are worth beyond the information.
   */
  readonly coalition?: 'replica' | 'client';
}

/** A block that carried the coalition's or the victim's orders, for tracing an attack block by block. */
export interface FairnessBlock {
  readonly height: number;
  readonly proposer: number;
  /** True iff the proposer is one of the coalition's replicas. */
  readonly byzantineProposer: boolean;
  /** Every order of the block in block order, tagged by who sent it ('attacker', 'victim', 'other'), e.g. "attacker buy 60 @ 1003 IOC". */
  readonly orders: readonly string[];
  /** The trades' prices in the block, in order; under batch matching one price. */
  readonly prices: readonly number[];
  /** The block's last trade price (its uniform price under batch matching), if any. */
  readonly clearingPrice: number | undefined;
}

export interface FairnessResult {
  readonly protocol: string;
  readonly attack: OrderingAttackKind | 'none';
  readonly defence: FairnessDefence;
  readonly seed: number;
  /** The coalition's replicas and the observer (the honest replica whose state agents read). */
  readonly byzantine: readonly number[];
  readonly observer: number;
  /** The coalition account's cash change + inventory change x fundamental at the close (quote minor units). */
  readonly attackerPnl: number;
  /** Sum over the victim's fills of (price - fundamental at the fill) x size, signed so that paying more than value is positive (quote minor units). */
  readonly victimSlippage: number;
  /** Total size of the victim's orders the coalition could attack (their sizes summed): the volume |value| is compared with. */
  readonly attackedVolume: number;
  /**
   * Per client order (the coalition's own left out), the number of finalized blocks proposed after
   * f+1 honest replicas had received it and before the block that carried it; an order never
   * finalized counts every block proposed after that time (orders sent in the last second of the
   * session left out).
   */
  readonly censorshipDelays: readonly number[];
  /** Pairs of finalized orders (the coalition's included) that at least f+1 honest replicas received in one order and the ledger has in the other. */
  readonly fairnessViolations: number;
  /** Per finalized client order (the coalition's left out): ms from its sending to its finalization at the observer. */
  readonly latencyMs: readonly number[];
  /** Client orders finalized (the coalition's left out): for throughput against the same seed without the attack. */
  readonly finalizedOrders: number;
  readonly finalizedHeight: number;
  /** Blocks that carried the coalition's or the victim's orders, in height order. */
  readonly blocks: readonly FairnessBlock[];
  /** Offenders the observer proved, with the kind of evidence, and the proposals honest replicas refused (INVALID_PAYLOAD). */
  readonly offenders: ReadonlyArray<{ readonly validator: number; readonly evidence: string }>;
  readonly refusedProposals: number;
  /** True iff every pair of honest replicas has equal state roots on the heights both applied. */
  readonly stateRootsAgree: boolean;
  /** What the coalition did (undefined without an attack). */
  readonly attackStats: OrderingAttackStats | undefined;
}

/** The market every fairness run trades: prices in ticks around 1,000. */
export const FAIRNESS_FUNDAMENTAL: FundamentalConfig = { mean: 1_000, kappa: 0.001, sigma: 0.5, shockProbability: 0.001, shockSigma: 3 };
const SYMBOL = 'SHARE-CASH';
/** The victim's orders: this size, limit this many ticks through the touch (large and marketable: they sweep the market makers' levels). */
const VICTIM_SIZE = 60;
const VICTIM_REACH = 5;
/** What the coalition treats as a target: a limit order at least this large. */
const TARGET_SIZE = 40;

/**
 * The coalition's replicas and the observer for a protocol: the coalition must lead for a leader
 * attack to happen, the observer must be honest. PBFT: the primary of view 0 is replica 0 and it
 * stays primary while it keeps proposing, so the coalition is replicas 0, n-1, n-2, ... and the
 * observer replica 1. Round-robin (HotStuff) and hashed (Streamlet) leaders: every replica leads
 * about one view in n, so the coalition is n-1, n-2, ... and the observer replica 0.
 */
export function fairnessReplicas(protocolName: string, n: number): { byzantine: number[]; observer: number } {
  const f = Math.floor((n - 1) / 3);
  if (protocolName.startsWith('pbft')) {
    const byzantine = [0, ...Array.from({ length: f - 1 }, (_, k) => n - 1 - k)];
    return { byzantine, observer: 1 };
  }
  return { byzantine: Array.from({ length: f }, (_, k) => n - 1 - k), observer: 0 };
}

/**
 * A victim sending large marketable orders: every `meanWake` ms on average (exponential), a limit
 * order of `size` on a random side, `reach` ticks through the far touch, good till cancelled; at
 * its next wake it cancels what is left. (An agent of kind 'random': its timing and side are.)
 */
export class Victim implements Agent {
  readonly kind = 'random';
  constructor(
    readonly name: string,
    readonly params: { readonly meanWake: number; readonly size: number; readonly reach: number },
  ) {}
  start(rng: Rng, open: number): number {
    return open + exponential(rng, this.params.meanWake);
  }
  wake(ctx: AgentContext): number | undefined {
    ctx.cancelAll();
    const m = ctx.market;
    if (m !== undefined && m.bid !== undefined && m.ask !== undefined) {
      const buy = ctx.rng.chance(0.5);
      const price = buy ? m.ask + this.params.reach * ctx.tickSize : Math.max(ctx.tickSize, m.bid - this.params.reach * ctx.tickSize);
      ctx.place({ side: buy ? 'buy' : 'sell', size: this.params.size, price, tif: 'GTC' });
    }
    return ctx.now + exponential(ctx.rng, this.params.meanWake);
  }
}

/**
 * How much of the liquidity inside the target's limit to take (`inside`: levels from the touch
 * out) so that selling back to the target at `sale` pays best: the target takes what is left
 * inside first and buys the rest from the coalition (up to its size); what the coalition keeps is
 * valued at `value`. `sign` +1 for a buy target (the coalition buys low, sells at `sale`), -1 for
 * a sell. Undefined when no amount is expected to pay.
 */
function bestTake(inside: readonly { price: number; size: number }[], size: number, sale: number, value: number, sign: 1 | -1): { size: number; worst: number; sold: number } | undefined {
  const total = inside.reduce((s, l) => s + l.size, 0);
  let best: { size: number; worst: number; sold: number; profit: number } | undefined;
  let q = 0;
  let cost = 0;
  for (const l of inside) {
    // Candidate amounts: each whole level, and the amount that leaves the target exactly nothing inside.
    const stops = [l.size];
    const exact = total - size - q;
    if (exact > 0 && exact < l.size) stops.unshift(exact);
    for (const take of stops) {
      const amount = q + take;
      const paid = cost + take * l.price;
      const sold = Math.min(amount, Math.max(0, size - (total - amount)));
      const profit = sign * (sold * sale + (amount - sold) * value - paid);
      if (sold > 0 && profit > 0 && (best === undefined || profit > best.profit)) best = { size: amount, worst: l.price, sold, profit };
    }
    q += l.size;
    cost += l.size * l.price;
    if (q >= 2 * size) break;
  }
  return best === undefined ? undefined : { size: best.size, worst: best.worst, sold: best.sold };
}

interface Decoded {
  readonly client: string;
  readonly order: OrderAction | undefined;
}

/**
 * One session of the fairness matrix: background agents (two market makers, random traders,
 * value traders), a victim sending large marketable orders, and a coalition of f replicas whose
 * account trades on what its replicas see, under `attack` and `defence`. Same options, same result.
 */
export function runFairness(options: FairnessOptions): FairnessResult {
  const n = options.n ?? 4;
  const f = Math.floor((n - 1) / 3);
  const delta = options.delta ?? 10;
  const duration = options.duration ?? 30_000;
  const open = 0;
  const close = duration;
  const seed = options.seed;
  const scheme = options.clientScheme ?? new SimulatedSignatureScheme();
  const chosen = fairnessReplicas(options.protocol.name, n);
  const byzantine = options.byzantine ?? chosen.byzantine;
  const observer = Array.from({ length: n }, (_, i) => i).find((i) => !byzantine.includes(i));
  if (observer === undefined || byzantine.length > f) throw new RangeError(`runFairness: ${byzantine.length} coalition replicas among ${n} (at most f = ${f}, and one honest observer)`);
  const honestReplicas = Array.from({ length: n }, (_, i) => i).filter((i) => !byzantine.includes(i));
  const fair = options.defence === 'ordering' || options.defence === 'both';
  const batch = options.defence === 'batch' || options.defence === 'both';

  const rng = new Rng(seed).split('fairness');
  const attacker: Signer = scheme.signer(Uint8Array.from({ length: 32 }, () => rng.int(0, 255)));
  const attackerKey = toHex(attacker.publicKey);
  const fundamental = new Fundamental(FAIRNESS_FUNDAMENTAL, open, close, seed);

  const victim = new Victim('victim', { meanWake: 2_000, size: VICTIM_SIZE, reach: VICTIM_REACH });
  const agents: Agent[] = [
    new MarketMaker('mm-0', { targetSpread: 4, minSpread: 2, maxSpread: 20, positionLimit: 2_000, riskFactor: 0.01, orderSize: 10, levels: 3, levelSpacing: 1, volatilityWindow: 20, volatilityFactor: 1, interval: 1_000 }),
    new MarketMaker('mm-1', { targetSpread: 6, minSpread: 2, maxSpread: 20, positionLimit: 2_000, riskFactor: 0.01, orderSize: 10, levels: 3, levelSpacing: 1, volatilityWindow: 20, volatilityFactor: 1, interval: 1_300 }),
    ...Array.from({ length: 6 }, (_, i) => new RandomTrader(`trader-${i}`, { meanWake: 700, maxSize: 8, marketProbability: 0.3, range: 4 })),
    ...Array.from({ length: 4 }, (_, i) => new Value(`value-${i}`, { meanWake: 3_000, observationNoise: 2, learningRate: 0.3, minSize: 1, maxSize: 10, aggression: 0.2 })),
    victim,
  ];

  // What the harness needs of the running cluster, and the coalition's trading desk.
  let cluster: ClusterHandle | undefined;
  const decoded = new Map<string, Decoded>();
  const decodeTx = (tx: Uint8Array): Decoded => {
    const k = txKey(tx);
    let d = decoded.get(k);
    if (d === undefined) {
      try {
        const t = decodeTransaction(tx);
        d = { client: toHex(t.account), order: t.type === 'order' ? t.order : undefined };
      } catch {
        d = { client: '', order: undefined };
      }
      decoded.set(k, d);
    }
    return d;
  };
  let nonce = 0;
  let clientId = 0;
  const state = () => cluster!.replicas.find((r) => r.self === observer)!.exchange;
  // Valid on the observer's cluster for the default lifetime from the height it reached.
  const validity = () => ({ cluster: state().config.cluster ?? DEFAULT_CLUSTER, expiresAt: expiryFrom(state().lastHeight) });
  const sign = (action: Omit<Parameters<typeof placeAction>[0], 'symbol' | 'clientId'>) => signOrder(attacker, ++nonce, placeAction({ symbol: SYMBOL, clientId: ++clientId, ...action }), validity());
  let victimKey: string | undefined;
  let attackedVolume = 0;

  const trader: AttackTrader = {
    self: attackerKey,
    isTarget(tx) {
      const o = decodeTx(tx).order;
      return o !== undefined && o.action === 'place' && o.type === 'limit' && o.size >= TARGET_SIZE && decodeTx(tx).client !== attackerKey;
    },
    isCancel(tx) {
      const o = decodeTx(tx).order;
      return o !== undefined && o.action === 'cancel' && decodeTx(tx).client !== attackerKey;
    },
    client: (tx) => decodeTx(tx).client,
    respond(tx, now, kind) {
      const { order, client } = decodeTx(tx);
      const none = { before: [], after: [] };
      if (order === undefined) return none;
      const ex = state();
      if (order.action === 'cancel') {
        // A maker withdrawing a quote: take it first if it is worth more than it asks (valued at the
        // fundamental, as an informed trader would: so it also gains on the information alone when
        // its taker meets other quotes; 'client' mode measures that part).
        const id = ex.openOrders(client).get(order.clientId);
        const o = id === undefined ? undefined : ex.book.order(id);
        if (o === undefined || o.status !== 'resting') return none;
        const value = fundamental.at(now + open);
        if (o.side === 'sell' && o.price < value) return { before: [sign({ side: 'buy', size: o.remaining, price: o.price, tif: 'IOC' })], after: [] };
        if (o.side === 'buy' && o.price > value) return { before: [sign({ side: 'sell', size: o.remaining, price: o.price, tif: 'IOC' })], after: [] };
        return none;
      }
      if (order.action !== 'place' || order.type !== 'limit') return none;
      const buy = order.side === 'buy';
      const limit = order.price;
      const l2 = ex.book.l2(SYMBOL, 20);
      const far = buy ? l2.asks : l2.bids;
      const l1 = ex.book.l1(SYMBOL);
      if (l1.bidPrice === undefined || l1.askPrice === undefined) return none;
      // The liquidity the target would take short of its limit: the coalition takes it first and
      // sells it back to the target: at its limit where the rest of the target rests (sandwich: the
      // `after` order), or just inside the next level the target would reach (an offer placed
      // ahead of it). How much to take: the most profitable amount, valuing what it keeps at the mid.
      const inside = far.filter((l) => (buy ? l.price < limit : l.price > limit));
      const beyond = far.find((l) => (buy ? l.price >= limit : l.price <= limit));
      const sale = kind === 'sandwich' || beyond === undefined ? limit : buy ? Math.min(limit, beyond.price - 1) : Math.max(limit, beyond.price + 1);
      const plan = bestTake(inside, order.size, sale, (l1.bidPrice + l1.askPrice) / 2, buy ? 1 : -1);
      if (plan === undefined) return none;
      const take = sign({ side: order.side, size: plan.size, price: plan.worst, tif: 'IOC' });
      const back = { side: buy ? ('sell' as const) : ('buy' as const), size: plan.sold, price: sale };
      if (kind === 'sandwich') return { before: [take], after: [sign({ ...back, tif: 'IOC' })] };
      // Front-run and the rest: the offer goes ahead of the target, and is withdrawn right after it
      // (so what the target did not take does not linger as a quote; 'delay' leaves it, its target comes a block later).
      const offer = sign({ ...back, tif: 'GTC' });
      const offerId = clientId;
      return { before: [take, offer], after: [signOrder(attacker, ++nonce, { action: 'cancel', symbol: SYMBOL, clientId: offerId }, validity())] };
    },
    submit(txs, at) {
      cluster!.offer(txs, at + open, attackerKey);
    },
  };
  const adversary = options.attack === 'none' ? undefined : orderingAttack(options.attack, trader, options.coalition === 'client' ? 'client' : fair && options.deviate !== true ? 'fair' : 'leader', { afterDelay: delta, race: !fair });

  // Blocks and their trades, as the observer finalizes them.
  const finalized: FinalizedBlock[] = [];
  const tradesAt = new Map<number, readonly Trade[]>();
  const venue = simulatedCluster({
    protocol: options.protocol,
    n,
    delta,
    clientScheme: scheme,
    observer,
    clientDelay: delta,
    ordering: fair ? 'fair' : 'leader',
    matching: batch ? 'batch' : 'continuous',
    accounts: [{ account: attacker.publicKey, balances: { [QUOTE]: 1_000_000_000_000n, [BASE]: 1_000_000n } }],
    ...(adversary ? { orderingAdversaries: byzantine.map((replica) => ({ replica, adversary })) } : {}),
    onOpen(handle) {
      cluster = handle;
      handle.replicas.find((r) => r.self === observer)!.onBlock((result) => tradesAt.set(result.height, result.trades));
      handle.onFinalized((b) => finalized.push(b));
    },
  });

  // The victim's account: the one its orders come from (it sends while awake: tag the submissions).
  const market = runMarket({
    seed,
    open,
    close,
    agents,
    fundamental: FAIRNESS_FUNDAMENTAL,
    endowment: { cash: 100_000_000n, shares: 100_000n },
    dataInterval: 100,
    latency: 20,
    venue,
  });
  const rep = market.replication!;
  const handle = cluster!;
  const ex = state();
  for (const o of handle.offered) {
    const d = decodeTx(o.tx);
    if (d.client !== attackerKey && d.order?.action === 'place' && d.order.size === VICTIM_SIZE && d.order.type === 'limit') {
      victimKey ??= d.client;
      if (d.client === victimKey) attackedVolume += d.order.size;
    }
  }

  // The coalition's result, marked to the fundamental at the close.
  const attackerCash = ex.holding(attackerKey, QUOTE) - 1_000_000_000_000n;
  const attackerInventory = ex.holding(attackerKey, BASE) - 1_000_000n;
  const attackerPnl = Number(attackerCash) + Number(attackerInventory) * fundamental.at(close);

  // The victim's fills against the fundamental.
  let victimSlippage = 0;
  for (const t of market.trades) {
    if (t.buyer === victim.name) victimSlippage += (t.price - fundamental.at(t.time)) * t.size;
    if (t.seller === victim.name) victimSlippage += (fundamental.at(t.time) - t.price) * t.size;
  }

  // Where each order landed in the ledger.
  const position = new Map<string, { height: number; index: number; finalizedAt: number }>();
  let index = 0;
  for (const b of finalized) for (const tx of b.txs) position.set(txKey(tx), { height: b.height, index: index++, finalizedAt: b.finalizedAt });
  const proposals = finalized.filter((b) => b.proposedAt !== undefined).map((b) => ({ height: b.height, at: b.proposedAt! }));

  const censorshipDelays: number[] = [];
  const latencyMs: number[] = [];
  const included: Array<{ index: number; times: number[] }> = [];
  let finalizedOrders = 0;
  for (const o of handle.offered) {
    const times = honestReplicas.map((i) => o.arrivals[i]!);
    const known = [...times].sort((a, b) => a - b)[f]!; // f+1 honest replicas have it
    const at = position.get(txKey(o.tx));
    // The coalition's own orders count only in the violations (where front-running shows): the
    // other measures are of the clients' service.
    const clients = o.client !== attackerKey;
    if (at === undefined) {
      if (clients && known <= close - 1_000) censorshipDelays.push(proposals.filter((p) => p.at >= known).length);
      continue;
    }
    if (clients) {
      censorshipDelays.push(proposals.filter((p) => p.at >= known && p.height < at.height).length);
      latencyMs.push(at.finalizedAt - o.sent);
      finalizedOrders++;
    }
    included.push({ index: at.index, times });
  }
  included.sort((a, b) => a.index - b.index);
  let fairnessViolations = 0;
  for (let i = 0; i < included.length; i++) {
    const a = included[i]!.times;
    for (let j = i + 1; j < included.length; j++) {
      const b = included[j]!.times;
      let before = 0;
      for (let k = 0; k < a.length; k++) if (b[k]! < a[k]!) before++;
      if (before >= f + 1) fairnessViolations++;
    }
  }

  const describe = (tx: Uint8Array): { who: 'attacker' | 'victim' | 'other'; text: string } => {
    const d = decodeTx(tx);
    const who = d.client === attackerKey ? 'attacker' : d.client === victimKey ? 'victim' : 'other';
    const o = d.order;
    const text = o === undefined ? 'transfer' : o.action === 'place' ? `${o.side} ${o.size}${o.type === 'limit' ? ` @ ${o.price}` : ' market'} ${o.tif}` : `${o.action} #${'clientId' in o ? o.clientId : '?'}`;
    return { who, text: `${who} ${text}` };
  };
  const blocks: FairnessBlock[] = [];
  for (const b of finalized) {
    const orders = b.txs.map(describe);
    if (!orders.some((o) => o.who !== 'other')) continue;
    const prices = (tradesAt.get(b.height) ?? []).map((t) => t.price);
    blocks.push({ height: b.height, proposer: b.proposer, byzantineProposer: byzantine.includes(b.proposer), orders: orders.map((o) => o.text), prices, clearingPrice: prices[prices.length - 1] });
  }

  const refusedProposals = rep.simulation.replicas.filter((r) => honestReplicas.includes(r.validator)).reduce((s, r) => s + (r.rejections['INVALID_PAYLOAD'] ?? 0), 0);
  return {
    protocol: options.protocol.name,
    attack: options.attack,
    defence: options.defence,
    seed,
    byzantine: [...byzantine],
    observer,
    attackerPnl,
    victimSlippage,
    attackedVolume,
    censorshipDelays,
    fairnessViolations,
    latencyMs,
    finalizedOrders,
    finalizedHeight: rep.finalizedHeight,
    blocks,
    offenders: rep.offenders,
    refusedProposals,
    stateRootsAgree: rep.stateRootsAgree,
    attackStats: adversary?.stats,
  };
}
