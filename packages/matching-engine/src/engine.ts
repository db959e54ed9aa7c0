import {
  BUY,
  KIND_LIMIT,
  KIND_MARKET,
  KIND_STOP_LIMIT,
  KIND_STOP_MARKET,
  Order,
  OrderBook,
  SELL,
  STP_CODES,
  TIF_CODES,
  TIF_GTC,
  TIF_IOC,
  type CallContext,
} from './book';
import { EngineError } from './errors';
import { readSnapshot, writeSnapshot, writeSnapshotView } from './snapshot';
import type { AuctionCommand, AuctionResult, CancelOrder, EngineEvent, L1, L2, L3Order, LastTrade, ModifyOrder, PlaceOrder, RejectReason, Side, SymbolConfig } from './types';

/** A resting or pending order as the engine holds it. */
export interface OrderInfo {
  readonly id: number;
  readonly owner: number;
  readonly symbol: string;
  readonly side: Side;
  readonly status: 'resting' | 'stop';
  readonly price: number;
  readonly stopPrice: number;
  readonly remaining: number;
  readonly displayed: number;
}

const KINDS: Record<string, number> = { limit: KIND_LIMIT, market: KIND_MARKET, 'stop-limit': KIND_STOP_LIMIT, 'stop-market': KIND_STOP_MARKET };
const DEFAULT_PROTECTION_TICKS = 100;

type Rejection = [RejectReason, string];

const isSafeNonNegative = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isSafePositive = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/**
 * Deterministic matching for any number of symbols: one OrderBook per symbol,
 * one id space for orders. Every command returns the events it caused; a
 * rejected command returns one `rejected` event and changes nothing.
 */
export class MatchingEngine {
  private readonly books = new Map<string, OrderBook>();
  private readonly configs: SymbolConfig[] = [];
  private readonly protection = new Map<string, number>();
  private readonly index = new Map<number, Order>();
  private nextAccept = 0;
  /** Reused for every call: the engine is synchronous and never re-entered. */
  private readonly ctx: CallContext = { events: [], seq: 0, ts: 0 };
  /** Rejected commands since construction, by reason (metrics; not part of the snapshot). */
  readonly rejectedCounts: Partial<Record<RejectReason, number>> = {};

  constructor(symbols: readonly SymbolConfig[]) {
    if (!Array.isArray(symbols) || symbols.length === 0) throw new EngineError('INVALID_CONFIG', 'at least one symbol is required');
    for (const s of symbols) {
      if (typeof s?.symbol !== 'string' || s.symbol.length === 0 || s.symbol.length > 64) throw new EngineError('INVALID_CONFIG', 'symbol must be a non-empty string of at most 64 characters');
      if (this.books.has(s.symbol)) throw new EngineError('INVALID_CONFIG', `symbol ${s.symbol} is listed twice`);
      if (!isSafePositive(s.tickSize) || !isSafePositive(s.lotSize)) throw new EngineError('INVALID_CONFIG', `${s.symbol}: tickSize and lotSize must be positive safe integers`);
      const protection = s.defaultProtectionTicks ?? DEFAULT_PROTECTION_TICKS;
      if (!isSafeNonNegative(protection)) throw new EngineError('INVALID_CONFIG', `${s.symbol}: defaultProtectionTicks must be a non-negative safe integer`);
      const config = { symbol: s.symbol, tickSize: s.tickSize, lotSize: s.lotSize, defaultProtectionTicks: protection };
      this.configs.push(config);
      this.protection.set(s.symbol, protection);
      this.books.set(s.symbol, new OrderBook(s.symbol, s.tickSize, s.lotSize, this.index));
    }
  }

  /** Symbols in configuration order. */
  get symbols(): readonly SymbolConfig[] {
    return this.configs;
  }

  // ---- commands ----

  place(cmd: PlaceOrder): EngineEvent[] {
    const events: EngineEvent[] = [];
    const rejection = this.checkPlace(cmd);
    if (rejection !== undefined) return this.reject(events, cmd, rejection);
    const book = this.books.get(cmd.symbol)!;
    const order = this.newOrder(cmd);
    events.push({ type: 'accepted', orderId: cmd.id });
    book.submit(order, this.context(events, cmd));
    return events;
  }

  cancel(cmd: CancelOrder): EngineEvent[] {
    const events: EngineEvent[] = [];
    const found = this.findLive(cmd);
    if (Array.isArray(found)) return this.reject(events, cmd, found);
    found.book.cancel(found.order, this.context(events, cmd));
    return events;
  }

  modify(cmd: ModifyOrder): EngineEvent[] {
    const events: EngineEvent[] = [];
    const found = this.findLive(cmd);
    if (Array.isArray(found)) return this.reject(events, cmd, found);
    const rejection = this.checkModify(found, cmd);
    if (rejection !== undefined) return this.reject(events, cmd, rejection);
    found.book.modify(found.order, cmd.price, cmd.size, this.context(events, cmd));
    return events;
  }

  /**
   * One uniform-price call auction on `cmd.symbol`: the new `orders` and the resting book clear
   * together at the one price that maximises the matched volume (ties: least imbalance, then
   * nearest `referencePrice` — by default the last trade price — then the lower price). The
   * short side fills completely; the long side by price level, the marginal level pro rata in
   * whole lots (rounding remainders by `remainderRank`, default the order id). Nothing depends
   * on the order of `orders` (given distinct ids) or on arrival time.
   * - Limit GTC (icebergs too, with their whole size): the unfilled rest rests. Limit IOC and
   *   market (IOC): the rest is cancelled (IOC). A market order is a limit at its bound,
   *   `protectionTicks` from the best opposite resting price before the auction (none: cancelled
   *   NO_LIQUIDITY), except that its bound is never a candidate price.
   * - Post-only: takes no part in the clearing; afterwards it rests unless it would cross the
   *   book, or another post-only order of the same auction that does not, then it is cancelled
   *   (WOULD_TAKE).
   * - Refused here (rejected events): stop orders, FOK, self-trade prevention other than none.
   * - Trades print at the clearing price; the older order of each pair is the maker. The last
   *   trade becomes (clearing price, volume). Pending stops are not triggered.
   * Events: rejections, then `accepted` in id order, then trades, then each order's end
   * (`cancelled`/`done`) in id order. Throws EngineError for an unknown symbol or a bad stamp
   * or reference price.
   */
  auction(cmd: AuctionCommand): AuctionResult {
    const book = this.book(cmd.symbol);
    if (!isSafeNonNegative(cmd.seq) || !isSafeNonNegative(cmd.ts)) throw new EngineError('INVALID_ARGUMENT', 'seq and ts must be non-negative safe integers');
    if (cmd.referencePrice !== undefined && this.checkPrice(book, cmd.referencePrice, 'referencePrice') !== undefined) throw new EngineError('INVALID_ARGUMENT', 'referencePrice must be a positive multiple of the tick size');
    if (!Array.isArray(cmd.orders)) throw new EngineError('INVALID_ARGUMENT', 'orders must be an array');
    const events: EngineEvent[] = [];
    const valid: PlaceOrder[] = [];
    const ids = new Set<number>();
    for (const o of cmd.orders) {
      let rejection = this.checkPlace(o, true);
      if (rejection === undefined && o.symbol !== cmd.symbol) rejection = ['INVALID_ORDER', `order for ${o.symbol} in an auction of ${cmd.symbol}`];
      if (rejection === undefined && ids.has(o.id)) rejection = ['DUPLICATE_ORDER_ID', `order ${o.id} appears twice in the auction`];
      if (rejection !== undefined) this.reject(events, o, rejection);
      else {
        ids.add(o.id);
        valid.push(o);
      }
    }
    const fresh = valid.sort((a, b) => a.id - b.id).map((o) => {
      events.push({ type: 'accepted', orderId: o.id });
      return this.newOrder(o);
    });
    const rank = cmd.remainderRank;
    const result = book.auction(fresh, cmd.referencePrice ?? (book.hasLastTrade ? book.lastPrice : undefined), rank, this.context(events, cmd));
    return { price: result.price, volume: result.volume, events };
  }

  /**
   * Why `cmd` could not enter an auction now (the checks of `place`, less post-only's
   * crossing, which an auction decides after clearing; plus no stops, FOK or STP), or undefined.
   * Changes nothing.
   */
  auctionRejection(cmd: PlaceOrder): { reason: RejectReason; message: string } | undefined {
    const rejection = this.checkPlace(cmd, true);
    return rejection === undefined ? undefined : { reason: rejection[0], message: rejection[1] };
  }

  private newOrder(cmd: PlaceOrder): Order {
    const kind = KINDS[cmd.type]!;
    const isMarket = kind === KIND_MARKET || kind === KIND_STOP_MARKET;
    return new Order(
      cmd.symbol,
      cmd.id,
      cmd.owner,
      cmd.side === 'buy' ? BUY : SELL,
      kind,
      isMarket ? 0 : cmd.price!,
      cmd.size,
      cmd.visibleSize ?? 0,
      STP_CODES[cmd.stp ?? 'none'],
      cmd.postOnly === true,
      cmd.tif === undefined ? (isMarket ? TIF_IOC : TIF_GTC) : TIF_CODES[cmd.tif],
      cmd.stopPrice ?? 0,
      isMarket ? (cmd.protectionTicks ?? this.protection.get(cmd.symbol)!) : 0,
      cmd.seq,
      cmd.ts,
      this.nextAccept++,
    );
  }

  private context(events: EngineEvent[], cmd: { seq: number; ts: number }): CallContext {
    const ctx = this.ctx;
    ctx.events = events;
    ctx.seq = cmd.seq;
    ctx.ts = cmd.ts;
    return ctx;
  }

  // ---- validation: nothing here changes state ----

  private reject(events: EngineEvent[], cmd: unknown, [reason, message]: Rejection): EngineEvent[] {
    this.rejectedCounts[reason] = (this.rejectedCounts[reason] ?? 0) + 1;
    const id = (cmd as { id?: unknown } | null)?.id;
    events.push({ type: 'rejected', orderId: typeof id === 'number' ? id : -1, reason, message });
    return events;
  }

  private checkCommon(cmd: { symbol: string; id: number; seq: number; ts: number } | null): Rejection | undefined {
    if (typeof cmd !== 'object' || cmd === null) return ['INVALID_ORDER', 'command must be an object'];
    if (typeof cmd.symbol !== 'string' || !this.books.has(cmd.symbol)) return ['UNKNOWN_SYMBOL', `unknown symbol ${JSON.stringify(cmd.symbol)}`];
    if (!isSafeNonNegative(cmd.seq) || !isSafeNonNegative(cmd.ts)) return ['INVALID_STAMP', 'seq and ts must be non-negative safe integers'];
    if (!isSafeNonNegative(cmd.id)) return ['INVALID_ID', 'order id must be a non-negative safe integer'];
    return undefined;
  }

  private checkPrice(book: OrderBook, price: unknown, what: string): Rejection | undefined {
    if (!isSafePositive(price)) return ['INVALID_PRICE', `${what} must be a positive safe integer, got ${String(price)}`];
    if (price % book.tickSize !== 0) return ['PRICE_OFF_TICK', `${what} ${price} is not a multiple of the tick size ${book.tickSize}`];
    return undefined;
  }

  private checkSize(book: OrderBook, size: unknown, what: string): Rejection | undefined {
    if (!isSafePositive(size)) return ['INVALID_SIZE', `${what} must be a positive safe integer, got ${String(size)}`];
    if (size % book.lotSize !== 0) return ['SIZE_OFF_LOT', `${what} ${size} is not a multiple of the lot size ${book.lotSize}`];
    return undefined;
  }

  private checkPlace(cmd: PlaceOrder, auction = false): Rejection | undefined {
    const common = this.checkCommon(cmd);
    if (common !== undefined) return common;
    const book = this.books.get(cmd.symbol)!;
    if (!isSafeNonNegative(cmd.owner)) return ['INVALID_OWNER', 'owner must be a non-negative safe integer'];
    if (cmd.side !== 'buy' && cmd.side !== 'sell') return ['INVALID_SIDE', `side must be "buy" or "sell", got ${JSON.stringify(cmd.side)}`];
    const kind = typeof cmd.type === 'string' && Object.hasOwn(KINDS, cmd.type) ? KINDS[cmd.type] : undefined;
    if (kind === undefined) return ['INVALID_TYPE', `type must be limit, market, stop-limit or stop-market, got ${JSON.stringify(cmd.type)}`];
    const sizeProblem = this.checkSize(book, cmd.size, 'size');
    if (sizeProblem !== undefined) return sizeProblem;
    if (cmd.stp !== undefined && !Object.hasOwn(STP_CODES, cmd.stp)) return ['INVALID_STP', `unknown self-trade prevention mode ${JSON.stringify(cmd.stp)}`];
    const isMarket = kind === KIND_MARKET || kind === KIND_STOP_MARKET;
    const isStop = kind === KIND_STOP_LIMIT || kind === KIND_STOP_MARKET;
    if (cmd.tif !== undefined && !Object.hasOwn(TIF_CODES, cmd.tif)) return ['INVALID_TIF', `time in force must be GTC, IOC or FOK, got ${JSON.stringify(cmd.tif)}`];
    if (isMarket && cmd.tif === 'GTC') return ['INVALID_TIF', 'market orders never rest: use IOC or FOK'];
    if (isMarket) {
      if (cmd.price !== undefined) return ['INVALID_ORDER', 'market orders take no price (use protectionTicks to bound them)'];
      if (cmd.protectionTicks !== undefined && !isSafeNonNegative(cmd.protectionTicks)) return ['INVALID_ORDER', 'protectionTicks must be a non-negative safe integer'];
    } else {
      const priceProblem = this.checkPrice(book, cmd.price, 'price');
      if (priceProblem !== undefined) return priceProblem;
      if (cmd.protectionTicks !== undefined) return ['INVALID_ORDER', 'protectionTicks applies to market and stop-market orders only'];
    }
    if (isStop) {
      const stopProblem = this.checkPrice(book, cmd.stopPrice, 'stopPrice');
      if (stopProblem !== undefined) return stopProblem;
    } else if (cmd.stopPrice !== undefined) return ['INVALID_ORDER', 'stopPrice applies to stop orders only'];
    const gtcLimit = kind === KIND_LIMIT && (cmd.tif ?? 'GTC') === 'GTC';
    if (cmd.postOnly !== undefined && typeof cmd.postOnly !== 'boolean') return ['INVALID_ORDER', 'postOnly must be a boolean'];
    if (cmd.postOnly === true && !gtcLimit) return ['INVALID_ORDER', 'postOnly applies to GTC limit orders only'];
    if (cmd.visibleSize !== undefined) {
      if (!gtcLimit) return ['INVALID_ORDER', 'icebergs (visibleSize) are GTC limit orders only'];
      const visibleProblem = this.checkSize(book, cmd.visibleSize, 'visibleSize');
      if (visibleProblem !== undefined) return visibleProblem;
      if (cmd.visibleSize >= cmd.size) return ['INVALID_ORDER', 'visibleSize must be smaller than size'];
    }
    if (this.index.has(cmd.id)) return ['DUPLICATE_ORDER_ID', `order ${cmd.id} is already live`];
    if (auction) {
      if (isStop) return ['INVALID_TYPE', 'stop orders cannot enter an auction'];
      if (cmd.tif === 'FOK') return ['INVALID_TIF', 'FOK cannot enter an auction (a pro-rata fill is never all-or-nothing)'];
      if ((cmd.stp ?? 'none') !== 'none') return ['INVALID_STP', 'self-trade prevention does not apply in an auction: use stp none'];
      return undefined;
    }
    if (cmd.postOnly === true && book.crosses(cmd.side === 'buy' ? BUY : SELL, cmd.price!)) return ['WOULD_TAKE', 'post-only order would take liquidity'];
    return undefined;
  }

  /** The live order a cancel or modify names, with its book; or why there is none. */
  private findLive(cmd: CancelOrder | ModifyOrder): Rejection | { order: Order; book: OrderBook } {
    const common = this.checkCommon(cmd);
    if (common !== undefined) return common;
    const order = this.index.get(cmd.id);
    if (order === undefined || order.symbol !== cmd.symbol) return ['UNKNOWN_ORDER', `no live order ${cmd.id} in ${cmd.symbol}`];
    return { order, book: this.books.get(cmd.symbol)! };
  }

  private checkModify({ order, book }: { order: Order; book: OrderBook }, cmd: ModifyOrder): Rejection | undefined {
    if (order.level === null) return ['NOT_MODIFIABLE', 'pending stop orders cannot be modified: cancel and place again'];
    const problem = this.checkPrice(book, cmd.price, 'price') ?? this.checkSize(book, cmd.size, 'size');
    if (problem !== undefined) return problem;
    if (order.postOnly && cmd.price !== order.price && book.crosses(order.side, cmd.price)) return ['WOULD_TAKE', 'post-only order would take liquidity at the new price'];
    return undefined;
  }

  // ---- queries ----

  private book(symbol: string): OrderBook {
    const book = this.books.get(symbol);
    if (book === undefined) throw new EngineError('UNKNOWN_SYMBOL', `unknown symbol ${JSON.stringify(symbol)}`);
    return book;
  }

  l1(symbol: string): L1 {
    const book = this.book(symbol);
    const bid = book.bids.best();
    const ask = book.asks.best();
    return { bidPrice: bid?.price, bidSize: bid?.displayed ?? 0, askPrice: ask?.price, askSize: ask?.displayed ?? 0 };
  }

  l2(symbol: string, depth = 10): L2 {
    if (!isSafePositive(depth)) throw new EngineError('INVALID_ARGUMENT', 'depth must be a positive integer');
    const book = this.book(symbol);
    return { bids: book.depth(BUY, depth), asks: book.depth(SELL, depth) };
  }

  l3(symbol: string, side: Side, price: number): L3Order[] {
    if (side !== 'buy' && side !== 'sell') throw new EngineError('INVALID_ARGUMENT', 'side must be "buy" or "sell"');
    return this.book(symbol).ordersAt(side === 'buy' ? BUY : SELL, price);
  }

  lastTrade(symbol: string): LastTrade | undefined {
    const book = this.book(symbol);
    return book.hasLastTrade ? { price: book.lastPrice, size: book.lastSize, ts: book.lastTs } : undefined;
  }

  /** A live order (resting or pending stop), or undefined. */
  order(id: number): OrderInfo | undefined {
    const o = this.index.get(id);
    if (o === undefined) return undefined;
    return {
      id: o.id,
      owner: o.owner,
      symbol: o.symbol,
      side: o.side === BUY ? 'buy' : 'sell',
      status: o.level !== null ? 'resting' : 'stop',
      price: o.price,
      stopPrice: o.stopPrice,
      remaining: o.remaining,
      displayed: o.displayed,
    };
  }

  /** Number of live orders (resting and pending stops). */
  get liveOrders(): number {
    return this.index.size;
  }

  // ---- snapshot ----

  /** The canonical bytes of the whole engine state. Equal states give equal bytes. */
  snapshot(): Uint8Array {
    return writeSnapshot(this.nextAccept, this.configs, [...this.books.values()]);
  }

  /**
   * Calls `use` with the snapshot bytes without copying them (to hash the state, say) and
   * returns its result. The bytes are a view of a reused buffer: do not keep them past `use`.
   */
  withSnapshot<T>(use: (bytes: Uint8Array) => T): T {
    return use(writeSnapshotView(this.nextAccept, this.configs, [...this.books.values()]));
  }

  /** An engine in exactly the state `bytes` describes. Throws EngineError INVALID_SNAPSHOT on malformed input. */
  static restore(bytes: Uint8Array): MatchingEngine {
    return readSnapshot(bytes, (configs, nextAccept) => {
      const engine = new MatchingEngine(configs);
      engine.nextAccept = nextAccept;
      return { books: engine.books, index: engine.index, engine };
    });
  }
}
