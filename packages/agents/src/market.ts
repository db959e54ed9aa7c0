import { type Signer, toHex } from '@bftx/crypto';
import { placeAction, type ExchangeConfig, type FeeSchedule, type OrderAction, type RejectReason, type Trade, type TxReceipt } from '@bftx/exchange';
import { EventQueue, Rng } from '@bftx/sim';
import type { Agent, AgentContext, AgentKind, AgentOrder, MarketSnapshot } from './agents';
import { Fundamental, type FundamentalConfig } from './fundamental';
import type { ReplicationReport } from './simulated-cluster';
import { stylisedFacts, type StylisedFacts } from './stylised';
import { directVenue, type Venue } from './venue';

export const BASE = 'SHARE';
export const QUOTE = 'CASH';

export interface MarketSimulationConfig {
  readonly seed: number;
  /** Session, in virtual ms. */
  readonly open: number;
  readonly close: number;
  readonly agents: readonly Agent[];
  readonly symbol?: string;
  readonly tickSize?: number;
  readonly maxOrderSize?: number;
  readonly fundamental: FundamentalConfig;
  /** Every agent's opening cash and shares. */
  readonly endowment: { readonly cash: bigint; readonly shares: bigint };
  readonly fees?: FeeSchedule;
  /** Market data is published every `dataInterval` ms and reaches agents `latency` ms later. */
  readonly dataInterval: number;
  readonly latency: number;
  readonly l2Depth?: number;
  /** Where orders go (default `directVenue()`); a `simulatedCluster(...)` venue adds `replication` to the result. */
  readonly venue?: Venue;
  /** Extra transactions (e.g. forged ones from a rogue client), offered at given times where the venue takes raw transactions. */
  readonly extraTransactions?: ReadonlyArray<{ readonly at: number; readonly tx: Uint8Array }>;
  /** Called with the session time at each market-data publication (for progress display). */
  readonly progress?: (time: number) => void;
}

export interface TapeEntry {
  readonly time: number;
  readonly price: number;
  readonly size: number;
  readonly aggressor: 'buy' | 'sell';
  readonly buyer: string;
  readonly seller: string;
}

export interface AgentReport {
  readonly name: string;
  readonly kind: AgentKind;
  readonly ordersSent: number;
  /** Shares held minus the endowment, and cash held minus the endowment, at the close. */
  readonly inventory: number;
  readonly cash: bigint;
  /** Mark-to-market profit at the last mid: cash change + inventory x mid (ticks of cash). */
  readonly pnl: number;
}

export interface MarketResult {
  readonly trades: readonly TapeEntry[];
  readonly snapshots: readonly MarketSnapshot[];
  readonly agents: readonly AgentReport[];
  /** Orders (and cancels) agents sent; what executed; what was rejected, by reason. */
  readonly orders: { readonly submitted: number; readonly executed: number; readonly rejected: Partial<Record<RejectReason, number>> };
  readonly facts: StylisedFacts;
  /** Replicated path only. */
  readonly replication?: ReplicationReport;
}

interface Participant {
  readonly agent: Agent;
  readonly index: number;
  readonly key: string;
  readonly signer: Signer | undefined;
  readonly rng: Rng;
  nextClientId: number;
  nonce: number;
  ordersSent: number;
}

type Event = { readonly kind: 'wake'; readonly participant: number } | { readonly kind: 'data' };

/**
 * Runs a trading session: agents wake on the simulated clock, see published
 * market data with a latency, and send orders, either straight to one exchange
 * or, signed, through a simulated consensus cluster of replicated exchanges: whatever `Venue` it is given.
 * The same seed gives the same session.
 */
export function runMarket(config: MarketSimulationConfig): MarketResult {
  const { open, close, dataInterval, latency } = config;
  if (!(Number.isSafeInteger(open) && Number.isSafeInteger(close) && open < close)) throw new RangeError('open and close must be integers with open < close');
  if (!(Number.isSafeInteger(dataInterval) && dataInterval > 0 && Number.isSafeInteger(latency) && latency >= 0)) throw new RangeError('dataInterval must be a positive integer, latency a non-negative one');
  const venue = config.venue ?? directVenue();
  const symbol = config.symbol ?? 'SHARE-CASH';
  const tickSize = config.tickSize ?? 1;
  const depth = config.l2Depth ?? 5;
  const rng = new Rng(config.seed);
  const fundamental = new Fundamental(config.fundamental, open, close, config.seed);
  const clientScheme = venue.clientScheme;

  const participants: Participant[] = config.agents.map((agent, index) => {
    const signer = clientScheme === undefined ? undefined : clientScheme.signer(clientSecret(config.seed, index));
    const key = signer === undefined ? toHex(directKey(index)) : toHex(signer.publicKey);
    return { agent, index, key, signer, rng: rng.split(`agent-${index}`), nextClientId: 1, nonce: 0, ordersSent: 0 };
  });
  const byKey = new Map(participants.map((p) => [p.key, p]));
  const exchangeConfig: ExchangeConfig = {
    assets: [QUOTE, BASE],
    markets: [{ symbol, base: BASE, quote: QUOTE, tickSize, lotSize: 1, maxOrderSize: config.maxOrderSize ?? 1_000_000 }],
    ...(config.fees ? { fees: config.fees } : {}),
    genesis: participants.map((p) => ({ account: p.signer?.publicKey ?? directKey(p.index), balances: { [QUOTE]: config.endowment.cash, [BASE]: config.endowment.shares } })),
  };

  const trades: TapeEntry[] = [];
  const rejected: Partial<Record<RejectReason, number>> = {};
  let submitted = 0;
  let executed = 0;
  const record = (receipt: TxReceipt, time: number) => {
    if (receipt.status === 'rejected') rejected[receipt.reason] = (rejected[receipt.reason] ?? 0) + 1;
    else {
      executed++;
      for (const t of receipt.trades) trades.push(tapeEntry(t, time, byKey));
    }
  };

  // The venue: where state is read and orders are sent.
  const opened = venue.open({ seed: config.seed, open, close, exchange: exchangeConfig, receipt: record, ...(config.extraTransactions ? { extraTransactions: config.extraTransactions } : {}) });
  const view = opened.state;
  const send = (p: Participant, action: OrderAction, now: number) => opened.submit({ account: p.key, signer: p.signer, nonce: p.signer === undefined ? 0 : ++p.nonce, action }, now);
  const advance = (t: number) => opened.advance(t);

  // Published market data.
  const snapshots: MarketSnapshot[] = [];
  let lastMid: number | undefined;
  const publish = (time: number) => {
    const l1 = view.book.l1(symbol);
    const mid = l1.bidPrice !== undefined && l1.askPrice !== undefined ? (l1.bidPrice + l1.askPrice) / 2 : lastMid;
    lastMid = mid;
    snapshots.push({ time, bid: l1.bidPrice, ask: l1.askPrice, bidSize: l1.bidSize, askSize: l1.askSize, mid, last: view.book.lastTrade(symbol)?.price, l2: view.book.l2(symbol, depth) });
  };
  const visibleIndex = (now: number) => Math.min(snapshots.length - 1, Math.floor((now - latency - open) / dataInterval));

  const queue = new EventQueue<Event>();
  for (let t = open; t <= close; t += dataInterval) queue.push(t, { kind: 'data' });
  participants.forEach((p, i) => {
    const first = p.agent.start(p.rng, open, close);
    if (first !== undefined && first < close) queue.push(first, { kind: 'wake', participant: i });
  });

  while (queue.size > 0) {
    const { time, item } = queue.pop()!;
    if (time > close) break;
    advance(time);
    if (item.kind === 'data') {
      publish(time);
      config.progress?.(time);
      continue;
    }
    const p = participants[item.participant]!;
    const ctx = context(p, time);
    const next = p.agent.wake(ctx);
    if (next !== undefined && next > time && next < close) queue.push(next, item);
  }
  advance(close);

  function context(p: Participant, now: number): AgentContext {
    const vi = visibleIndex(now);
    const act = (action: OrderAction) => {
      submitted++;
      p.ordersSent++;
      send(p, action, now);
    };
    return {
      now,
      open,
      close,
      rng: p.rng,
      tickSize,
      market: vi >= 0 ? snapshots[vi] : undefined,
      mids(count: number) {
        const out: number[] = [];
        for (let i = vi; i >= 0 && out.length < count; i--) {
          const m = snapshots[i]!.mid;
          if (m !== undefined) out.push(m);
        }
        return out.reverse();
      },
      inventory: Number(view.holding(p.key, BASE) - config.endowment.shares),
      openOrders: view.openOrders(p.key),
      fundamental,
      place(o: AgentOrder) {
        const clientId = p.nextClientId++;
        act(placeAction({ symbol, clientId, side: o.side, size: o.size, ...(o.price === undefined ? { type: 'market' as const, tif: o.tif ?? 'IOC' } : { price: o.price, tif: o.tif ?? 'GTC' }), ...(o.postOnly ? { postOnly: true } : {}) }));
      },
      cancel(clientId: number) {
        act({ action: 'cancel', symbol, clientId });
      },
      cancelAll() {
        for (const clientId of [...view.openOrders(p.key).keys()]) act({ action: 'cancel', symbol, clientId });
      },
    };
  }

  const lastMidAtClose = lastMid ?? fundamental.at(close);
  const agents: AgentReport[] = participants.map((p) => {
    const inventory = Number(view.holding(p.key, BASE) - config.endowment.shares);
    const cash = view.holding(p.key, QUOTE) - config.endowment.cash;
    return { name: p.agent.name, kind: p.agent.kind, ordersSent: p.ordersSent, inventory, cash, pnl: Number(cash) + inventory * lastMidAtClose };
  });
  const replication = opened.finish() as ReplicationReport | undefined;
  return {
    trades,
    snapshots,
    agents,
    orders: { submitted, executed, rejected },
    facts: stylisedFacts(
      snapshots.map((s) => s.mid),
      dataInterval,
    ),
    ...(replication ? { replication } : {}),
  };
}

function tapeEntry(t: Trade, time: number, byKey: ReadonlyMap<string, Participant>): TapeEntry {
  return { time, price: t.price, size: t.size, aggressor: t.aggressor, buyer: byKey.get(t.buyer)?.agent.name ?? t.buyer, seller: byKey.get(t.seller)?.agent.name ?? t.seller };
}

/** Account keys on the direct path: agents there have no keys, only distinct account ids. */
function directKey(index: number): Uint8Array {
  const k = new Uint8Array(32);
  new DataView(k.buffer).setUint32(28, index + 1);
  return k;
}

function clientSecret(seed: number, index: number): Uint8Array {
  const r = new Rng(seed).split(`client-key-${index}`);
  return Uint8Array.from({ length: 32 }, () => r.int(0, 255));
}
