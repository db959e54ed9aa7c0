// A real replica: one protocol instance wrapped as a replicated exchange, driven with the wall
// clock, real timers, TCP and a store on disk. Inputs are handled in groups (whatever queued while
// the last group was being written): each is stepped, the group's log records, safety state and
// finalized blocks are written in one batch, fsynced when anything is about to leave the process,
// and only then are the outputs carried out, in order. So no vote is sent before the state that
// forbids a second one is durable, and no input whose effects were seen is missing from the log.
//
// Restart: the protocol instance is created from the stored safety state alone (the protocols'
// restart contract: it never signs twice, and fetches from peers what it lacks); the stored blocks
// (from the latest exchange snapshot on) are applied to the exchange; then the protocol is started
// and the few inputs logged since the last safety state are offered again as fresh inputs. The log
// is truncated at every safety state written, so restart time and disk are bounded by state, not uptime.
import { Ledger, payloadMatches, StatementVerifier, txKey, ValidatorSet, type Block, type Evidence, type ProtocolDefinition, type ProtocolInput, type ProtocolOutput, type SignedStatement, type Timing } from '@bftx/consensus';
import type { SignatureScheme } from '@bftx/crypto';
import { replicatedExchange, type BlockResult, type ExchangeConfig, type ReplicatedExchange } from '@bftx/exchange';
import { LoggedProtocol } from './logged-protocol';
import { ReplicaMetrics } from './metrics';
import { ReplicaStore, StoreError, type DamagedLogPolicy } from './store';
import { Transport, type PeerAddress } from './transport';
import { decodeInputRecord } from './wal';
import { clusterId } from './wire';

export interface ReplicaOptions<M> {
  readonly protocol: ProtocolDefinition<M>;
  /** This replica's validator index. */
  readonly self: number;
  readonly validatorKeys: readonly Uint8Array[];
  /** Consensus signatures (the validator keys) and client signatures. */
  readonly scheme: SignatureScheme;
  readonly clientScheme: SignatureScheme;
  readonly secretKey: Uint8Array;
  readonly timing: Timing;
  readonly exchange: ExchangeConfig;
  readonly dataDir: string;
  readonly listen: PeerAddress;
  readonly peers: ReadonlyArray<PeerAddress | undefined>;
  readonly maxBlockTxs?: number;
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
  /** Write a snapshot of the exchange every this many finalized blocks (default 1000); a restart starts from the latest. */
  readonly snapshotEvery?: number;
  /** Keep every vote sent in the store, for audits (`ReplicaStore.votes`). */
  readonly auditVotes?: boolean;
  /** The clock, in integer ms (default Date.now). */
  readonly clock?: () => number;
  /**
   * A damaged input log (a hole in its numbered records, a record that does not decode): 'refuse'
   * (default) stops the start with a StoreError; 'discard' drops the log with a log line and
   * restarts from the safety state alone (safe: the log is a cache, peers and clients re-send).
   */
  readonly damagedLog?: DamagedLogPolicy;
  /** Most messages written to the input log between two safety states (default 4096); more are handled, not logged. */
  readonly maxLoggedMessages?: number;
  /** Most inputs from one peer waiting to be handled (default 2048); more are dropped before any work and counted. */
  readonly maxQueuedPerPeer?: number;
}

const MAX_TRACKED_ARRIVALS = 100_000;
/** Bad messages (bad signature, undecodable) from one peer before it is muted, and for how long. */
const MAX_STRIKES = 16;
const MUTE_MS = 10_000;
/** Most inputs handled as one group (one disk write). */
const MAX_GROUP = 512;

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

export class ReplicaNode<M> {
  readonly metrics: ReplicaMetrics;
  readonly ledger = new Ledger();
  private readonly convicted = new Map<number, Evidence>();
  private store!: ReplicaStore;
  private transport!: Transport;
  private verifier!: StatementVerifier;
  private replica!: ReplicatedExchange<M>;
  private logged!: LoggedProtocol<M>;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private queue: ProtocolInput<M>[] = [];
  /** Inputs waiting per peer. */
  private readonly queuedFrom: number[] = [];
  /** Bad messages per peer since it was last muted, and until when it is muted (ms). */
  private readonly strikes: number[] = [];
  private readonly mutedUntil: number[] = [];
  private draining: Promise<void> | undefined;
  // txKey -> when it reached this replica, for the latency histogram. Bounded: transactions the
  // mempool turns away never finalize, and must not grow this map for ever.
  private readonly arrivals = new Map<string, number>();
  private running = false;
  private fatal: Error | undefined;
  // Inputs logged since the last safety state, offered again once the protocol has started.
  private recoveredInputs: ProtocolInput<M>[] = [];
  // Blocks applied in the group being handled, announced once they are on disk.
  private results: BlockResult[] = [];
  private readonly finalizedListeners: Array<(result: BlockResult) => void> = [];
  private readonly failureListeners: Array<(error: Error) => void> = [];
  port = 0;
  recovery: RecoveryReport | undefined;

  constructor(readonly options: ReplicaOptions<M>) {
    this.metrics = new ReplicaMetrics({ replica: options.self, protocol: options.protocol.name });
  }

  /** The replica's clock (integer ms): what its inputs are stamped with. */
  now(): number {
    return Math.floor((this.options.clock ?? Date.now)());
  }

  get exchange(): ReplicatedExchange<M> {
    return this.replica;
  }

  /** Opens the store, recovers what it holds (blocks, then the logged inputs), and starts the network. */
  async start(): Promise<void> {
    const o = this.options;
    this.store = await ReplicaStore.open(o.dataDir);
    const validators = new ValidatorSet(o.validatorKeys);
    this.verifier = new StatementVerifier(validators, o.scheme);
    const signer = o.scheme.signer(o.secretKey);
    const logging: ProtocolDefinition<M> = { ...o.protocol, create: (config) => (this.logged = new LoggedProtocol(o.protocol.create(config), o.protocol, this.ledger, this.metrics, o.maxLoggedMessages)) };
    const definition = replicatedExchange(logging, { exchange: o.exchange, clientScheme: o.clientScheme });
    try {
      const storedSafety = await this.store.safetyState();
      const safety = storedSafety !== undefined ? { safetyState: storedSafety } : {};
      // One signature checker for the door (onMessage) and the protocol: a vote is checked once.
      try {
        this.replica = definition.create({ self: o.self, validators, scheme: o.scheme, verifier: this.verifier, signer, timing: o.timing, finalized: this.ledger, ...safety, ...(o.maxBlockTxs ? { maxBlockTxs: o.maxBlockTxs } : {}) }) as ReplicatedExchange<M>;
      } catch (e) {
        // The one thing that keeps it from signing twice is unreadable: it must not run.
        throw new Error(`replica ${o.self}: the stored safety state does not decode (${e instanceof Error ? e.message : String(e)}); refusing to start`);
      }
      await this.recover();
    } catch (e) {
      await this.store.close(); // a replica that cannot recover holds no lock on its data
      throw e;
    }
    this.replica.onBlock((result) => this.results.push(result));
    this.transport = new Transport({
      self: o.self,
      validators,
      scheme: o.scheme,
      signer,
      cluster: clusterId(o.protocol.name, validators),
      listen: o.listen,
      peers: o.peers,
      metrics: this.metrics,
      onMessage: (from, bytes) => this.onMessage(from, bytes),
      ...(o.log ? { log: o.log } : {}),
    });
    // The protocol starts (or resumes) before the network does: no peer message may reach it first.
    this.running = true;
    this.enqueue({ type: 'start', now: this.now() });
    for (const input of this.recoveredInputs) this.enqueue({ ...input, now: this.now() } as ProtocolInput<M>);
    this.recoveredInputs = [];
    this.port = await this.transport.start();
  }

  /** Calls `listener` with each block finalized from now on, once it is on disk (with its receipts and trades). */
  onFinalized(listener: (result: BlockResult) => void): void {
    this.finalizedListeners.push(listener);
  }

  private async recover(): Promise<void> {
    const began = performance.now();
    const now = this.now();
    const stored = await this.store.blocks();
    // LevelDB does not check its tables' checksums on reads: a flipped bit in a stored block would be
    // served and applied. Each block's transactions must match its payload root (the header, and so
    // the chain of hashes the ledger checks, commits to it).
    for (const b of stored) {
      if (!payloadMatches(b)) throw new StoreError('CORRUPT', this.options.dataDir, `the stored block at height ${b.height} does not match its payload root: the disk was damaged. Nothing was changed. Restore the directory from a backup.`);
    }
    this.ledger.extend(stored);
    for (const e of await this.store.evidence()) this.convict(e);
    // The exchange: from the latest snapshot when there is one, then the blocks after it.
    const snapshot = await this.store.snapshot();
    let snapshotHeight = 0;
    if (snapshot !== undefined && snapshot.height <= stored.length) {
      this.replica.restore(snapshot.state, await this.store.roots(1, snapshot.height));
      snapshotHeight = snapshot.height;
    }
    this.replica.applyFinalized(stored.slice(snapshotHeight), now);
    // The roots recomputed above the snapshot must be the ones stored when those blocks were first
    // applied (what this replica told clients and peers).
    const storedRoots = await this.store.roots(snapshotHeight + 1, stored.length);
    storedRoots.forEach((root, i) => {
      const h = snapshotHeight + 1 + i;
      if (this.replica.stateRoots[h - 1] !== root) throw new StoreError('CORRUPT', this.options.dataDir, `the state root recomputed at height ${h} is not the one stored there: the stored blocks or snapshot were damaged. Restore the directory from a backup.`);
    });
    // Messages and transactions that came after the last safety state: offered again once started
    // (a vote among them may still count; a transaction not yet final is not lost). Timers and
    // starts are not: the restarted instance sets its own.
    let replayed = 0;
    try {
      for await (const record of this.store.inputs()) {
        let input: ProtocolInput<M>;
        try {
          input = decodeInputRecord(this.options.protocol, record);
        } catch (e) {
          throw new StoreError('CORRUPT', this.options.dataDir, `a record of the input log does not decode (${e instanceof Error ? e.message : String(e)}): its disk was damaged. Start with damagedLog 'discard' (CLI: --discard-damaged-log) to drop the log and restart from the safety state alone.`);
        }
        if (input.type === 'message' || input.type === 'transactions') {
          this.recoveredInputs.push(input);
          replayed++;
        }
      }
    } catch (e) {
      if (!(e instanceof StoreError) || this.options.damagedLog !== 'discard') throw e;
      const dropped = await this.store.discardInputs();
      this.recoveredInputs = [];
      replayed = 0;
      this.options.log?.('damaged-log-discarded', { code: e.code, dropped, cause: e.message });
    }
    this.metrics.height.set(this.ledger.height);
    this.recovery = { storedHeight: stored.length, snapshotHeight, replayedInputs: replayed, replayMs: Math.round(performance.now() - began) };
    if (replayed > 0 || stored.length > 0 || this.store.loggedInputs > 0) this.options.log?.('recovered', { ...this.recovery, height: this.ledger.height });
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.transport?.stop();
    await this.draining;
    await this.store?.close();
  }

  /** Offers client transactions (signed orders) to this replica's mempool. */
  submit(txs: readonly Uint8Array[]): void {
    const now = this.now();
    for (const tx of txs) {
      const key = txKey(tx);
      if (this.arrivals.size < MAX_TRACKED_ARRIVALS && !this.arrivals.has(key)) this.arrivals.set(key, now);
    }
    this.enqueue({ type: 'transactions', txs, now });
  }

  /** Calls `listener` once if the replica stops on a fatal error. */
  onFailure(listener: (error: Error) => void): void {
    this.failureListeners.push(listener);
  }

  /** The first error that stopped this replica (a store failure, a conflicting finalization), if any. */
  get failure(): Error | undefined {
    return this.fatal;
  }

  /** Resolves once every input enqueued so far has been handled. */
  async idle(): Promise<void> {
    while (this.draining !== undefined) await this.draining;
  }

  connectedPeers(): number[] {
    return this.transport.connectedPeers();
  }

  private onMessage(from: number, bytes: Uint8Array): void {
    // A peer caught sending what no honest replica sends is muted for a while: its messages are
    // dropped before any work, and it is disconnected (a valid key does not buy unlimited checks).
    if (this.now() < (this.mutedUntil[from] ?? 0)) {
      this.metrics.reject('peer_muted');
      return;
    }
    // Each peer's share of the queue is bounded, checked before decoding or verifying: a flood costs
    // the flooder's share only.
    if ((this.queuedFrom[from] ?? 0) >= (this.options.maxQueuedPerPeer ?? 2048)) {
      this.metrics.reject('peer_queue_full');
      return;
    }
    let message: M;
    try {
      message = this.options.protocol.decodeMessage(bytes);
    } catch {
      this.metrics.reject('malformed_consensus');
      return this.misbehaved(from, 'malformed_consensus');
    }
    // Votes are checked here, before the protocol (which would drop a forged one silently), so a
    // peer sending one is counted. The verifier is the protocol's own: each vote is checked once.
    for (const v of this.options.protocol.votes(message)) {
      if (!this.verifier.verify(v)) {
        this.metrics.reject('bad_signature');
        return this.misbehaved(from, 'bad_signature', { signer: v.signer, kind: this.options.protocol.messageKind(message) });
      }
    }
    this.metrics.messagesIn.inc({ kind: this.options.protocol.messageKind(message) });
    const input: ProtocolInput<M> = { type: 'message', from, message, now: this.now() };
    this.logged.rawMessages.set(input, bytes);
    this.enqueue(input);
  }

  /**
   * Honest replicas relay only what they verified and encode with the one codec, so a bad signature
   * or an undecodable message is the sender's doing. A few are tolerated (counted); past that the
   * peer is muted for MUTE_MS and disconnected, with one log line, not one per message.
   */
  private misbehaved(from: number, reason: string, fields: Record<string, unknown> = {}): void {
    const strikes = (this.strikes[from] ?? 0) + 1;
    this.strikes[from] = strikes;
    if (strikes <= 3) this.options.log?.(reason === 'bad_signature' ? 'bad-signature' : reason, { from, ...fields });
    if (strikes < MAX_STRIKES) return;
    this.strikes[from] = 0;
    this.mutedUntil[from] = this.now() + MUTE_MS;
    this.options.log?.('peer-muted', { peer: from, reason, forMs: MUTE_MS });
    this.transport.disconnect(from);
  }

  private enqueue(input: ProtocolInput<M>): void {
    if (!this.running || this.fatal !== undefined) return;
    if (input.type === 'message') this.queuedFrom[input.from] = (this.queuedFrom[input.from] ?? 0) + 1;
    this.queue.push(input);
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && this.running && this.fatal === undefined) {
      const group = this.queue.length <= MAX_GROUP ? this.queue.splice(0) : this.queue.splice(0, MAX_GROUP);
      for (const input of group) if (input.type === 'message') this.queuedFrom[input.from]!--;
      try {
        const outputs: ProtocolOutput<M>[] = [];
        for (const input of group) for (const out of this.replica.step(input)) outputs.push(out);
        let safetyState: Uint8Array | undefined;
        let leaves = false;
        const votes: SignedStatement[] = [];
        const evidence: Evidence[] = [];
        for (const out of outputs) {
          if (out.type === 'evidence') {
            if (!this.convicted.has(out.evidence.offender) && !evidence.some((e) => e.offender === out.evidence.offender)) evidence.push(out.evidence);
          } else if (out.type === 'persist') {
            safetyState = out.state;
            this.metrics.persists.inc();
          } else if (out.type === 'send' || out.type === 'broadcast') {
            leaves = true;
            if (this.options.auditVotes === true) for (const v of this.options.protocol.votes(out.message)) if (v.signer === this.options.self) votes.push(v);
          }
        }
        const blocks = this.logged.takeAdded();
        await this.store.write({
          inputs: this.logged.takeRecords(),
          ...(safetyState ? { safetyState } : {}),
          blocks,
          roots: this.rootsOf(blocks),
          ...this.snapshotDue(blocks),
          votes,
          evidence,
          sync: leaves || blocks.length > 0 || safetyState !== undefined || evidence.length > 0,
        });
        if (safetyState !== undefined) this.logged.logTruncated();
        for (const e of evidence) this.convict(e);
        for (const out of outputs) this.carryOut(out);
        const results = this.results;
        this.results = [];
        for (const r of results) for (const l of this.finalizedListeners) l(r);
      } catch (e) {
        // A replica that cannot make its state durable, or that was about to finalize a block
        // conflicting with its ledger, stops rather than go on unsafely.
        this.fatal = e instanceof Error ? e : new Error(String(e));
        this.options.log?.('fatal', { error: this.fatal.message });
        this.running = false;
        await this.transport.stop();
        for (const l of this.failureListeners) l(this.fatal);
      }
    }
  }

  private rootsOf(blocks: readonly Block[]): string[] {
    return blocks.map((b) => this.replica.stateRoots[b.height - 1]!);
  }

  /** A snapshot of the exchange (now at the last of `blocks`) when they cross a multiple of snapshotEvery. */
  private snapshotDue(blocks: readonly Block[]): { snapshot?: { height: number; state: Uint8Array } } {
    if (blocks.length === 0) return {};
    const every = this.options.snapshotEvery ?? 1000;
    const last = blocks[blocks.length - 1]!.height;
    const before = blocks[0]!.height - 1;
    if (Math.floor(last / every) === Math.floor(before / every)) return {};
    return { snapshot: { height: last, state: this.replica.exchange.snapshot() } };
  }

  private armTimer(timer: string, at: number): void {
    clearTimeout(this.timers.get(timer));
    this.timers.set(
      timer,
      setTimeout(() => {
        this.timers.delete(timer);
        this.enqueue({ type: 'timer', timer, now: this.now() });
      }, Math.max(0, at - this.now())),
    );
  }

  private carryOut(o: ProtocolOutput<M>): void {
    switch (o.type) {
      case 'persist':
        return;
      case 'send':
        this.metrics.messagesOut.inc({ kind: this.options.protocol.messageKind(o.message) });
        this.transport.send(o.to, this.options.protocol.encodeMessage(o.message));
        return;
      case 'broadcast':
        this.metrics.messagesOut.inc({ kind: this.options.protocol.messageKind(o.message) }, this.options.validatorKeys.length - 1);
        this.transport.broadcast(this.options.protocol.encodeMessage(o.message));
        return;
      case 'set-timer':
        return this.armTimer(o.timer, o.at);
      case 'cancel-timer':
        clearTimeout(this.timers.get(o.timer));
        this.timers.delete(o.timer);
        return;
      case 'commit':
        return this.committed(o.blocks);
      case 'evidence':
        return; // stored with its group, then counted (convict)
      case 'trace':
        return;
    }
  }

  /** Evidence now on disk: kept (one per offender), counted, logged. */
  private convict(e: Evidence): void {
    if (this.convicted.has(e.offender)) return;
    this.convicted.set(e.offender, e);
    this.metrics.evidence.inc({ offender: String(e.offender), kind: e.kind });
    this.options.log?.('evidence', { offender: e.offender, kind: e.kind, domain: e.first.domain, view: e.first.view, sequence: e.first.sequence });
  }

  /** Evidence of misbehaviour on record here (stored, one per offender: the first found), by offender. */
  get evidence(): Evidence[] {
    return [...this.convicted.values()].sort((a, b) => a.offender - b.offender);
  }

  /** Metrics for blocks now finalized and on disk. */
  private committed(blocks: readonly Block[]): void {
    const now = this.now();
    for (const b of blocks) {
      this.metrics.finalizedTransactions.inc(b.payload.length);
      for (const tx of b.payload) {
        const key = txKey(tx);
        const at = this.arrivals.get(key);
        if (at !== undefined) {
          this.metrics.finalizationLatency.observe((now - at) / 1000);
          this.arrivals.delete(key);
        }
      }
    }
    this.metrics.height.set(this.ledger.height);
  }
}
