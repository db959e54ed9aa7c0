/** Buy or sell. */
export type Side = 'buy' | 'sell';
/** GTC rests the remainder; IOC cancels it; FOK executes all or nothing. */
export type TimeInForce = 'GTC' | 'IOC' | 'FOK';
/** What happens when an order would trade with a resting order of the same owner (the incoming order's mode decides). */
export type SelfTradePrevention = 'none' | 'cancel-newest' | 'cancel-oldest' | 'cancel-both' | 'decrement';
export type OrderType = 'limit' | 'market' | 'stop-limit' | 'stop-market';

/** A tradable symbol. Prices must be multiples of tickSize, sizes multiples of lotSize (both positive integers). */
export interface SymbolConfig {
  readonly symbol: string;
  readonly tickSize: number;
  readonly lotSize: number;
  /** Market orders may trade at most this many ticks through the best opposite price at arrival (default 100). */
  readonly defaultProtectionTicks?: number;
}

/** Fields every command carries: the caller's sequence number and timestamp (the engine has no clock). */
export interface CommandStamp {
  readonly seq: number;
  readonly ts: number;
}

export interface PlaceOrder extends CommandStamp {
  readonly id: number;
  readonly owner: number;
  readonly symbol: string;
  readonly side: Side;
  readonly type: OrderType;
  /** Total size in units (a multiple of the lot size). */
  readonly size: number;
  /** Limit price (limit, stop-limit). */
  readonly price?: number;
  /** Trigger price (stop-limit, stop-market). */
  readonly stopPrice?: number;
  /** Limit and stop-limit: GTC (default), IOC or FOK. Market and stop-market: IOC (default) or FOK. */
  readonly tif?: TimeInForce;
  /** Limit GTC only: rejected if it would take liquidity. */
  readonly postOnly?: boolean;
  /** Limit GTC only: an iceberg showing at most this much at a time. */
  readonly visibleSize?: number;
  readonly stp?: SelfTradePrevention;
  /** Market and stop-market: how many ticks through the best opposite price it may trade. */
  readonly protectionTicks?: number;
}

export interface CancelOrder extends CommandStamp {
  readonly id: number;
  readonly symbol: string;
}

/**
 * One uniform-price auction on a symbol: `orders` (new orders, each with its own id, owner, stamp)
 * and the symbol's resting book clear together at one price. See `MatchingEngine.auction`.
 */
export interface AuctionCommand extends CommandStamp {
  readonly symbol: string;
  readonly orders: readonly PlaceOrder[];
  /** Tie-break toward this price (default: the symbol's last trade price, if any). */
  readonly referencePrice?: number;
  /** Who gets the lots left by pro-rata rounding: ascending rank(id), then id (default: the id). Must return safe integers. */
  readonly remainderRank?: (orderId: number) => number;
}

/** What an auction did: its price (undefined when nothing traded), the volume, and the events. */
export interface AuctionResult {
  readonly price: number | undefined;
  readonly volume: number;
  readonly events: EngineEvent[];
}

/** New price and new total remaining size of a resting order. */
export interface ModifyOrder extends CommandStamp {
  readonly id: number;
  readonly symbol: string;
  readonly price: number;
  readonly size: number;
}

/** Why a command was refused. The book is unchanged after a rejection. */
export type RejectReason =
  | 'UNKNOWN_SYMBOL'
  | 'INVALID_ID'
  | 'INVALID_OWNER'
  | 'INVALID_STAMP'
  | 'INVALID_SIDE'
  | 'INVALID_TYPE'
  | 'INVALID_TIF'
  | 'INVALID_STP'
  | 'INVALID_PRICE'
  | 'PRICE_OFF_TICK'
  | 'INVALID_SIZE'
  | 'SIZE_OFF_LOT'
  | 'INVALID_ORDER'
  | 'DUPLICATE_ORDER_ID'
  | 'UNKNOWN_ORDER'
  | 'NOT_MODIFIABLE'
  | 'WOULD_TAKE';

/** Why size left an order without trading. */
export type CancelReason = 'USER' | 'IOC' | 'FOK' | 'STP' | 'NO_LIQUIDITY' | 'WOULD_TAKE';

export type EngineEvent =
  | { readonly type: 'accepted'; readonly orderId: number }
  | { readonly type: 'rejected'; readonly orderId: number; readonly reason: RejectReason; readonly message: string }
  | {
      readonly type: 'trade';
      readonly price: number;
      readonly size: number;
      readonly makerId: number;
      readonly takerId: number;
      readonly makerOwner: number;
      readonly takerOwner: number;
      readonly aggressor: Side;
      readonly seq: number;
      readonly ts: number;
    }
  | { readonly type: 'cancelled'; readonly orderId: number; readonly size: number; readonly remaining: number; readonly reason: CancelReason }
  | { readonly type: 'triggered'; readonly orderId: number; readonly lastPrice: number }
  | { readonly type: 'modified'; readonly orderId: number; readonly price: number; readonly size: number; readonly priorityKept: boolean }
  | { readonly type: 'done'; readonly orderId: number; readonly reason: 'filled' | 'cancelled' };

export type TradeEvent = Extract<EngineEvent, { type: 'trade' }>;

/** Best bid and ask with their displayed sizes. */
export interface L1 {
  readonly bidPrice: number | undefined;
  readonly bidSize: number;
  readonly askPrice: number | undefined;
  readonly askSize: number;
}

/** Price levels best first, with displayed size and order count. */
export interface L2Level {
  readonly price: number;
  readonly size: number;
  readonly orders: number;
}
export interface L2 {
  readonly bids: L2Level[];
  readonly asks: L2Level[];
}

/** One resting order as the market sees it (hidden iceberg size is not shown). */
export interface L3Order {
  readonly id: number;
  readonly owner: number;
  readonly size: number;
  readonly seq: number;
  readonly ts: number;
}

export interface LastTrade {
  readonly price: number;
  readonly size: number;
  readonly ts: number;
}
