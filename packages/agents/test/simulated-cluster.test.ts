import { SimulatedSignatureScheme } from '@bftx/consensus';
import { streamlet } from '@bftx/streamlet';
import { MarketMaker, RandomTrader, runMarket, simulatedCluster, type ClusterHandle, type FinalizedBlock } from '../src/index';

function session(clientDelay: number | undefined) {
  let handle: ClusterHandle | undefined;
  const blocks: FinalizedBlock[] = [];
  const result = runMarket({
    seed: 5,
    open: 0,
    close: 5_000,
    agents: [
      new MarketMaker('mm', { targetSpread: 4, minSpread: 2, maxSpread: 20, positionLimit: 500, riskFactor: 0.01, orderSize: 10, levels: 3, levelSpacing: 1, volatilityWindow: 20, volatilityFactor: 1, interval: 1_000 }),
      ...Array.from({ length: 3 }, (_, i) => new RandomTrader(`trader-${i}`, { meanWake: 500, maxSize: 8, marketProbability: 0.3, range: 4 })),
    ],
    fundamental: { mean: 100, kappa: 0.001, sigma: 0.2, shockProbability: 0.001, shockSigma: 3 },
    endowment: { cash: 100_000_000n, shares: 100_000n },
    dataInterval: 100,
    latency: 20,
    venue: simulatedCluster({
      protocol: streamlet(),
      n: 4,
      delta: 10,
      clientScheme: new SimulatedSignatureScheme(),
      ...(clientDelay === undefined ? {} : { clientDelay }),
      onOpen: (h) => {
        handle = h;
        h.onFinalized((b) => blocks.push(b));
      },
    }),
  });
  return { result, handle: handle!, blocks };
}

describe('simulatedCluster: client-to-replica latency', () => {
  test('by default every replica receives an order the instant it is sent', () => {
    const { handle } = session(undefined);
    expect(handle.offered.length).toBeGreaterThan(20);
    for (const o of handle.offered) expect(o.arrivals).toEqual([o.sent, o.sent, o.sent, o.sent]);
  });

  test('with clientDelay each replica receives each order 1..delay ms later, replicas in different orders, a client in the order it sent', () => {
    const { handle, result, blocks } = session(10);
    const offered = handle.offered;
    expect(offered.length).toBeGreaterThan(20);
    for (const o of offered) for (const t of o.arrivals) expect(t - o.sent).toBeGreaterThanOrEqual(1);
    // Delays differ across replicas (nearly always), and some pair of orders reaches two replicas in opposite orders.
    expect(offered.filter((o) => new Set(o.arrivals).size > 1).length).toBeGreaterThan(offered.length / 2);
    let crossed = false;
    for (let i = 0; i + 1 < offered.length && !crossed; i++) {
      const a = offered[i]!.arrivals;
      const b = offered[i + 1]!.arrivals;
      crossed = a.some((t, r) => t > b[r]!) && a.some((t, r) => t < b[r]!);
    }
    expect(crossed).toBe(true);
    // Per client and replica: strictly increasing in the order sent (a connection delivers in order).
    const last = new Map<string, number[]>();
    for (const o of offered) {
      const prev = last.get(o.client);
      if (prev !== undefined) o.arrivals.forEach((t, r) => expect(t).toBeGreaterThan(prev[r]!));
      last.set(o.client, [...o.arrivals]);
    }
    // Nothing is lost to it: orders still execute (no stale nonces from a client's orders overtaking each other).
    expect(result.orders.executed).toBeGreaterThan(20);
    expect(result.orders.rejected.STALE_NONCE ?? 0).toBe(0);
    expect(blocks.length).toBe(result.replication!.simulation.replicas[0]!.finalized);
    expect(blocks.every((b) => b.proposedAt === undefined || b.proposedAt <= b.finalizedAt)).toBe(true);
  });
});
