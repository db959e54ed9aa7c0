// The swap test: one simulated workload, run under each protocol with only `protocol` changed.
import { ledgerDisagreement } from '@bftx/conformance';
import { simulate, synchronous, type SimulationConfig } from '@bftx/sim';
import { PROTOCOL_NAMES, protocolByName, type ProtocolName } from '../src/protocols';

const DELTA = 10;
const workload = {
  n: 4,
  seed: 42,
  network: synchronous(DELTA),
  timing: { delta: DELTA },
  duration: 1200,
  byzantine: [{ replica: 3, strategy: { kind: 'equivocate' } }],
  transactions: { every: 10, perBatch: 3 },
  trace: false,
} as const satisfies Omit<SimulationConfig<unknown>, 'protocol'>;

describe('swapping the protocol is one config field', () => {
  test.each(PROTOCOL_NAMES.map((name) => [name]))('%s: the same workload gives a valid ledger', (name: ProtocolName) => {
    const r = simulate({ ...workload, protocol: protocolByName(name) });
    expect(r.verdict).toBe('safe');
    expect(ledgerDisagreement(r)).toBeUndefined();
    expect(r.offenders).toEqual([3]);
    const offered = Math.floor(workload.duration / workload.transactions.every) * workload.transactions.perBatch;
    for (const replica of r.replicas.filter((x) => x.honest)) {
      expect(replica.finalized).toBeGreaterThanOrEqual(10);
      expect(replica.duplicateTransactions).toBe(0);
      // Nearly everything offered is final by the end (the last few hundred ms may still be in flight).
      expect(replica.transactions).toBeGreaterThan(0.8 * offered);
      expect(replica.transactions).toBeLessThanOrEqual(offered);
    }
  });
});
