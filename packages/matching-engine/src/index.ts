// @bftx/matching-engine: a deterministic integer limit order book.
export { clearBatch, type AuctionOrder, type BatchClearing, type ClearBatchOptions } from './auction';
export { MatchingEngine, type OrderInfo } from './engine';
export { EngineError } from './errors';
export type {
  AuctionCommand,
  AuctionResult,
  CancelOrder,
  CancelReason,
  CommandStamp,
  EngineEvent,
  L1,
  L2,
  L2Level,
  L3Order,
  LastTrade,
  ModifyOrder,
  OrderType,
  PlaceOrder,
  RejectReason,
  SelfTradePrevention,
  Side,
  SymbolConfig,
  TimeInForce,
  TradeEvent,
} from './types';
