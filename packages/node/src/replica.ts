// A real replica: one protocol instance wrapped as a replicated exchange, driven with the wall
// clock, real timers, TCP and a store on disk. This file only wires the parts:
// - recovery.ts: opens the store and rebuilds the ledger, the exchange and the protocol instance
//   from it, checked;
// - door.ts: the checks a peer's message goes through before it reaches the protocol;
// - runtime.ts: the drive loop (a group of inputs through `drive`, its durable part written in
//   one batch, then its actions carried out), timers, rejections counted;
// - metrics.ts, store.ts, transport.ts: the figures, the disk, the network.
import { Ledger, StatementVerifier, ValidatorSet, type Evidence, type FairOrderingSetup, type ProtocolDefinition, type Timing } from '@bftx/consensus';
import type { SignatureScheme } from '@bftx/crypto';
import type { BlockResult, ExchangeConfig, ReplicatedExchange } from '@bftx/exchange';
import { Door } from './door';
import type { LoggedProtocol } from './logged-protocol';
import { ReplicaMetrics } from './metrics';
import { recover, type RecoveryReport } from './recovery';
import { Runtime } from './runtime';
import type { Ordering } from './config';
import type { DamagedLogPolicy, ReplicaStore } from './store';
import { Transport, type PeerAddress } from './transport';
import { clusterId } from './wire';

export type { RecoveryReport } from './recovery';

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
  /**
   * Who orders a block's transactions: 'leader' (default; the wire bytes are the protocol's own) or
   * 'fair': `fairOrdering` around the replicated exchange (signed receive logs ride on the
   * protocol's messages, a block carries n-f of them and a prefix of their fair order, voters check
   * it). Every replica of a cluster must run the same: the cluster id (the handshake) names it.
   */
  readonly ordering?: Ordering;
  /** Fair ordering's parameters (the same on every replica) and, for tests and demos, Byzantine ordering behaviour. */
  readonly fairOrdering?: FairOrderingSetup;
}

export class ReplicaNode<M> {
  readonly metrics: ReplicaMetrics;
  readonly ledger = new Ledger();
  private store: ReplicaStore | undefined;
  private transport: Transport | undefined;
  private replica!: ReplicatedExchange<M>;
  private runtime: Runtime<unknown> | undefined;
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

  /** Who orders this replica's blocks' transactions. */
  get ordering(): Ordering {
    return this.options.ordering ?? 'leader';
  }

  /** Opens the store, recovers what it holds (blocks, then the logged inputs), and starts the network. */
  async start(): Promise<void> {
    const o = this.options;
    const validators = new ValidatorSet(o.validatorKeys);
    // One signature checker for the door and the protocol: a vote is checked once.
    const verifier = new StatementVerifier(validators, o.scheme);
    const signer = o.scheme.signer(o.secretKey);
    const config = { self: o.self, validators, scheme: o.scheme, verifier, signer, timing: o.timing, finalized: this.ledger, ...(o.maxBlockTxs ? { maxBlockTxs: o.maxBlockTxs } : {}) };
    const recovered = await recover(o, config, this.ledger, this.metrics, this.now());
    this.store = recovered.store;
    this.replica = recovered.replica;
    this.recovery = recovered.report;
    const log = () => this.options.log; // read at each use: tests replace it while running
    const fair = this.ordering === 'fair';
    const runtime = new Runtime<unknown>(
      // Under fair ordering the wire carries envelopes, not the logged protocol's own messages: their bytes are not its records.
      { protocol: recovered.definition, self: o.self, validators: o.validatorKeys.length, auditVotes: o.auditVotes === true, snapshotEvery: o.snapshotEvery ?? 1000, wireBytesLogged: !fair, now: () => this.now(), log },
      {
        store: recovered.store,
        driven: recovered.driven,
        replica: recovered.replica as ReplicatedExchange<unknown>,
        logged: recovered.logged as LoggedProtocol<unknown>,
        ledger: this.ledger,
        metrics: this.metrics,
        outlet: () => this.transport!,
        finalized: (results) => {
          for (const r of results) for (const l of this.finalizedListeners) l(r);
        },
        failed: (error) => {
          for (const l of this.failureListeners) l(error);
        },
      },
    );
    this.runtime = runtime;
    for (const e of recovered.evidence) runtime.convict(e);
    if (recovered.anything) o.log?.('recovered', { ...recovered.report, height: this.ledger.height });
    const door = new Door<unknown>({
      protocol: recovered.definition,
      verifier,
      metrics: this.metrics,
      maxQueuedPerPeer: o.maxQueuedPerPeer ?? 2048,
      now: () => this.now(),
      log,
      queued: (from) => runtime.queued(from),
      disconnect: (from) => this.transport?.disconnect(from),
      pass: (input, bytes) => runtime.message(input, bytes),
    });
    this.transport = new Transport({
      self: o.self,
      validators,
      scheme: o.scheme,
      signer,
      // A fair-ordering cluster is another cluster: replicas that disagree on the ordering refuse each other's handshake.
      cluster: clusterId(fair ? `${o.protocol.name}+fair` : o.protocol.name, validators),
      listen: o.listen,
      peers: o.peers,
      metrics: this.metrics,
      onMessage: (from, bytes) => door.onMessage(from, bytes),
      ...(o.log ? { log: o.log } : {}),
    });
    // The protocol starts (or resumes) before the network does: no peer message may reach it first.
    runtime.start(recovered.inputs);
    this.port = await this.transport.start();
  }

  /** Calls `listener` with each block finalized from now on, once it is on disk (with its receipts and trades). */
  onFinalized(listener: (result: BlockResult) => void): void {
    this.finalizedListeners.push(listener);
  }

  async stop(): Promise<void> {
    if (this.runtime !== undefined) await this.runtime.stop();
    else await this.transport?.stop();
    await this.store?.close();
  }

  /** Offers client transactions (signed orders) to this replica's mempool. */
  submit(txs: readonly Uint8Array[]): void {
    this.runtime?.transactions(txs);
  }

  /** Calls `listener` once if the replica stops on a fatal error. */
  onFailure(listener: (error: Error) => void): void {
    this.failureListeners.push(listener);
  }

  /** The first error that stopped this replica (a store failure, a conflicting finalization), if any. */
  get failure(): Error | undefined {
    return this.runtime?.failure;
  }

  /** Resolves once every input enqueued so far has been handled. */
  async idle(): Promise<void> {
    await this.runtime?.idle();
  }

  connectedPeers(): number[] {
    return this.transport!.connectedPeers();
  }

  /** Evidence of misbehaviour on record here (stored, one per offender: the first found), by offender. */
  get evidence(): Evidence[] {
    return this.runtime?.evidence ?? [];
  }
}
