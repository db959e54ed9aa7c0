// Issue 15, item 2: a replica restarted from its last persisted state alone (no input log) never
// signs two different statements for one (domain, view, sequence), never executes another batch at a
// height it executed, and catches up from its peers. Before, PBFT persisted only its view, prepared
// certificates and signed digests (not its stable checkpoint, executed prefix or next sequence
// number): a restarted primary re-signed pre-prepares for sequence numbers it had used, restarted
// backups signed conflicting prepares and commits, a quorum of restarted replicas executed other batches.
import { simulate, synchronous, partialSynchrony, type Restart } from '@bftx/sim';
import fc from 'fast-check';
import type { ProtocolOutput } from '@bftx/consensus';
import { decodeSafetyState, encodeSafetyState, pbft, type PbftMessage } from '../src/index';
import { clusterKeys, driveCluster, replicaConfig } from './helpers';

const DELTA = 10;
const persisted = (out: readonly ProtocolOutput<PbftMessage>[]) => out.filter((o): o is Extract<ProtocolOutput<PbftMessage>, { type: 'persist' }> => o.type === 'persist').at(-1)?.state;

describe('pbft restarts from the persisted state alone', () => {
  test('generated crash-restarts (mid-step too, several and a quorum at once, partial synchrony): no double signing, agreement, progress after the last one', () => {
    const restartArb = (n: number) =>
      fc.record({ replica: fc.integer({ min: 0, max: n - 1 }), at: fc.integer({ min: 0, max: 1500 }), downFor: fc.integer({ min: 0, max: 300 }), prefix: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }) });
    const scenario = fc.integer({ min: 4, max: 10 }).chain((n) =>
      fc.record({
        n: fc.constant(n),
        seed: fc.nat(),
        gst: fc.integer({ min: 0, max: 600 }),
        restarts: fc.oneof(
          fc.array(restartArb(n), { minLength: 1, maxLength: 4 }),
          // A quorum at one instant.
          fc.record({ at: fc.integer({ min: 0, max: 1500 }), downFor: fc.integer({ min: 0, max: 300 }), prefix: fc.option(fc.integer({ min: 0, max: 6 }), { nil: undefined }) }).map(({ at, downFor, prefix }) =>
            Array.from({ length: Math.ceil((2 * n) / 3) }, (_, replica) => ({ replica, at, downFor: downFor + 10 * replica, ...(prefix === undefined ? {} : { prefix }) })),
          ),
        ),
      }),
    );
    fc.assert(
      fc.property(scenario, ({ n, seed, gst, restarts }) => {
        const clean: Restart[] = (restarts as ReadonlyArray<{ replica: number; at: number; downFor: number; prefix?: number | undefined }>).map((r) => ({ replica: r.replica, at: r.at, downFor: r.downFor, ...(r.prefix === undefined ? {} : { prefix: r.prefix }) }));
        const back = Math.max(gst, ...clean.map((r) => r.at + r.downFor));
        const bound = pbft().livenessBound({ delta: DELTA }, n);
        const r = simulate({ protocol: pbft(), n, seed, network: partialSynchrony(DELTA, gst), timing: { delta: DELTA }, duration: back + 3 * bound, restarts: clean, transactions: { every: 10, perBatch: 2 }, trace: false });
        expect(r.safetyViolation).toBeUndefined();
        expect(r.doubleSigns).toEqual([]);
        expect(r.offenders).toEqual([]);
        for (const x of r.replicas) expect(x.commitTimes.some((t) => t > back + bound)).toBe(true);
      }),
      { numRuns: bftxRuns(25) },
    );
  });

  test('a restarted primary does not sign a second pre-prepare for a sequence number it used', () => {
    const keys = clusterKeys(4);
    const primary = pbft().create(replicaConfig(keys, 0));
    primary.step({ type: 'start', now: 0 });
    primary.step({ type: 'transactions', txs: [new Uint8Array([1])], now: 1 });
    const first = primary.step({ type: 'timer', timer: 'batch', now: 20 });
    const sent = first.find((o) => o.type === 'broadcast' && o.message.type === 'pre-prepare');
    expect(sent).toBeDefined();
    const restarted = pbft().create(replicaConfig(keys, 0, { safetyState: persisted(first)! }));
    restarted.step({ type: 'start', now: 30 });
    restarted.step({ type: 'transactions', txs: [new Uint8Array([2])], now: 31 });
    const again = restarted.step({ type: 'timer', timer: 'batch', now: 40 });
    const next = again.find((o) => o.type === 'broadcast' && o.message.type === 'pre-prepare');
    expect(next).toBeDefined();
    const sequence = (o: typeof sent) => (o as { message: Extract<PbftMessage, { type: 'pre-prepare' }> }).message.prePrepare.batch.height;
    expect(sequence(next)).toBeGreaterThan(sequence(sent));
  });

  test('the persisted state holds the view, the view-change flag, the stable checkpoint, the executed prefix and its tip, and stays small over a long run', () => {
    const short = simulate({ protocol: pbft(), n: 4, seed: 6, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 1000, transactions: { every: 10, perBatch: 2 }, trace: false });
    const long = simulate({ protocol: pbft(), n: 4, seed: 6, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 8000, transactions: { every: 10, perBatch: 2 }, trace: false });
    expect(long.honestFinalizedHeight).toBeGreaterThan(6 * short.honestFinalizedHeight);
    // Bounded by the window (L = 32 sequence numbers), not by the 300+ batches executed.
    const most = (r: typeof long) => Math.max(...r.replicas.map((x) => x.maxPersistedBytes));
    expect(most(long)).toBeLessThan(1.5 * most(short) + 1024);

    const keys = clusterKeys(4);
    const r = pbft().create(replicaConfig(keys, 0));
    const out = r.step({ type: 'start', now: 0 });
    const state = decodeSafetyState(persisted([...out, ...r.step({ type: 'timer', timer: 'batch', now: 20 })])!);
    expect(state).toMatchObject({ view: 0, inViewChange: false, lastExecuted: 0, nextSequence: 2, stable: { sequence: 0 } });
    expect(state.signed.map((x) => [x.domain, x.view, x.sequence])).toEqual([['bftx.pbft.pre-prepare', 0, 1]]);
    const vc = r.step({ type: 'timer', timer: 'progress', now: 200 });
    expect(decodeSafetyState(persisted(vc)!)).toMatchObject({ view: 1, inViewChange: true });
  });

  test('the persisted state keeps the last L executed batches with their commits (each batch once) and round-trips', () => {
    const { persisted } = driveCluster(4, 45);
    for (const bytes of persisted) {
      const state = decodeSafetyState(bytes!);
      expect(state.lastExecuted).toBe(45);
      expect(state.stable.sequence).toBe(40);
      expect(state.executed.map((c) => c.batch.height)).toEqual(Array.from({ length: 32 }, (_, i) => 14 + i));
      expect(state.executed.every((c) => c.commits.length >= 3 && c.batch.payload.length === 2)).toBe(true);
      expect(state.prepared.map((c) => c.prePrepare.batch.height)).toEqual([41, 42, 43, 44, 45]);
      expect(encodeSafetyState(state)).toEqual(bytes);
    }
  });

  test('restarted during a view change, a replica sends the same view change again, and stays in the view change', () => {
    const keys = clusterKeys(4);
    const r = pbft().create(replicaConfig(keys, 1));
    r.step({ type: 'start', now: 0 });
    const out = r.step({ type: 'timer', timer: 'progress', now: 100 });
    const vc = out.find((o) => o.type === 'broadcast' && o.message.type === 'view-change');
    const restarted = pbft().create(replicaConfig(keys, 1, { safetyState: persisted(out)! }));
    const again = restarted.step({ type: 'start', now: 150 }).find((o) => o.type === 'broadcast' && o.message.type === 'view-change');
    expect(again).toEqual(vc);
  });
});
