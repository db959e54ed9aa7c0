// A real replica: one protocol instance wrapped as a replicated exchange, driven with the wall
// clock, real timers, TCP and a store on disk. This file only wires the parts:
// - recovery.ts: opens the store and rebuilds the ledger, the exchange and the protocol instance
//   from it, checked;
// - door.ts: the checks a peer's message goes through before it reaches the protocol;
// - runtime.ts: the drive loop (a group of inputs through `drive`, its durable part written in
//   one batch, then its actions carried out), timers, rejections counted;
// - metrics.ts, store.ts, transport.ts: the figures, the disk, the network.
import { availableParallelism } from 'node:os';
import { Ledger, payloadTransactions, StatementVerifier, ValidatorSet, type BlockHeader, type Evidence, type FairOrderingSetup, type ProtocolDefinition, type Timing } from '@bftx/consensus';
import { encode, fromHex, type SignatureScheme, type Signer } from '@bftx/crypto';
import { AttestationCodec, signAttestation, type Attestation, type BlockResult, type ExchangeConfig, type ReplicatedExchange } from '@bftx/exchange';
import { AttestationPool } from './attestations';
import { MAX_ATTESTATIONS_SERVED } from './wire';
import { Door } from './door';
import { VerifyPool, type VerifyJob } from './verify-pool';
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
  /**
   * Sign an execution attestation after applying each finalized block, send it to every peer, and
   * check and keep the peers' (default true). Off: nothing is signed, sent or checked (a bench's baseline).
   */
  readonly attestations?: boolean;
  /** Most heights above its own an attestation may be for (default 256), and heights of attestations held in memory (default 1024). */
  readonly attestationWindow?: number;
  readonly attestationRetain?: number;
  /**
   * Worker threads checking client signatures before admission (default: the machine's cores less
   * one; 0: on the event loop). Only with the "node" signature backend (see verify-pool.ts).
   */
  readonly verifyWorkers?: number;
}

/** A commit certificate at `height` and the headers from `height` down to the block it proves (highest first). */
export interface FinalityParts {
  readonly certificateHeight: number;
  readonly certificate: Uint8Array;
  readonly headers: BlockHeader[];
}

/**
 * Seconds since `began` (performance.now()): the cost of a synchronous section on this one thread.
 * Not process.cpuUsage: that system call, twice per attestation, cost about as much as the
 * signing it measured (profiled under a flood: 1.9 s of 32 s).
 */
function secondsSince(began: number): number {
  return (performance.now() - began) / 1000;
}

/** Worker threads for signature checks by default: the cores less the one the event loop runs on. */
export function defaultVerifyWorkers(): number {
  return Math.max(0, availableParallelism() - 1);
}

/** Own attestations re-sent to a peer whose connection (re)opens: the last this many heights. */
const RESEND_HEIGHTS = 64;
/**
 * Repair of missed attestations: every REPAIR_MS, the lowest height (at least REPAIR_LAG below the
 * applied one: the usual ones are still arriving) holding fewer than f+1 is asked of every peer,
 * with up to MAX_ATTESTATIONS_SERVED heights after it; a range asked REPAIR_TRIES times without
 * filling is given up (its attestations are gone from the peers' memory, say).
 */
const REPAIR_MS = 1_000;
const REPAIR_LAG = 8;
const REPAIR_TRIES = 3;
/** A peer's requests answered at most this often (each costs up to MAX_ATTESTATIONS_SERVED sends). */
const SERVE_EVERY_MS = 200;

/** Attestation records not taken into a group's batch within this long are written alone. */
const ATTESTATION_FLUSH_MS = 1_000;

/** Recent certificates held in memory (older ones are read from the store). */
const RECENT_CERTIFICATES = 1024;
/** Most headers a finality proof carries: a block further below the nearest certificate gets none. */
export const MAX_PROOF_HEADERS = 4096;

export class ReplicaNode<M> {
  readonly metrics: ReplicaMetrics;
  readonly ledger = new Ledger();
  private store: ReplicaStore | undefined;
  private verifyPool: VerifyPool | undefined;
  private transport: Transport | undefined;
  private replica!: ReplicatedExchange<M>;
  private runtime: Runtime<unknown> | undefined;
  private readonly finalizedListeners: Array<(result: BlockResult) => void> = [];
  private readonly failureListeners: Array<(error: Error) => void> = [];
  private readonly certificateListeners: Array<(height: number, certificate: Uint8Array) => void> = [];
  private readonly attestationListeners: Array<(a: Attestation) => void> = [];
  /** Recent commit certificates by the height of the block each proves final (insertion order: oldest first). */
  private readonly certificates = new Map<number, Uint8Array>();
  private signer: Signer | undefined;
  private pendingAttestations: Array<{ attestation: Attestation; conflict: boolean }> = [];
  private flushing: Promise<void> | undefined;
  private flushTimer: NodeJS.Timeout | undefined;
  private validatorSet: ValidatorSet | undefined;
  private orderCluster: Uint8Array | undefined;
  private repairTimer: NodeJS.Timeout | undefined;
  /** Heights below this are not asked for again; the last range asked and how often. */
  private repairFrom = 1;
  private lastAsked: { from: number; tries: number } | undefined;
  /** When each peer's last attestation request was answered (ms). */
  private readonly served: number[] = [];
  /** Attestations (this replica's and its peers'), by height. */
  attestations!: AttestationPool;
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
    // Signatures checked on worker threads (client orders before admission; peers' votes at the
    // door), the verdicts remembered by the pool's scheme so nothing is checked twice. The consensus
    // keys share the pool when they use the same scheme as clients.
    const pool = new VerifyPool(o.clientScheme, { workers: o.verifyWorkers ?? defaultVerifyWorkers() });
    this.verifyPool = pool;
    const sharedPool = o.scheme === o.clientScheme;
    // One signature checker for the door and the protocol (a vote is checked once); signing
    // through it remembers this replica's own signatures as valid.
    const consensusScheme = sharedPool ? pool.scheme : o.scheme;
    const verifier = new StatementVerifier(validators, consensusScheme);
    const signer = consensusScheme.signer(o.secretKey);
    // A fair-ordering cluster is another cluster: replicas that disagree on the ordering refuse each other's handshake.
    const cluster = clusterId(this.ordering === 'fair' ? `${o.protocol.name}+fair` : o.protocol.name, validators);
    // What signed orders must carry: the cluster's id, unless the exchange's config names another.
    this.orderCluster = o.exchange.cluster ?? cluster;
    const config = { self: o.self, validators, scheme: o.scheme, verifier, signer, timing: o.timing, finalized: this.ledger, ...(o.maxBlockTxs ? { maxBlockTxs: o.maxBlockTxs } : {}) };
    // The exchange checks client signatures with the pool's memory in front: what the pool checked is not checked again.
    let recovered;
    try {
      recovered = await recover({ ...o, clientScheme: pool.scheme, exchange: { ...o.exchange, cluster: this.orderCluster } }, config, this.ledger, this.metrics, this.now(), cluster);
    } catch (e) {
      await pool.close(); // its threads would outlive a replica that never started
      throw e;
    }
    this.store = recovered.store;
    this.replica = recovered.replica;
    this.recovery = recovered.report;
    this.signer = signer;
    this.validatorSet = validators;
    const log = () => this.options.log; // read at each use: tests replace it while running
    await this.restoreAttestations(log);
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
          // Listeners first: a block stream names the block before the attestations of it.
          for (const r of results) {
            for (const l of this.finalizedListeners) l(r);
            this.attest(r);
          }
        },
        pendingAttestations: () => this.takeAttestations(),
        certified: (certificates) => {
          for (const c of certificates) {
            this.certificates.delete(c.height);
            this.certificates.set(c.height, c.certificate);
            if (this.certificates.size > RECENT_CERTIFICATES) this.certificates.delete(this.certificates.keys().next().value!);
            for (const l of this.certificateListeners) l(c.height, c.certificate);
          }
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
      ...(sharedPool ? { pool } : {}),
      // Client signatures in a proposal: each transaction's signature is its last 64 bytes.
      payloadJobs: (payload) => this.signatureJobs(payloadTransactions(payload), true),
    });
    this.transport = new Transport({
      self: o.self,
      validators,
      scheme: o.scheme,
      signer,
      cluster,
      listen: o.listen,
      peers: o.peers,
      metrics: this.metrics,
      onMessage: (from, bytes) => door.onMessage(from, bytes),
      ...(this.attesting
        ? {
            onAttestation: (_from: number, bytes: Uint8Array) => {
              const began = performance.now();
              this.attestations.receive(bytes);
              this.metrics.attestationCheckSeconds.inc(secondsSince(began));
            },
            onPeerOpened: (peer: number) => this.resendAttestations(peer),
            onAttestationRequest: (peer: number, range: { from: number; to: number }) => this.serveAttestations(peer, range.from, range.to),
          }
        : {}),
      ...(o.log ? { log: o.log } : {}),
    });
    // The protocol starts (or resumes) before the network does: no peer message may reach it first.
    runtime.start(recovered.inputs);
    this.port = await this.transport.start();
    if (this.attesting) {
      this.repairTimer = setInterval(() => this.repairAttestations(), REPAIR_MS);
      this.repairTimer.unref();
    }
  }

  /** Whether this replica signs, sends and checks execution attestations. */
  get attesting(): boolean {
    return this.options.attestations !== false;
  }

  get validators(): ValidatorSet {
    return this.validatorSet!;
  }

  /** The statement this replica reached at `height` (its block's hash and the state root after it), if applied. */
  private statementAt(height: number): { height: number; blockHash: Uint8Array; stateRoot: Uint8Array } | undefined {
    const block = this.ledger.at(height);
    const root = this.replica.stateRoots[height - 1];
    if (height < 1 || block === undefined || root === undefined) return undefined;
    return { height, blockHash: block.hash, stateRoot: fromHex(root) };
  }

  /** The pool, with the statements of the heights it retains and the attestations stored for them; own ones missing are signed again (deterministic signatures: the same bytes). */
  private async restoreAttestations(log: () => ReplicaOptions<M>['log']): Promise<void> {
    const o = this.options;
    this.attestations = new AttestationPool({
      validators: this.validatorSet!,
      scheme: o.scheme,
      metrics: this.metrics,
      ...(o.attestationWindow !== undefined ? { window: o.attestationWindow } : {}),
      ...(o.attestationRetain !== undefined ? { retain: o.attestationRetain } : {}),
      persist: (records) => this.persistAttestations(records),
      log,
    });
    this.attestations.onMatching((a) => {
      for (const l of this.attestationListeners) l(a);
    });
    const height = this.replica.stateRoots.length;
    const from = Math.max(1, height - this.attestations.retain + 1);
    for (let h = from; h <= height; h++) this.attestations.reached(this.statementAt(h)!);
    const stored = await this.store!.attestations(from, height + this.attestations.window);
    this.attestations.restore(stored.map((r) => r.attestation));
    if (!this.attesting) return;
    for (let h = Math.max(from, height - RESEND_HEIGHTS + 1); h <= height; h++) {
      if (!this.attestations.matching(h).some((a) => a.signer === o.self)) this.attestations.own(signAttestation(this.signer!, o.self, this.statementAt(h)!));
    }
  }

  /** After block `result.height` is on disk: its statement to the pool and, when attesting, this replica's signed attestation to every peer. */
  private attest(result: BlockResult): void {
    const statement = { height: result.height, blockHash: this.ledger.at(result.height)!.hash, stateRoot: result.stateRoot };
    this.attestations.reached(statement);
    if (!this.attesting) return;
    const began = performance.now();
    const a = signAttestation(this.signer!, this.options.self, statement);
    this.attestations.own(a);
    this.transport?.sendAttestation(encode(AttestationCodec, a));
    this.metrics.attestationProduceSeconds.inc(secondsSince(began));
  }

  /** A peer's connection (re)opened: it may have missed this replica's recent attestations. */
  private resendAttestations(peer: number): void {
    const height = this.attestations.height;
    for (let h = Math.max(1, height - RESEND_HEIGHTS + 1); h <= height; h++) {
      const own = this.attestations.matching(h).find((a) => a.signer === this.options.self);
      if (own !== undefined) this.transport?.sendAttestation(encode(AttestationCodec, own), peer);
    }
  }

  /** Answers a peer's request with this replica's own attestations it holds in that range (from memory; rate-limited per peer). */
  private serveAttestations(peer: number, from: number, to: number): void {
    const now = this.now();
    if (now - (this.served[peer] ?? -Infinity) < SERVE_EVERY_MS) return;
    this.served[peer] = now;
    this.metrics.attestationRequests.inc({ direction: 'served' });
    const last = Math.min(to, this.attestations.height, from + MAX_ATTESTATIONS_SERVED - 1);
    for (let h = Math.max(from, this.attestations.lowest); h <= last; h++) {
      const own = this.attestations.matching(h).find((a) => a.signer === this.options.self);
      if (own !== undefined) this.transport?.sendAttestation(encode(AttestationCodec, own), peer);
    }
  }

  /** Asks the peers for the attestations of the lowest height still short of f+1 (see REPAIR_MS). */
  private repairAttestations(): void {
    const pool = this.attestations;
    const need = this.validatorSet!.threshold('one-honest');
    const short = pool.firstShort(Math.max(this.repairFrom, pool.lowest), pool.height - REPAIR_LAG, need);
    if (short === undefined) {
      this.repairFrom = Math.max(this.repairFrom, pool.height - REPAIR_LAG + 1);
      return;
    }
    const tries = this.lastAsked?.from === short ? this.lastAsked.tries + 1 : 1;
    if (tries > REPAIR_TRIES) {
      // Given up: the peers do not hold it (any more). Later heights are still asked for.
      this.repairFrom = Math.min(short + MAX_ATTESTATIONS_SERVED, pool.height - REPAIR_LAG + 1);
      this.lastAsked = undefined;
      return;
    }
    this.lastAsked = { from: short, tries };
    this.repairFrom = short;
    // Each peer is asked only for the span of heights where its own is missing (a peer that lags
    // holds none yet and answers nothing): the answers are what is missing, not copies.
    const end = Math.min(pool.height - REPAIR_LAG, short + MAX_ATTESTATIONS_SERVED - 1);
    for (let peer = 0; peer < this.validatorSet!.n; peer++) {
      if (peer === this.options.self || pool.has(short, peer)) continue;
      let last = short;
      for (let h = short + 1; h <= end; h++) if (!pool.has(h, peer)) last = h;
      if (this.transport?.requestAttestations(peer, short, last) === true) this.metrics.attestationRequests.inc({ direction: 'sent' });
    }
  }

  /**
   * Queues attestation records for the store: the runtime takes them into its next group's batch
   * (no LevelDB write of their own: a separate write would queue behind the group's fsync); if no
   * group is written within ATTESTATION_FLUSH_MS, they are written alone.
   */
  private persistAttestations(records: ReadonlyArray<{ attestation: Attestation; conflict: boolean }>): void {
    for (const r of records) this.pendingAttestations.push(r);
    if (this.flushTimer !== undefined) return;
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined;
      this.flushAttestations();
    }, ATTESTATION_FLUSH_MS);
    this.flushTimer.unref();
  }

  /** The attestation records waiting, taken (by the runtime's next write). */
  private takeAttestations(): Array<{ attestation: Attestation; conflict: boolean }> {
    const taken = this.pendingAttestations;
    if (taken.length > 0) this.pendingAttestations = [];
    return taken;
  }

  /** Writes the waiting attestation records alone (not synchronous). */
  private flushAttestations(): void {
    const batch = this.takeAttestations();
    if (batch.length === 0 || this.store === undefined) return;
    const store = this.store;
    const previous = this.flushing;
    const done: Promise<void> = (async () => {
      await previous;
      await store.putAttestations(batch);
    })()
      .catch((e: unknown) => this.options.log?.('attestation-store-failed', { error: e instanceof Error ? e.message : String(e) }))
      .finally(() => {
        if (this.flushing === done) this.flushing = undefined;
      });
    this.flushing = done;
  }

  /**
   * Attestations at `height`: those of this replica's statement (`matching`) and those of another
   * (`conflicts`), from memory or, for a height below the retention, the store.
   */
  async attestationsAt(height: number): Promise<{ matching: Attestation[]; conflicts: Attestation[] }> {
    if (this.attestations.holds(height)) return { matching: this.attestations.matching(height), conflicts: this.attestations.conflicts(height) };
    await this.flushing;
    const stored = await this.store!.attestations(height, height);
    return { matching: stored.filter((r) => !r.conflict).map((r) => r.attestation), conflicts: stored.filter((r) => r.conflict).map((r) => r.attestation) };
  }

  /**
   * What proves block `height` final: the nearest commit certificate at or above it and the
   * headers from there down to it (highest first); undefined when none is stored yet (the latest
   * blocks of a commit that carried none) or it is more than MAX_PROOF_HEADERS above.
   */
  async finalityParts(height: number): Promise<FinalityParts | undefined> {
    if (height < 1 || height > this.ledger.height) return undefined;
    let found: { height: number; certificate: Uint8Array } | undefined;
    for (let h = height; h <= Math.min(this.ledger.height, height + 64); h++) {
      const c = this.certificates.get(h);
      if (c !== undefined) {
        found = { height: h, certificate: c };
        break;
      }
    }
    found ??= await this.store!.certificateFrom(height);
    if (found === undefined || found.height - height + 1 > MAX_PROOF_HEADERS) return undefined;
    const headers: BlockHeader[] = [];
    for (let h = found.height; h >= height; h--) {
      const b = this.ledger.at(h)!;
      headers.push({ parent: b.parent, height: b.height, view: b.view, proposer: b.proposer, payloadRoot: b.payloadRoot });
    }
    return { certificateHeight: found.height, certificate: found.certificate, headers };
  }

  /** The commit certificate stored for exactly `height`, if it is among the recent ones held in memory. */
  recentCertificate(height: number): Uint8Array | undefined {
    return this.certificates.get(height);
  }

  /**
   * The id signed orders must carry (ExchangeConfig.cluster of this replica's exchange): the
   * cluster's id (`clusterId`, what the handshake names) unless the exchange config names another.
   */
  get cluster(): Uint8Array {
    return this.orderCluster!;
  }

  /** The commit certificate stored for exactly `height` (the last block of a commit), if any. */
  async certificateAt(height: number): Promise<Uint8Array | undefined> {
    const recent = this.certificates.get(height);
    if (recent !== undefined) return recent;
    const c = await this.store!.certificateFrom(height);
    return c?.height === height ? c.certificate : undefined;
  }

  /** Calls `listener` with each attestation of this replica's statements accepted from now on (its own included). */
  onAttestation(listener: (a: Attestation) => void): void {
    this.attestationListeners.push(listener);
  }

  /** Calls `listener` with each commit certificate stored from now on, with the height of the block it proves final. */
  onCertificate(listener: (height: number, certificate: Uint8Array) => void): void {
    this.certificateListeners.push(listener);
  }

  /** Calls `listener` with each block finalized from now on, once it is on disk (with its receipts and trades). */
  onFinalized(listener: (result: BlockResult) => void): void {
    this.finalizedListeners.push(listener);
  }

  async stop(): Promise<void> {
    clearInterval(this.repairTimer);
    if (this.runtime !== undefined) await this.runtime.stop();
    else await this.transport?.stop();
    this.attestations?.close();
    clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    this.flushAttestations();
    while (this.flushing !== undefined) await this.flushing;
    await this.store?.close();
    await this.verifyPool?.close();
  }

  /**
   * Checks the client signatures of `txs` on the verify pool's workers (those that decode); the
   * verdicts are remembered, so admitting them afterwards (`exchange.admit`) checks none again.
   */
  async precheck(txs: readonly Uint8Array[]): Promise<void> {
    const pool = this.verifyPool;
    if (pool === undefined || pool.workers === 0) return;
    const jobs = this.signatureJobs(txs, false);
    const began = performance.now();
    await pool.check(jobs);
    this.metrics.precheckSeconds.observe(secondsSince(began));
  }

  /**
   * The client signature checks admitting or executing `txs` makes; with `skipRemembered`, not
   * those whose signature (a transaction's last 64 bytes) the pool already checked (admitted here).
   */
  private signatureJobs(txs: readonly Uint8Array[], skipRemembered: boolean): VerifyJob[] {
    const exchange = this.replica.exchange;
    const jobs: VerifyJob[] = [];
    for (const tx of txs) {
      if (skipRemembered && tx.length >= 64 && this.verifyPool!.remembers(tx.subarray(tx.length - 64))) continue;
      const job = exchange.signatureCheckOf(tx);
      if (job !== undefined) jobs.push(job);
    }
    return jobs;
  }

  /** The verify pool (worker threads checking client signatures). */
  get verifier(): VerifyPool | undefined {
    return this.verifyPool;
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
