// A reference model of the matching rules, written for obviousness, not
// speed: all orders in one array, best maker found by a linear scan, time
// priority as an explicit counter, and FOK as "try on a copy, keep it only if
// fully filled". The differential test runs it beside the engine.
import type { CancelOrder, EngineEvent, L2, ModifyOrder, PlaceOrder, RejectReason, SymbolConfig } from '../src/index';

interface RefOrder {
  id: number;
  owner: number;
  symbol: string;
  side: 'buy' | 'sell';
  type: PlaceOrder['type'];
  price: number; // limit price (0 for market kinds)
  stopPrice: number;
  remaining: number;
  displayed: number;
  visibleSize: number;
  stp: NonNullable<PlaceOrder['stp']>;
  postOnly: boolean;
  tif: 'GTC' | 'IOC' | 'FOK';
  protectionTicks: number;
  accept: number;
  queue: number; // time priority: smaller is earlier
  seq: number;
  ts: number;
  state: 'resting' | 'stop' | 'triggered';
}

interface RefState {
  orders: RefOrder[]; // live orders: resting, pending stops, triggered-not-yet-run
  last: Record<string, { price: number; size: number; ts: number } | undefined>;
  accept: number;
  queue: number;
  triggeredQueue: number[]; // ids
}

export class ReferenceEngine {
  private s: RefState;
  private readonly configs = new Map<string, Required<SymbolConfig>>();

  constructor(symbols: SymbolConfig[]) {
    for (const c of symbols) this.configs.set(c.symbol, { defaultProtectionTicks: 100, ...c });
    this.s = { orders: [], last: {}, accept: 0, queue: 0, triggeredQueue: [] };
  }

  // ---- commands ----

  place(c: PlaceOrder): EngineEvent[] {
    const cfg = this.configs.get(c.symbol);
    const bad = (reason: RejectReason): EngineEvent[] => [{ type: 'rejected', orderId: c.id, reason, message: '' }];
    if (!cfg) return bad('UNKNOWN_SYMBOL');
    const isMarket = c.type === 'market' || c.type === 'stop-market';
    if (!(c.size > 0) || !Number.isSafeInteger(c.size)) return bad('INVALID_SIZE');
    if (c.size % cfg.lotSize !== 0) return bad('SIZE_OFF_LOT');
    if (!isMarket) {
      if (!(c.price! > 0) || !Number.isSafeInteger(c.price)) return bad('INVALID_PRICE');
      if (c.price! % cfg.tickSize !== 0) return bad('PRICE_OFF_TICK');
    }
    if (c.type.startsWith('stop')) {
      if (!(c.stopPrice! > 0) || !Number.isSafeInteger(c.stopPrice)) return bad('INVALID_PRICE');
      if (c.stopPrice! % cfg.tickSize !== 0) return bad('PRICE_OFF_TICK');
    }
    if (c.visibleSize !== undefined && c.visibleSize % cfg.lotSize !== 0) return bad('SIZE_OFF_LOT');
    if (this.s.orders.some((o) => o.id === c.id)) return bad('DUPLICATE_ORDER_ID');
    if (c.postOnly && this.crossesBook(c.symbol, c.side, c.price!)) return bad('WOULD_TAKE');

    const o: RefOrder = {
      id: c.id,
      owner: c.owner,
      symbol: c.symbol,
      side: c.side,
      type: c.type,
      price: isMarket ? 0 : c.price!,
      stopPrice: c.stopPrice ?? 0,
      remaining: c.size,
      displayed: 0,
      visibleSize: c.visibleSize ?? 0,
      stp: c.stp ?? 'none',
      postOnly: c.postOnly ?? false,
      tif: c.tif ?? (isMarket ? 'IOC' : 'GTC'),
      protectionTicks: isMarket ? (c.protectionTicks ?? cfg.defaultProtectionTicks) : 0,
      accept: this.s.accept++,
      queue: 0,
      seq: c.seq,
      ts: c.ts,
      state: 'stop',
    };
    const ev: EngineEvent[] = [{ type: 'accepted', orderId: c.id }];
    if (c.type.startsWith('stop')) {
      const last = this.s.last[c.symbol];
      this.s.orders.push(o);
      if (last && this.stopFires(o, last.price)) {
        ev.push({ type: 'triggered', orderId: o.id, lastPrice: last.price });
        o.state = 'triggered';
        this.s.triggeredQueue.push(o.id);
      }
    } else {
      this.run(o, c, ev);
    }
    this.drainTriggered(c, ev);
    return ev;
  }

  cancel(c: CancelOrder): EngineEvent[] {
    if (!this.configs.has(c.symbol)) return [{ type: 'rejected', orderId: c.id, reason: 'UNKNOWN_SYMBOL', message: '' }];
    const o = this.s.orders.find((x) => x.id === c.id && x.symbol === c.symbol);
    if (!o) return [{ type: 'rejected', orderId: c.id, reason: 'UNKNOWN_ORDER', message: '' }];
    this.remove(o);
    return [
      { type: 'cancelled', orderId: o.id, size: o.remaining, remaining: 0, reason: 'USER' },
      { type: 'done', orderId: o.id, reason: 'cancelled' },
    ];
  }

  modify(c: ModifyOrder): EngineEvent[] {
    const cfg = this.configs.get(c.symbol);
    const bad = (reason: RejectReason): EngineEvent[] => [{ type: 'rejected', orderId: c.id, reason, message: '' }];
    if (!cfg) return bad('UNKNOWN_SYMBOL');
    const o = this.s.orders.find((x) => x.id === c.id && x.symbol === c.symbol);
    if (!o) return bad('UNKNOWN_ORDER');
    if (o.state !== 'resting') return bad('NOT_MODIFIABLE');
    if (!(c.price > 0) || !Number.isSafeInteger(c.price)) return bad('INVALID_PRICE');
    if (c.price % cfg.tickSize !== 0) return bad('PRICE_OFF_TICK');
    if (!(c.size > 0) || !Number.isSafeInteger(c.size)) return bad('INVALID_SIZE');
    if (c.size % cfg.lotSize !== 0) return bad('SIZE_OFF_LOT');
    if (o.postOnly && c.price !== o.price && this.crossesBook(c.symbol, o.side, c.price)) return bad('WOULD_TAKE');
    if (c.price === o.price && c.size <= o.remaining) {
      o.remaining = c.size;
      o.displayed = Math.min(o.displayed, o.remaining);
      return [{ type: 'modified', orderId: o.id, price: c.price, size: c.size, priorityKept: true }];
    }
    this.remove(o);
    const again: RefOrder = { ...o, price: c.price, remaining: c.size, seq: c.seq, ts: c.ts };
    const ev: EngineEvent[] = [{ type: 'modified', orderId: o.id, price: c.price, size: c.size, priorityKept: false }];
    this.run(again, c, ev);
    this.drainTriggered(c, ev);
    return ev;
  }

  // ---- rules ----

  private run(o: RefOrder, stamp: { seq: number; ts: number }, ev: EngineEvent[]): void {
    const isMarket = o.type === 'market' || o.type === 'stop-market';
    const cfg = this.configs.get(o.symbol)!;
    let limit = o.price;
    if (isMarket) {
      const best = this.bestOpposite(o);
      if (!best) {
        ev.push({ type: 'cancelled', orderId: o.id, size: o.remaining, remaining: 0, reason: 'NO_LIQUIDITY' }, { type: 'done', orderId: o.id, reason: 'cancelled' });
        return;
      }
      limit = o.side === 'buy' ? best.price + o.protectionTicks * cfg.tickSize : best.price - o.protectionTicks * cfg.tickSize;
    }
    if (o.tif === 'FOK') {
      // All or nothing, literally: run it on a copy, keep the copy only if the order filled completely.
      const saved = structuredClone(this.s);
      const trial: EngineEvent[] = [];
      const copy = { ...o };
      this.sweep(copy, limit, stamp, trial);
      const traded = trial.reduce((sum, e) => sum + (e.type === 'trade' && e.takerId === o.id ? e.size : 0), 0);
      if (traded !== o.remaining) {
        this.s = saved;
        ev.push({ type: 'cancelled', orderId: o.id, size: o.remaining, remaining: 0, reason: 'FOK' }, { type: 'done', orderId: o.id, reason: 'cancelled' });
        return;
      }
      ev.push(...trial, { type: 'done', orderId: o.id, reason: 'filled' });
      return;
    }
    if (this.sweep(o, limit, stamp, ev)) return;
    if (o.remaining === 0) ev.push({ type: 'done', orderId: o.id, reason: 'filled' });
    else if (o.tif === 'GTC' && !isMarket) this.rest(o);
    else ev.push({ type: 'cancelled', orderId: o.id, size: o.remaining, remaining: 0, reason: 'IOC' }, { type: 'done', orderId: o.id, reason: 'cancelled' });
  }

  /** Match `t` while it crosses `limit`. Returns true if self-trade prevention removed `t`. */
  private sweep(t: RefOrder, limit: number, stamp: { seq: number; ts: number }, ev: EngineEvent[]): boolean {
    while (t.remaining > 0) {
      const m = this.bestOpposite(t);
      if (!m || (t.side === 'buy' ? m.price > limit : m.price < limit)) return false;
      if (t.stp !== 'none' && m.owner === t.owner) {
        const cancelMaker = (size: number) => {
          if (size >= m.remaining) {
            this.remove(m);
            ev.push({ type: 'cancelled', orderId: m.id, size: m.remaining, remaining: 0, reason: 'STP' }, { type: 'done', orderId: m.id, reason: 'cancelled' });
          } else {
            m.remaining -= size;
            m.displayed = Math.min(m.displayed, m.remaining);
            ev.push({ type: 'cancelled', orderId: m.id, size, remaining: m.remaining, reason: 'STP' });
          }
        };
        const cancelTaker = () => {
          ev.push({ type: 'cancelled', orderId: t.id, size: t.remaining, remaining: 0, reason: 'STP' }, { type: 'done', orderId: t.id, reason: 'cancelled' });
          t.remaining = 0;
        };
        if (t.stp === 'cancel-newest') {
          cancelTaker();
          return true;
        }
        if (t.stp === 'cancel-oldest') {
          cancelMaker(m.remaining);
          continue;
        }
        if (t.stp === 'cancel-both') {
          cancelMaker(m.remaining);
          cancelTaker();
          return true;
        }
        const d = Math.min(t.remaining, m.remaining);
        cancelMaker(d);
        t.remaining -= d;
        ev.push({ type: 'cancelled', orderId: t.id, size: d, remaining: t.remaining, reason: 'STP' });
        if (t.remaining === 0) {
          ev.push({ type: 'done', orderId: t.id, reason: 'cancelled' });
          return true;
        }
        continue;
      }
      const q = Math.min(t.remaining, m.displayed);
      m.remaining -= q;
      m.displayed -= q;
      t.remaining -= q;
      this.s.last[t.symbol] = { price: m.price, size: q, ts: stamp.ts };
      ev.push({ type: 'trade', price: m.price, size: q, makerId: m.id, takerId: t.id, makerOwner: m.owner, takerOwner: t.owner, aggressor: t.side, seq: stamp.seq, ts: stamp.ts });
      if (m.remaining === 0) {
        this.remove(m);
        ev.push({ type: 'done', orderId: m.id, reason: 'filled' });
      } else if (m.displayed === 0) {
        m.displayed = Math.min(m.visibleSize, m.remaining);
        m.queue = ++this.s.queue; // refilled slice goes to the back
      }
      // Stops fire on each trade, in acceptance order.
      const fired = this.s.orders.filter((o) => o.symbol === t.symbol && o.state === 'stop' && this.stopFires(o, m.price)).sort((a, b) => a.accept - b.accept);
      for (const f of fired) {
        f.state = 'triggered';
        ev.push({ type: 'triggered', orderId: f.id, lastPrice: m.price });
        this.s.triggeredQueue.push(f.id);
      }
    }
    return false;
  }

  private drainTriggered(stamp: { seq: number; ts: number }, ev: EngineEvent[]): void {
    while (this.s.triggeredQueue.length > 0) {
      const id = this.s.triggeredQueue.shift()!;
      const o = this.s.orders.find((x) => x.id === id)!;
      this.remove(o);
      o.seq = stamp.seq;
      o.ts = stamp.ts;
      this.run(o, stamp, ev);
    }
  }

  private stopFires(o: RefOrder, lastPrice: number): boolean {
    return o.side === 'buy' ? lastPrice >= o.stopPrice : lastPrice <= o.stopPrice;
  }

  private rest(o: RefOrder): void {
    o.state = 'resting';
    o.displayed = o.visibleSize > 0 ? Math.min(o.visibleSize, o.remaining) : o.remaining;
    o.queue = ++this.s.queue;
    this.s.orders.push(o);
  }

  private remove(o: RefOrder): void {
    this.s.orders = this.s.orders.filter((x) => x.id !== o.id);
  }

  private resting(symbol: string, side: 'buy' | 'sell'): RefOrder[] {
    return this.s.orders.filter((o) => o.symbol === symbol && o.side === side && o.state === 'resting');
  }

  private bestOpposite(t: RefOrder): RefOrder | undefined {
    const makers = this.resting(t.symbol, t.side === 'buy' ? 'sell' : 'buy');
    makers.sort((a, b) => (t.side === 'buy' ? a.price - b.price : b.price - a.price) || a.queue - b.queue);
    return makers[0];
  }

  private crossesBook(symbol: string, side: 'buy' | 'sell', price: number): boolean {
    return this.resting(symbol, side === 'buy' ? 'sell' : 'buy').some((m) => (side === 'buy' ? m.price <= price : m.price >= price));
  }

  // ---- views ----

  l2(symbol: string, depth: number): L2 {
    const side = (s: 'buy' | 'sell') => {
      const byPrice = new Map<number, { price: number; size: number; orders: number }>();
      for (const o of this.resting(symbol, s)) {
        const l = byPrice.get(o.price) ?? { price: o.price, size: 0, orders: 0 };
        l.size += o.displayed;
        l.orders++;
        byPrice.set(o.price, l);
      }
      return [...byPrice.values()].sort((a, b) => (s === 'buy' ? b.price - a.price : a.price - b.price)).slice(0, depth);
    };
    return { bids: side('buy'), asks: side('sell') };
  }

  /** Resting orders at a level in time priority. */
  l3(symbol: string, side: 'buy' | 'sell', price: number) {
    return this.resting(symbol, side)
      .filter((o) => o.price === price)
      .sort((a, b) => a.queue - b.queue)
      .map((o) => ({ id: o.id, owner: o.owner, size: o.displayed, seq: o.seq, ts: o.ts }));
  }

  liveIds(): number[] {
    return this.s.orders.map((o) => o.id).sort((a, b) => a - b);
  }

  lastTrade(symbol: string) {
    return this.s.last[symbol];
  }
}
