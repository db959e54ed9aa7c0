import type { ProtocolConfig } from '../protocol';
import { StatementVerifier } from '../statement';
import { leaderSchedule, type LeaderRule } from './leader';
import { FifoPayloadPolicy, type PayloadPolicy } from './payload';

/** A `ProtocolConfig` with its defaults filled in the same way for every protocol. */
export interface ResolvedConfig {
  readonly verifier: StatementVerifier;
  readonly payload: PayloadPolicy;
  readonly maxBlockTxs: number;
  /** Who leads each view: the configured schedule, then `rule`. */
  readonly leaderOf: (view: number) => number;
}

/** Default most transactions per block. */
export const DEFAULT_MAX_BLOCK_TXS = 1000;

export function resolveConfig(config: ProtocolConfig, rule: LeaderRule): ResolvedConfig {
  return {
    verifier: config.verifier ?? new StatementVerifier(config.validators, config.scheme),
    payload: config.payload ?? new FifoPayloadPolicy(),
    maxBlockTxs: config.maxBlockTxs ?? DEFAULT_MAX_BLOCK_TXS,
    leaderOf: leaderSchedule(config, rule),
  };
}
