import fc from 'fast-check';
import { clearBatch, EngineError, MatchingEngine, type AuctionOrder, type PlaceOrder } from '../src/index';
import { brief } from './helpers';

const buy = (id: number, price: number | undefined, size: number, rank?: number): AuctionOrder => ({ id, side: 'buy', price, size, ...(rank !== undefined ? { rank } : {}) });
const sell = (id: number, price: number | undefined, size: number, rank?: number): AuctionOrder => ({ id, side: 'sell', price, size, ...(rank !== undefined ? { rank } : {}) });
const fills = (r: { fills: ReadonlyMap<number, number> }) => Object.fromEntries([...r.fills].sort((a, b) => a[0] - b[0]));

describe('clearBatch: the price', () => {
  // demand: 99 -> 15, 100 -> 15, 103 -> 5, 105 -> 5; supply: 99 -> 8, 100 -> 8, 103 -> 12, 105 -> 12.
  const book = [buy(1, 105, 5), buy(2, 100, 10), sell(3, 99, 8), sell(4, 103, 4)];

  test('maximises the matched volume', () => {
    const r = clearBatch(book);
    expect(r.volume).toBe(8);
    expect([99, 100]).toContain(r.price);
    expect(r.buyVolume).toBe(15);
    expect(r.sellVolume).toBe(8);
  });

  test('equal volume and imbalance: the price nearest the reference, else the lower', () => {
    expect(clearBatch(book).price).toBe(99);
    expect(clearBatch(book, { referencePrice: 104 }).price).toBe(100);
    expect(clearBatch(book, { referencePrice: 1 }).price).toBe(99);
    // The reference itself is a candidate when it lies inside the best range.
    expect(clearBatch([buy(1, 110, 5), sell(2, 90, 5)], { referencePrice: 97 }).price).toBe(97);
    expect(clearBatch([buy(1, 110, 5), sell(2, 90, 5)], { referencePrice: 200 }).price).toBe(110);
  });

  test('equal volume: the least imbalance wins over the reference', () => {
    // demand: 100 -> 10, 101 -> 5, 102 -> 5; supply: 100 -> 5, 101 -> 7, 102 -> 7; volume 5 everywhere,
    // imbalance 5, 2, 2.
    const orders = [buy(1, 102, 5), buy(2, 100, 5), sell(3, 100, 5), sell(4, 101, 2)];
    expect(clearBatch(orders).price).toBe(101);
    expect(clearBatch(orders, { referencePrice: 100 }).price).toBe(101);
    expect(clearBatch(orders, { referencePrice: 102 }).price).toBe(102);
  });

  test('no cross, an empty side, nothing at all: no price, no fills', () => {
    for (const orders of [[buy(1, 99, 5), sell(2, 100, 5)], [buy(1, 99, 5), buy(2, 120, 1)], [sell(1, 99, 5)], []]) {
      const r = clearBatch(orders, { referencePrice: 99 });
      expect(r).toEqual({ price: undefined, volume: 0, buyVolume: 0, sellVolume: 0, fills: new Map() });
    }
  });

  test('market orders: any price; between market orders alone only the reference can price them', () => {
    // demand 5 everywhere; supply: 100 -> 3, 101 -> 8.
    const r = clearBatch([buy(1, undefined, 5), sell(2, 100, 3), sell(3, 101, 5)]);
    expect(r.price).toBe(101);
    expect(fills(r)).toEqual({ 1: 5, 2: 3, 3: 2 });
    expect(clearBatch([buy(1, undefined, 5), sell(2, undefined, 3)]).price).toBeUndefined();
    // A market order's protection bound limits it and ranks it, but is not a candidate price.
    const bounded = { id: 1, side: 'buy' as const, price: 110, market: true, size: 3 };
    const withBound = clearBatch([bounded, buy(2, 101, 5), sell(3, 100, 2)]);
    expect([withBound.price, fills(withBound)]).toEqual([100, { 1: 2, 3: 2 }]);
    // Bound 104 ranks after a limit at 105: filling the market order first would leave the
    // limit buy at 105 resting against the sell at 105 (a crossed book).
    const ranked = clearBatch([{ ...bounded, price: 104, size: 1 }, buy(2, 105, 61), sell(3, 94, 56), sell(4, 104, 5), sell(5, 105, 5)]);
    expect([ranked.price, fills(ranked)]).toEqual([104, { 2: 61, 3: 56, 4: 5 }]);
    expect(clearBatch([{ ...bounded, market: false }, buy(2, 101, 5), sell(3, 100, 2)]).price).toBe(110);
    expect(clearBatch([{ ...bounded, price: 99 }, sell(3, 100, 2)]).price).toBeUndefined();
    const priced = clearBatch([buy(1, undefined, 5), sell(2, undefined, 3)], { referencePrice: 100 });
    expect([priced.price, priced.volume, fills(priced)]).toEqual([100, 3, { 1: 3, 2: 3 }]);
  });
});

describe('clearBatch: the fills', () => {
  test('the short side fills completely; the long side by price level, then pro rata at the marginal level', () => {
    // demand 100 -> 20 (105 x10, 100 x10), supply 15: the buy at 105 is inside the price and fills first.
    const r = clearBatch([buy(1, 105, 10), buy(2, 100, 10), sell(3, 100, 15)]);
    expect([r.price, r.volume]).toEqual([100, 15]);
    expect(fills(r)).toEqual({ 1: 10, 2: 5, 3: 15 });
  });

  test('pro rata in whole lots, rounded down; remainder lots one each by rank, then id', () => {
    // 10 lots for 7 + 5 + 3 = 15: 4.67, 3.33, 2 -> 4, 3, 2 and one lot left.
    const orders = [buy(5, 100, 70), buy(6, 100, 50), buy(7, 100, 30), sell(1, 100, 100)];
    expect(fills(clearBatch(orders, { lotSize: 10 }))).toEqual({ 1: 100, 5: 50, 6: 30, 7: 20 });
    const ranked = [buy(5, 100, 70, 3), buy(6, 100, 50, 1), buy(7, 100, 30, 2), sell(1, 100, 100)];
    expect(fills(clearBatch(ranked, { lotSize: 10 }))).toEqual({ 1: 100, 5: 40, 6: 40, 7: 20 });
    // Two lots left over 4 orders of 1 lot each for 2 lots: the two lowest ranks.
    const small = [buy(1, 100, 1, 9), buy(2, 100, 1, 7), buy(3, 100, 1, 8), buy(4, 100, 1, 7), sell(9, 100, 2)];
    expect(fills(clearBatch(small))).toEqual({ 2: 1, 4: 1, 9: 2 });
    // The sell side can be the long one too.
    expect(fills(clearBatch([sell(1, 100, 3), sell(2, 100, 1), buy(3, 100, 2)]))).toEqual({ 1: 2, 3: 2 });
  });

  test('malformed input is thrown, not guessed', () => {
    expect(() => clearBatch([buy(1, 100, 5), sell(1, 100, 5)])).toThrow(EngineError);
    expect(() => clearBatch([buy(1, 100, 5)], { lotSize: 2 })).toThrow(/lot size/);
    expect(() => clearBatch([buy(1, 100, 0)])).toThrow(EngineError);
    expect(() => clearBatch([buy(1, 100.5, 1)])).toThrow(EngineError);
    expect(() => clearBatch([], { referencePrice: 0 })).toThrow(EngineError);
  });

  const orderArb = fc.record({
    side: fc.constantFrom('buy' as const, 'sell' as const),
    price: fc.option(fc.integer({ min: 95, max: 105 }), { freq: 8, nil: undefined }),
    market: fc.boolean(),
    lots: fc.integer({ min: 1, max: 20 }),
    rank: fc.option(fc.integer({ min: 0, max: 5 }), { nil: undefined }),
  });

  test('property: one price that no other beats on volume, conserved fills, an uncrossed rest, independent of the input order', () => {
    fc.assert(
      fc.property(
        fc.array(orderArb, { maxLength: 25 }),
        fc.option(fc.integer({ min: 90, max: 110 }), { nil: undefined }),
        fc.integer({ min: 1, max: 3 }),
        fc.func(fc.integer()),
        (raw, ref, lot, shuffle) => {
          // Market orders: no price, or a protection bound (which is no candidate price).
          const orders = raw.map((o, i) => ({ id: i + 1, side: o.side, price: o.price, size: o.lots * lot, market: o.market || o.price === undefined, ...(o.rank !== undefined ? { rank: o.rank } : {}) }));
          const r = clearBatch(orders, { lotSize: lot, ...(ref !== undefined ? { referencePrice: ref } : {}) });
          const permuted = orders.map((o, i) => [shuffle(i), o] as const).sort((a, b) => a[0] - b[0]).map(([, o]) => o);
          expect(clearBatch(permuted, { lotSize: lot, ...(ref !== undefined ? { referencePrice: ref } : {}) })).toEqual(r);
          const volumeAt = (p: number) => {
            const d = orders.filter((o) => o.side === 'buy' && (o.price === undefined || o.price >= p)).reduce((s, o) => s + o.size, 0);
            const s = orders.filter((o) => o.side === 'sell' && (o.price === undefined || o.price <= p)).reduce((t, o) => t + o.size, 0);
            return Math.min(d, s);
          };
          // No price beats it: with any limit price among the orders, over every price; with only
          // market orders, the reference is the one candidate (no reference: nothing trades).
          const candidates = [...orders.filter((o) => !o.market).map((o) => o.price!), ...(ref !== undefined ? [ref] : [])];
          for (const p of candidates) expect(volumeAt(p)).toBeLessThanOrEqual(r.volume);
          if (r.price !== undefined) expect(candidates).toContain(r.price);
          if (!orders.some((o) => o.market)) for (let p = 1; p <= 120; p++) expect(volumeAt(p)).toBeLessThanOrEqual(r.volume);
          let bought = 0;
          let sold = 0;
          for (const o of orders) {
            const f = r.fills.get(o.id) ?? 0;
            expect(f % lot).toBe(0);
            expect(f).toBeLessThanOrEqual(o.size);
            if (f > 0) expect(o.price === undefined || (o.side === 'buy' ? o.price >= r.price! : o.price <= r.price!)).toBe(true);
            if (o.side === 'buy') bought += f;
            else sold += f;
          }
          expect([bought, sold]).toEqual([r.volume, r.volume]);
          // What could rest does not cross: no unfilled limit buy at or above an unfilled limit sell.
          const left = orders.filter((o) => !o.market && (r.fills.get(o.id) ?? 0) < o.size);
          const topBuy = Math.max(0, ...left.filter((o) => o.side === 'buy').map((o) => o.price!));
          const lowSell = Math.min(Infinity, ...left.filter((o) => o.side === 'sell').map((o) => o.price!));
          expect(topBuy).toBeLessThan(lowSell);
        },
      ),
      { numRuns: bftxRuns(500) },
    );
  });
});

describe('MatchingEngine.auction', () => {
  const X = 'X';
  const order = (o: Partial<PlaceOrder> & Pick<PlaceOrder, 'id' | 'side' | 'size'>): PlaceOrder => ({ owner: o.id, symbol: X, type: 'limit', seq: o.id, ts: 5, ...o }) as PlaceOrder;
  const setup = () => {
    const engine = new MatchingEngine([{ symbol: X, tickSize: 1, lotSize: 1, defaultProtectionTicks: 2 }]);
    engine.place(order({ id: 1, side: 'sell', price: 101, size: 5 }));
    engine.place(order({ id: 2, side: 'sell', price: 103, size: 5 }));
    engine.place(order({ id: 3, side: 'buy', price: 98, size: 5 }));
    return engine;
  };

  test('new orders and the resting book clear at one price; GTC rests, IOC and market remainders are cancelled', () => {
    const engine = setup();
    const r = engine.auction({
      symbol: X,
      seq: 50,
      ts: 9,
      orders: [
        order({ id: 12, side: 'buy', type: 'market', size: 4 }), // limit: best ask 101 + 2 ticks = 103
        order({ id: 10, side: 'buy', price: 103, size: 6 }),
        order({ id: 11, side: 'buy', price: 102, size: 3, tif: 'IOC' }),
        order({ id: 13, side: 'sell', price: 99, size: 2 }),
      ],
    });
    // demand at 103: 6 + 4 = 10, supply 5 + 5 + 2 = 12 -> 10; at 102: 13 vs 7 -> 7; 103 clears 10.
    expect([r.price, r.volume]).toEqual([103, 10]);
    expect(brief(r.events)).toEqual([
      'A 10',
      'A 11',
      'A 12',
      'A 13',
      // buys best first (the market order's bound equals 103, then id 10 accepted first), sells best first.
      'T 103x2 m10 t13',
      'T 103x4 m1 t10',
      'T 103x1 m1 t12',
      'T 103x3 m2 t12',
      'D 1 filled',
      'D 10 filled',
      'C 11 3 IOC',
      'D 11 cancelled',
      'D 12 filled',
      'D 13 filled',
    ]);
    // Sell side long at 103: 5 + 5 + 2 = 12 for 10; price priority fills 99 and 101, the 103 level gets 3.
    expect(engine.l2(X)).toEqual({ bids: [{ price: 98, size: 5, orders: 1 }], asks: [{ price: 103, size: 2, orders: 1 }] });
    expect(engine.lastTrade(X)).toEqual({ price: 103, size: 10, ts: 9 });
    expect(engine.order(2)?.remaining).toBe(2);
  });

  test('the order of the orders given changes nothing', () => {
    const orders = [
      order({ id: 10, side: 'buy', price: 101, size: 3 }),
      order({ id: 11, side: 'buy', price: 101, size: 3 }),
      order({ id: 12, side: 'buy', price: 102, size: 1 }),
      order({ id: 13, side: 'sell', price: 97, size: 2, postOnly: true }),
      order({ id: 14, side: 'buy', price: 100, size: 1, postOnly: true }),
    ];
    const a = setup();
    const b = setup();
    const ra = a.auction({ symbol: X, seq: 1, ts: 1, orders });
    const rb = b.auction({ symbol: X, seq: 1, ts: 1, orders: [...orders].reverse() });
    expect(rb).toEqual(ra);
    expect(b.snapshot()).toEqual(a.snapshot());
    // 7 lots of buys at >= 101 for 5: 102 x1 fills, then 4 lots pro rata over 3 + 3: 2 each.
    expect(brief(ra.events).filter((e) => e.startsWith('T'))).toEqual(['T 101x1 m1 t12', 'T 101x2 m1 t10', 'T 101x2 m1 t11']);
    // Post-only: the sell at 97 would cross the bid at 98 (cancelled), the buy at 100 rests.
    expect(brief(ra.events)).toContain('C 13 2 WOULD_TAKE');
    expect(a.l2(X).bids[0]).toEqual({ price: 101, size: 2, orders: 2 });
    expect(a.order(14)?.status).toBe('resting');
  });

  test('post-only orders of one auction that cross each other are both cancelled; a market order with nothing opposite is NO_LIQUIDITY', () => {
    const engine = new MatchingEngine([{ symbol: X, tickSize: 1, lotSize: 1 }]);
    const r = engine.auction({
      symbol: X,
      seq: 1,
      ts: 1,
      orders: [order({ id: 1, side: 'buy', price: 101, size: 1, postOnly: true }), order({ id: 2, side: 'sell', price: 100, size: 1, postOnly: true }), order({ id: 3, side: 'buy', type: 'market', size: 1 })],
    });
    expect(r.price).toBeUndefined();
    expect(brief(r.events)).toEqual(['A 1', 'A 2', 'A 3', 'C 1 1 WOULD_TAKE', 'D 1 cancelled', 'C 2 1 WOULD_TAKE', 'D 2 cancelled', 'C 3 1 NO_LIQUIDITY', 'D 3 cancelled']);
    expect(engine.liveOrders).toBe(0);
    expect(engine.lastTrade(X)).toBeUndefined();
  });

  test('stops, FOK, self-trade prevention and bad orders are rejected; the rest still clears', () => {
    const engine = setup();
    const r = engine.auction({
      symbol: X,
      seq: 1,
      ts: 1,
      orders: [
        order({ id: 20, side: 'buy', type: 'stop-limit', price: 101, stopPrice: 100, size: 1 }),
        order({ id: 21, side: 'buy', price: 101, size: 1, tif: 'FOK' }),
        order({ id: 22, side: 'buy', price: 101, size: 1, stp: 'cancel-newest' }),
        order({ id: 23, side: 'buy', price: 101, size: 1, symbol: 'Y' }),
        order({ id: 1, side: 'buy', price: 101, size: 1 }),
        order({ id: 24, side: 'buy', price: 101, size: 1 }),
        order({ id: 24, side: 'buy', price: 101, size: 2 }),
      ],
    });
    expect(brief(r.events)).toEqual(['R 20 INVALID_TYPE', 'R 21 INVALID_TIF', 'R 22 INVALID_STP', 'R 23 UNKNOWN_SYMBOL', 'R 1 DUPLICATE_ORDER_ID', 'R 24 DUPLICATE_ORDER_ID', 'A 24', 'T 101x1 m1 t24', 'D 24 filled']);
    expect(engine.auctionRejection(order({ id: 30, side: 'sell', price: 1, size: 1, postOnly: true }))).toBeUndefined();
    expect(engine.auctionRejection(order({ id: 30, side: 'sell', type: 'market', size: 1, tif: 'FOK' }))?.reason).toBe('INVALID_TIF');
    expect(() => engine.auction({ symbol: 'Y', seq: 1, ts: 1, orders: [] })).toThrow(EngineError);
    expect(() => engine.auction({ symbol: X, seq: -1, ts: 1, orders: [] })).toThrow(EngineError);
    expect(() => engine.auction({ symbol: X, seq: 1, ts: 1, orders: [], referencePrice: 0 })).toThrow(EngineError);
  });

  test('the last trade price is the next reference, and an auction state restores', () => {
    const engine = new MatchingEngine([{ symbol: X, tickSize: 1, lotSize: 1 }]);
    const cross = (id: number) => [order({ id, side: 'buy', price: 110, size: 1 }), order({ id: id + 1, side: 'sell', price: 90, size: 1 })];
    // Volume 1 and no imbalance at 90, 110 and the reference: the reference.
    expect(engine.auction({ symbol: X, seq: 1, ts: 1, orders: cross(1), referencePrice: 100 }).price).toBe(100);
    expect(engine.lastTrade(X)).toEqual({ price: 100, size: 1, ts: 1 });
    const copy = MatchingEngine.restore(engine.snapshot());
    // No reference given: the last trade price is it (without one, the lower price, 90, would win).
    const a = engine.auction({ symbol: X, seq: 2, ts: 2, orders: cross(3) });
    expect(a.price).toBe(100);
    expect(copy.auction({ symbol: X, seq: 2, ts: 2, orders: cross(3) })).toEqual(a);
    expect(copy.snapshot()).toEqual(engine.snapshot());
    expect(new MatchingEngine([{ symbol: X, tickSize: 1, lotSize: 1 }]).auction({ symbol: X, seq: 1, ts: 1, orders: cross(1) }).price).toBe(90);
  });
});
