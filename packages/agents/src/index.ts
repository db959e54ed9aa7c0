// @bftx/agents: trading agents and the market simulation that runs them on an exchange, directly or through a simulated consensus cluster.
export { MarketMaker, Momentum, Noise, RandomTrader, Value, ZeroIntelligence } from './agents';
export type { Agent, AgentContext, AgentKind, AgentOrder, MarketMakerParams, MarketSnapshot, MomentumParams, NoiseParams, RandomTraderParams, ValueParams, ZeroIntelligenceParams } from './agents';
export { Fundamental, type FundamentalConfig, type StochasticVolatility } from './fundamental';
export { BASE, QUOTE, runMarket, type AgentReport, type MarketResult, type MarketSimulationConfig, type TapeEntry } from './market';
export { simulatedCluster, type ClusterHandle, type FinalizedBlock, type OfferedTransaction, type ReplicationReport, type SimulatedClusterOptions } from './simulated-cluster';
export { directVenue, type OpenVenue, type Venue, type VenueOrder, type VenueSession } from './venue';
export { autocorrelation, excessKurtosis, logReturns, stylisedFacts, type StylisedFacts } from './stylised';
export { CLOSE_1600, distributedExchange, OPEN_0930, RMSC04_FUNDAMENTAL, rmsc04Agents, rmsc04Session, type DistributedExchangeOptions, type DistributedExchangeReport } from './presets';
export { FAIRNESS_DEFENCES, FAIRNESS_FUNDAMENTAL, fairnessReplicas, runFairness, Victim, type FairnessBlock, type FairnessDefence, type FairnessOptions, type FairnessResult } from './fairness';
