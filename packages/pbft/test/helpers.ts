// Test helpers: a cluster's keys and configs to drive one replica message by message, and shared scenarios.
import { SimulatedSignatureScheme, ValidatorSet, type ProtocolConfig } from '@bftx/consensus';
import type { Signer } from '@bftx/crypto';
import { isolatedUntil, synchronous, type SimulationResult } from '@bftx/sim';

const DELTA = 10;

export interface Keys {
  readonly scheme: SimulatedSignatureScheme;
  readonly signers: readonly Signer[];
  readonly validators: ValidatorSet;
}

export function clusterKeys(n: number): Keys {
  const scheme = new SimulatedSignatureScheme();
  const signers = Array.from({ length: n }, (_, i) => scheme.signer(scheme.keyPair(i).secretKey));
  return { scheme, signers, validators: new ValidatorSet(signers.map((s) => s.publicKey)) };
}

export function replicaConfig(keys: Keys, self: number, extra: Partial<ProtocolConfig> = {}): ProtocolConfig {
  return { self, validators: keys.validators, scheme: keys.scheme, signer: keys.signers[self]!, timing: { delta: 10 }, ...extra };
}

export const GST = 6000;

/** Replica n-1 cut off until GST; f replicas crash at 3000 (after the others made progress without the cut-off one). */
export function cutOffScenario(n: number, seed: number) {
  const f = Math.floor((n - 1) / 3);
  return {
    n,
    seed,
    network: isolatedUntil(synchronous(DELTA), [n - 1], GST),
    timing: { delta: DELTA },
    duration: 2 * GST,
    byzantine: Array.from({ length: f }, (_, i) => ({ replica: i + 1, strategy: { kind: 'crash' as const, at: 3000 } })),
    transactions: { every: 10, perBatch: 2 },
    trace: false,
  };
}

/** The fewest blocks an honest replica finalized after GST. */
export function leastAfterGst(r: SimulationResult): number {
  return Math.min(...r.replicas.filter((x) => x.honest).map((x) => x.commitTimes.filter((t) => t > GST).length));
}
