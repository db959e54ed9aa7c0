import { MatchingEngine } from '../src/index';
import { brief, setup } from './helpers';

describe('limit, IOC, price-time priority', () => {
  test('best price first, then time; the trade is at the maker price', () => {
    const { place, engine } = setup();
    place({ id: 1, side: 'sell', size: 2, price: 101 });
    place({ id: 2, side: 'sell', size: 2, price: 100 });
    place({ id: 3, side: 'sell', size: 2, price: 100 });
    expect(brief(place({ id: 4, side: 'buy', size: 5, price: 101 }))).toEqual(['A 4', 'T 100x2 m2 t4', 'D 2 filled', 'T 100x2 m3 t4', 'D 3 filled', 'T 101x1 m1 t4', 'D 4 filled']);
    expect(engine.l1('X')).toEqual({ bidPrice: undefined, bidSize: 0, askPrice: 101, askSize: 1 });
    expect(engine.lastTrade('X')).toEqual({ price: 101, size: 1, ts: 40 });
  });

  test('IOC cancels its remainder instead of resting', () => {
    const { place, engine } = setup();
    place({ id: 1, side: 'sell', size: 2, price: 100 });
    expect(brief(place({ id: 2, side: 'buy', size: 5, price: 100, tif: 'IOC' }))).toEqual(['A 2', 'T 100x2 m1 t2', 'D 1 filled', 'C 2 3 IOC', 'D 2 cancelled']);
    expect(engine.l2('X')).toEqual({ bids: [], asks: [] });
  });
});

describe('FOK: all or nothing', () => {
  test('fills when the book holds exactly enough', () => {
    const { place } = setup();
    place({ id: 1, side: 'sell', size: 2, price: 100 });
    place({ id: 2, side: 'sell', size: 3, price: 101 });
    expect(brief(place({ id: 3, side: 'buy', size: 5, price: 101, tif: 'FOK' }))).toEqual(['A 3', 'T 100x2 m1 t3', 'D 1 filled', 'T 101x3 m2 t3', 'D 2 filled', 'D 3 filled']);
  });

  test('executes nothing when one unit is missing (within the limit price)', () => {
    const { place, engine } = setup();
    place({ id: 1, side: 'sell', size: 2, price: 100 });
    place({ id: 2, side: 'sell', size: 3, price: 102 });
    const before = [engine.l2('X'), engine.lastTrade('X'), engine.liveOrders];
    expect(brief(place({ id: 3, side: 'buy', size: 3, price: 101, tif: 'FOK' }))).toEqual(['A 3', 'C 3 3 FOK', 'D 3 cancelled']);
    expect([engine.l2('X'), engine.lastTrade('X'), engine.liveOrders]).toEqual(before);
  });

  test('counts hidden iceberg size, and an own order blocks it unless STP cancels the oldest', () => {
    const { place } = setup();
    place({ id: 1, side: 'sell', size: 10, price: 100, visibleSize: 2 });
    expect(brief(place({ id: 2, side: 'buy', size: 10, price: 100, tif: 'FOK' }))).toContain('D 2 filled');
    place({ id: 3, side: 'sell', size: 2, owner: 9, price: 100 });
    place({ id: 4, side: 'sell', size: 2, price: 100 });
    expect(brief(place({ id: 5, side: 'buy', owner: 9, size: 2, price: 100, tif: 'FOK', stp: 'cancel-newest' }))).toEqual(['A 5', 'C 5 2 FOK', 'D 5 cancelled']);
    expect(brief(place({ id: 6, side: 'buy', owner: 9, size: 2, price: 100, tif: 'FOK', stp: 'cancel-oldest' }))).toEqual(['A 6', 'C 3 2 STP', 'D 3 cancelled', 'T 100x2 m4 t6', 'D 4 filled', 'D 6 filled']);
  });
});

describe('market orders', () => {
  test('never rest, and stop at the protection bound', () => {
    const { place, engine } = setup(2);
    place({ id: 1, side: 'sell', size: 1, price: 100 });
    place({ id: 2, side: 'sell', size: 1, price: 102 });
    place({ id: 3, side: 'sell', size: 1, price: 103 });
    expect(brief(place({ id: 4, side: 'buy', type: 'market', size: 5 }))).toEqual(['A 4', 'T 100x1 m1 t4', 'D 1 filled', 'T 102x1 m2 t4', 'D 2 filled', 'C 4 3 IOC', 'D 4 cancelled']);
    expect(engine.l1('X').askPrice).toBe(103);
    expect(brief(place({ id: 5, side: 'sell', type: 'market', size: 1 }))).toEqual(['A 5', 'C 5 1 NO_LIQUIDITY', 'D 5 cancelled']);
    expect(brief(place({ id: 6, side: 'buy', type: 'market', size: 1, protectionTicks: 0 }))).toEqual(['A 6', 'T 103x1 m3 t6', 'D 3 filled', 'D 6 filled']);
  });
});

describe('post-only', () => {
  test('rests when it does not cross, is rejected (book unchanged) when it would take', () => {
    const { place, modify, engine } = setup();
    place({ id: 1, side: 'sell', size: 1, price: 101 });
    expect(brief(place({ id: 2, side: 'buy', size: 1, price: 100, postOnly: true }))).toEqual(['A 2']);
    const before = engine.snapshot();
    expect(brief(place({ id: 3, side: 'buy', size: 1, price: 101, postOnly: true }))).toEqual(['R 3 WOULD_TAKE']);
    expect(brief(modify(2, 101, 1))).toEqual(['R 2 WOULD_TAKE']);
    expect(engine.snapshot()).toEqual(before);
  });
});

describe('icebergs', () => {
  test('show one slice; a consumed slice refills at the back of the queue', () => {
    const { place, engine } = setup();
    place({ id: 1, side: 'sell', size: 5, price: 100, visibleSize: 2 });
    place({ id: 2, side: 'sell', size: 1, price: 100 });
    expect(engine.l2('X').asks).toEqual([{ price: 100, size: 3, orders: 2 }]);
    expect(brief(place({ id: 3, side: 'buy', size: 2, price: 100 }))).toEqual(['A 3', 'T 100x2 m1 t3', 'D 3 filled']);
    // the refilled slice of 1 now queues behind order 2
    expect(engine.l3('X', 'sell', 100).map((o) => [o.id, o.size])).toEqual([[2, 1], [1, 2]]);
    expect(brief(place({ id: 4, side: 'buy', size: 4, price: 100 }))).toEqual(['A 4', 'T 100x1 m2 t4', 'D 2 filled', 'T 100x2 m1 t4', 'T 100x1 m1 t4', 'D 1 filled', 'D 4 filled']);
  });

  test('reducing an iceberg takes hidden size first and keeps its place', () => {
    const { place, modify, engine } = setup();
    place({ id: 1, side: 'sell', size: 10, price: 100, visibleSize: 3 });
    place({ id: 2, side: 'sell', size: 1, price: 100 });
    expect(brief(modify(1, 100, 4))).toEqual(['M 1 100x4 kept']);
    expect(engine.l3('X', 'sell', 100).map((o) => [o.id, o.size])).toEqual([[1, 3], [2, 1]]);
    expect(brief(modify(1, 100, 2))).toEqual(['M 1 100x2 kept']);
    expect(engine.l3('X', 'sell', 100).map((o) => [o.id, o.size])).toEqual([[1, 2], [2, 1]]);
  });
});

describe('modify', () => {
  test('a smaller size keeps priority; a larger size or a new price loses it', () => {
    const { place, modify, engine } = setup();
    place({ id: 1, side: 'buy', size: 5, price: 100 });
    place({ id: 2, side: 'buy', size: 5, price: 100 });
    expect(brief(modify(1, 100, 3))).toEqual(['M 1 100x3 kept']);
    expect(engine.l3('X', 'buy', 100).map((o) => o.id)).toEqual([1, 2]);
    expect(brief(modify(1, 100, 4))).toEqual(['M 1 100x4']);
    expect(engine.l3('X', 'buy', 100).map((o) => o.id)).toEqual([2, 1]);
    expect(brief(modify(2, 99, 5))).toEqual(['M 2 99x5']);
    expect(engine.l2('X').bids.map((l) => l.price)).toEqual([100, 99]);
  });

  test('a price move that crosses trades as the aggressor', () => {
    const { place, modify } = setup();
    place({ id: 1, side: 'sell', size: 2, price: 101 });
    place({ id: 2, side: 'buy', size: 3, price: 99 });
    expect(brief(modify(2, 101, 3))).toEqual(['M 2 101x3', 'T 101x2 m1 t2', 'D 1 filled']);
  });
});

describe('self-trade prevention', () => {
  const book = () => {
    const s = setup();
    s.place({ id: 1, side: 'sell', owner: 7, size: 3, price: 100 });
    s.place({ id: 2, side: 'sell', owner: 8, size: 3, price: 100 });
    return s;
  };
  test('cancel-newest cancels the incoming order', () => {
    expect(brief(book().place({ id: 3, side: 'buy', owner: 7, size: 5, price: 100, stp: 'cancel-newest' }))).toEqual(['A 3', 'C 3 5 STP', 'D 3 cancelled']);
  });
  test('cancel-oldest cancels the resting order and keeps matching', () => {
    expect(brief(book().place({ id: 3, side: 'buy', owner: 7, size: 5, price: 100, stp: 'cancel-oldest' }))).toEqual([
      'A 3', 'C 1 3 STP', 'D 1 cancelled', 'T 100x3 m2 t3', 'D 2 filled',
    ]);
  });
  test('cancel-both cancels both', () => {
    expect(brief(book().place({ id: 3, side: 'buy', owner: 7, size: 5, price: 100, stp: 'cancel-both' }))).toEqual(['A 3', 'C 1 3 STP', 'D 1 cancelled', 'C 3 5 STP', 'D 3 cancelled']);
  });
  test('decrement shrinks both by the smaller size, then matching goes on', () => {
    expect(brief(book().place({ id: 3, side: 'buy', owner: 7, size: 5, price: 100, stp: 'decrement' }))).toEqual([
      'A 3', 'C 1 3 STP', 'D 1 cancelled', 'C 3 3/2 STP', 'T 100x2 m2 t3', 'D 3 filled',
    ]);
    const { place, engine } = book();
    expect(brief(place({ id: 3, side: 'buy', owner: 7, size: 2, price: 100, stp: 'decrement' }))).toEqual(['A 3', 'C 1 2/1 STP', 'C 3 2 STP', 'D 3 cancelled']);
    expect(engine.order(1)?.remaining).toBe(1);
  });
  test('none lets an owner trade with itself', () => {
    expect(brief(book().place({ id: 3, side: 'buy', owner: 7, size: 1, price: 100 }))).toEqual(['A 3', 'T 100x1 m1 t3', 'D 3 filled']);
  });
});

describe('stop orders', () => {
  test('wait for the last trade price, then run; several fire in acceptance order; cascades continue', () => {
    const { place, engine } = setup(10);
    place({ id: 1, side: 'sell', size: 1, price: 100 });
    place({ id: 2, side: 'sell', size: 1, price: 101 });
    place({ id: 3, side: 'sell', size: 5, price: 105 });
    // two buy stops at different prices, the later-accepted one at the lower price
    expect(brief(place({ id: 10, side: 'buy', type: 'stop-market', size: 1, stopPrice: 101 }))).toEqual(['A 10']);
    expect(brief(place({ id: 11, side: 'buy', type: 'stop-limit', size: 1, stopPrice: 100, price: 105 }))).toEqual(['A 11']);
    expect(engine.order(10)?.status).toBe('stop');
    // a trade at 100 fires stop 11; its trade at 101 fires stop 10 (cascade)
    expect(brief(place({ id: 20, side: 'buy', size: 1, price: 100 }))).toEqual([
      'A 20', 'T 100x1 m1 t20', 'D 1 filled', 'S 11 @100', 'D 20 filled',
      'T 101x1 m2 t11', 'D 2 filled', 'S 10 @101', 'D 11 filled',
      'T 105x1 m3 t10', 'D 10 filled',
    ]);
  });

  test('stops triggered by one trade are released oldest first', () => {
    const { place } = setup(10);
    place({ id: 1, side: 'sell', size: 1, price: 100 });
    place({ id: 2, side: 'sell', size: 5, price: 110 });
    place({ id: 10, side: 'buy', type: 'stop-limit', size: 1, stopPrice: 99, price: 110, tif: 'IOC' });
    place({ id: 11, side: 'buy', type: 'stop-limit', size: 1, stopPrice: 95, price: 110, tif: 'IOC' });
    const events = brief(place({ id: 20, side: 'buy', size: 1, price: 100 }));
    expect(events.filter((e) => e.startsWith('S') || e.includes('t1'))).toEqual(['S 10 @100', 'S 11 @100', 'T 110x1 m2 t10', 'T 110x1 m2 t11']);
  });

  test('a stop whose price is already reached fires on arrival; pending stops can be cancelled, not modified', () => {
    const { place, cancel, modify } = setup();
    place({ id: 1, side: 'sell', size: 1, price: 100 });
    place({ id: 2, side: 'buy', size: 1, price: 100 });
    expect(brief(place({ id: 3, side: 'sell', type: 'stop-market', size: 1, stopPrice: 100 }))).toEqual(['A 3', 'S 3 @100', 'C 3 1 NO_LIQUIDITY', 'D 3 cancelled']);
    place({ id: 4, side: 'sell', type: 'stop-limit', size: 1, stopPrice: 90, price: 90 });
    expect(brief(modify(4, 91, 1))).toEqual(['R 4 NOT_MODIFIABLE']);
    expect(brief(cancel(4))).toEqual(['C 4 1 USER', 'D 4 cancelled']);
  });
});

describe('many levels emptying in the middle of the book', () => {
  test('the book stays exact through level placeholders and their compaction', () => {
    const { place, cancel, engine } = setup();
    for (let p = 1; p <= 200; p++) place({ id: p, side: 'buy', size: 1, price: p });
    // empty 150 interior levels (the best, 200, stays)
    for (let p = 20; p < 170; p++) cancel(p);
    const expected = [200, ...Array.from({ length: 30 }, (_, i) => 199 - i), ...Array.from({ length: 19 }, (_, i) => 19 - i)];
    expect(engine.l2('X', 1000).bids.map((l) => l.price)).toEqual(expected);
    expect(MatchingEngine.restore(engine.snapshot()).snapshot()).toEqual(engine.snapshot());
    // refill some emptied prices and consume from the top through former placeholders
    place({ id: 1000, side: 'buy', size: 2, price: 100 });
    place({ id: 1001, side: 'sell', size: 32, price: 100 });
    expect(engine.l1('X')).toEqual({ bidPrice: 100, bidSize: 1, askPrice: undefined, askSize: 0 });
    expect(engine.l2('X', 3).bids.map((l) => l.price)).toEqual([100, 19, 18]);
  });
});
