import { EngineError, MatchingEngine, type PlaceOrder, type RejectReason } from '../src/index';

const SYMBOLS = [
  { symbol: 'X', tickSize: 1, lotSize: 1 },
  { symbol: 'Y', tickSize: 5, lotSize: 10 },
];

function seeded(): MatchingEngine {
  const e = new MatchingEngine(SYMBOLS);
  e.place({ id: 1, owner: 1, symbol: 'X', side: 'sell', type: 'limit', size: 5, price: 101, seq: 1, ts: 1 });
  e.place({ id: 2, owner: 2, symbol: 'X', side: 'buy', type: 'limit', size: 5, price: 99, seq: 2, ts: 2 });
  e.place({ id: 3, owner: 2, symbol: 'X', side: 'buy', type: 'stop-limit', size: 5, price: 120, stopPrice: 110, seq: 3, ts: 3 });
  return e;
}

const good: PlaceOrder = { id: 50, owner: 1, symbol: 'X', side: 'buy', type: 'limit', size: 1, price: 100, seq: 9, ts: 9 };
const bad = (patch: Record<string, unknown>) => ({ ...good, ...patch }) as PlaceOrder;

const placeCases: Array<[string, PlaceOrder, RejectReason]> = [
  ['unknown symbol', bad({ symbol: 'NOPE' }), 'UNKNOWN_SYMBOL'],
  ['non-string symbol', bad({ symbol: 7 }), 'UNKNOWN_SYMBOL'],
  ['negative seq', bad({ seq: -1 }), 'INVALID_STAMP'],
  ['fractional ts', bad({ ts: 1.5 }), 'INVALID_STAMP'],
  ['fractional id', bad({ id: 1.5 }), 'INVALID_ID'],
  ['string id', bad({ id: '50' }), 'INVALID_ID'],
  ['unsafe owner', bad({ owner: 2 ** 53 }), 'INVALID_OWNER'],
  ['bad side', bad({ side: 'long' }), 'INVALID_SIDE'],
  ['bad type', bad({ type: 'trailing-stop' }), 'INVALID_TYPE'],
  ['prototype key as type', bad({ type: 'toString' }), 'INVALID_TYPE'],
  ['zero size', bad({ size: 0 }), 'INVALID_SIZE'],
  ['negative size', bad({ size: -5 }), 'INVALID_SIZE'],
  ['fractional size', bad({ size: 0.5 }), 'INVALID_SIZE'],
  ['NaN size', bad({ size: Number.NaN }), 'INVALID_SIZE'],
  ['unsafe size', bad({ size: 2 ** 53 + 2 }), 'INVALID_SIZE'],
  ['size off the lot', bad({ symbol: 'Y', size: 15, price: 100 }), 'SIZE_OFF_LOT'],
  ['bad stp', bad({ stp: 'cancel-all' }), 'INVALID_STP'],
  ['bad tif', bad({ tif: 'DAY' }), 'INVALID_TIF'],
  ['GTC market', bad({ type: 'market', price: undefined, tif: 'GTC' }), 'INVALID_TIF'],
  ['market with a price', bad({ type: 'market' }), 'INVALID_ORDER'],
  ['negative protection', bad({ type: 'market', price: undefined, protectionTicks: -1 }), 'INVALID_ORDER'],
  ['protection on a limit', bad({ protectionTicks: 3 }), 'INVALID_ORDER'],
  ['missing price', bad({ price: undefined }), 'INVALID_PRICE'],
  ['zero price', bad({ price: 0 }), 'INVALID_PRICE'],
  ['fractional price', bad({ price: 100.5 }), 'INVALID_PRICE'],
  ['string price', bad({ price: '100' }), 'INVALID_PRICE'],
  ['price off the tick', bad({ symbol: 'Y', size: 10, price: 101 }), 'PRICE_OFF_TICK'],
  ['stop without stopPrice', bad({ type: 'stop-limit' }), 'INVALID_PRICE'],
  ['stopPrice off the tick', bad({ symbol: 'Y', size: 10, type: 'stop-limit', stopPrice: 103 }), 'PRICE_OFF_TICK'],
  ['stopPrice on a limit', bad({ stopPrice: 100 }), 'INVALID_ORDER'],
  ['post-only IOC', bad({ postOnly: true, tif: 'IOC' }), 'INVALID_ORDER'],
  ['post-only not boolean', bad({ postOnly: 'yes' }), 'INVALID_ORDER'],
  ['iceberg IOC', bad({ size: 10, visibleSize: 2, tif: 'IOC' }), 'INVALID_ORDER'],
  ['iceberg not smaller', bad({ size: 10, visibleSize: 10 }), 'INVALID_ORDER'],
  ['iceberg off the lot', bad({ symbol: 'Y', size: 100, price: 100, visibleSize: 15 }), 'SIZE_OFF_LOT'],
  ['duplicate of a resting order', bad({ id: 1 }), 'DUPLICATE_ORDER_ID'],
  ['duplicate of a pending stop', bad({ id: 3 }), 'DUPLICATE_ORDER_ID'],
  ['post-only that would take', bad({ postOnly: true, price: 101 }), 'WOULD_TAKE'],
];

describe('bad input is rejected with a typed reason, counted, and changes nothing', () => {
  test.each(placeCases)('place: %s', (_name, cmd, reason) => {
    const e = seeded();
    const before = e.snapshot();
    const events = e.place(cmd);
    expect(events).toEqual([{ type: 'rejected', orderId: typeof cmd.id === 'number' ? cmd.id : -1, reason, message: expect.any(String) }]);
    expect((events[0] as { message: string }).message.length).toBeGreaterThan(5);
    expect(e.snapshot()).toEqual(before);
    expect(e.rejectedCounts[reason]).toBe(1);
  });

  test.each([
    ['cancel: unknown id', (e: MatchingEngine) => e.cancel({ id: 77, symbol: 'X', seq: 9, ts: 9 }), 'UNKNOWN_ORDER'],
    ['cancel: id of another symbol', (e: MatchingEngine) => e.cancel({ id: 1, symbol: 'Y', seq: 9, ts: 9 }), 'UNKNOWN_ORDER'],
    ['cancel: unknown symbol', (e: MatchingEngine) => e.cancel({ id: 1, symbol: 'Z', seq: 9, ts: 9 }), 'UNKNOWN_SYMBOL'],
    ['modify: unknown id', (e: MatchingEngine) => e.modify({ id: 77, symbol: 'X', price: 100, size: 1, seq: 9, ts: 9 }), 'UNKNOWN_ORDER'],
    ['modify: pending stop', (e: MatchingEngine) => e.modify({ id: 3, symbol: 'X', price: 100, size: 1, seq: 9, ts: 9 }), 'NOT_MODIFIABLE'],
    ['modify: zero size', (e: MatchingEngine) => e.modify({ id: 1, symbol: 'X', price: 101, size: 0, seq: 9, ts: 9 }), 'INVALID_SIZE'],
    ['modify: bad price', (e: MatchingEngine) => e.modify({ id: 1, symbol: 'X', price: -3, size: 1, seq: 9, ts: 9 }), 'INVALID_PRICE'],
    ['modify: bad stamp', (e: MatchingEngine) => e.modify({ id: 1, symbol: 'X', price: 101, size: 1, seq: -9, ts: 9 }), 'INVALID_STAMP'],
    ['a null command', (e: MatchingEngine) => e.place(null as unknown as PlaceOrder), 'INVALID_ORDER'],
  ] as const)('%s', (_name, run, reason) => {
    const e = seeded();
    const before = e.snapshot();
    const events = run(e);
    expect(events).toHaveLength(1);
    expect(events[0]).toEqual(expect.objectContaining({ type: 'rejected', reason }));
    expect(e.snapshot()).toEqual(before);
  });

  test('configuration errors and bad queries are EngineErrors', () => {
    expect(() => new MatchingEngine([])).toThrow(EngineError);
    expect(() => new MatchingEngine([{ symbol: 'X', tickSize: 0, lotSize: 1 }])).toThrow(EngineError);
    expect(() => new MatchingEngine([{ symbol: 'X', tickSize: 1, lotSize: 1 }, { symbol: 'X', tickSize: 1, lotSize: 1 }])).toThrow(/twice/);
    const e = seeded();
    expect(() => e.l1('NOPE')).toThrow(expect.objectContaining({ code: 'UNKNOWN_SYMBOL' }));
    expect(() => e.l2('X', 0)).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
