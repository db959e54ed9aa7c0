// The drive loop: inputs (peer messages past the door, timers, client transactions) queue up and
// are handled in groups (whatever queued while the last group was being written, at most
// MAX_GROUP). A group goes through `drive` from @bftx/consensus, the driver the simulator uses
// too, which splits what the protocol asked into what must be durable and the actions after it:
// - durable: the finalized blocks are checked against the ledger (a conflict stops the replica)
//   and the new ones applied to the exchange; then the group's input-log records, its last safety
//   state, those blocks with their state roots (and a snapshot when one is due), the evidence
//   found and, when asked, the votes about to be sent are written in one batch, fsynced when
//   anything is about to leave the process;
// - rejections: counted by code (bftx_protocol_rejected_total) and logged, a line per code at
//   most every REJECTION_LOG_MS;
// - actions, only then, in order: messages, timers.
// So no vote is sent before the state that forbids a second one is durable, and no input whose
// effects were seen is missing from the log. A store failure or a conflicting finalization stops
// the replica rather than let it go on unsafely.
import { drive, payloadTransactions, txKey, type Action, type Block, type Driven, type Evidence, type Ledger, type Protocol, type ProtocolDefinition, type ProtocolInput, type ProtocolOutput, type Rejection, type SignedStatement } from '@bftx/consensus';
import type { Attestation, BlockResult, ReplicatedExchange } from '@bftx/exchange';
import type { MessageInput } from './door';
import type { LoggedProtocol } from './logged-protocol';
import type { ReplicaMetrics } from './metrics';
import type { ReplicaStore } from './store';

/** Most inputs handled as one group (one disk write). */
const MAX_GROUP = 512;
const MAX_TRACKED_ARRIVALS = 100_000;
/** At most one log line per rejection code in this many ms (with the count left unlogged since the last). */
const REJECTION_LOG_MS = 60_000;

export interface RuntimeOptions<M> {
  readonly protocol: ProtocolDefinition<M>;
  readonly self: number;
  readonly validators: number;
  readonly auditVotes: boolean;
  readonly snapshotEvery: number;
  /** Whether a peer message's wire bytes are what the input log records for it (false when the driven protocol wraps the logged one's messages). */
  readonly wireBytesLogged: boolean;
  readonly now: () => number;
  /** The log, read at each use (it may be replaced while running). */
  readonly log: () => ((event: string, fields: Record<string, unknown>) => void) | undefined;
}

/** Where messages go: the transport. */
export interface Outlet {
  send(to: number, bytes: Uint8Array): void;
  broadcast(bytes: Uint8Array): void;
  stop(): Promise<void>;
}

export interface RuntimeParts<M> {
  readonly store: ReplicaStore;
  /** The instance the inputs go to: the replicated exchange, or a wrapper around it (fair ordering). */
  readonly driven: Protocol<M>;
  /** The replicated exchange inside `driven` (or `driven` itself). */
  readonly replica: ReplicatedExchange<unknown>;
  /** The logged protocol inside the exchange. */
  readonly logged: LoggedProtocol<unknown>;
  readonly ledger: Ledger;
  readonly metrics: ReplicaMetrics;
  readonly outlet: () => Outlet;
  /** Blocks now on disk, with their receipts and trades. */
  readonly finalized: (results: readonly BlockResult[]) => void;
  /** The replica stopped on `error`. */
  readonly failed: (error: Error) => void;
  /** Attestation records waiting to be stored: taken into each group's batch (no write of their own). */
  readonly pendingAttestations?: () => ReadonlyArray<{ readonly attestation: Attestation; readonly conflict: boolean }>;
  /** Commit certificates now on disk, each with the height of the block it proves final (and those below it, with their headers). */
  readonly certified?: (certificates: ReadonlyArray<{ readonly height: number; readonly certificate: Uint8Array }>) => void;
}

export class Runtime<M> {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private queue: ProtocolInput<M>[] = [];
  /** Inputs waiting per peer. */
  private readonly queuedFrom: number[] = [];
  private draining: Promise<void> | undefined;
  /** Wakes the drain loop waiting on a group in flight: new inputs to drive meanwhile. */
  private wake: (() => void) | undefined;
  private running = false;
  private fatal: Error | undefined;
  /** Blocks applied in the group being handled, announced once they are on disk. */
  private results: BlockResult[] = [];
  private readonly convicted = new Map<number, Evidence>();
  /** Offenders whose evidence is stored or queued to be. */
  private readonly recorded = new Set<number>();
  // txKey -> when it reached this replica, for the latency histogram. Bounded: transactions the
  // mempool turns away never finalize, and must not grow this map for ever.
  private readonly arrivals = new Map<string, number>();
  private readonly rejectionLog = new Map<string, { at: number; unlogged: number }>();
  /** The driven protocol, with the commits the logged protocol held back from the exchange handed back. */
  private readonly core: { step(input: ProtocolInput<M>): ProtocolOutput<M>[] };

  constructor(
    private readonly o: RuntimeOptions<M>,
    private readonly p: RuntimeParts<M>,
  ) {
    p.replica.onBlock((result) => this.results.push(result));
    this.core = { step: (input) => p.logged.handOver(p.driven.step(input) as ProtocolOutput<unknown>[]) as ProtocolOutput<M>[] };
  }

  get failure(): Error | undefined {
    return this.fatal;
  }

  /** Evidence on record (stored, one per offender: the first found), by offender. */
  get evidence(): Evidence[] {
    return [...this.convicted.values()].sort((a, b) => a.offender - b.offender);
  }

  /** Inputs from peer `from` waiting to be handled. */
  queued(from: number): number {
    return this.queuedFrom[from] ?? 0;
  }

  /** Starts taking inputs; the first is the protocol's start, then `recovered` (stamped now). */
  start(recovered: readonly ProtocolInput<M>[]): void {
    this.running = true;
    this.enqueue({ type: 'start', now: this.o.now() });
    for (const input of recovered) this.enqueue({ ...input, now: this.o.now() } as ProtocolInput<M>);
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    await this.p.outlet().stop();
    await this.draining;
  }

  /** Resolves once every input enqueued so far has been handled. */
  async idle(): Promise<void> {
    while (this.draining !== undefined) await this.draining;
  }

  /** A peer's message past the door, with its wire bytes (logged as they came). */
  message(input: MessageInput<M>, bytes: Uint8Array): void {
    if (this.o.wireBytesLogged) this.p.logged.rawMessages.set(input, bytes);
    this.enqueue(input);
  }

  /** Client transactions for the mempool. */
  transactions(txs: readonly Uint8Array[]): void {
    const now = this.o.now();
    for (const tx of txs) {
      const key = txKey(tx);
      if (this.arrivals.size < MAX_TRACKED_ARRIVALS && !this.arrivals.has(key)) this.arrivals.set(key, now);
    }
    this.enqueue({ type: 'transactions', txs, now });
  }

  /** Evidence now on disk: kept (one per offender), counted, logged. */
  convict(e: Evidence): void {
    this.recorded.add(e.offender);
    if (this.convicted.has(e.offender)) return;
    this.convicted.set(e.offender, e);
    this.p.metrics.evidence.inc({ offender: String(e.offender), kind: e.kind });
    const s = e.kind === 'equivocation' ? e.first : e.statement;
    this.o.log()?.('evidence', { offender: e.offender, kind: e.kind, domain: s.domain, view: s.view, sequence: s.sequence, ...(e.kind === 'unfair-proposal' ? { height: e.header.height } : {}) });
  }

  private enqueue(input: ProtocolInput<M>): void {
    if (!this.running || this.fatal !== undefined) return;
    if (input.type === 'message') this.queuedFrom[input.from] = (this.queuedFrom[input.from] ?? 0) + 1;
    this.queue.push(input);
    this.wake?.();
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
  }

  // Pipelined, two groups deep: while one group's batch is being written (fsync), the next group
  // is driven and its batch queued behind it; a group's messages and timers go out only once its
  // own batch is durable (the store writes in order, so every earlier one is too) and the group
  // before it has gone out. So persist-before-send holds per group, and execution and consensus
  // overlap the disk instead of waiting for it.
  private async drain(): Promise<void> {
    /** The last group whose actions are not carried out yet. */
    let inFlight: Promise<void> | undefined;
    try {
      while (this.running && this.fatal === undefined) {
        if (this.queue.length === 0) {
          if (inFlight === undefined) break;
          // Nothing queued: wait for the group in flight to go out, or for new inputs to drive meanwhile.
          const woken = new Promise<'input'>((resolve) => (this.wake = () => resolve('input')));
          const which = await Promise.race([inFlight.then(() => 'out' as const), woken]);
          this.wake = undefined;
          if (which === 'out') inFlight = undefined;
          continue;
        }
        const group = this.queue.length <= MAX_GROUP ? this.queue.splice(0) : this.queue.splice(0, MAX_GROUP);
        for (const input of group) if (input.type === 'message') this.queuedFrom[input.from]!--;
        const { durable, actions, rejections } = drive(this.core, group);
        this.count(rejections);
        // Its checks, execution and the store's batch happen now; the promise resolves once durable.
        const written = this.write(durable, actions);
        const results = this.results;
        this.results = [];
        const before = inFlight;
        const out = (async () => {
          await written;
          await before;
          // Stopped or failed meanwhile: nothing more leaves (no send to a closed transport, no timer re-armed).
          if (this.fatal !== undefined || !this.running) return;
          for (const a of actions) this.carryOut(a);
          if (results.length > 0) this.p.finalized(results);
        })();
        out.catch(() => undefined); // seen where it is awaited
        inFlight = out;
        // At most one group in flight behind the one just driven.
        if (before !== undefined) await before;
      }
      if (inFlight !== undefined) await inFlight;
    } catch (e) {
      await this.fail(e);
    }
  }

  private async fail(e: unknown): Promise<void> {
    if (this.fatal !== undefined) return;
    this.fatal = e instanceof Error ? e : new Error(String(e));
    this.o.log()?.('fatal', { error: this.fatal.message });
    this.running = false;
    await this.p.outlet().stop();
    this.p.failed(this.fatal);
  }

  /**
   * Makes the group's durable part durable (see the file's head), in one batch: the ledger check,
   * execution and the batch happen before this returns (a throw here is synchronous); the promise
   * resolves once the batch is durable.
   */
  private write(durable: Driven<ProtocolOutput<M>>['durable'], actions: readonly Action<ProtocolOutput<M>>[]): Promise<void> {
    const { store, ledger, replica, logged, metrics } = this.p;
    // Throws LEDGER_CONFLICT on a block that conflicts with a finalized one: nothing of the group is written.
    const blocks = durable.commits.length > 0 ? ledger.extend(durable.commits) : [];
    if (blocks.length > 0) replica.applyFinalized(blocks, this.o.now());
    let leaves = false;
    const votes: SignedStatement[] = [];
    for (const a of actions) {
      if (a.type !== 'send' && a.type !== 'broadcast') continue;
      leaves = true;
      if (this.o.auditVotes) for (const v of this.o.protocol.votes(a.message)) if (v.signer === this.o.self) votes.push(v);
    }
    const evidence: Evidence[] = [];
    // One record per offender, its first: checked against what is queued too (an earlier group's batch may still be in flight).
    for (const e of durable.evidence) {
      if (this.recorded.has(e.offender)) continue;
      this.recorded.add(e.offender);
      evidence.push(e);
    }
    const { safetyState } = durable;
    if (durable.persists > 0) metrics.persists.inc(durable.persists);
    // Certificates of blocks now final here (a commit the ledger refused threw above); the latest per height.
    const certificates = [...new Map(logged.takeCertificates().filter((c) => c.height <= ledger.height).map((c) => [c.height, c] as const)).values()];
    const written = store.write({
      inputs: logged.takeRecords(),
      ...(safetyState !== undefined ? { safetyState } : {}),
      blocks,
      roots: blocks.map((b) => replica.stateRoots[b.height - 1]!),
      ...this.snapshotDue(blocks),
      votes,
      evidence,
      certificates,
      attestations: this.p.pendingAttestations?.() ?? [],
      sync: leaves || blocks.length > 0 || safetyState !== undefined || evidence.length > 0,
    });
    // The batch just queued truncates the log: the next group's messages are logged afresh.
    if (safetyState !== undefined) logged.logTruncated();
    return written.then(() => {
      for (const e of evidence) this.convict(e);
      if (blocks.length > 0) this.committed(blocks);
      if (certificates.length > 0) {
        metrics.certificatesStored.inc(certificates.length);
        this.p.certified?.(certificates);
      }
    });
  }

  /** A snapshot of the exchange (now at the last of `blocks`) when they cross a multiple of snapshotEvery. */
  private snapshotDue(blocks: readonly Block[]): { snapshot?: { height: number; state: Uint8Array } } {
    if (blocks.length === 0) return {};
    const every = this.o.snapshotEvery;
    const last = blocks[blocks.length - 1]!.height;
    const before = blocks[0]!.height - 1;
    if (Math.floor(last / every) === Math.floor(before / every)) return {};
    return { snapshot: { height: last, state: this.p.replica.exchange.snapshot() } };
  }

  /** Refusals, counted by code; logged at most once per code every REJECTION_LOG_MS (a flood of them must not become a flood of log lines). */
  private count(rejections: readonly Rejection[]): void {
    if (rejections.length === 0) return;
    const byCode = new Map<string, number>();
    for (const r of rejections) byCode.set(r.code, (byCode.get(r.code) ?? 0) + 1);
    for (const [code, k] of byCode) this.p.metrics.protocolRejected.inc({ code }, k);
    const now = this.o.now();
    for (const r of rejections) {
      const last = this.rejectionLog.get(r.code);
      if (last !== undefined && now - last.at < REJECTION_LOG_MS) {
        last.unlogged++;
        continue;
      }
      this.o.log()?.('protocol-rejected', { code: r.code, ...(r.from === undefined ? {} : { from: r.from }), ...(r.kind === undefined ? {} : { kind: r.kind }), ...(last === undefined ? {} : { unloggedSince: last.unlogged }) });
      this.rejectionLog.set(r.code, { at: now, unlogged: 0 });
    }
  }

  private carryOut(a: Action<ProtocolOutput<M>>): void {
    const { protocol } = this.o;
    switch (a.type) {
      case 'send':
        this.p.metrics.messagesOut.inc({ kind: protocol.messageKind(a.message) });
        this.p.outlet().send(a.to, protocol.encodeMessage(a.message));
        return;
      case 'broadcast':
        this.p.metrics.messagesOut.inc({ kind: protocol.messageKind(a.message) }, this.o.validators - 1);
        this.p.outlet().broadcast(protocol.encodeMessage(a.message));
        return;
      case 'set-timer':
        return this.armTimer(a.timer, a.at);
      case 'cancel-timer':
        clearTimeout(this.timers.get(a.timer));
        this.timers.delete(a.timer);
        return;
      case 'trace':
        return;
    }
  }

  private armTimer(timer: string, at: number): void {
    clearTimeout(this.timers.get(timer));
    this.timers.set(
      timer,
      setTimeout(() => {
        this.timers.delete(timer);
        this.enqueue({ type: 'timer', timer, now: this.o.now() });
      }, Math.max(0, at - this.o.now())),
    );
  }

  /** Metrics for blocks now finalized and on disk. */
  private committed(blocks: readonly Block[]): void {
    const now = this.o.now();
    for (const b of blocks) {
      // Only the transactions: under fair ordering a payload starts with receive logs.
      const txs = payloadTransactions(b.payload);
      this.p.metrics.finalizedTransactions.inc(txs.length);
      for (const tx of txs) {
        const key = txKey(tx);
        const at = this.arrivals.get(key);
        if (at !== undefined) {
          this.p.metrics.finalizationLatency.observe((now - at) / 1000);
          this.arrivals.delete(key);
        }
      }
    }
    this.p.metrics.height.set(this.p.ledger.height);
  }
}
