import { codec, encode, hash } from '@bftx/crypto';
import type { ProtocolConfig } from '../protocol';

/** Who leads `view` among `n` validators: a pure function every replica computes alike. */
export type LeaderRule = (view: number, n: number) => number;

/** view mod n: every validator leads in turn (HotStuff's and PBFT's rule). */
export const roundRobin: LeaderRule = (view, n) => view % n;

const ViewCodec = codec.uint();
/** H(view) mod n, a public hash (Streamlet's rule: leaders are unpredictable in order but known to all). */
export const hashedLeader: LeaderRule = (view, n) => {
  const h = hash('bftx.leader', encode(ViewCodec, view));
  return (((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0) % n;
};

/**
 * The leader of each view for one replica: the configured schedule (`ProtocolConfig.leaderSchedule`,
 * Twins scenarios) for the views it covers, the protocol's rule after.
 */
export function leaderSchedule(config: Pick<ProtocolConfig, 'leaderSchedule' | 'validators'>, rule: LeaderRule): (view: number) => number {
  const schedule = config.leaderSchedule;
  const n = config.validators.n;
  return schedule === undefined ? (view) => rule(view, n) : (view) => schedule[view] ?? rule(view, n);
}
