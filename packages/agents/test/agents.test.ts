import { Rng } from '@bftx/sim';
import { autocorrelation, excessKurtosis, Fundamental, MarketMaker, Momentum, Noise, Value, ZeroIntelligence, type AgentContext, type AgentOrder, type MarketSnapshot } from '../src/index';

const fundamental = new Fundamental({ mean: 1_000, kappa: 0, sigma: 0, shockProbability: 0, shockSigma: 0 }, 0, 100_000, 1);

function snapshot(bid: number, ask: number): MarketSnapshot {
  return { time: 0, bid, ask, bidSize: 1, askSize: 1, mid: (bid + ask) / 2, last: undefined, l2: { bids: [], asks: [] } };
}

/** A context that records what the agent does. */
function ctx(options: { market?: MarketSnapshot; mids?: number[]; inventory?: number; open?: number[]; fundamental?: Fundamental }) {
  const placed: AgentOrder[] = [];
  const cancelled: number[] = [];
  const c: AgentContext = {
    now: 10_000,
    open: 0,
    close: 100_000,
    rng: new Rng(3),
    tickSize: 1,
    market: options.market,
    mids: (count) => (options.mids ?? []).slice(-count),
    inventory: options.inventory ?? 0,
    openOrders: new Map((options.open ?? []).map((id) => [id, id])),
    fundamental: options.fundamental ?? fundamental,
    place: (o) => placed.push(o),
    cancel: (id) => cancelled.push(id),
    cancelAll: () => cancelled.push(...(options.open ?? [])),
  };
  return { c, placed, cancelled };
}

const mmParams = { targetSpread: 10, minSpread: 2, maxSpread: 40, positionLimit: 100, riskFactor: 0.1, orderSize: 5, levels: 2, levelSpacing: 3, volatilityWindow: 10, volatilityFactor: 2, interval: 1_000 };

describe('market maker', () => {
  test('quotes around the mid, levels apart, after cancelling what it had', () => {
    const { c, placed, cancelled } = ctx({ market: snapshot(995, 1_005), open: [4, 5] });
    expect(new MarketMaker('mm', mmParams).wake(c)).toBe(11_000);
    expect(cancelled).toEqual([4, 5]);
    expect(placed).toEqual([
      { side: 'buy', price: 995, size: 5, postOnly: true },
      { side: 'sell', price: 1_005, size: 5, postOnly: true },
      { side: 'buy', price: 992, size: 5, postOnly: true },
      { side: 'sell', price: 1_008, size: 5, postOnly: true },
    ]);
  });
  test('skews against inventory and stops adding beyond the position limit', () => {
    const long = ctx({ market: snapshot(995, 1_005), inventory: 100 });
    new MarketMaker('mm', mmParams).wake(long.c);
    expect(long.placed.every((o) => o.side === 'sell')).toBe(true);
    expect(long.placed[0]!.price).toBe(995); // centre moved down 10 ticks
    const short = ctx({ market: snapshot(995, 1_005), inventory: -40 });
    new MarketMaker('mm', mmParams).wake(short.c);
    expect(short.placed[0]).toMatchObject({ side: 'buy', price: 999 });
  });
  test('widens with volatility, within its bounds', () => {
    const mm = new MarketMaker('mm', mmParams);
    expect(mm.spreadFor([1_000, 1_000, 1_000], 1)).toBe(10);
    expect(mm.spreadFor([1_000, 1_004, 1_000, 1_004, 1_000], 1)).toBe(18);
    expect(mm.spreadFor([1_000, 1_100, 1_000, 1_100], 1)).toBe(40);
  });
});

describe('the other agents', () => {
  test('momentum buys when the short average is above the long one, sells below, waits without history', () => {
    const p = { interval: 500, shortWindow: 2, longWindow: 4, minSize: 3, maxSize: 3 };
    const up = ctx({ mids: [100, 100, 101, 102] });
    new Momentum('m', p).wake(up.c);
    expect(up.placed).toEqual([{ side: 'buy', size: 3, tif: 'IOC' }]);
    const down = ctx({ mids: [102, 101, 100, 100] });
    new Momentum('m', p).wake(down.c);
    expect(down.placed[0]!.side).toBe('sell');
    const none = ctx({ mids: [100, 101] });
    new Momentum('m', p).wake(none.c);
    expect(none.placed).toEqual([]);
  });
  test('value buys below its estimate of the fundamental and sells above it', () => {
    const p = { meanWake: 1_000, observationNoise: 0, learningRate: 1, minSize: 1, maxSize: 1, aggression: 0 };
    const cheap = ctx({ market: snapshot(900, 910) });
    new Value('v', p).wake(cheap.c);
    expect(cheap.placed[0]!.side).toBe('buy');
    expect(cheap.placed[0]!.price).toBeGreaterThanOrEqual(900);
    expect(cheap.placed[0]!.price).toBeLessThanOrEqual(910);
    const dear = ctx({ market: snapshot(1_100, 1_110) });
    new Value('v', p).wake(dear.c);
    expect(dear.placed[0]!.side).toBe('sell');
  });
  test('value with an edge takes up to its estimate less the edge when the estimate lies beyond the far touch, and posts as before otherwise', () => {
    const p = { meanWake: 1_000, observationNoise: 0, learningRate: 1, minSize: 4, maxSize: 4, aggression: 0, edge: 2 };
    // Estimate 1,000 (the fundamental), far above the ask: a limit buy at 998 that walks the book.
    const cheap = ctx({ market: snapshot(900, 910) });
    new Value('v', p).wake(cheap.c);
    expect(cheap.placed).toEqual([{ side: 'buy', price: 998, size: 4 }]);
    const dear = ctx({ market: snapshot(1_100, 1_110) });
    new Value('v', p).wake(dear.c);
    expect(dear.placed).toEqual([{ side: 'sell', price: 1_002, size: 4 }]);
    // Within the edge of the far touch: it posts inside the spread, never beyond the touch.
    const near = ctx({ market: snapshot(990, 999) });
    new Value('v', p).wake(near.c);
    expect(near.placed[0]!.side).toBe('buy');
    expect(near.placed[0]!.price).toBeGreaterThanOrEqual(990);
    expect(near.placed[0]!.price).toBeLessThanOrEqual(999);
  });
  test('zero intelligence buys at or below its private value and sells at or above it', () => {
    const zi = new ZeroIntelligence('z', { meanWake: 1_000, maxSize: 5, valueNoise: 0, range: 20 });
    for (let i = 0; i < 50; i++) {
      const { c, placed } = ctx({});
      (c as { rng: Rng }).rng = new Rng(i);
      zi.wake(c);
      const o = placed[0]!;
      expect(o.side === 'buy' ? o.price! <= 1_000 && o.price! >= 980 : o.price! >= 1_000 && o.price! <= 1_020).toBe(true);
    }
  });
  test('noise trades once, at the touch', () => {
    const { c, placed } = ctx({ market: snapshot(99, 101) });
    expect(new Noise('n', { minSize: 1, maxSize: 1 }).wake(c)).toBeUndefined();
    expect([99, 101]).toContain(placed[0]!.price);
    expect(placed[0]!.price).toBe(placed[0]!.side === 'buy' ? 101 : 99);
  });
});

test('the fundamental reverts to its mean and is the same path for every observer', () => {
  const f = new Fundamental({ mean: 1_000, kappa: 0.05, sigma: 2, shockProbability: 0.01, shockSigma: 50 }, 0, 3_600_000, 9);
  const g = new Fundamental({ mean: 1_000, kappa: 0.05, sigma: 2, shockProbability: 0.01, shockSigma: 50 }, 0, 3_600_000, 9);
  const values = Array.from({ length: 3_600 }, (_, i) => f.at(i * 1_000));
  expect(values).toEqual(Array.from({ length: 3_600 }, (_, i) => g.at(i * 1_000)));
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  expect(Math.abs(mean - 1_000)).toBeLessThan(50);
});

test('stochastic volatility: mean square multiplier about 1, calm and busy stretches that persist, and fat-tailed, clustered changes', () => {
  const config = { mean: 100_000, kappa: 0, sigma: 5, shockProbability: 0, shockSigma: 0, volatility: { persistence: 0.9994, spread: 0.6 } };
  const f = new Fundamental(config, 0, 20 * 3_600_000, 4);
  const minutes = 20 * 60;
  const scale = Array.from({ length: minutes }, (_, i) => f.volatilityAt(i * 60_000));
  const meanSquare = scale.reduce((a, s) => a + s * s, 0) / minutes;
  expect(meanSquare).toBeGreaterThan(0.6);
  expect(meanSquare).toBeLessThan(1.6);
  // Busy stretches exist and persist: the multiplier a minute apart is strongly correlated.
  expect(Math.max(...scale) / Math.min(...scale)).toBeGreaterThan(4);
  expect(autocorrelation(scale, 1)).toBeGreaterThan(0.8);
  const changes = Array.from({ length: minutes }, (_, i) => f.at((i + 1) * 60_000) - f.at(i * 60_000));
  expect(excessKurtosis(changes)).toBeGreaterThan(0.5);
  expect(Math.abs(autocorrelation(changes, 1))).toBeLessThan(0.1);
  const abs = changes.map(Math.abs);
  for (let lag = 1; lag <= 5; lag++) expect(autocorrelation(abs, lag)).toBeGreaterThan(0.05);
  // Without it, the multiplier is 1 throughout.
  expect(new Fundamental({ ...config, volatility: undefined }, 0, 3_600_000, 4).volatilityAt(1_800_000)).toBe(1);
  expect(() => new Fundamental({ ...config, volatility: { persistence: 1, spread: 0.5 } }, 0, 1_000, 1)).toThrow(/persistence/);
});
