// The uniform-price call auction, as a pure function over plain orders: which price clears,
// and how much of each order fills there. The engine's `auction` command runs it over a
// book and a batch of new orders; this file knows nothing about books or events.
import { EngineError } from './errors';
import type { Side } from './types';

/** One order taking part in an auction. */
export interface AuctionOrder {
  readonly id: number;
  readonly side: Side;
  /**
   * Limit price. For a market order: its protection bound, or undefined for none (any price).
   * A market order's bound limits where it trades but is never itself a candidate price.
   */
  readonly price: number | undefined;
  /** A market order (implied when price is undefined): its price is never a candidate clearing price. */
  readonly market?: boolean;
  /** Size in units, a positive multiple of the lot size. */
  readonly size: number;
  /** Remainder lots go one at a time to the marginal orders in ascending (rank, id); default rank: the id. */
  readonly rank?: number;
}

export interface ClearBatchOptions {
  /** Sizes are multiples of it; fills are whole lots (default 1). */
  readonly lotSize?: number;
  /** The previous clearing or last trade price: among otherwise equal prices, the nearest one wins. */
  readonly referencePrice?: number;
}

export interface BatchClearing {
  /** The uniform price every fill is at; undefined when nothing can trade. */
  readonly price: number | undefined;
  /** Units traded (each side). */
  readonly volume: number;
  /** Buy and sell size marketable at `price` (the larger is the long side, rationed). */
  readonly buyVolume: number;
  readonly sellVolume: number;
  /** Units filled per order id; orders that fill nothing are absent. */
  readonly fills: ReadonlyMap<number, number>;
}

/** Ascending, infinities included (a - b is NaN for two equal infinities). */
const compare = (a: number, b: number): number => (a < b ? -1 : a > b ? 1 : 0);
const safePositive = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/**
 * Clears a set of buy and sell orders at one price:
 * 1. the price maximises the matched volume min(buy size at or above it, sell size at or below it);
 * 2. ties: the least imbalance |buy size − sell size| at that price; then the price nearest
 *    `referencePrice` (when given); then the lower price. Candidates are the limit orders' prices
 *    and the reference price, so the result is always one of them (a market order's protection
 *    bound is not a candidate: market orders take the price the limit orders make).
 * 3. The short side fills completely. The long side fills by price, better first (a market order
 *    at its bound, or before every limit when it has none: price priority is what leaves the rest
 *    uncrossed), and the marginal price level is rationed pro rata in whole lots, rounded
 *    down; the lots left by rounding go one each to that level's orders in ascending (rank, id).
 * The result depends on the set of orders only, never on their order in the array.
 * Throws EngineError INVALID_ARGUMENT on malformed input (duplicate ids, sizes off the lot, unsafe totals).
 */
export function clearBatch(orders: readonly AuctionOrder[], options: ClearBatchOptions = {}): BatchClearing {
  const lot = options.lotSize ?? 1;
  const ref = options.referencePrice;
  if (!safePositive(lot)) throw new EngineError('INVALID_ARGUMENT', 'lotSize must be a positive safe integer');
  if (ref !== undefined && !safePositive(ref)) throw new EngineError('INVALID_ARGUMENT', 'referencePrice must be a positive safe integer');
  const ids = new Set<number>();
  let total = 0;
  for (const o of orders) {
    if (!Number.isSafeInteger(o.id) || ids.has(o.id)) throw new EngineError('INVALID_ARGUMENT', `order id ${o.id} is not a safe integer or appears twice`);
    ids.add(o.id);
    if (o.side !== 'buy' && o.side !== 'sell') throw new EngineError('INVALID_ARGUMENT', `order ${o.id}: side must be buy or sell`);
    if (o.price !== undefined && !(Number.isSafeInteger(o.price) && o.price >= 0)) throw new EngineError('INVALID_ARGUMENT', `order ${o.id}: price must be a non-negative safe integer or undefined`);
    if (!safePositive(o.size) || o.size % lot !== 0) throw new EngineError('INVALID_ARGUMENT', `order ${o.id}: size must be a positive multiple of the lot size ${lot}`);
    if (o.rank !== undefined && !Number.isSafeInteger(o.rank)) throw new EngineError('INVALID_ARGUMENT', `order ${o.id}: rank must be a safe integer`);
    total += o.size;
  }
  if (!Number.isSafeInteger(total)) throw new EngineError('INVALID_ARGUMENT', 'the total size of an auction must be a safe integer');
  const none: BatchClearing = { price: undefined, volume: 0, buyVolume: 0, sellVolume: 0, fills: new Map() };

  const buys = orders.filter((o) => o.side === 'buy');
  const sells = orders.filter((o) => o.side === 'sell');
  if (buys.length === 0 || sells.length === 0) return none;
  // Candidate prices, ascending: every positive limit price, and the reference.
  const set = new Set<number>();
  for (const o of orders) if (o.price !== undefined && o.price > 0 && o.market !== true) set.add(o.price);
  if (ref !== undefined) set.add(ref);
  const candidates = [...set].sort((a, b) => a - b);
  // demand(p) = size of buys with no limit or limit >= p; supply(p) = sells with no limit or limit <= p.
  const buyPrices = buys.map((o) => [o.price ?? Number.POSITIVE_INFINITY, o.size] as const).sort((a, b) => compare(a[0], b[0]));
  const sellPrices = sells.map((o) => [o.price ?? 0, o.size] as const).sort((a, b) => compare(a[0], b[0]));
  let demand = buys.reduce((s, o) => s + o.size, 0);
  let supply = 0;
  let bi = 0;
  let si = 0;
  let best: { price: number; volume: number; imbalance: number; distance: number } | undefined;
  for (const p of candidates) {
    while (bi < buyPrices.length && buyPrices[bi]![0] < p) demand -= buyPrices[bi++]![1];
    while (si < sellPrices.length && sellPrices[si]![0] <= p) supply += sellPrices[si++]![1];
    const volume = demand < supply ? demand : supply;
    if (volume === 0) continue;
    const imbalance = Math.abs(demand - supply);
    const distance = ref === undefined ? 0 : Math.abs(p - ref);
    // Ascending candidates: on a full tie the lower price, found first, stays.
    if (best === undefined || volume > best.volume || (volume === best.volume && (imbalance < best.imbalance || (imbalance === best.imbalance && distance < best.distance)))) {
      best = { price: p, volume, imbalance, distance };
    }
  }
  if (best === undefined) return none;
  const price = best.price;
  const marketableBuys = buys.filter((o) => o.price === undefined || o.price >= price);
  const marketableSells = sells.filter((o) => o.price === undefined || o.price <= price);
  const buyVolume = marketableBuys.reduce((s, o) => s + o.size, 0);
  const sellVolume = marketableSells.reduce((s, o) => s + o.size, 0);
  const volume = best.volume;
  const fills = new Map<number, number>();
  if (buyVolume === volume) for (const o of marketableBuys) fills.set(o.id, o.size);
  else ration(marketableBuys, 'buy', volume / lot, lot, fills);
  if (sellVolume === volume) for (const o of marketableSells) fills.set(o.id, o.size);
  else ration(marketableSells, 'sell', volume / lot, lot, fills);
  return { price, volume, buyVolume, sellVolume, fills };
}

/** Fills `lots` lots of the long side: whole price levels best first, the marginal level pro rata. */
function ration(side: AuctionOrder[], s: Side, lots: number, lot: number, fills: Map<number, number>): void {
  // Better first: no limit, then the highest buy / lowest sell.
  const key = (o: AuctionOrder) => (o.price === undefined ? Number.NEGATIVE_INFINITY : s === 'buy' ? -o.price : o.price);
  const sorted = [...side].sort((a, b) => compare(key(a), key(b)) || a.id - b.id);
  let left = lots;
  let i = 0;
  while (left > 0 && i < sorted.length) {
    let j = i;
    let levelLots = 0;
    while (j < sorted.length && key(sorted[j]!) === key(sorted[i]!)) levelLots += sorted[j++]!.size / lot;
    const level = sorted.slice(i, j);
    if (levelLots <= left) {
      for (const o of level) fills.set(o.id, o.size);
      left -= levelLots;
    } else {
      // Pro rata in whole lots, rounded down; each order loses less than one lot, so the
      // remainder is below the number of orders here and each gets at most one more.
      const L = BigInt(left);
      const Q = BigInt(levelLots);
      const got = level.map((o) => Number((BigInt(o.size / lot) * L) / Q));
      let remainder = left - got.reduce((a, b) => a + b, 0);
      const byRank = level.map((_, k) => k).sort((a, b) => (level[a]!.rank ?? level[a]!.id) - (level[b]!.rank ?? level[b]!.id) || level[a]!.id - level[b]!.id);
      for (const k of byRank) {
        if (remainder === 0) break;
        got[k]!++;
        remainder--;
      }
      level.forEach((o, k) => {
        if (got[k]! > 0) fills.set(o.id, got[k]! * lot);
      });
      left = 0;
    }
    i = j;
  }
}
