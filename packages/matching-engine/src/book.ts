// One symbol's order book: price levels with intrusive FIFO queues, matching,
// self-trade prevention, icebergs and stop orders. Inputs are validated by
// engine.ts before they reach this file; here every call succeeds.
import { clearBatch, type AuctionOrder } from './auction';
import type { CancelReason, EngineEvent, L2Level, L3Order, SelfTradePrevention, TimeInForce } from './types';

export const BUY = 0;
export const SELL = 1;
export type SideCode = typeof BUY | typeof SELL;

export const STP_NONE = 0;
export const STP_CANCEL_NEWEST = 1;
export const STP_CANCEL_OLDEST = 2;
export const STP_CANCEL_BOTH = 3;
export const STP_DECREMENT = 4;
export const STP_CODES: Record<SelfTradePrevention, number> = {
  none: STP_NONE,
  'cancel-newest': STP_CANCEL_NEWEST,
  'cancel-oldest': STP_CANCEL_OLDEST,
  'cancel-both': STP_CANCEL_BOTH,
  decrement: STP_DECREMENT,
};

export const KIND_LIMIT = 0;
export const KIND_MARKET = 1;
export const KIND_STOP_LIMIT = 2;
export const KIND_STOP_MARKET = 3;

export const TIF_GTC = 0;
export const TIF_IOC = 1;
export const TIF_FOK = 2;
export const TIF_CODES: Record<TimeInForce, number> = { GTC: TIF_GTC, IOC: TIF_IOC, FOK: TIF_FOK };

/** An order inside the engine. Fields are mutable for speed; nothing outside the package sees this object. */
export class Order {
  prev: Order | null = null;
  next: Order | null = null;
  level: Level | null = null;
  /** Size shown in the book (an iceberg's current slice; the whole remaining size otherwise). */
  displayed = 0;
  constructor(
    readonly symbol: string,
    readonly id: number,
    readonly owner: number,
    readonly side: SideCode,
    public kind: number,
    public price: number,
    public remaining: number,
    /** Iceberg slice size, or 0 for a plain order. */
    readonly visibleSize: number,
    readonly stp: number,
    readonly postOnly: boolean,
    public tif: number,
    readonly stopPrice: number,
    readonly protectionTicks: number,
    public seq: number,
    public ts: number,
    /** Acceptance number: orders triggered together are released in this order. */
    readonly accept: number,
  ) {}
}

export class Level {
  head: Order | null = null;
  tail: Order | null = null;
  /** Sum of displayed sizes. */
  displayed = 0;
  count = 0;
  constructor(
    readonly price: number,
    /** Sort key, ascending toward the best price: price for bids, -price for asks. */
    readonly key: number,
  ) {}

  append(o: Order): void {
    o.level = this;
    o.prev = this.tail;
    o.next = null;
    if (this.tail === null) this.head = o;
    else this.tail.next = o;
    this.tail = o;
    this.displayed += o.displayed;
    this.count++;
  }

  unlink(o: Order): void {
    if (o.prev === null) this.head = o.next;
    else o.prev.next = o.next;
    if (o.next === null) this.tail = o.prev;
    else o.next.prev = o.prev;
    this.displayed -= o.displayed;
    this.count--;
    o.prev = o.next = o.level = null;
  }
}

/**
 * One side of the book: levels by price, and the same levels sorted with the
 * best last. A level that empties away from the top stays as an empty
 * placeholder (no array splice; reused if an order arrives at that price) until
 * placeholders outnumber live levels; the best level is never empty.
 */
export class BookSide {
  readonly byPrice = new Map<number, Level>();
  /** Ascending by key, so the best level is at the end (cheap to pop when consumed). */
  readonly sorted: Level[] = [];
  private empties = 0;
  constructor(readonly isBid: boolean) {}

  best(): Level | undefined {
    return this.sorted[this.sorted.length - 1];
  }

  /** The level at `price`, created if needed. The caller appends an order to it at once. */
  getOrCreate(price: number): Level {
    let level = this.byPrice.get(price);
    if (level !== undefined) {
      if (level.count === 0) this.empties--;
      return level;
    }
    const key = this.isBid ? price : -price;
    level = new Level(price, key);
    this.byPrice.set(price, level);
    const s = this.sorted;
    const n = s.length;
    if (n === 0 || s[n - 1]!.key < key) s.push(level);
    else {
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (s[mid]!.key < key) lo = mid + 1;
        else hi = mid;
      }
      s.splice(lo, 0, level);
    }
    return level;
  }

  /** Called when `level` has just become empty. */
  release(level: Level): void {
    const s = this.sorted;
    if (s[s.length - 1] === level) {
      // The best level emptied: drop it and any placeholders now at the top.
      this.byPrice.delete(s.pop()!.price);
      while (s.length !== 0 && s[s.length - 1]!.count === 0) {
        this.byPrice.delete(s.pop()!.price);
        this.empties--;
      }
      return;
    }
    this.empties++;
    if (this.empties > 32 && this.empties * 2 > s.length) this.compact();
  }

  private compact(): void {
    const s = this.sorted;
    let w = 0;
    for (let r = 0; r < s.length; r++) {
      const level = s[r]!;
      if (level.count !== 0) s[w++] = level;
      else this.byPrice.delete(level.price);
    }
    s.length = w;
    this.empties = 0;
  }

  /** Number of non-empty levels. */
  get levelCount(): number {
    return this.sorted.length - this.empties;
  }
}

/** The event sink and stamp of the command being executed (set by the engine for each call). */
export interface CallContext {
  events: EngineEvent[];
  seq: number;
  ts: number;
}

export class OrderBook {
  readonly bids = new BookSide(true);
  readonly asks = new BookSide(false);
  /** Pending stops, sorted by stop price ascending (buy stops trigger from the front, sell stops from the back). */
  readonly buyStops: Order[] = [];
  readonly sellStops: Order[] = [];
  /** Stops triggered but not yet executed, in release order. */
  private readonly triggered: Order[] = [];
  lastPrice = 0;
  lastSize = 0;
  lastTs = 0;
  hasLastTrade = false;

  constructor(
    readonly symbol: string,
    readonly tickSize: number,
    readonly lotSize: number,
    /** Live orders of the whole engine (resting and pending stops), by id. */
    private readonly index: Map<number, Order>,
  ) {}

  side(code: SideCode): BookSide {
    return code === BUY ? this.bids : this.asks;
  }

  /** True iff a limit order on `side` at `price` would trade with the book now. */
  crosses(side: SideCode, price: number): boolean {
    const best = (side === BUY ? this.asks : this.bids).best();
    if (best === undefined) return false;
    return side === BUY ? best.price <= price : best.price >= price;
  }

  // ---- commands (already validated) ----

  /** A new order that passed validation; `accepted` has been emitted. */
  submit(o: Order, ctx: CallContext): void {
    if (o.kind === KIND_STOP_LIMIT || o.kind === KIND_STOP_MARKET) {
      this.index.set(o.id, o);
      if (this.hasLastTrade && stopTriggers(o, this.lastPrice)) {
        ctx.events.push({ type: 'triggered', orderId: o.id, lastPrice: this.lastPrice });
        this.triggered.push(o);
      } else {
        insertStop(o.side === BUY ? this.buyStops : this.sellStops, o);
      }
    } else {
      this.execute(o, ctx);
    }
    this.releaseTriggered(ctx);
  }

  cancel(o: Order, ctx: CallContext): void {
    if (o.level !== null) this.removeResting(o);
    else removeStop(o.side === BUY ? this.buyStops : this.sellStops, o);
    ctx.events.push({ type: 'cancelled', orderId: o.id, size: o.remaining, remaining: 0, reason: 'USER' });
    o.remaining = 0;
    this.finish(o, 'cancelled', ctx);
  }

  /** Modify a resting order: a smaller size at the same price keeps priority; anything else re-enters. */
  modify(o: Order, price: number, size: number, ctx: CallContext): void {
    if (price === o.price && size <= o.remaining) {
      if (size < o.remaining) this.reduce(o, o.remaining - size);
      ctx.events.push({ type: 'modified', orderId: o.id, price, size, priorityKept: true });
      return;
    }
    this.removeResting(o);
    o.price = price;
    o.remaining = size;
    o.seq = ctx.seq;
    o.ts = ctx.ts;
    ctx.events.push({ type: 'modified', orderId: o.id, price, size, priorityKept: false });
    this.execute(o, ctx);
    this.releaseTriggered(ctx);
  }

  // ---- matching ----

  /** Run a limit or market order as the aggressor, then rest, cancel or finish it. */
  private execute(o: Order, ctx: CallContext): void {
    let limit: number;
    if (o.kind === KIND_MARKET || o.kind === KIND_STOP_MARKET) {
      const best = (o.side === BUY ? this.asks : this.bids).best();
      if (best === undefined) {
        this.cancelRemainder(o, 'NO_LIQUIDITY', ctx);
        return;
      }
      const through = o.protectionTicks * this.tickSize;
      limit = o.side === BUY ? Math.min(best.price + through, Number.MAX_SAFE_INTEGER) : best.price - through;
    } else {
      limit = o.price;
    }
    if (o.tif === TIF_FOK && !this.canFill(o, limit)) {
      this.cancelRemainder(o, 'FOK', ctx);
      return;
    }
    if (this.match(o, limit, ctx)) return; // cancelled by self-trade prevention
    if (o.remaining === 0) {
      this.finish(o, 'filled', ctx);
    } else if (o.tif === TIF_GTC && (o.kind === KIND_LIMIT || o.kind === KIND_STOP_LIMIT)) {
      this.rest(o);
    } else {
      this.cancelRemainder(o, 'IOC', ctx);
    }
  }

  /** Trade `taker` against the opposite side up to `limit`. Returns true if STP cancelled the taker. */
  private match(taker: Order, limit: number, ctx: CallContext): boolean {
    const opposite = taker.side === BUY ? this.asks : this.bids;
    const isBuy = taker.side === BUY;
    const events = ctx.events;
    while (taker.remaining > 0) {
      const level = opposite.best();
      if (level === undefined || (isBuy ? level.price > limit : level.price < limit)) break;
      const maker = level.head!;
      if (taker.stp !== STP_NONE && maker.owner === taker.owner) {
        if (this.preventSelfTrade(taker, maker, ctx)) return true;
        continue;
      }
      const q = taker.remaining < maker.displayed ? taker.remaining : maker.displayed;
      maker.displayed -= q;
      maker.remaining -= q;
      level.displayed -= q;
      taker.remaining -= q;
      this.lastPrice = level.price;
      this.lastSize = q;
      this.lastTs = ctx.ts;
      this.hasLastTrade = true;
      events.push({
        type: 'trade',
        price: level.price,
        size: q,
        makerId: maker.id,
        takerId: taker.id,
        makerOwner: maker.owner,
        takerOwner: taker.owner,
        aggressor: isBuy ? 'buy' : 'sell',
        seq: ctx.seq,
        ts: ctx.ts,
      });
      if (maker.remaining === 0) {
        level.unlink(maker);
        if (level.count === 0) opposite.release(level);
        this.finish(maker, 'filled', ctx);
      } else if (maker.displayed === 0) {
        // Iceberg: a fresh slice goes to the back of the queue.
        level.unlink(maker);
        maker.displayed = maker.remaining < maker.visibleSize ? maker.remaining : maker.visibleSize;
        level.append(maker);
      }
      if (this.buyStops.length !== 0 || this.sellStops.length !== 0) this.triggerStops(level.price, ctx);
    }
    return false;
  }

  /** Apply the taker's STP mode against `maker`. Returns true if the taker is gone. */
  private preventSelfTrade(taker: Order, maker: Order, ctx: CallContext): boolean {
    switch (taker.stp) {
      case STP_CANCEL_OLDEST:
        this.cancelResting(maker, maker.remaining, ctx);
        return false;
      case STP_CANCEL_BOTH:
        this.cancelResting(maker, maker.remaining, ctx);
        this.cancelRemainder(taker, 'STP', ctx);
        return true;
      case STP_DECREMENT: {
        const d = taker.remaining < maker.remaining ? taker.remaining : maker.remaining;
        this.cancelResting(maker, d, ctx);
        taker.remaining -= d;
        ctx.events.push({ type: 'cancelled', orderId: taker.id, size: d, remaining: taker.remaining, reason: 'STP' });
        if (taker.remaining === 0) {
          this.finish(taker, 'cancelled', ctx);
          return true;
        }
        return false;
      }
      default: // cancel-newest
        this.cancelRemainder(taker, 'STP', ctx);
        return true;
    }
  }

  /** Remove `size` from a resting order because of STP (hidden size first, keeping its place). */
  private cancelResting(o: Order, size: number, ctx: CallContext): void {
    if (size >= o.remaining) {
      this.removeResting(o);
      ctx.events.push({ type: 'cancelled', orderId: o.id, size: o.remaining, remaining: 0, reason: 'STP' });
      o.remaining = 0;
      this.finish(o, 'cancelled', ctx);
    } else {
      this.reduce(o, size);
      ctx.events.push({ type: 'cancelled', orderId: o.id, size, remaining: o.remaining, reason: 'STP' });
    }
  }

  /** Shrink a resting order by `by` (< remaining) without moving it: hidden iceberg size goes first. */
  private reduce(o: Order, by: number): void {
    o.remaining -= by;
    if (o.displayed > o.remaining) {
      o.level!.displayed -= o.displayed - o.remaining;
      o.displayed = o.remaining;
    }
  }

  /**
   * FOK: would matching fill all of `taker` up to `limit`? Walks the book in
   * match order without changing it: displayed sizes in FIFO order first,
   * then icebergs' hidden size (refills queue behind everyone at the level);
   * an own order stops the walk unless the STP mode is cancel-oldest.
   */
  private canFill(taker: Order, limit: number): boolean {
    const sorted = (taker.side === BUY ? this.asks : this.bids).sorted;
    const isBuy = taker.side === BUY;
    let need = taker.remaining;
    for (let i = sorted.length - 1; i >= 0; i--) {
      const level = sorted[i]!;
      if (isBuy ? level.price > limit : level.price < limit) return false;
      let hidden = 0;
      for (let o = level.head; o !== null; o = o.next) {
        if (taker.stp !== STP_NONE && o.owner === taker.owner) {
          if (taker.stp === STP_CANCEL_OLDEST) continue;
          return false;
        }
        need -= o.displayed;
        if (need <= 0) return true;
        hidden += o.remaining - o.displayed;
      }
      need -= hidden;
      if (need <= 0) return true;
    }
    return false;
  }

  // ---- uniform-price auction ----

  /**
   * Clears `fresh` (accepted new orders, ascending id; `accepted` emitted) together with the
   * resting book at one price (see clearBatch). Market orders are bounded by protectionTicks
   * from the best opposite resting price before the auction (none: cancelled NO_LIQUIDITY);
   * post-only orders stay out of it and rest afterwards unless they would cross the book or
   * another post-only order of the batch that does not (then cancelled, WOULD_TAKE). Trades pair the filled
   * buys (best price first, then acceptance) with the filled sells in the same way; the older
   * order of a pair is the maker. Pending stops are neither triggered nor matched.
   */
  auction(fresh: readonly Order[], referencePrice: number | undefined, rank: ((id: number) => number) | undefined, ctx: CallContext): { price: number | undefined; volume: number } {
    const events = ctx.events;
    const bestBid = this.bids.best()?.price;
    const bestAsk = this.asks.best()?.price;
    const limits = new Map<Order, number>();
    const terminal = new Map<Order, () => void>();
    const postOnly: Order[] = [];
    const entering: Order[] = [];
    for (const o of fresh) {
      if (o.postOnly) {
        postOnly.push(o);
        continue;
      }
      if (o.kind === KIND_MARKET) {
        const best = o.side === BUY ? bestAsk : bestBid;
        if (best === undefined) {
          terminal.set(o, () => this.cancelRemainder(o, 'NO_LIQUIDITY', ctx));
          continue;
        }
        const through = o.protectionTicks * this.tickSize;
        limits.set(o, o.side === BUY ? Math.min(best + through, Number.MAX_SAFE_INTEGER) : Math.max(best - through, 0));
      } else {
        limits.set(o, o.price);
      }
      entering.push(o);
    }
    // Resting orders that cannot trade at any price with volume change nothing (a bid below every
    // sell is in no demand there; an ask above every buy in no supply): the auction costs the
    // crossing range, not the whole book.
    let lowestSell = bestAsk ?? Number.POSITIVE_INFINITY;
    let highestBuy = bestBid ?? 0;
    for (const o of entering) {
      if (o.side === SELL) lowestSell = Math.min(lowestSell, limits.get(o)!);
      else highestBuy = Math.max(highestBuy, limits.get(o)!);
    }
    const participants: Order[] = [];
    for (const [side, reaches] of [
      [this.bids, (price: number) => price >= lowestSell],
      [this.asks, (price: number) => price <= highestBuy],
    ] as const) {
      for (let i = side.sorted.length - 1; i >= 0 && reaches(side.sorted[i]!.price); i--) {
        for (let o = side.sorted[i]!.head; o !== null; o = o.next) {
          participants.push(o);
          limits.set(o, o.price);
        }
      }
    }
    participants.push(...entering);
    const ranked: AuctionOrder[] = participants.map((o) => ({
      id: o.id,
      side: o.side === BUY ? 'buy' : 'sell',
      price: limits.get(o),
      size: o.remaining,
      ...(o.kind === KIND_MARKET ? { market: true } : {}),
      ...(rank ? { rank: rank(o.id) } : {}),
    }));
    const result = clearBatch(ranked, { lotSize: this.lotSize, ...(referencePrice !== undefined ? { referencePrice } : {}) });
    const price = result.price;
    // Trades: filled buys and sells, each best price first then oldest first, paired in turn.
    const filled = (side: SideCode) =>
      participants
        .filter((o) => o.side === side && result.fills.has(o.id))
        .map((o) => ({ o, left: result.fills.get(o.id)! }))
        .sort((a, b) => (side === BUY ? limits.get(b.o)! - limits.get(a.o)! : limits.get(a.o)! - limits.get(b.o)!) || a.o.accept - b.o.accept);
    const buys = filled(BUY);
    const sells = filled(SELL);
    for (let b = 0, s = 0; b < buys.length && s < sells.length; ) {
      const buy = buys[b]!;
      const sell = sells[s]!;
      const q = buy.left < sell.left ? buy.left : sell.left;
      const [maker, taker] = buy.o.accept < sell.o.accept ? [buy.o, sell.o] : [sell.o, buy.o];
      events.push({ type: 'trade', price: price!, size: q, makerId: maker.id, takerId: taker.id, makerOwner: maker.owner, takerOwner: taker.owner, aggressor: taker.side === BUY ? 'buy' : 'sell', seq: ctx.seq, ts: ctx.ts });
      buy.left -= q;
      sell.left -= q;
      if (buy.left === 0) b++;
      if (sell.left === 0) s++;
    }
    // Fills, then what becomes of each order.
    for (const o of participants) {
      const fill = result.fills.get(o.id) ?? 0;
      if (o.level !== null) {
        if (fill === 0) continue;
        if (fill === o.remaining) {
          this.removeResting(o);
          o.remaining = 0;
          terminal.set(o, () => this.finish(o, 'filled', ctx));
        } else {
          o.remaining -= fill;
          const shown = o.visibleSize !== 0 && o.visibleSize < o.remaining ? o.visibleSize : o.remaining;
          o.level.displayed += shown - o.displayed;
          o.displayed = shown;
        }
        continue;
      }
      o.remaining -= fill;
      if (o.remaining === 0) terminal.set(o, () => this.finish(o, 'filled', ctx));
      else if (o.tif === TIF_GTC && o.kind === KIND_LIMIT) this.rest(o);
      else terminal.set(o, () => this.cancelRemainder(o, 'IOC', ctx));
    }
    // Post-only: against the book as it now stands, then against the other post-only orders
    // of the batch that pass that first test (both of a crossing pair go).
    const passive = postOnly.filter((o) => {
      if (!this.crosses(o.side, o.price)) return true;
      terminal.set(o, () => this.cancelRemainder(o, 'WOULD_TAKE', ctx));
      return false;
    });
    let passiveSell = Number.POSITIVE_INFINITY;
    let passiveBuy = 0;
    for (const o of passive) {
      if (o.side === SELL) passiveSell = Math.min(passiveSell, o.price);
      else passiveBuy = Math.max(passiveBuy, o.price);
    }
    const resting: Order[] = [];
    for (const o of passive) {
      if (o.side === BUY ? o.price >= passiveSell : o.price <= passiveBuy) terminal.set(o, () => this.cancelRemainder(o, 'WOULD_TAKE', ctx));
      else resting.push(o);
    }
    for (const o of resting) this.rest(o);
    for (const o of [...terminal.keys()].sort((a, b) => a.id - b.id)) terminal.get(o)!();
    if (price !== undefined) {
      this.lastPrice = price;
      this.lastSize = result.volume;
      this.lastTs = ctx.ts;
      this.hasLastTrade = true;
    }
    return { price, volume: result.volume };
  }

  // ---- stops ----

  private triggerStops(lastPrice: number, ctx: CallContext): void {
    const buys = this.buyStops;
    const sells = this.sellStops;
    const fireBuys = buys.length !== 0 && buys[0]!.stopPrice <= lastPrice;
    const fireSells = sells.length !== 0 && sells[sells.length - 1]!.stopPrice >= lastPrice;
    if (!fireBuys && !fireSells) return;
    const fired: Order[] = [];
    if (fireBuys) {
      let n = 0;
      while (n < buys.length && buys[n]!.stopPrice <= lastPrice) n++;
      fired.push(...buys.splice(0, n));
    }
    if (fireSells) {
      let start = sells.length;
      while (start > 0 && sells[start - 1]!.stopPrice >= lastPrice) start--;
      fired.push(...sells.splice(start));
    }
    fired.sort((a, b) => a.accept - b.accept);
    for (const o of fired) {
      ctx.events.push({ type: 'triggered', orderId: o.id, lastPrice });
      this.triggered.push(o);
    }
  }

  /** Execute triggered stops one at a time, in release order; each may trigger more. */
  private releaseTriggered(ctx: CallContext): void {
    const queue = this.triggered;
    while (queue.length !== 0) {
      const o = queue.shift()!;
      o.seq = ctx.seq;
      o.ts = ctx.ts;
      this.execute(o, ctx);
    }
  }

  // ---- resting orders ----

  private rest(o: Order): void {
    o.displayed = o.visibleSize !== 0 && o.visibleSize < o.remaining ? o.visibleSize : o.remaining;
    this.side(o.side).getOrCreate(o.price).append(o);
    this.index.set(o.id, o);
  }

  private removeResting(o: Order): void {
    const level = o.level!;
    level.unlink(o);
    if (level.count === 0) this.side(o.side).release(level);
  }

  private cancelRemainder(o: Order, reason: CancelReason, ctx: CallContext): void {
    ctx.events.push({ type: 'cancelled', orderId: o.id, size: o.remaining, remaining: 0, reason });
    o.remaining = 0;
    this.finish(o, 'cancelled', ctx);
  }

  private finish(o: Order, reason: 'filled' | 'cancelled', ctx: CallContext): void {
    this.index.delete(o.id);
    ctx.events.push({ type: 'done', orderId: o.id, reason });
  }

  // ---- market data ----

  depth(side: SideCode, levels: number): L2Level[] {
    const sorted = this.side(side).sorted;
    const out: L2Level[] = [];
    for (let i = sorted.length - 1; i >= 0 && out.length < levels; i--) {
      const l = sorted[i]!;
      if (l.count === 0) continue;
      out.push({ price: l.price, size: l.displayed, orders: l.count });
    }
    return out;
  }

  ordersAt(side: SideCode, price: number): L3Order[] {
    const out: L3Order[] = [];
    const level = this.side(side).byPrice.get(price);
    for (let o = level?.head ?? null; o !== null; o = o.next) out.push({ id: o.id, owner: o.owner, size: o.displayed, seq: o.seq, ts: o.ts });
    return out;
  }
}

function stopTriggers(o: Order, lastPrice: number): boolean {
  return o.side === BUY ? lastPrice >= o.stopPrice : lastPrice <= o.stopPrice;
}

/** Insert keeping ascending stop price; equal prices keep arrival order. */
export function insertStop(stops: Order[], o: Order): void {
  let lo = 0;
  let hi = stops.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (stops[mid]!.stopPrice <= o.stopPrice) lo = mid + 1;
    else hi = mid;
  }
  stops.splice(lo, 0, o);
}

function removeStop(stops: Order[], o: Order): void {
  const i = stops.indexOf(o);
  if (i >= 0) stops.splice(i, 1);
}
