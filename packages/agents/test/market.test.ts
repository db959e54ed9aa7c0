import { SimulatedSignatureScheme } from '@bftx/consensus';
import { hotstuff } from '@bftx/hotstuff';
import { pbft } from '@bftx/pbft';
import { streamlet } from '@bftx/streamlet';
import { directVenue, distributedExchange, MarketMaker, Momentum, Noise, RandomTrader, runMarket, simulatedCluster, Value, ZeroIntelligence, type Agent, type MarketSimulationConfig, type Venue } from '../src/index';

function population(): Agent[] {
  return [
    new MarketMaker('mm', { targetSpread: 6, minSpread: 2, maxSpread: 30, positionLimit: 300, riskFactor: 0.02, orderSize: 10, levels: 3, levelSpacing: 2, volatilityWindow: 20, volatilityFactor: 1, interval: 2_000 }),
    ...Array.from({ length: 4 }, (_, i) => new Value(`value-${i}`, { meanWake: 3_000, observationNoise: 3, learningRate: 0.3, minSize: 1, maxSize: 10, aggression: 0.2 })),
    ...Array.from({ length: 2 }, (_, i) => new Momentum(`momentum-${i}`, { interval: 2_500, shortWindow: 5, longWindow: 15, minSize: 1, maxSize: 5 })),
    ...Array.from({ length: 3 }, (_, i) => new RandomTrader(`random-${i}`, { meanWake: 2_000, maxSize: 5, marketProbability: 0.3, range: 5 })),
    ...Array.from({ length: 2 }, (_, i) => new ZeroIntelligence(`zi-${i}`, { meanWake: 2_000, maxSize: 5, valueNoise: 4, range: 6 })),
    ...Array.from({ length: 30 }, (_, i) => new Noise(`noise-${i}`, { minSize: 1, maxSize: 5 })),
  ];
}

const session = (seed: number, extra: Partial<MarketSimulationConfig> = {}): MarketSimulationConfig => ({
  seed,
  open: 0,
  close: 300_000,
  agents: population(),
  fundamental: { mean: 1_000, kappa: 0.01, sigma: 0.5, shockProbability: 0.002, shockSigma: 10 },
  endowment: { cash: 10_000_000n, shares: 10_000n },
  fees: { makerBps: 0, takerBps: 0 },
  dataInterval: 500,
  latency: 100,
  ...extra,
});

describe('the direct path', () => {
  const result = runMarket(session(5));

  test('agents trade, every agent acted, and the outputs cover the session', () => {
    expect(result.trades.length).toBeGreaterThan(50);
    // Every agent acted, but a noise agent that wakes when its side of the book is empty passes.
    expect(result.agents.filter((a) => a.ordersSent === 0 && a.kind !== 'noise').map((a) => a.name)).toEqual([]);
    expect(result.agents.filter((a) => a.ordersSent === 0).length).toBeLessThan(4);
    expect(result.snapshots).toHaveLength(601);
    expect(result.snapshots.at(-1)!.l2.bids.length).toBeGreaterThan(0);
    expect(result.orders.submitted).toBe(result.orders.executed + Object.values(result.orders.rejected).reduce((a, b) => a + b!, 0));
    expect(new Set(result.agents.map((a) => a.kind)).size).toBe(6);
  });

  test('shares and cash only change hands (no fees here): the agents\' changes sum to zero, and PnL sums to zero at one mark', () => {
    expect(result.agents.reduce((a, r) => a + r.inventory, 0)).toBe(0);
    expect(result.agents.reduce((a, r) => a + r.cash, 0n)).toBe(0n);
    expect(Math.abs(result.agents.reduce((a, r) => a + r.pnl, 0))).toBeLessThan(1e-6);
  });

  test('the tape is in time order within the session and prices stay near the fundamental', () => {
    for (let i = 1; i < result.trades.length; i++) expect(result.trades[i]!.time).toBeGreaterThanOrEqual(result.trades[i - 1]!.time);
    const prices = result.trades.map((t) => t.price);
    expect(Math.min(...prices)).toBeGreaterThan(800);
    expect(Math.max(...prices)).toBeLessThan(1_200);
  });

  test('the same seed gives the same session; another seed does not', () => {
    const again = runMarket(session(5));
    const show = (r: typeof result) => JSON.stringify({ trades: r.trades, agents: r.agents, orders: r.orders }, (_, v) => (typeof v === 'bigint' ? v.toString() : v));
    expect(show(again)).toBe(show(result));
    expect(show(runMarket(session(6)))).not.toBe(show(result));
  });

  test('bad session parameters are refused with a clear error', () => {
    expect(() => runMarket(session(1, { close: 0 }))).toThrow(/open < close/);
    expect(() => runMarket(session(1, { dataInterval: 0 }))).toThrow(/dataInterval/);
  });
});

describe('the market loop takes any Venue', () => {
  test('a venue that executes each order 300 ms late: every order reaches it, and trades happen only when it executes them', () => {
    const sent: number[] = [];
    const late: Venue = {
      name: 'late',
      clientScheme: undefined,
      open(session) {
        const inner = directVenue().open(session);
        const waiting: Array<{ at: number; order: Parameters<typeof inner.submit>[0] }> = [];
        return {
          state: inner.state,
          submit(order, now) {
            sent.push(now);
            waiting.push({ at: now + 300, order });
          },
          advance(t) {
            while (waiting.length > 0 && waiting[0]!.at <= t) {
              const w = waiting.shift()!;
              inner.submit(w.order, w.at);
            }
          },
          finish: () => undefined,
        };
      },
    };
    const r = runMarket(session(5, { close: 60_000, venue: late }));
    const direct = runMarket(session(5, { close: 60_000 }));
    expect(sent.length).toBe(r.orders.submitted);
    expect(r.trades.length).toBeGreaterThan(0);
    expect(r.trades.every((t) => sent.some((s) => s + 300 === t.time))).toBe(true);
    expect(JSON.stringify(r.trades)).not.toBe(JSON.stringify(direct.trades));
    expect(r.replication).toBeUndefined();
  });
});

describe('the replicated path', () => {
  test.each([
    ['streamlet', streamlet()],
    ['hotstuff', hotstuff()],
    ['pbft', pbft()],
  ] as const)('%s: the same agents trade through a 4-replica cluster; honest state roots agree', (_name, protocol) => {
    const r = runMarket(session(5, { close: 60_000, venue: simulatedCluster({ protocol, n: 4, delta: 20, clientScheme: new SimulatedSignatureScheme() }) }));
    expect(r.replication!.stateRootsAgree).toBe(true);
    expect(r.replication!.finalizedHeight).toBeGreaterThan(20);
    expect(r.trades.length).toBeGreaterThan(10);
    expect(r.replication!.mempool.admitted).toBe(r.orders.submitted);
    // Nearly everything sent was finalized and executed (the last few may still be in flight at the close).
    const settled = r.orders.executed + Object.values(r.orders.rejected).reduce((a, b) => a + b!, 0);
    expect(settled).toBeGreaterThan(r.orders.submitted * 0.95);
  });
});

describe("the prototype's distributed-exchange scenario, made true", () => {
  test.each([
    ['streamlet', streamlet()],
    ['hotstuff', hotstuff()],
    ['pbft', pbft()],
  ] as const)('%s: forged orders are turned away and counted, the double-voting replica is the one offender, with evidence', (_name, protocol) => {
    const report = distributedExchange({ protocol, clientScheme: new SimulatedSignatureScheme(), duration: 20_000, forgedOrders: 10 });
    expect(report.orders.rejectedAtMempool).toEqual({ MALFORMED: 0, BAD_SIGNATURE: 10, WRONG_CLUSTER: 0, STALE_NONCE: 0, EXPIRED: 0, EXPIRY_TOO_FAR: 0, UNKNOWN_ACCOUNT: 0, UNKNOWN_SYMBOL: 0, INSUFFICIENT_FUNDS: 0, RATE_LIMITED: 0 });
    expect(report.orders.admitted).toBe(report.orders.submitted);
    expect(report.orders.executed).toBeGreaterThan(100);
    // Every admitted order is accounted for: executed, rejected with a reason, or still in flight at the close.
    const rejected = Object.values(report.orders.rejectedAtExecution).reduce((a, b) => a + b, 0);
    expect(report.orders.pendingAtClose).toBeGreaterThanOrEqual(0);
    expect(report.orders.pendingAtClose).toBeLessThan(20);
    expect(report.orders.executed + rejected + report.orders.pendingAtClose).toBe(report.orders.admitted);
    expect(report.trades).toBeGreaterThan(20);
    expect(report.byzantineReplicas).toEqual([4]);
    expect(report.offenders).toEqual([{ validator: 4, evidence: 'equivocation' }]);
    expect(report.result.replication!.stateRootsAgree).toBe(true);
  });
});
