// Test helpers: a cluster's keys and configs to drive one replica message by message, and shared scenarios.
import { SimulatedSignatureScheme, ValidatorSet, type ProtocolConfig, type ProtocolOutput } from '@bftx/consensus';
import type { Signer } from '@bftx/crypto';
import { isolatedUntil, synchronous, type SimulationResult } from '@bftx/sim';
import { pbft, type PbftMessage } from '../src/index';

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

/**
 * A cluster of honest replicas driven by hand: every message is delivered at once, in order; only
 * the timers the caller fires run. Returns each replica's last persisted state.
 */
export function driveCluster(n: number, batches: number): { persisted: Array<Uint8Array | undefined> } {
  const keys = clusterKeys(n);
  const replicas = Array.from({ length: n }, (_, i) => pbft().create(replicaConfig(keys, i)));
  const persisted: Array<Uint8Array | undefined> = new Array(n).fill(undefined);
  const queue: Array<{ to: number; from: number; message: PbftMessage }> = [];
  let now = 0;
  const handle = (i: number, out: ProtocolOutput<PbftMessage>[]) => {
    for (const o of out) {
      if (o.type === 'persist') persisted[i] = o.state;
      else if (o.type === 'send') queue.push({ to: o.to, from: i, message: o.message });
      else if (o.type === 'broadcast') {
        for (let to = 0; to < n; to++) if (to !== i) queue.push({ to, from: i, message: o.message });
      }
    }
  };
  replicas.forEach((r, i) => handle(i, r.step({ type: 'start', now })));
  for (let b = 0; b < batches; b++) {
    now += 20;
    replicas.forEach((r, i) => handle(i, r.step({ type: 'transactions', txs: [new Uint8Array([b, 1]), new Uint8Array([b, 2])], now })));
    handle(0, replicas[0]!.step({ type: 'timer', timer: 'batch', now }));
    for (let m = queue.shift(); m !== undefined; m = queue.shift()) handle(m.to, replicas[m.to]!.step({ type: 'message', from: m.from, message: m.message, now }));
  }
  return { persisted };
}
