// PBFT (Castro and Liskov, OSDI 1999), with batches as the requests. This file is the state machine:
// it wires the paper's rules (src/rules.ts, each a pure function citing the paper) to messages,
// keeps the log and the safety state, and emits everything through one Outbox. In short:
//  - the primary of view v (v mod n) binds a batch to sequence number n with a signed PRE-PREPARE;
//    backups accept one per (v, n) inside the watermarks and broadcast PREPARE; a batch is
//    prepared with the pre-prepare and matching prepares of other replicas making a quorum with
//    the primary, and then each replica broadcasts COMMIT; it is committed with a quorum of
//    matching commits, and executed in sequence order (the ledger block of n extends that of n-1);
//  - every K sequence numbers replicas sign a CHECKPOINT of the ledger block; a quorum of matching
//    ones makes it stable: the low watermark moves to it and the log below is dropped; the high
//    watermark is low + L;
//  - a replica that sees no execution progress for a timeout moves to view v+1 with a signed
//    VIEW-CHANGE carrying its stable checkpoint proof and its prepared certificates. It starts the
//    timer for v+1 only once a quorum of view changes for v+1 is in, and doubles it with each view
//    change in a row; f+1 replicas seen in higher views make it join the highest view at least f+1
//    of them reached. The new primary, with a quorum of view changes, sends NEW-VIEW re-proposing
//    what `reproposals` computes; backups recompute that list and accept only the same. A replica in
//    a view re-sends its NEW-VIEW to a replica that asks to change to it (lost, or its sender restarted);
//  - a replica behind (a stable checkpoint, f+1 checkpoints or a quorum of commits above what it
//    executed) fetches committed batches with their commits, range after range, asking another
//    peer on a timer while it stays behind; batches a peer no longer holds in memory (it restarted)
//    come from its finalized chain (ProtocolConfig.finalized), taken only linked by hashes to a
//    stable checkpoint proof or to a height already proven that way;
//  - everything a signature depends on is persisted before the signature leaves (README, "What is
//    persisted"), and a replica restarts from that state alone;
//  - every input refused is a typed `reject` output (RejectionCode).
// The primary proposes a batch every batch interval (2 delta), empty if there are no
// transactions: a silent primary is then told from an idle one.
import {
  BlockFetcher,
  blockHash,
  commitChain,
  distinctVerified,
  collectQuorum,
  GENESIS,
  makeBlock,
  Outbox,
  payloadMatches,
  pendingKeys,
  resolveConfig,
  roundRobin,
  signStatement,
  VoteTally,
  type Block,
  type BlockHeader,
  type PayloadContext,
  type PayloadPolicy,
  type Protocol,
  type ProtocolConfig,
  type ProtocolFootprint,
  type ProtocolInput,
  type ProtocolOutput,
  type RejectionCode,
  type SignedStatement,
  type StatementVerifier,
  dispatch,
  type InputHandlers,
  unfairProposalEvidence,
} from '@bftx/consensus';
import { bytesEqual, codec, encode, hash, toHex } from '@bftx/crypto';
import {
  decodeSafetyState,
  encodeSafetyState,
  MAX_HEADERS,
  PbftDomains,
  type CheckpointProof,
  type CommittedBatch,
  type FinalAnswer,
  type PbftMessage,
  type PrePrepare,
  type PreparedCertificate,
  type SignedDomain,
  type SignedRecord,
  type ViewChange,
} from './messages';
import { pbftCertificate, type CertifiedSequence } from './certificate';
import { defaultRules, type PbftRules, type Watermarks } from './rules';

export interface PbftOptions {
  /** Checkpoint interval K (default 8). */
  readonly checkpointInterval?: number;
  /** Window L between the low and high watermarks (default 4K). */
  readonly window?: number;
  /** Most batches pre-prepared but not executed at once (default 4). */
  readonly pipeline?: number;
  /** Time without execution progress before a view change, in multiples of delta (default 10). */
  readonly viewTimeoutDeltas?: number;
  /** Most doublings of that timeout after view changes in a row (default 3). */
  readonly maxBackoff?: number;
  /** Rules replacing the paper's (`defaultRules`): mutants and Byzantine variants are written so. */
  readonly rules?: Partial<PbftRules>;
}

const ZERO_HASH = new Uint8Array(32);
const GENESIS_CHECKPOINT: CheckpointProof = { sequence: 0, digest: GENESIS.hash, statements: [] };
const PreparedListCodec = codec.array(codec.record({ view: codec.uint(), sequence: codec.uint(), digest: codec.fixedBytes(32) }), 1 << 20);
/** Views below the current one whose commits are still taken (late commits of the view just left). */
const PAST_VIEWS = 2;
/** Most batches, and payload bytes, in one answer to a fetch. */
const MAX_ANSWER_BATCHES = 64;
const MAX_ANSWER_BYTES = 1 << 20;
/** Fetch answers a peer may get in a burst; one more per delta. */
const SERVE_BURST = 4;
/** Most proven points (height, ledger hash) a replica far behind keeps while it walks down to its tip (see onFinal). */
const MAX_ANCHORS = 64;
/** The one catch-up request a replica has open (it fetches from one peer at a time). */
const CATCH_UP = 'catch-up';

/** The digest a view change signs: the prepared (view, sequence, batch) it reports, in order. */
export function preparedDigest(prepared: readonly PreparedCertificate[]): Uint8Array {
  return hash('bftx.pbft.prepared', encode(PreparedListCodec, prepared.map((c) => ({ view: c.prePrepare.view, sequence: c.prePrepare.batch.height, digest: c.prePrepare.batch.hash }))));
}

export function prePrepareStatement(p: PrePrepare): SignedStatement {
  return { domain: PbftDomains.prePrepare, view: p.view, sequence: p.batch.height, blockHash: p.batch.hash, signer: p.primary, signature: p.signature };
}

/**
 * The log entry of one (view, sequence): the accepted pre-prepare and the first prepare and commit
 * of each replica, counted per batch digest (`digests[i]` is counted under key i).
 */
interface LogEntry {
  prePrepare: PrePrepare | undefined;
  /** The first pre-prepare statement of the primary seen (directly or inside a prepare): a second one is its equivocation. */
  primaryStatement: SignedStatement | undefined;
  /** The batch digests prepares and commits were seen for (one unless someone equivocated; at most n). */
  readonly digests: Uint8Array[];
  readonly prepares: VoteTally<number>;
  readonly commits: VoteTally<number>;
  prepared: boolean;
  committed: boolean;
  /** Conflicting prepares (2 signer) and commits (2 signer + 1) already passed on. */
  forwarded: Set<number> | undefined;
}

export class Pbft implements Protocol<PbftMessage> {
  readonly self: number;
  private readonly n: number;
  private readonly verifier: StatementVerifier;
  private readonly payload: PayloadPolicy;
  private readonly primary: (view: number) => number;
  private readonly rules: PbftRules;
  /** Thresholds, from the ValidatorSet only (the tallies hold the same). */
  private readonly quorum: number;
  private readonly oneHonest: number;
  private readonly K: number;
  private readonly L: number;
  private readonly pipeline: number;
  private readonly baseTimeout: number;
  private readonly maxBackoff: number;
  private readonly batchInterval: number;
  /** How often a replica re-sends its view change, re-sends a NEW-VIEW to one asker, asks another peer while behind. */
  private readonly resendInterval: number;
  private readonly maxBlockTxs: number;
  private readonly out = new Outbox<PbftMessage>();

  // ---- persisted (the safety state) ----
  private view = 0;
  private inViewChange = false;
  private stable: CheckpointProof = GENESIS_CHECKPOINT;
  /** The stable checkpoint's sequence number and the window, as the rules take them (one object per stable checkpoint). */
  private watermarks: Watermarks;
  private lastExecuted = 0;
  private ledgerTip: Uint8Array = GENESIS.hash;
  private nextSequence = 1;
  /** Per sequence number above the stable checkpoint: the prepared certificate of the highest view. */
  private readonly preparedCerts = new Map<number, PreparedCertificate>();
  /** What this replica signed, by `${domain}/${view}/${sequence}`: never two digests for one of them. */
  private readonly signed = new Map<string, SignedRecord>();
  /** The persisted state changed since the last persist output. */
  private dirty = false;

  // ---- in memory, bounded by the window and n ----
  private consecutiveViewChanges = 0;
  /** Log entries by view, then sequence number: views from view - PAST_VIEWS to view, sequence numbers in the window. */
  private readonly log = new Map<number, Map<number, LogEntry>>();
  /** Committed batches not yet executed (the next one is missing), at most L + MAX_ANSWER_BATCHES ahead. */
  private readonly committedBatches = new Map<number, CommittedBatch>();
  /**
   * Executed batches with their commits: what replicas that fell behind fetch. Kept whole (it grows
   * with history, not with what peers send), like the block trees of the other protocols: pruning it
   * needs the durable storage of @bftx/node. A restarted replica serves what it executed since,
   * and older batches from the runtime's finalized chain (`config.finalized`).
   */
  private readonly history = new Map<number, CommittedBatch>();
  /** Ledger block hashes of the sequence numbers executed above the stable checkpoint (for certificates; recomputed when missing), at most L + MAX_ANSWER_BATCHES. */
  private readonly ledgerHashes = new Map<number, Uint8Array>();
  /** Checkpoint statements per signer: those in the window, and its highest one above it. */
  private readonly checkpoints: Array<Map<number, SignedStatement>>;
  /** The highest checkpoint sequence number each replica signed. */
  private readonly checkpointHigh: number[];
  /** The highest view change of each replica (a newer one replaces it). */
  private readonly viewChanges = new Map<number, ViewChange>();
  /** The highest view each replica showed in a signed message. */
  private readonly viewOf: number[];
  private myViewChange: ViewChange | undefined;
  /** The NEW-VIEW this replica entered its view with, for replicas that ask for it; when each last got it. */
  private currentNewView: PbftMessage | undefined;
  private readonly newViewSentAt: number[];
  private newViewSentFor = 0;
  /** The view whose view-change timer is running (-1: none). */
  private timerArmedFor = -1;
  /** The highest sequence number known executed by an honest replica; fetching while below it. */
  private catchUpTarget = 0;
  /**
   * Heights above the last executed one whose ledger block hash is proven (linked by hashes to a
   * stable checkpoint): a replica more than an answer's headers behind learns them walking down
   * from the checkpoint, then executes up to each in turn. At most MAX_ANCHORS.
   */
  private readonly anchors = new Map<number, Uint8Array>();
  /** The open catch-up request (one at a time, re-asked of the next peer on the fetch timer). */
  private readonly fetcher: BlockFetcher<number>;
  private fetchPeer: number;
  private fetchTimerSet = false;
  private readonly serveTokens: number[];
  private readonly servedAt: number[];
  /** Offenders already shown by evidence (once each). */
  private readonly reported = new Set<number>();
  private dropped = 0;
  private now = 0;

  constructor(
    private readonly config: ProtocolConfig,
    options: PbftOptions = {},
  ) {
    const resolved = resolveConfig(config, roundRobin);
    this.self = config.self;
    this.n = config.validators.n;
    this.verifier = resolved.verifier;
    this.payload = resolved.payload;
    this.primary = resolved.leaderOf;
    this.maxBlockTxs = resolved.maxBlockTxs;
    this.rules = { ...defaultRules, ...options.rules };
    this.quorum = config.validators.threshold('quorum');
    this.oneHonest = config.validators.threshold('one-honest');
    this.K = options.checkpointInterval ?? 8;
    this.L = options.window ?? 4 * this.K;
    this.pipeline = options.pipeline ?? 4;
    this.baseTimeout = (options.viewTimeoutDeltas ?? 10) * config.timing.delta;
    this.maxBackoff = options.maxBackoff ?? 3;
    this.batchInterval = 2 * config.timing.delta;
    this.resendInterval = Math.max(1, Math.floor(this.baseTimeout / 2));
    this.fetcher = new BlockFetcher({ maxOutstanding: 1, maxAttempts: Infinity, retryAfter: this.resendInterval });
    this.checkpoints = Array.from({ length: this.n }, () => new Map());
    this.checkpointHigh = new Array<number>(this.n).fill(0);
    this.viewOf = new Array<number>(this.n).fill(0);
    this.newViewSentAt = new Array<number>(this.n).fill(-Infinity);
    this.serveTokens = new Array<number>(this.n).fill(SERVE_BURST);
    this.servedAt = new Array<number>(this.n).fill(0);
    this.fetchPeer = this.self;
    this.watermarks = { low: 0, window: this.L };
    if (config.safetyState !== undefined) {
      const s = decodeSafetyState(config.safetyState);
      this.view = s.view;
      this.inViewChange = s.inViewChange;
      this.stable = s.stable;
      this.lastExecuted = s.lastExecuted;
      this.ledgerTip = s.ledgerTip;
      this.nextSequence = s.nextSequence;
      for (const c of s.prepared) this.preparedCerts.set(c.prePrepare.batch.height, c);
      for (const x of s.signed) this.signed.set(`${x.domain}/${x.view}/${x.sequence}`, x);
      for (const c of s.executed) this.history.set(c.batch.height, c);
      this.catchUpTarget = s.stable.sequence;
      this.watermarks = { low: s.stable.sequence, window: this.L };
      this.viewOf[this.self] = s.view;
    }
  }

  step(input: ProtocolInput<PbftMessage>): ProtocolOutput<PbftMessage>[] {
    this.now = input.now;
    dispatch(input, this.handlers);
    this.flush();
    return this.out.take();
  }

  private readonly handlers: InputHandlers<PbftMessage> = {
    start: () => this.onStart(),
    timer: (timer) => {
      if (timer === 'batch') this.onBatchTimer();
      else if (timer === 'progress') this.startViewChange(this.view + 1);
      else if (timer === 'view-change') this.onViewChangeTimer();
      else if (timer === 'fetch') this.onFetchTimer();
    },
    transactions: (txs, now) => this.payload.offer(txs, now),
    message: (m, from) => this.onMessage(m, from),
  };

  footprint(): ProtocolFootprint {
    let retained = this.preparedCerts.size + this.signed.size + this.committedBatches.size + this.viewChanges.size + this.anchors.size + this.ledgerHashes.size + (this.currentNewView === undefined ? 0 : 1);
    for (const byView of this.log.values()) for (const entry of byView.values()) retained += 1 + entry.prepares.size + entry.commits.size;
    for (const bySequence of this.checkpoints) retained += bySequence.size;
    return { retained, dropped: this.dropped };
  }


  // ---- normal case ----

  private inWindow(sequence: number): boolean {
    return this.rules.inWindow(sequence, this.watermarks);
  }

  /** The log entry of (view, sequence), made on first use. */
  private entry(view: number, sequence: number): LogEntry {
    let byView = this.log.get(view);
    if (byView === undefined) this.log.set(view, (byView = new Map()));
    let e = byView.get(sequence);
    if (e === undefined) {
      e = { prePrepare: undefined, primaryStatement: undefined, digests: [], prepares: new VoteTally(this.verifier), commits: new VoteTally(this.verifier), prepared: false, committed: false, forwarded: undefined };
      byView.set(sequence, e);
    }
    return e;
  }

  /** The tally key of `digest` in `entry`. */
  private digestKey(entry: LogEntry, digest: Uint8Array): number {
    for (let i = 0; i < entry.digests.length; i++) if (bytesEqual(entry.digests[i]!, digest)) return i;
    entry.digests.push(digest);
    return entry.digests.length - 1;
  }

  private onStart(): void {
    this.out.trace({ kind: 'view', view: this.view, leader: this.primary(this.view) });
    this.out.setTimer('batch', this.now + this.batchInterval);
    if (this.inViewChange) {
      // Restarted during a view change: send it again. Its prepared certificates cannot change during
      // a view change, so it is the same statement, or one for a newer stable checkpoint (another sequence).
      this.sendViewChange(this.view);
    } else {
      this.armProgressTimer();
    }
    this.maybeFetch();
  }

  /** The batches pre-prepared in this view and not executed yet. */
  private inFlight(): Block[] {
    const batches: Block[] = [];
    const byView = this.log.get(this.view);
    for (let s = this.lastExecuted + 1; s < this.nextSequence; s++) {
      const pp = byView?.get(s)?.prePrepare;
      if (pp !== undefined) batches.push(pp.batch);
    }
    return batches;
  }

  private onBatchTimer(): void {
    this.out.setTimer('batch', this.now + this.batchInterval);
    if (this.inViewChange || this.primary(this.view) !== this.self) return;
    if (this.nextSequence <= this.lastExecuted) {
      this.nextSequence = this.lastExecuted + 1;
      this.dirty = true;
    }
    if (this.nextSequence - this.lastExecuted > this.pipeline || !this.inWindow(this.nextSequence)) return;
    const inFlight = this.inFlight();
    const context: PayloadContext = { view: this.view, height: this.nextSequence, now: this.now, pending: pendingKeys(inFlight), pendingComplete: inFlight.length === this.nextSequence - 1 - this.lastExecuted };
    const batch = makeBlock({ parent: ZERO_HASH, height: this.nextSequence, view: this.view, proposer: this.self, payload: this.payload.build(context, this.maxBlockTxs) });
    this.nextSequence++;
    this.dirty = true;
    if (!this.recordSigned(PbftDomains.prePrepare, this.view, batch.height, batch.hash)) return;
    const prePrepare = this.signPrePrepare(this.view, batch);
    this.out.trace({ kind: 'propose', view: this.view, block: batch.id, height: batch.height, parent: toHex(ZERO_HASH) });
    this.broadcast({ type: 'pre-prepare', prePrepare });
    this.onPrePrepare(prePrepare, this.self);
  }

  private signPrePrepare(view: number, batch: Block): PrePrepare {
    const signature = signStatement(this.config.signer, this.self, PbftDomains.prePrepare, { view, sequence: batch.height, blockHash: batch.hash }).signature;
    return { view, primary: this.self, batch, signature };
  }

  /** Why a pre-prepare is not valid on its own (signed by the primary of its view, a well-formed batch), or undefined. */
  private invalidPrePrepare(p: PrePrepare): RejectionCode | undefined {
    const b = p.batch;
    if (p.primary !== this.primary(p.view)) return 'NOT_FROM_LEADER';
    if (!bytesEqual(b.parent, ZERO_HASH) || b.height <= 0) return 'INVALID_PROPOSAL';
    if (!this.verifier.verify(prePrepareStatement(p))) return 'BAD_SIGNATURE';
    if (!payloadMatches(b)) return 'INVALID_PAYLOAD';
    return undefined;
  }

  /** `carried`: a pre-prepare a NEW-VIEW re-proposes (a batch prepared in an earlier view, fixed by the view-change rule): not judged again by the payload policy. */
  private onPrePrepare(p: PrePrepare, from: number, carried = false): void {
    const sequence = p.batch.height;
    const accepted = this.log.get(p.view)?.get(sequence)?.prePrepare;
    const verdict = this.rules.acceptPrePrepare({
      view: this.view,
      inViewChange: this.inViewChange,
      prePrepareView: p.view,
      sequence,
      ...this.watermarks,
      accepted: accepted === undefined ? 'none' : bytesEqual(accepted.batch.hash, p.batch.hash) ? 'same' : 'other',
    });
    if (!verdict.ok && verdict.code !== 'EQUIVOCATION') {
      if (p.view > this.view) this.aheadOf(p.primary, p.view, () => this.invalidPrePrepare(p) === undefined);
      if (verdict.code === 'OUT_OF_WINDOW') this.drop();
      return this.out.reject(verdict.code, from, 'pre-prepare');
    }
    const invalid = this.invalidPrePrepare(p);
    if (invalid !== undefined) return this.out.reject(invalid, from, 'pre-prepare');
    const entry = this.entry(p.view, sequence);
    this.notePrimary(entry, prePrepareStatement(p));
    // A second batch for (view, sequence): the primary's equivocation, shown by the evidence above.
    if (!verdict.ok) return this.out.reject(verdict.code, from, 'pre-prepare');
    const backup = this.primary(p.view) !== this.self;
    if (backup && !carried) {
      // The cluster's payload policy judges the batch before this replica prepares it: a refusal means no prepare, and no acceptance.
      // Not a re-proposed one: a quorum prepared it already, and its receive logs may be old by now.
      const judged = this.payload.validate(p.batch.payload, this.payloadContext(p));
      if (!judged.ok) {
        if (judged.convicts) this.out.evidence(unfairProposalEvidence(p.batch, prePrepareStatement(p)));
        return this.out.reject('INVALID_PAYLOAD', from, 'pre-prepare');
      }
    }
    entry.prePrepare = p;
    // Prepares and commits that came before it, for another batch: passed on (forwardIfConflicting).
    for (const tally of [entry.prepares, entry.commits]) {
      for (let key = 0; key < entry.digests.length; key++) if (!bytesEqual(entry.digests[key]!, p.batch.hash)) for (const s of tally.statements(key)) this.forwardIfConflicting(entry, s);
    }
    if (backup && this.recordSigned(PbftDomains.prepare, p.view, sequence, p.batch.hash)) {
      const prepare = signStatement(this.config.signer, this.self, PbftDomains.prepare, { view: p.view, sequence, blockHash: p.batch.hash });
      this.out.trace({ kind: 'vote', view: p.view, block: p.batch.id });
      this.broadcast({ type: 'prepare', statement: prepare, prePrepare: prePrepareStatement(p) });
      entry.prepares.addOwn(this.digestKey(entry, p.batch.hash), prepare);
    }
    this.checkEntry(p.view, sequence);
  }

  /** What the payload policy judges a batch in: its view and sequence number, and the batches in flight before it (read only if asked). */
  private payloadContext(p: PrePrepare): PayloadContext {
    // The batches between the last executed one and this one: all here, or the policy is told so.
    const below: Block[] = [];
    const byView = this.log.get(p.view);
    for (let s = this.lastExecuted + 1; s < p.batch.height; s++) {
      const pp = byView?.get(s)?.prePrepare;
      if (pp !== undefined) below.push(pp.batch);
    }
    return {
      view: p.view,
      height: p.batch.height,
      now: this.now,
      pendingComplete: below.length === Math.max(0, p.batch.height - 1 - this.lastExecuted),
      get pending() {
        return pendingKeys(below);
      },
    };
  }

  private onPrepare(s: SignedStatement, prePrepare: SignedStatement, from: number): void {
    if (s.domain !== PbftDomains.prepare || s.signer === this.primary(s.view)) return this.out.reject('MALFORMED', from, 'prepare');
    if (s.view !== this.view) {
      if (s.view < this.view) return this.out.reject('STALE', from, 'prepare');
      return this.refusedAhead(s.signer, s.view, () => this.verifier.verify(s), from, 'prepare');
    }
    if (!this.inWindow(s.sequence)) return this.dropOutOfWindow(from, 'prepare');
    if (!this.verifier.verify(s)) return this.out.reject('BAD_SIGNATURE', from, 'prepare');
    const entry = this.entry(s.view, s.sequence);
    // The primary's statement it answers: every version a primary sent reaches every replica.
    if (prePrepare.domain === PbftDomains.prePrepare && prePrepare.signer === this.primary(prePrepare.view) && prePrepare.view === s.view && prePrepare.sequence === s.sequence && this.verifier.verify(prePrepare)) this.notePrimary(entry, prePrepare);
    const code = this.firstOf(entry, entry.prepares, s);
    if (code !== undefined) return this.out.reject(code, from, 'prepare');
    this.forwardIfConflicting(entry, s);
    this.checkEntry(s.view, s.sequence);
  }

  private onCommit(s: SignedStatement, from: number): void {
    if (s.domain !== PbftDomains.commit) return this.out.reject('MALFORMED', from, 'commit');
    if (s.view > this.view) return this.refusedAhead(s.signer, s.view, () => this.verifier.verify(s), from, 'commit');
    if (s.view + PAST_VIEWS < this.view) {
      this.drop();
      return this.out.reject('STALE', from, 'commit');
    }
    if (!this.inWindow(s.sequence)) return this.dropOutOfWindow(from, 'commit');
    if (!this.verifier.verify(s)) return this.out.reject('BAD_SIGNATURE', from, 'commit');
    const entry = this.entry(s.view, s.sequence);
    const code = this.firstOf(entry, entry.commits, s);
    if (code !== undefined) return this.out.reject(code, from, 'commit');
    this.forwardIfConflicting(entry, s);
    this.checkEntry(s.view, s.sequence);
    // A quorum committed a batch this replica never got the pre-prepare of: an honest one executes it.
    if (entry.prePrepare === undefined && s.sequence > this.lastExecuted && entry.commits.reached(this.digestKey(entry, s.blockHash))) this.executedElsewhere(s.sequence);
  }

  /**
   * Counts `s` (verified) if it is the first of its signer in `entry` for its kind; a later one for
   * another batch is shown as evidence. The refusal code if it is not the first.
   */
  private firstOf(entry: LogEntry, tally: VoteTally<number>, s: SignedStatement): RejectionCode | undefined {
    for (let key = 0; key < entry.digests.length; key++) {
      if (!tally.has(key, s.signer)) continue;
      if (bytesEqual(entry.digests[key]!, s.blockHash)) return 'DUPLICATE';
      this.equivocation(tally.statements(key).find((x) => x.signer === s.signer)!, s);
      return 'EQUIVOCATION';
    }
    tally.addOwn(this.digestKey(entry, s.blockHash), s);
    return undefined;
  }

  private notePrimary(entry: LogEntry, s: SignedStatement): void {
    if (entry.primaryStatement === undefined) entry.primaryStatement = s;
    else if (!bytesEqual(entry.primaryStatement.blockHash, s.blockHash)) this.equivocation(entry.primaryStatement, s);
  }

  private equivocation(first: SignedStatement, second: SignedStatement): void {
    if (this.reported.has(second.signer)) return;
    this.reported.add(second.signer);
    this.out.evidence({ kind: 'equivocation', offender: second.signer, first, second });
  }

  /**
   * A prepare or commit for another batch than the one this replica accepted for (view, sequence)
   * is passed on to everyone: if its signer sent each half of the replicas a different version, the
   * replicas holding the other one can now prove it. Honest replicas only disagree like this when
   * the primary equivocated, so the cost is paid only under attack.
   */
  private forwardIfConflicting(entry: LogEntry, s: SignedStatement): void {
    const p = entry.prePrepare;
    if (p === undefined || bytesEqual(p.batch.hash, s.blockHash)) return;
    const key = 2 * s.signer + (s.domain === PbftDomains.prepare ? 0 : 1);
    if (entry.forwarded?.has(key)) return;
    (entry.forwarded ??= new Set()).add(key);
    this.broadcast(s.domain === PbftDomains.prepare ? { type: 'prepare', statement: s, prePrepare: prePrepareStatement(p) } : { type: 'commit', statement: s });
  }

  /** The rules' prepared and committed-local predicates for an accepted pre-prepare with `count` matching prepares or commits. */
  private prepared(count: number): boolean {
    return this.rules.prepared({ prePrepared: true, prepares: count, quorum: this.quorum, n: this.n });
  }

  private committedLocal(count: number): boolean {
    return this.rules.committedLocal({ prepared: true, commits: count, quorum: this.quorum, n: this.n });
  }

  /** The fewest of `statements` (in the order they came) for which `holds(count)`: what a certificate needs to carry. */
  private fewest(statements: readonly SignedStatement[], holds: (count: number) => boolean): SignedStatement[] {
    let k = 0;
    while (k < statements.length && !holds(k)) k++;
    return statements.slice(0, k);
  }

  /** The prepared and committed-local predicates for (view, sequence), and what follows from them. */
  private checkEntry(view: number, sequence: number): void {
    const entry = this.entry(view, sequence);
    const p = entry.prePrepare;
    if (p === undefined) return;
    const digest = p.batch.hash;
    const key = this.digestKey(entry, digest);
    if (!entry.prepared) {
      if (!this.prepared(entry.prepares.count(key))) return;
      entry.prepared = true;
      const existing = this.preparedCerts.get(sequence);
      if (existing === undefined || existing.prePrepare.view < view) {
        this.preparedCerts.set(sequence, { prePrepare: p, prepares: this.fewest(entry.prepares.statements(key), (k) => this.prepared(k)) });
        this.dirty = true;
      }
      if (view === this.view && !this.inViewChange && this.recordSigned(PbftDomains.commit, view, sequence, digest)) {
        const commit = signStatement(this.config.signer, this.self, PbftDomains.commit, { view, sequence, blockHash: digest });
        this.out.trace({ kind: 'certify', view, block: p.batch.id, height: sequence });
        this.broadcast({ type: 'commit', statement: commit });
        entry.commits.addOwn(key, commit);
      }
    }
    if (entry.committed) return;
    if (!this.committedLocal(entry.commits.count(key))) return;
    entry.committed = true;
    if (!this.committedBatches.has(sequence) && sequence > this.lastExecuted) {
      const commits = this.fewest(entry.commits.statements(key), (k) => this.committedLocal(k));
      this.committedBatches.set(sequence, { batch: p.batch, commits: commits.length > 0 ? commits : entry.commits.statements(key).slice(0, 1) });
    }
    this.execute();
  }

  /**
   * Executes committed batches in sequence order; each becomes the next ledger block. The commit
   * output goes out before the persist that records the execution: a crash between them makes the
   * replica execute those batches again (the same blocks, a no-op for the ledger), never skip one.
   */
  private execute(): void {
    let blocks: Block[] = [];
    let proposals: string[] = [];
    const start = this.lastExecuted;
    for (let next = this.committedBatches.get(this.rules.nextToExecute(this.lastExecuted)); next !== undefined; next = this.committedBatches.get(this.rules.nextToExecute(this.lastExecuted))) {
      const { batch } = next;
      this.committedBatches.delete(batch.height);
      const block = makeBlock({ parent: this.ledgerTip, height: batch.height, view: batch.view, proposer: batch.proposer, payload: batch.payload });
      this.ledgerTip = block.hash;
      this.lastExecuted = batch.height;
      this.dirty = true;
      // Batches from a finalized chain come without commits: peers get them from the ledger.
      if (next.commits.length > 0) this.history.set(batch.height, next);
      blocks.push(block);
      proposals.push(batch.id);
      this.ledgerHashes.set(block.height, block.hash);
      // Bounded whatever the stable checkpoint does (a missing one is recomputed): the oldest goes first.
      if (this.ledgerHashes.size > this.L + MAX_ANSWER_BATCHES) this.ledgerHashes.delete(this.ledgerHashes.keys().next().value!);
      if (this.rules.checkpointDue(batch.height, this.K, this.stable.sequence)) {
        commitChain(this.out, blocks, this.payload, proposals, this.certificate(block));
        blocks = [];
        proposals = [];
        if (this.recordSigned(PbftDomains.checkpoint, 0, batch.height, block.hash)) {
          const checkpoint = signStatement(this.config.signer, this.self, PbftDomains.checkpoint, { view: 0, sequence: batch.height, blockHash: block.hash });
          this.broadcast({ type: 'checkpoint', statement: checkpoint });
          this.onCheckpoint(checkpoint, this.self);
        }
      }
    }
    if (blocks.length > 0) commitChain(this.out, blocks, this.payload, proposals, this.certificate(blocks[blocks.length - 1]!));
    this.noteGap();
    if (this.lastExecuted === start || this.inViewChange) return;
    // Progress in this view: the view is working, the timer starts over from the base timeout.
    // Unless the payload policy holds a transaction owed for a whole timeout that the primary keeps
    // leaving out (fair ordering): executing batches without it is not progress.
    this.consecutiveViewChanges = 0;
    if (this.payload.overdue?.(this.now, this.baseTimeout) === true) return;
    this.armProgressTimer();
  }

  /**
   * The commit certificate of ledger block `block` (just executed): the stable checkpoint, then each
   * executed batch above it with its commits (see certificate.ts), gathered now and encoded when
   * the runtime reads it. Undefined where a batch between them came without commits (executed from
   * a peer's finalized chain), or the checkpoint is above the block (a replica catching up executes
   * below a checkpoint it adopted first).
   */
  private certificate(block: Block): (() => Uint8Array) | undefined {
    const stable = this.stable;
    if (stable.sequence > block.height) return undefined;
    const links: CertifiedSequence[] = [];
    let parent = stable.digest;
    for (let sequence = stable.sequence + 1; sequence <= block.height; sequence++) {
      const c = this.history.get(sequence);
      if (c === undefined || c.commits.length === 0) return undefined;
      const b = c.batch;
      const header: BlockHeader = { parent, height: sequence, view: b.view, proposer: b.proposer, payloadRoot: b.payloadRoot };
      links.push({ header, commits: c.commits });
      parent = this.ledgerHashes.get(sequence) ?? blockHash(header);
    }
    if (!bytesEqual(parent, block.hash)) return undefined;
    const { verifier, n } = this;
    return () => {
      // A proof taken from a peer (a view change, a fetch answer) holds a quorum of valid signatures but
      // may carry others too: only valid ones, one per signer, go into the certificate (checks cached).
      const statements = stable.sequence === 0 ? [] : distinctVerified(stable.statements, { domain: PbftDomains.checkpoint, view: 0, sequence: stable.sequence, blockHash: stable.digest }, verifier);
      return pbftCertificate({ sequence: stable.sequence, digest: stable.digest, statements }, links, n);
    };
  }

  // ---- checkpoints, watermarks, garbage collection, catching up ----

  private onCheckpoint(s: SignedStatement, from: number): void {
    if (s.domain !== PbftDomains.checkpoint || s.view !== 0 || s.sequence % this.K !== 0) return this.out.reject('MALFORMED', from, 'checkpoint');
    if (!this.config.validators.has(s.signer)) return this.out.reject('BAD_SIGNATURE', from, 'checkpoint');
    if (s.sequence <= this.stable.sequence) return this.out.reject('STALE', from, 'checkpoint');
    const mine = this.checkpoints[s.signer]!;
    const earlier = mine.get(s.sequence);
    if (earlier !== undefined) {
      if (bytesEqual(earlier.blockHash, s.blockHash)) return this.out.reject('DUPLICATE', from, 'checkpoint');
      if (!this.verifier.verify(s)) return this.out.reject('BAD_SIGNATURE', from, 'checkpoint');
      this.equivocation(earlier, s);
      return this.out.reject('EQUIVOCATION', from, 'checkpoint');
    }
    if (s.sequence > this.stable.sequence + this.L) {
      // Above the window: only the signer's highest is kept (it tells how far the cluster is).
      if (s.sequence <= this.checkpointHigh[s.signer]!) return this.dropOutOfWindow(from, 'checkpoint');
      if (!this.verifier.verify(s)) return this.out.reject('BAD_SIGNATURE', from, 'checkpoint');
      for (const sequence of mine.keys()) {
        if (sequence <= this.stable.sequence + this.L) continue;
        mine.delete(sequence);
        this.drop();
      }
    } else if (!this.verifier.verify(s)) return this.out.reject('BAD_SIGNATURE', from, 'checkpoint');
    mine.set(s.sequence, s);
    if (s.sequence > this.checkpointHigh[s.signer]!) {
      this.checkpointHigh[s.signer] = s.sequence;
      // f+1 replicas signed checkpoints at or above h: an honest one executed up to h.
      this.executedElsewhere(this.kthHighestOfOthers(this.checkpointHigh, this.oneHonest));
    }
    const candidates: SignedStatement[] = [];
    for (const bySequence of this.checkpoints) {
      const c = bySequence.get(s.sequence);
      if (c !== undefined) candidates.push(c);
    }
    const statements = distinctVerified(candidates, { domain: PbftDomains.checkpoint, view: 0, sequence: s.sequence, blockHash: s.blockHash }, this.verifier);
    if (this.rules.stable(statements.length, this.quorum)) this.adoptStable({ sequence: s.sequence, digest: s.blockHash, statements });
  }

  /** The k-th highest of `values` among the other replicas (0 if fewer). */
  private kthHighestOfOthers(values: readonly number[], k: number): number {
    const others: number[] = [];
    for (let i = 0; i < values.length; i++) if (i !== this.self) others.push(values[i]!);
    others.sort((a, b) => b - a);
    return others[k - 1] ?? 0;
  }

  private validCheckpointProof(c: CheckpointProof): boolean {
    if (c.sequence === 0) return bytesEqual(c.digest, GENESIS.hash);
    if (c.statements.some((s) => s.domain !== PbftDomains.checkpoint || s.view !== 0 || s.sequence !== c.sequence || !bytesEqual(s.blockHash, c.digest))) return false;
    const valid = distinctVerified(c.statements, { domain: PbftDomains.checkpoint, view: 0, sequence: c.sequence, blockHash: c.digest }, this.verifier);
    return this.rules.stable(valid.length, this.quorum);
  }

  private adoptStable(proof: CheckpointProof): void {
    if (proof.sequence <= this.stable.sequence) return;
    this.stable = proof;
    this.watermarks = { low: proof.sequence, window: this.L };
    this.dirty = true;
    // Garbage collection: nothing at or below the stable checkpoint is needed for agreement again.
    for (const byView of this.log.values()) for (const sequence of byView.keys()) if (sequence <= proof.sequence) byView.delete(sequence);
    for (const sequence of this.preparedCerts.keys()) if (sequence <= proof.sequence) this.preparedCerts.delete(sequence);
    for (const [key, x] of this.signed) if (x.sequence <= proof.sequence && x.domain !== PbftDomains.viewChange) this.signed.delete(key);
    for (const bySequence of this.checkpoints) for (const sequence of bySequence.keys()) if (sequence <= proof.sequence) bySequence.delete(sequence);
    for (const sequence of this.ledgerHashes.keys()) if (sequence <= proof.sequence) this.ledgerHashes.delete(sequence);
    this.executedElsewhere(proof.sequence);
  }

  /** Some honest replica executed up to `sequence`: fetch what is missing below it. */
  private executedElsewhere(sequence: number): void {
    if (sequence <= this.catchUpTarget) return;
    this.catchUpTarget = sequence;
    this.maybeFetch();
  }

  /** Behind: an honest replica executed more, or a committed batch waits for one this replica never got. */
  private behind(): boolean {
    return this.lastExecuted < this.catchUpTarget || this.committedBatches.size > 0;
  }

  private maybeFetch(): void {
    if (!this.behind()) return this.fetcher.resolve(CATCH_UP);
    if (this.fetchTimerSet) return;
    this.fetchFrom(this.nextFetchPeer());
  }

  /**
   * A committed batch waits for an earlier one: usually it is only a moment late (commits arrive
   * out of order), so the fetch waits for the timer, and goes out then if the gap is still there.
   */
  private noteGap(): void {
    if (this.committedBatches.size === 0 || this.fetchTimerSet) return;
    this.fetchTimerSet = true;
    this.out.setTimer('fetch', this.now + this.resendInterval);
  }

  private nextFetchPeer(): number {
    this.fetchPeer = (this.fetchPeer + 1) % this.n;
    if (this.fetchPeer === this.self) this.fetchPeer = (this.fetchPeer + 1) % this.n;
    return this.fetchPeer;
  }

  /** One request at a time: the next is sent on an answer that helped, or on the timer to another peer. */
  private fetchFrom(peer: number): void {
    if (peer === this.self) return;
    let toSequence = 0;
    for (const sequence of this.anchors.keys()) if (toSequence === 0 || sequence < toSequence) toSequence = sequence;
    const fromSequence = this.lastExecuted + 1;
    this.fetcher.resolve(CATCH_UP);
    this.fetcher.ask(CATCH_UP, fromSequence, this.now);
    this.send(peer, toSequence === 0 ? { type: 'fetch', fromSequence } : { type: 'fetch', fromSequence, toSequence });
    this.fetchTimerSet = true;
    this.out.setTimer('fetch', this.now + this.resendInterval);
  }

  private onFetchTimer(): void {
    this.fetchTimerSet = false;
    // The request is closed once the replica caught up; else it goes to the next peer.
    this.fetcher.due(this.now, () => !this.behind());
    this.maybeFetch();
  }

  /**
   * Executed batches from `fromSequence` on, bounded in count and bytes; a peer gets a few answers
   * in a burst, then one per delta. Those still in memory go with their commits; older ones (dropped
   * by a restart) come from the finalized chain, linked by hashes to the stable checkpoint (see answerFromLedger).
   */
  private onFetch(fromSequence: number, toSequence: number, from: number): void {
    if (from === this.self || !this.config.validators.has(from) || fromSequence < 1) return this.out.reject('MALFORMED', from, 'fetch');
    if (fromSequence > this.lastExecuted) return this.out.reject('OUT_OF_WINDOW', from, 'fetch');
    const tokens = Math.min(SERVE_BURST, this.serveTokens[from]! + (this.now - this.servedAt[from]!) / this.config.timing.delta);
    if (tokens < 1) return this.out.reject('RATE_LIMITED', from, 'fetch');
    this.serveTokens[from] = tokens - 1;
    this.servedAt[from] = this.now;
    if (!this.history.has(fromSequence)) return this.answerFromLedger(fromSequence, toSequence, from);
    const batches: CommittedBatch[] = [];
    let bytes = 0;
    for (let s = fromSequence; s <= this.lastExecuted && batches.length < MAX_ANSWER_BATCHES && bytes < MAX_ANSWER_BYTES; s++) {
      const c = this.history.get(s);
      if (c === undefined) break;
      batches.push(c);
      for (const tx of c.batch.payload) bytes += tx.length;
    }
    this.send(from, { type: 'committed', batches });
  }

  /**
   * Final blocks from the runtime's finalized chain for a peer behind what this replica holds in
   * memory. What proves them is a hash chain up to a proven point: this replica's stable checkpoint
   * (its proof goes along), or the height `toSequence` the asker holds proven. The answer holds at
   * most MAX_ANSWER_BATCHES whole blocks (and MAX_ANSWER_BYTES of payload) from `fromSequence` on,
   * then the headers of the blocks between them and that point (at most MAX_HEADERS); a point further
   * up gets only the MAX_HEADERS headers below it, which prove the asker a point that much lower.
   */
  private answerFromLedger(fromSequence: number, toSequence: number, from: number): void {
    const chain = this.config.finalized;
    const top = toSequence > 0 ? toSequence : this.stable.sequence;
    // Not held here (no finalized chain, or not up to that point): the asker turns to another peer.
    if (chain === undefined || top < fromSequence || top > chain.height) return this.out.reject('OUT_OF_WINDOW', from, 'fetch');
    const topBlock = chain.at(top);
    if (topBlock === undefined || (toSequence === 0 && !bytesEqual(topBlock.hash, this.stable.digest))) return this.out.reject('OUT_OF_WINDOW', from, 'fetch');
    let blocks: Block[] = [];
    let bytes = 0;
    for (let s = fromSequence; s <= top && blocks.length < MAX_ANSWER_BATCHES && bytes < MAX_ANSWER_BYTES; s++) {
      const b = chain.at(s);
      if (b === undefined) return this.out.reject('OUT_OF_WINDOW', from, 'fetch');
      blocks.push(b);
      for (const tx of b.payload) bytes += tx.length;
    }
    if (top - (fromSequence + blocks.length) + 1 > MAX_HEADERS) blocks = [];
    const headers: BlockHeader[] = [];
    for (let s = Math.max(fromSequence + blocks.length, top - MAX_HEADERS + 1); s <= top; s++) {
      const b = chain.at(s);
      if (b === undefined) return this.out.reject('OUT_OF_WINDOW', from, 'fetch');
      headers.push({ parent: b.parent, height: b.height, view: b.view, proposer: b.proposer, payloadRoot: b.payloadRoot });
    }
    this.send(from, { type: 'final', proof: toSequence > 0 ? undefined : this.stable, blocks, headers });
  }

  /** Why a fetch answer that proves nothing new is refused: it was not asked for, or it was. */
  private uselessAnswer(): RejectionCode {
    return this.fetcher.isOpen(CATCH_UP) ? 'STALE' : 'UNASKED';
  }

  /**
   * Final blocks from a peer's ledger (answerFromLedger): taken only if they link by hashes to this
   * replica's ledger tip and up to a point it holds proven, or that the answer's checkpoint proof
   * (a quorum of checkpoint signatures) proves. Blocks are executed as committed batches; headers
   * alone prove the point below the first of them, and the replica asks again for what lies below.
   */
  private onFinal(m: FinalAnswer, from: number): void {
    const items: BlockHeader[] = [...m.blocks, ...m.headers];
    const last = items[items.length - 1];
    if (last === undefined || (m.proof !== undefined && m.proof.sequence !== last.height)) return this.out.reject('MALFORMED', from, 'final');
    if (last.height <= this.lastExecuted) return this.out.reject(this.uselessAnswer(), from, 'final');
    const hashes = items.map((h) => blockHash(h));
    for (let i = 1; i < items.length; i++) if (items[i]!.height !== items[i - 1]!.height + 1 || !bytesEqual(items[i]!.parent, hashes[i - 1]!)) return this.out.reject('UNPROVEN', from, 'final');
    const topHash = hashes[hashes.length - 1]!;
    const known = this.anchors.get(last.height) ?? (last.height === this.stable.sequence ? this.stable.digest : undefined);
    const proof = m.proof !== undefined && (known === undefined || m.proof.sequence > this.stable.sequence) && bytesEqual(m.proof.digest, topHash) && this.validCheckpointProof(m.proof) ? m.proof : undefined;
    if (known !== undefined ? !bytesEqual(known, topHash) : proof === undefined) return this.out.reject(known === undefined && m.proof !== undefined ? 'BAD_CERTIFICATE' : 'UNPROVEN', from, 'final');
    const first = items[0]!;
    if (m.blocks.length > 0 && (first.height !== this.lastExecuted + 1 || !bytesEqual(first.parent, this.ledgerTip))) return this.out.reject('UNPROVEN', from, 'final');
    if (!m.blocks.every((b) => payloadMatches(b))) return this.out.reject('INVALID_PAYLOAD', from, 'final');
    if (proof !== undefined) this.adoptStable(proof);
    const before = this.lastExecuted;
    // Proven points for the next requests: below the headers when no block came (walking down), and
    // every MAX_ANSWER_BATCHES heights along them (so that the next answers need few headers).
    let lowered = false;
    if (m.blocks.length === 0) lowered = this.addAnchor(first.height - 1, first.parent, true);
    else for (let i = m.blocks.length; i < items.length; i++) if (items[i]!.height % MAX_ANSWER_BATCHES === 0) this.addAnchor(items[i]!.height, hashes[i]!, false);
    for (const b of m.blocks) {
      this.committedBatches.delete(b.height);
      this.committedBatches.set(b.height, { batch: makeBlock({ parent: ZERO_HASH, height: b.height, view: b.view, proposer: b.proposer, payload: b.payload }), commits: [] });
    }
    this.execute();
    for (const sequence of this.anchors.keys()) if (sequence <= this.lastExecuted) this.anchors.delete(sequence);
    if ((lowered || this.lastExecuted > before) && this.behind()) this.fetchFrom(from);
  }

  /** Batches committed elsewhere, each with a quorum of matching commits of one view: executed as if committed here. */
  private onCommitted(batches: readonly CommittedBatch[], from: number): void {
    const before = this.lastExecuted;
    let taken = 0;
    let unproven = false;
    for (const { batch, commits } of batches) {
      const sequence = batch.height;
      if (sequence <= this.lastExecuted || sequence > this.lastExecuted + this.L + MAX_ANSWER_BATCHES || this.committedBatches.has(sequence)) continue;
      const view = commits[0]?.view ?? 0;
      // A quorum of distinct replicas signed a commit for this very batch in one view.
      const proof = bytesEqual(batch.parent, ZERO_HASH) && payloadMatches(batch) ? collectQuorum(commits, { domain: PbftDomains.commit, view, sequence, blockHash: batch.hash }, this.verifier) : undefined;
      if (proof === undefined) {
        unproven = true;
        continue;
      }
      this.committedBatches.set(sequence, { batch, commits: proof });
      taken++;
    }
    if (taken === 0) this.out.reject(unproven ? 'UNPROVEN' : this.uselessAnswer(), from, 'committed');
    this.execute();
    // The answer helped and more is missing: ask the same peer for the next range at once.
    if (this.lastExecuted > before && this.behind()) this.fetchFrom(from);
  }

  /**
   * Keeps a proven point above the last executed height. When MAX_ANCHORS are kept, one `needed` to
   * walk down replaces the highest (which the stable checkpoint proves again later); others wait.
   */
  private addAnchor(height: number, hash: Uint8Array, needed: boolean): boolean {
    if (height <= this.lastExecuted || this.anchors.has(height)) return false;
    if (this.anchors.size >= MAX_ANCHORS) {
      if (!needed) return false;
      this.anchors.delete(Math.max(...this.anchors.keys()));
    }
    this.anchors.set(height, hash);
    return true;
  }

  // ---- view changes ----

  private armProgressTimer(): void {
    const timeout = this.baseTimeout * 2 ** Math.min(this.consecutiveViewChanges, this.maxBackoff);
    this.out.setTimer('progress', this.now + timeout);
  }

  /** Drops log entries of views this replica will never sign in again, and view changes at or below `view`. */
  private leaveViewsBelow(view: number): void {
    for (const v of this.log.keys()) if (v + PAST_VIEWS < view) this.log.delete(v);
    for (const [key, x] of this.signed) if (x.view < view && x.domain !== PbftDomains.checkpoint) this.signed.delete(key);
    for (const [signer, v] of this.viewChanges) if (v.statement.view < view) this.viewChanges.delete(signer);
    this.currentNewView = undefined;
    this.myViewChange = undefined;
  }

  private startViewChange(newView: number): void {
    if (newView <= this.view) return;
    this.view = newView;
    this.viewOf[this.self] = newView;
    this.inViewChange = true;
    this.dirty = true;
    this.consecutiveViewChanges++;
    this.leaveViewsBelow(newView);
    this.timerArmedFor = -1;
    // The timer for the new view starts only with a quorum of view changes for it (viewChangeTimerRuns).
    this.out.cancelTimer('progress');
    this.out.trace({ kind: 'view', view: newView, leader: this.primary(newView) });
    this.sendViewChange(newView);
  }

  /** Signs (or re-signs identically) this replica's view change for `view`, broadcasts it, and keeps re-sending it. */
  private sendViewChange(view: number): void {
    const prepared = [...this.preparedCerts.values()].filter((c) => c.prePrepare.batch.height > this.stable.sequence).sort((a, b) => a.prePrepare.batch.height - b.prePrepare.batch.height);
    const digest = preparedDigest(prepared);
    if (!this.recordSigned(PbftDomains.viewChange, view, this.stable.sequence, digest)) return;
    const statement = signStatement(this.config.signer, this.self, PbftDomains.viewChange, { view, sequence: this.stable.sequence, blockHash: digest });
    const viewChange: ViewChange = { statement, stable: this.stable, prepared };
    this.myViewChange = viewChange;
    this.broadcast({ type: 'view-change', viewChange });
    this.out.setTimer('view-change', this.now + this.resendInterval);
    this.viewChanges.set(this.self, viewChange);
    this.viewChangeCounted();
  }

  /** While in a view change, its message is re-sent: lost before GST, or not received by a replica that was down. */
  private onViewChangeTimer(): void {
    if (!this.inViewChange || this.myViewChange === undefined || this.myViewChange.statement.view !== this.view) return;
    this.broadcast({ type: 'view-change', viewChange: this.myViewChange });
    this.out.setTimer('view-change', this.now + this.resendInterval);
  }

  /** Why a view change is not valid (its statement, its checkpoint proof, a prepared certificate in it), or undefined. */
  private invalidViewChange(v: ViewChange): RejectionCode | undefined {
    const s = v.statement;
    if (s.domain !== PbftDomains.viewChange || s.sequence !== v.stable.sequence || !bytesEqual(s.blockHash, preparedDigest(v.prepared))) return 'MALFORMED';
    if (!this.verifier.verify(s)) return 'BAD_SIGNATURE';
    if (!this.validCheckpointProof(v.stable)) return 'BAD_CERTIFICATE';
    return v.prepared.every((c) => this.validPreparedCertificate(c, s.view, v.stable.sequence)) ? undefined : 'BAD_CERTIFICATE';
  }

  private validPreparedCertificate(c: PreparedCertificate, newView: number, stableSequence: number): boolean {
    const p = c.prePrepare;
    const sequence = p.batch.height;
    if (p.view >= newView || sequence <= stableSequence || sequence > stableSequence + this.L || this.invalidPrePrepare(p) !== undefined) return false;
    const primary = this.primary(p.view);
    if (c.prepares.some((s) => s.domain !== PbftDomains.prepare || s.view !== p.view || s.sequence !== sequence || !bytesEqual(s.blockHash, p.batch.hash) || s.signer === primary)) return false;
    // Every prepare carried is of a distinct replica and verifies, and they are enough.
    const valid = distinctVerified(c.prepares, { domain: PbftDomains.prepare, view: p.view, sequence, blockHash: p.batch.hash }, this.verifier);
    return valid.length === c.prepares.length && this.prepared(valid.length);
  }

  private onViewChange(v: ViewChange, from: number): void {
    const s = v.statement;
    const newView = s.view;
    if (!this.config.validators.has(s.signer)) return this.out.reject('BAD_SIGNATURE', from, 'view-change');
    if (s.signer === this.self) return this.out.reject('DUPLICATE', from, 'view-change');
    const kept = this.viewChanges.get(s.signer);
    if (newView < this.view || (newView === this.view && !this.inViewChange) || (kept !== undefined && kept.statement.view >= newView)) {
      // Its sender is behind, or asks again: it has not got the NEW-VIEW of the view this replica is in.
      if (!this.inViewChange && newView <= this.view) this.resendNewView(from);
      return this.out.reject(kept !== undefined && kept.statement.view === newView ? 'DUPLICATE' : 'STALE', from, 'view-change');
    }
    const invalid = this.invalidViewChange(v);
    if (invalid !== undefined) return this.out.reject(invalid, from, 'view-change');
    if (kept !== undefined) this.drop();
    this.viewChanges.set(s.signer, v); // only the highest of each replica: memory bounded by n
    this.aheadOf(s.signer, newView, () => true);
    if (newView >= this.view && this.inViewChange) this.viewChangeCounted();
  }

  /** The view changes held for `view`, one per replica, counted by a tally. */
  private viewChangesFor(view: number): { list: ViewChange[]; votes: VoteTally<number> } {
    const votes = new VoteTally<number>(this.verifier);
    const list: ViewChange[] = [];
    for (const v of this.viewChanges.values()) {
      if (v.statement.view !== view) continue;
      list.push(v);
      votes.addOwn(view, v.statement);
    }
    return { list, votes };
  }

  /** A view change for the view this replica is changing to came in: start the timer, or send NEW-VIEW as its primary. */
  private viewChangeCounted(): void {
    const count = this.viewChangesFor(this.view).votes.count(this.view);
    // The timer counts the replicas that asked for this view or a later one (each replica's highest
    // view change is kept): one that asks for a later view also wants to leave this one. Counting only
    // this view, a quorum split across two target views (some replicas' timers ran out a view ahead
    // before GST) waited for ever: found by the cut-off class at n = 13.
    let atLeast = 0;
    for (const v of this.viewChanges.values()) if (v.statement.view >= this.view) atLeast++;
    if (this.timerArmedFor !== this.view && this.rules.viewChangeTimerRuns(atLeast, this.quorum)) {
      this.timerArmedFor = this.view;
      this.armProgressTimer();
    }
    if (this.primary(this.view) === this.self && this.rules.newViewReady(count, this.quorum) && this.newViewSentFor < this.view) this.sendNewView();
  }

  private sendNewView(): void {
    const view = this.view;
    // The first view changes in (the order they came in) that make the rule hold: any such set will do.
    const all = this.viewChangesFor(view).list;
    let k = 0;
    while (k < all.length && !this.rules.newViewReady(k, this.quorum)) k++;
    const viewChanges = all.slice(0, k);
    const batches = this.rules.reproposals({ newView: view, primary: this.primary(view), viewChanges }, this.rules.chooseReproposal);
    for (const b of batches) if (!this.canSign(PbftDomains.prePrepare, view, b.height, b.hash)) return;
    for (const b of batches) this.recordSigned(PbftDomains.prePrepare, view, b.height, b.hash);
    this.newViewSentFor = view;
    const prePrepares = batches.map((batch) => this.signPrePrepare(view, batch));
    // The new view, its pre-prepares and the next sequence number are persisted before NEW-VIEW leaves.
    this.enterNewView(view, viewChanges, prePrepares, true);
  }

  private onNewView(view: number, viewChanges: readonly ViewChange[], prePrepares: readonly PrePrepare[], from: number): void {
    if (view < this.view || (view === this.view && !this.inViewChange)) return this.out.reject('STALE', from, 'new-view');
    const votes = new VoteTally<number>(this.verifier);
    for (const v of viewChanges) {
      if (v.statement.view !== view || votes.has(view, v.statement.signer) || this.invalidViewChange(v) !== undefined) return this.out.reject('BAD_CERTIFICATE', from, 'new-view');
      votes.addOwn(view, v.statement);
    }
    if (!this.rules.newViewReady(votes.count(view), this.quorum)) return this.out.reject('BAD_CERTIFICATE', from, 'new-view');
    const expected = this.rules.reproposals({ newView: view, primary: this.primary(view), viewChanges }, this.rules.chooseReproposal);
    if (expected.length !== prePrepares.length) return this.out.reject('INVALID_PROPOSAL', from, 'new-view');
    for (let i = 0; i < expected.length; i++) {
      const p = prePrepares[i]!;
      if (p.view !== view || !bytesEqual(p.batch.hash, expected[i]!.hash)) return this.out.reject('INVALID_PROPOSAL', from, 'new-view');
      const invalid = this.invalidPrePrepare(p);
      if (invalid !== undefined) return this.out.reject(invalid, from, 'new-view');
    }
    this.enterNewView(view, viewChanges, prePrepares, false);
  }

  private enterNewView(view: number, viewChanges: readonly ViewChange[], prePrepares: readonly PrePrepare[], asPrimary: boolean): void {
    const message: PbftMessage = { type: 'new-view', view, viewChanges, prePrepares };
    this.leaveViewsBelow(view);
    this.view = view;
    this.viewOf[this.self] = Math.max(this.viewOf[this.self]!, view);
    this.inViewChange = false;
    this.currentNewView = message;
    this.timerArmedFor = -1;
    for (const [signer, v] of this.viewChanges) if (v.statement.view <= view) this.viewChanges.delete(signer);
    const best = viewChanges.reduce((a, v) => (v.stable.sequence > a.sequence ? v.stable : a), this.stable);
    this.nextSequence = Math.max(this.lastExecuted, best.sequence, ...prePrepares.map((p) => p.batch.height)) + 1;
    this.dirty = true;
    this.out.cancelTimer('view-change');
    if (asPrimary) this.broadcast(message);
    this.out.trace({ kind: 'view', view, leader: this.primary(view) });
    if (best.sequence > this.stable.sequence) this.adoptStable(best);
    this.armProgressTimer();
    for (const p of prePrepares) this.onPrePrepare(p, this.primary(view), true);
  }

  /** Sends the NEW-VIEW this replica entered its view with to a replica still changing views, at most once per interval. */
  private resendNewView(to: number): void {
    if (this.currentNewView === undefined || to === this.self || !this.config.validators.has(to) || this.now - this.newViewSentAt[to]! < this.resendInterval) return;
    this.newViewSentAt[to] = this.now;
    this.send(to, this.currentNewView);
  }

  /** A message for a view above this replica's: nothing of it is kept (counted as dropped), but its signer is there. */
  private refusedAhead(signer: number, view: number, valid: () => boolean, from: number, kind: string): void {
    this.drop();
    this.aheadOf(signer, view, valid);
    this.out.reject('OUT_OF_WINDOW', from, kind);
  }

  /**
   * `signer` showed, in a validly signed message, that it is in `view`. f+1 replicas above this one
   * make it join (joinView): a replica that was cut off or down comes back to where the others are.
   * `valid` runs only when the message tells something new.
   */
  private aheadOf(signer: number, view: number, valid: () => boolean): void {
    if (!this.config.validators.has(signer) || view <= this.viewOf[signer]! || !valid()) return;
    this.viewOf[signer] = view;
    const others: number[] = [];
    for (let i = 0; i < this.n; i++) if (i !== this.self) others.push(this.viewOf[i]!);
    const joined = this.rules.joinView(this.view, others, this.oneHonest);
    if (joined > this.view) this.startViewChange(joined);
  }

  // ---- plumbing ----

  private onMessage(m: PbftMessage, from: number): void {
    switch (m.type) {
      case 'pre-prepare':
        return this.onPrePrepare(m.prePrepare, from);
      case 'prepare':
        return this.onPrepare(m.statement, m.prePrepare, from);
      case 'commit':
        return this.onCommit(m.statement, from);
      case 'checkpoint':
        return this.onCheckpoint(m.statement, from);
      case 'view-change':
        return this.onViewChange(m.viewChange, from);
      case 'new-view':
        return this.onNewView(m.view, m.viewChanges, m.prePrepares, from);
      case 'fetch':
        return this.onFetch(m.fromSequence, m.toSequence ?? 0, from);
      case 'committed':
        return this.onCommitted(m.batches, from);
      case 'final':
        return this.onFinal(m, from);
    }
  }

  /** Counted in `footprint().dropped`: refused or evicted by the bounded-state rule. */
  private drop(): void {
    this.dropped++;
  }

  private dropOutOfWindow(from: number, kind: string): void {
    this.drop();
    this.out.reject('OUT_OF_WINDOW', from, kind);
  }

  private canSign(domain: SignedDomain, view: number, sequence: number, digest: Uint8Array): boolean {
    const earlier = this.signed.get(`${domain}/${view}/${sequence}`);
    return earlier === undefined || bytesEqual(earlier.digest, digest);
  }

  /** Records that this replica signs `digest` for (domain, view, sequence), persisted before the next send; false if it signed another. */
  private recordSigned(domain: SignedDomain, view: number, sequence: number, digest: Uint8Array): boolean {
    const key = `${domain}/${view}/${sequence}`;
    const earlier = this.signed.get(key);
    if (earlier !== undefined) return bytesEqual(earlier.digest, digest);
    this.signed.set(key, { domain, view, sequence, digest });
    this.dirty = true;
    return true;
  }

  private recentlyExecuted(): CommittedBatch[] {
    const out: CommittedBatch[] = [];
    for (let sequence = Math.max(1, this.lastExecuted - this.L + 1); sequence <= this.lastExecuted; sequence++) {
      const c = this.history.get(sequence);
      if (c !== undefined) out.push(c);
    }
    return out;
  }

  /** Every send goes through these two: the state it depends on is made durable first. */
  private send(to: number, message: PbftMessage): void {
    this.flush();
    this.out.send(to, message);
  }

  private broadcast(message: PbftMessage): void {
    this.flush();
    this.out.broadcast(message);
  }

  private flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.out.persist(
      encodeSafetyState({
        view: this.view,
        inViewChange: this.inViewChange,
        stable: this.stable,
        lastExecuted: this.lastExecuted,
        ledgerTip: this.ledgerTip,
        nextSequence: this.nextSequence,
        prepared: [...this.preparedCerts.values()],
        executed: this.recentlyExecuted(),
        signed: [...this.signed.values()],
      }),
    );
  }
}
