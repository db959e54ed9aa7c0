// Recovery: opening the store and rebuilding what a replica holds in memory from it, checked.
//
// The protocol instance is created from the stored safety state alone (the protocols' restart
// contract: it never signs twice, and fetches from peers what it lacks); a safety state that does
// not decode stops the start. The stored blocks are checked against their payload roots and
// become the ledger; the exchange is restored from its latest snapshot and the blocks after it
// are applied, and the state roots recomputed must be the ones stored (LevelDB does not check its
// tables' checksums on reads: a flipped bit would otherwise be served and applied). The inputs
// logged since the last safety state (messages and transactions) are read back, to be offered
// again once the protocol has started. Whatever fails, the store is closed and left as it was.
//
// What is built, from the inside out: the bare protocol, the LoggedProtocol around it (the input
// log, and commits held back for the runtime), the replicated exchange (admission, execution),
// and with fair ordering `fairOrdering` outermost, so transactions reach its policy only after
// the exchange admitted them. The log records what reached the bare protocol (its own messages,
// admitted transactions); with fair ordering a logged message is replayed as an envelope that
// carries only it (receive logs are not logged: a restarted replica signs a new one, and its
// peers' logs are stale within a few deltas anyway, when fresh ones come).
import { fairOrdering, payloadMatches, type Evidence, type Ledger, type Protocol, type ProtocolConfig, type ProtocolDefinition, type ProtocolInput } from '@bftx/consensus';
import { replicatedExchange, type ReplicatedExchange } from '@bftx/exchange';
import { LoggedProtocol } from './logged-protocol';
import type { ReplicaMetrics } from './metrics';
import type { ReplicaOptions } from './replica';
import { ReplicaStore, StoreError } from './store';
import { decodeInputRecord } from './wal';

/** What a restart found and did, for logs and tests. */
export interface RecoveryReport {
  readonly storedHeight: number;
  /** Height of the exchange snapshot the exchange was restored from (0: none, every block applied). */
  readonly snapshotHeight: number;
  /** Logged inputs (those since the last safety state) offered again after the start. */
  readonly replayedInputs: number;
  /** Time from opening the store to a running replica. */
  readonly replayMs: number;
}

export interface Recovered<M> {
  readonly store: ReplicaStore;
  /** The replicated exchange around the logged protocol. */
  readonly replica: ReplicatedExchange<M>;
  readonly logged: LoggedProtocol<M>;
  /** What the runtime drives and how its messages are encoded: the replicated exchange, or (fair ordering) `fairOrdering` around it. */
  readonly driven: Protocol<unknown>;
  readonly definition: ProtocolDefinition<unknown>;
  /** Inputs logged since the last safety state, to offer again once the protocol has started (as `driven` takes them). */
  readonly inputs: ProtocolInput<unknown>[];
  /** Evidence on record. */
  readonly evidence: Evidence[];
  readonly report: RecoveryReport;
  /** Whether there was anything to recover (worth a log line). */
  readonly anything: boolean;
}

/**
 * Opens the store in `options.dataDir` and rebuilds `ledger` and the replica from it. `config` is
 * the protocol config less the safety state, which comes from the store.
 */
export async function recover<M>(options: ReplicaOptions<M>, config: Omit<ProtocolConfig, 'safetyState'>, ledger: Ledger, metrics: ReplicaMetrics, now: number, cluster: Uint8Array): Promise<Recovered<M>> {
  const began = performance.now();
  const store = await ReplicaStore.open(options.dataDir);
  try {
    // Before anything of it is read: this validator's store of this cluster, or refused.
    await store.claim(cluster, config.self, config.validators.publicKeys[config.self]!);
    let logged: LoggedProtocol<M> | undefined;
    const logging: ProtocolDefinition<M> = { ...options.protocol, create: (c) => (logged = new LoggedProtocol(options.protocol.create(c), options.protocol, metrics, options.maxLoggedMessages)) };
    const exchange = replicatedExchange(logging, { exchange: options.exchange, clientScheme: options.clientScheme });
    const fair = options.ordering === 'fair';
    const ordered = fair ? fairOrdering(exchange, options.fairOrdering) : undefined;
    if (ordered !== undefined) metrics.watchFairOrdering(ordered.policies);
    const definition = (ordered ?? exchange) as ProtocolDefinition<unknown>;
    const storedSafety = await store.safetyState();
    let driven: Protocol<unknown>;
    try {
      driven = definition.create({ ...config, ...(storedSafety !== undefined ? { safetyState: storedSafety } : {}) });
    } catch (e) {
      // The one thing that keeps it from signing twice is unreadable: it must not run.
      throw new Error(`replica ${options.self}: the stored safety state does not decode (${e instanceof Error ? e.message : String(e)}); refusing to start`);
    }
    const replica = exchange.replicas[exchange.replicas.length - 1]!;
    const stored = await store.blocks();
    // Each block's transactions must match its payload root (the header, and so the chain of
    // hashes the ledger checks, commits to it).
    for (const b of stored) {
      if (!payloadMatches(b)) throw new StoreError('CORRUPT', options.dataDir, `the stored block at height ${b.height} does not match its payload root: the disk was damaged. Nothing was changed. Restore the directory from a backup.`);
    }
    ledger.extend(stored);
    const evidence = await store.evidence();
    // The exchange: from the latest snapshot when there is one, then the blocks after it.
    const snapshot = await store.snapshot();
    let snapshotHeight = 0;
    if (snapshot !== undefined && snapshot.height <= stored.length) {
      replica.restore(snapshot.state, await store.roots(1, snapshot.height));
      snapshotHeight = snapshot.height;
    }
    // Said before the work, which takes a while on a long chain: `cluster` shows it while it waits.
    if (stored.length > snapshotHeight) options.log?.('replaying', { storedHeight: stored.length, snapshotHeight, blocks: stored.length - snapshotHeight });
    replica.applyFinalized(stored.slice(snapshotHeight), now);
    // The roots recomputed above the snapshot must be the ones stored when those blocks were first
    // applied (what this replica told clients and peers).
    const storedRoots = await store.roots(snapshotHeight + 1, stored.length);
    storedRoots.forEach((root, i) => {
      const h = snapshotHeight + 1 + i;
      if (replica.stateRoots[h - 1] !== root) throw new StoreError('CORRUPT', options.dataDir, `the state root recomputed at height ${h} is not the one stored there: the stored blocks or snapshot were damaged. Restore the directory from a backup.`);
    });
    const replayed = await loggedInputs(options, store);
    // Under fair ordering the protocol's messages travel in envelopes: a logged one is replayed in an envelope of its own.
    const inputs: ProtocolInput<unknown>[] = fair ? replayed.map((i) => (i.type === 'message' ? { ...i, message: { message: i.message } } : i)) : replayed;
    metrics.height.set(ledger.height);
    const report = { storedHeight: stored.length, snapshotHeight, replayedInputs: inputs.length, replayMs: Math.round(performance.now() - began) };
    return { store, replica, logged: logged!, driven, definition, inputs, evidence, report, anything: inputs.length > 0 || stored.length > 0 || store.loggedInputs > 0 };
  } catch (e) {
    await store.close(); // a replica that cannot recover holds no lock on its data
    throw e;
  }
}

/**
 * Messages and transactions that came after the last safety state (a vote among them may still
 * count; a transaction not yet final is not lost). Timers and starts are not offered again: the
 * restarted instance sets its own. A damaged log refuses the start, or is dropped with
 * `damagedLog: 'discard'`.
 */
async function loggedInputs<M>(options: ReplicaOptions<M>, store: ReplicaStore): Promise<ProtocolInput<M>[]> {
  const inputs: ProtocolInput<M>[] = [];
  try {
    for await (const record of store.inputs()) {
      let input: ProtocolInput<M>;
      try {
        input = decodeInputRecord(options.protocol, record);
      } catch (e) {
        throw new StoreError('CORRUPT', options.dataDir, `a record of the input log does not decode (${e instanceof Error ? e.message : String(e)}): its disk was damaged. Start with damagedLog 'discard' (CLI: --discard-damaged-log) to drop the log and restart from the safety state alone.`);
      }
      if (input.type === 'message' || input.type === 'transactions') inputs.push(input);
    }
  } catch (e) {
    if (!(e instanceof StoreError) || options.damagedLog !== 'discard') throw e;
    const dropped = await store.discardInputs();
    options.log?.('damaged-log-discarded', { code: e.code, dropped, cause: e.message });
    return [];
  }
  return inputs;
}
