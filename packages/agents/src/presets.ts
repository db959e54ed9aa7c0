import type { ProtocolDefinition } from '@bftx/consensus';
import { DEFAULT_CLUSTER, DEFAULT_MAX_ORDER_LIFETIME, signOrder, placeAction, type AdmissionReason } from '@bftx/exchange';
import type { SignatureScheme } from '@bftx/crypto';
import { Rng, type Strategy } from '@bftx/sim';
import { MarketMaker, Momentum, Noise, RandomTrader, Value, type Agent } from './agents';
import type { FundamentalConfig } from './fundamental';
import { runMarket, type MarketResult, type MarketSimulationConfig } from './market';
import { simulatedCluster } from './simulated-cluster';
import type { Venue } from './venue';

const HOUR = 3_600_000;
/** 09:30 and 16:00 as virtual ms since midnight. */
export const OPEN_0930 = 9.5 * HOUR;
export const CLOSE_1600 = 16 * HOUR;

/**
 * The population of ABIDES' RMSC04 reference configuration (Byrd et al.): 2 market makers,
 * 102 value agents, 12 momentum agents, 1,000 noise agents, scaled by `scale` (at least
 * one of each). Parameters follow RMSC04 where our agents have them (momentum agents every
 * 37 s with sizes 1-10; market makers every 60 s quoting 10 levels per side), except the
 * value agents (issue 18): they act on a fresh observation (noise 5 ticks, no smoothing: a
 * running average of observations minutes apart made the mid trail the fundamental by about
 * ten minutes, and 1-minute returns autocorrelated at 0.7), take liquidity up to their
 * estimate less 2 ticks when it lies beyond the far touch, and bring more size per minute
 * (every 120 s, 1 to 150 shares; RMSC04-like before: 175 s, 1 to 50), so that the price takes
 * in news within about a minute. Prices are in cents around 100,000.
 */
export function rmsc04Agents(scale = 1): Agent[] {
  const count = (n: number) => Math.max(1, Math.round(n * scale));
  const agents: Agent[] = [];
  for (let i = 0; i < count(2); i++) {
    agents.push(new MarketMaker(`mm-${i}`, { targetSpread: 10, minSpread: 2, maxSpread: 100, positionLimit: 2_000, riskFactor: 0.01, orderSize: 50, levels: 10, levelSpacing: 5, volatilityWindow: 30, volatilityFactor: 1, interval: 60_000 }));
  }
  for (let i = 0; i < count(102); i++) agents.push(new Value(`value-${i}`, { meanWake: 120_000, observationNoise: 5, learningRate: 1, minSize: 1, maxSize: 150, aggression: 0.1, edge: 2 }));
  for (let i = 0; i < count(12); i++) agents.push(new Momentum(`momentum-${i}`, { interval: 37_000, shortWindow: 20, longWindow: 50, minSize: 1, maxSize: 10 }));
  for (let i = 0; i < count(1_000); i++) agents.push(new Noise(`noise-${i}`, { minSize: 1, maxSize: 20 }));
  return agents;
}

/** The default day's fundamental (see `rmsc04Session`). */
export const RMSC04_FUNDAMENTAL: FundamentalConfig = { mean: 100_000, kappa: 1.67e-7, sigma: 5, shockProbability: 1e-4, shockSigma: 224, volatility: { persistence: 0.9994, spread: 0.6 } };

/**
 * A full RMSC04-like session, 09:30 to 16:00, on the given venue. The fundamental is
 * RMSC04's (mean 100,000, near-zero reversion, 5 ticks a second, rare shocks of 224) with
 * stochastic volatility of news (log volatility AR(1), half-life about 19 minutes, spread
 * 0.6): calm and busy stretches, which the market turns into fat-tailed, clustered returns.
 */
export function rmsc04Session(seed: number, venue?: Venue, scale = 1): MarketSimulationConfig {
  return {
    seed,
    open: OPEN_0930,
    close: CLOSE_1600,
    agents: rmsc04Agents(scale),
    fundamental: RMSC04_FUNDAMENTAL,
    endowment: { cash: 10_000_000_000n, shares: 10_000n },
    dataInterval: 1_000,
    latency: 100,
    ...(venue ? { venue } : {}),
  };
}

export interface DistributedExchangeOptions {
  readonly protocol: ProtocolDefinition<any>;
  readonly clientScheme: SignatureScheme;
  readonly seed?: number;
  readonly n?: number;
  /** Random traders beside the one market maker. */
  readonly traders?: number;
  /** Session length in virtual ms. */
  readonly duration?: number;
  readonly delta?: number;
  /** Forged orders the rogue client sends. */
  readonly forgedOrders?: number;
  /** The Byzantine replicas' strategies, given to replicas n-1, n-2, ... (default: one that votes twice). */
  readonly byzantine?: readonly Strategy[];
  /** How replicas sign consensus messages (default: the simulator's scheme; client orders always use `clientScheme`). */
  readonly signatures?: 'simulated' | 'ed25519';
  /** Record the cluster's trace (see SimulatedClusterOptions). */
  readonly trace?: boolean | readonly string[];
  readonly progress?: (time: number) => void;
}

export interface DistributedExchangeReport {
  readonly result: MarketResult;
  /** Orders as the exchange saw them: sent by clients, admitted by the observer's mempool, executed, rejected by reason. */
  readonly orders: {
    readonly submitted: number;
    readonly forgedSubmitted: number;
    readonly admitted: number;
    readonly rejectedAtMempool: Readonly<Record<AdmissionReason, number>>;
    readonly executed: number;
    readonly rejectedAtExecution: Readonly<Record<string, number>>;
    /** Admitted but not yet finalized when the session closed. */
    readonly pendingAtClose: number;
  };
  readonly trades: number;
  readonly offenders: ReadonlyArray<{ readonly validator: number; readonly evidence: string }>;
  /** The replicas that ran a Byzantine strategy. */
  readonly byzantineReplicas: readonly number[];
}

/**
 * The Python prototype's distributed-exchange scenario, with every number real:
 * a 5-replica cluster (any protocol), one market maker and random traders, one
 * Byzantine replica that double-votes, and one client that sends forged orders
 * (signed with a key that is not the account's).
 */
export function distributedExchange(options: DistributedExchangeOptions): DistributedExchangeReport {
  const seed = options.seed ?? 1;
  const n = options.n ?? 5;
  const duration = options.duration ?? 60_000;
  const strategies = options.byzantine ?? [{ kind: 'vote-twice' }];
  if (strategies.length >= n) throw new RangeError(`distributedExchange: ${strategies.length} Byzantine replicas leave no honest observer among ${n}`);
  const byzantine = strategies.map((strategy, k) => ({ replica: n - 1 - k, strategy }));
  const agents: Agent[] = [new MarketMaker('market-maker', { targetSpread: 4, minSpread: 2, maxSpread: 20, positionLimit: 500, riskFactor: 0.01, orderSize: 10, levels: 3, levelSpacing: 1, volatilityWindow: 20, volatilityFactor: 1, interval: 1_000 })];
  for (let i = 0; i < (options.traders ?? 6); i++) agents.push(new RandomTrader(`trader-${i}`, { meanWake: 700, maxSize: 8, marketProbability: 0.3, range: 4 }));
  // The rogue client: orders for a victim's account, signed with the rogue's own key.
  const rng = new Rng(seed).split('rogue');
  const rogue = options.clientScheme.signer(Uint8Array.from({ length: 32 }, () => rng.int(0, 255)));
  const victim = options.clientScheme.signer(new Uint8Array(32).fill(7));
  const forgedCount = options.forgedOrders ?? 20;
  // Forged: refused for the signature before their expiry is looked at; any validity will do.
  const validity = { cluster: DEFAULT_CLUSTER, expiresAt: DEFAULT_MAX_ORDER_LIFETIME };
  const extraTransactions = Array.from({ length: forgedCount }, (_, i) => {
    const genuine = signOrder(victim, i + 1, placeAction({ symbol: 'SHARE-CASH', clientId: i + 1, side: 'buy', price: 100, size: 1 }), validity);
    const wrong = signOrder(rogue, i + 1, placeAction({ symbol: 'SHARE-CASH', clientId: i + 1, side: 'buy', price: 100, size: 1 }), validity);
    // The victim's transaction with the rogue's signature: decodes fine, verifies under no key.
    const forged = genuine.slice();
    forged.set(wrong.subarray(wrong.length - 64), forged.length - 64);
    return { at: Math.round(((i + 1) * duration) / (forgedCount + 2)), tx: forged };
  });
  const result = runMarket({
    seed,
    open: 0,
    close: duration,
    agents,
    fundamental: { mean: 100, kappa: 0.001, sigma: 0.2, shockProbability: 0.001, shockSigma: 3 },
    endowment: { cash: 100_000_000n, shares: 100_000n },
    dataInterval: 100,
    latency: 20,
    venue: simulatedCluster({ protocol: options.protocol, n, delta: options.delta ?? 10, clientScheme: options.clientScheme, byzantine, ...(options.signatures ? { signatures: options.signatures } : {}), ...(options.trace !== undefined ? { trace: options.trace } : {}) }),
    extraTransactions,
    ...(options.progress ? { progress: options.progress } : {}),
  });
  const rep = result.replication!;
  return {
    result,
    orders: {
      submitted: result.orders.submitted,
      forgedSubmitted: forgedCount,
      admitted: rep.mempool.admitted,
      rejectedAtMempool: rep.mempool.rejected,
      executed: result.orders.executed,
      rejectedAtExecution: result.orders.rejected,
      pendingAtClose: rep.mempool.admitted - result.orders.executed - Object.values(result.orders.rejected).reduce((x, y) => x + (y ?? 0), 0),
    },
    trades: result.trades.length,
    offenders: rep.offenders,
    byzantineReplicas: byzantine.map((b) => b.replica),
  };
}
