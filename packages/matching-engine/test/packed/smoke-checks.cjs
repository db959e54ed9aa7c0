// The checks both smoke scripts run, on the module they loaded (ESM or CJS build).
// Run alone, this file does nothing.
const assert = require('node:assert/strict');

module.exports = function smokeChecks({ MatchingEngine, EngineError }) {
  const engine = new MatchingEngine([{ symbol: 'BTC-USD', tickSize: 1, lotSize: 1 }]);
  engine.place({ id: 1, owner: 1, symbol: 'BTC-USD', side: 'sell', type: 'limit', price: 100, size: 5, seq: 1, ts: 1 });
  const events = engine.place({ id: 2, owner: 2, symbol: 'BTC-USD', side: 'buy', type: 'limit', price: 100, size: 2, seq: 2, ts: 2 });
  assert.deepEqual(events.map((e) => e.type), ['accepted', 'trade', 'done']);
  assert.deepEqual(engine.l1('BTC-USD'), { bidPrice: undefined, bidSize: 0, askPrice: 100, askSize: 3 });
  const copy = MatchingEngine.restore(engine.snapshot());
  assert.deepEqual(copy.snapshot(), engine.snapshot());
  assert.throws(() => MatchingEngine.restore(new Uint8Array([1, 2, 3])), EngineError);
};
