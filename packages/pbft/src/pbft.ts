// PBFT (Castro and Liskov, OSDI 1999), with batches as the requests:
//  - the primary of view v (v mod n) binds a batch to sequence number s with a signed PRE-PREPARE;
//    backups accept one per (v, s) inside the watermarks and broadcast PREPARE; a batch is
//    prepared with the pre-prepare and quorum - 1 matching prepares from other replicas (a quorum
//    with the primary), and then each replica broadcasts COMMIT; it is committed with a quorum of
//    matching commits, and executed in sequence order (the ledger block of s extends that of s-1).
//    Quorums are ceil(2n/3) (2f+1 when n = 3f+1): any two share an honest replica for every n;
//  - every K sequence numbers replicas sign a CHECKPOINT of the ledger block; a quorum of matching
//    ones makes it stable: the low watermark moves to it and the log below is dropped; the high
//    watermark is low + L;
//  - a replica that sees no execution progress for a timeout moves to view v+1 with a signed
//    VIEW-CHANGE carrying its stable checkpoint proof and its prepared certificates. It starts the
//    timer for v+1 only once a quorum of view changes for v+1 is in (section 4.5.2), and doubles
//    it with each view change in a row; f+1 replicas seen in higher views make it join the highest
//    view at least f+1 of them reached. The new primary, with a quorum of view changes, sends
//    NEW-VIEW re-proposing, for every sequence number between the highest stable checkpoint and
//    the highest prepared one, the batch prepared in the highest view, or a null batch where none
//    was; backups recompute that list and accept only the same. A replica in a view re-sends its
//    NEW-VIEW to a replica that asks to change to it (the message was lost, or its sender restarted);
//  - a replica behind (a stable checkpoint, f+1 checkpoints or a quorum of commits above what it
//    executed) fetches committed batches with their commits, range after range, asking another
//    peer on a timer while it stays behind; batches a peer no longer holds in memory (it restarted)
//    come from its finalized chain (ProtocolConfig.finalized), taken only linked by hashes to a
//    stable checkpoint proof or to a height already proven that way;
//  - everything a signature depends on is persisted before the signature leaves (README, "What is
//    persisted"), and a replica restarts from that state alone.
// The primary proposes a batch every batch interval (2 delta), empty if there are no
// transactions: a silent primary is then told from an idle one.
import {
  blockHash,
  FifoMempool,
  GENESIS,
  makeBlock,
  payloadMatches,
  signStatement,
  StatementVerifier,
  txKey,
  type Block,
  type BlockHeader,
  type Protocol,
  type ProtocolConfig,
  type ProtocolFootprint,
  type ProtocolInput,
  type ProtocolOutput,
  type SignedStatement,
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
}

export function pbftPrimary(view: number, n: number): number {
  return view % n;
}

const ZERO_HASH = new Uint8Array(32);
const GENESIS_CHECKPOINT: CheckpointProof = { seq: 0, digest: GENESIS.hash, statements: [] };
const SeqListCodec = codec.array(codec.record({ view: codec.uint(), seq: codec.uint(), digest: codec.fixedBytes(32) }), 1 << 20);
/** Views below the current one whose commits are still taken (late commits of the view just left). */
const PAST_VIEWS = 2;
/** Most batches, and payload bytes, in one answer to a fetch. */
const MAX_ANSWER_BATCHES = 64;
const MAX_ANSWER_BYTES = 1 << 20;
/** Fetch answers a peer may get in a burst; one more per delta. */
const SERVE_BURST = 4;
/** Most proven points (height, ledger hash) a replica far behind keeps while it walks down to its tip (see onFinal). */
const MAX_ANCHORS = 64;

/** The digest a view change signs: the prepared (view, seq, batch) it reports, in order. */
export function preparedDigest(prepared: readonly PreparedCertificate[]): Uint8Array {
  return hash('bftx.pbft.prepared', encode(SeqListCodec, prepared.map((c) => ({ view: c.prePrepare.view, seq: c.prePrepare.batch.height, digest: c.prePrepare.batch.hash }))));
}

/** The batch a new primary proposes where no batch was prepared: empty, and the same at every replica. */
export function nullBatch(view: number, seq: number, primary: number): Block {
  return makeBlock({ parent: ZERO_HASH, height: seq, view: view, proposer: primary, payload: [] });
}

export function prePrepareStatement(p: PrePrepare): SignedStatement {
  return { domain: PbftDomains.prePrepare, view: p.view, sequence: p.batch.height, blockHash: p.batch.hash, signer: p.primary, signature: p.signature };
}

/** The log entry of one (view, seq): the accepted pre-prepare and the first prepare and commit of each replica. */
interface Slot {
  prePrepare: PrePrepare | undefined;
  /** The first pre-prepare statement of the primary seen (directly or inside a prepare): a second one is its equivocation. */
  primaryStatement: SignedStatement | undefined;
  readonly prepares: Map<number, SignedStatement>;
  readonly commits: Map<number, SignedStatement>;
  prepared: boolean;
  committed: boolean;
  /** Conflicting prepares (2 signer) and commits (2 signer + 1) already passed on. */
  forwarded: Set<number> | undefined;
}

export class Pbft implements Protocol<PbftMessage> {
  readonly self: number;
  protected readonly n: number;
  protected readonly verifier: StatementVerifier;
  private readonly mempool = new FifoMempool();
  private readonly K: number;
  private readonly L: number;
  private readonly pipeline: number;
  private readonly baseTimeout: number;
  private readonly maxBackoff: number;
  private readonly batchInterval: number;
  /** How often a replica re-sends its view change, re-sends a NEW-VIEW to one asker, asks another peer while behind. */
  private readonly resendInterval: number;
  private readonly maxBlockTxs: number;

  // ---- persisted (the safety state) ----
  protected view = 0;
  protected inViewChange = false;
  protected stable: CheckpointProof = GENESIS_CHECKPOINT;
  private lastExecuted = 0;
  private ledgerTip: Uint8Array = GENESIS.hash;
  private nextSeq = 1;
  /** Per sequence number above the stable checkpoint: the prepared certificate of the highest view. */
  protected readonly preparedCerts = new Map<number, PreparedCertificate>();
  /** What this replica signed, by `${domain}/${view}/${seq}`: never two digests for one of them. */
  private readonly signed = new Map<string, SignedRecord>();
  /** The persisted state changed since the last persist output. */
  private dirty = false;

  // ---- in memory, bounded by the window and n ----
  private consecutiveViewChanges = 0;
  /** Log entries by view, then sequence number: views from view - PAST_VIEWS to view, sequence numbers in the window. */
  private readonly sequences = new Map<number, Map<number, Slot>>();
  /** Committed batches not yet executed (the next one is missing), at most L + MAX_ANSWER_BATCHES ahead. */
  private readonly committedBatches = new Map<number, CommittedBatch>();
  /**
   * Executed batches with their commits: what replicas that fell behind fetch. Kept whole (it grows
   * with history, not with what peers send), like the block trees of the other protocols: pruning it
   * needs the durable storage of @bftx/node. A restarted replica serves what it executed since,
   * and older batches from the runtime's finalized chain (`config.finalized`).
   */
  private readonly history = new Map<number, CommittedBatch>();
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
  private fetchPeer: number;
  private fetchTimerSet = false;
  private readonly serveTokens: number[];
  private readonly servedAt: number[];
  private readonly reported = new Set<number>();
  private dropped = 0;
  private now = 0;
  private out: ProtocolOutput<PbftMessage>[] = [];

  constructor(
    protected readonly config: ProtocolConfig,
    options: PbftOptions = {},
  ) {
    this.self = config.self;
    this.n = config.validators.n;
    this.verifier = config.verifier ?? new StatementVerifier(config.validators, config.scheme);
    this.K = options.checkpointInterval ?? 8;
    this.L = options.window ?? 4 * this.K;
    this.pipeline = options.pipeline ?? 4;
    this.baseTimeout = (options.viewTimeoutDeltas ?? 10) * config.timing.delta;
    this.maxBackoff = options.maxBackoff ?? 3;
    this.batchInterval = 2 * config.timing.delta;
    this.resendInterval = Math.max(1, Math.floor(this.baseTimeout / 2));
    this.maxBlockTxs = config.maxBlockTxs ?? 1000;
    this.checkpoints = Array.from({ length: this.n }, () => new Map());
    this.checkpointHigh = new Array<number>(this.n).fill(0);
    this.viewOf = new Array<number>(this.n).fill(0);
    this.newViewSentAt = new Array<number>(this.n).fill(-Infinity);
    this.serveTokens = new Array<number>(this.n).fill(SERVE_BURST);
    this.servedAt = new Array<number>(this.n).fill(0);
    this.fetchPeer = this.self;
    if (config.safetyState !== undefined) {
      const s = decodeSafetyState(config.safetyState);
      this.view = s.view;
      this.inViewChange = s.inViewChange;
      this.stable = s.stable;
      this.lastExecuted = s.lastExecuted;
      this.ledgerTip = s.ledgerTip;
      this.nextSeq = s.nextSeq;
      for (const c of s.prepared) this.preparedCerts.set(c.prePrepare.batch.height, c);
      for (const x of s.signed) this.signed.set(`${x.domain}/${x.view}/${x.seq}`, x);
      for (const c of s.executed) this.history.set(c.batch.height, c);
      this.catchUpTarget = s.stable.seq;
      this.viewOf[this.self] = s.view;
    }
  }

  step(input: ProtocolInput<PbftMessage>): ProtocolOutput<PbftMessage>[] {
    this.out = [];
    this.now = input.now;
    switch (input.type) {
      case 'start':
        this.onStart();
        break;
      case 'timer':
        if (input.timer === 'batch') this.onBatchTimer();
        else if (input.timer === 'progress') this.startViewChange(this.view + 1);
        else if (input.timer === 'view-change') this.onViewChangeTimer();
        else if (input.timer === 'fetch') this.onFetchTimer();
        break;
      case 'transactions':
        this.mempool.add(input.txs);
        break;
      case 'message':
        this.onMessage(input.message, input.from);
        break;
    }
    this.flush();
    return this.out;
  }

  footprint(): ProtocolFootprint {
    let retained = this.preparedCerts.size + this.signed.size + this.committedBatches.size + this.viewChanges.size + this.anchors.size + (this.currentNewView === undefined ? 0 : 1);
    for (const byView of this.sequences.values()) for (const sequence of byView.values()) retained += 1 + sequence.prepares.size + sequence.commits.size;
    for (const bySeq of this.checkpoints) retained += bySeq.size;
    return { retained, dropped: this.dropped };
  }

  // ---- rules (protected: the mutation tests override them to plant bugs) ----

  /**
   * Matching prepares from replicas other than the primary that prepare a batch: quorum - 1, so that
   * with the pre-prepare a quorum backs it and two batches prepared in one view share an honest
   * replica (not 2f: with n = 6, 2f + 1 = 3 replicas are no quorum).
   */
  protected preparedQuorum(): number {
    return this.config.validators.quorum - 1;
  }

  /** Matching commits (the replica's own included) that commit a prepared batch: a quorum. */
  protected commitQuorum(): number {
    return this.config.validators.quorum;
  }

  /** The batch a new primary must re-propose for `seq`: the prepared certificate of the highest view. */
  protected chooseReproposal(certs: readonly PreparedCertificate[]): PreparedCertificate | undefined {
    let best: PreparedCertificate | undefined;
    for (const c of certs) if (best === undefined || c.prePrepare.view > best.prePrepare.view) best = c;
    return best;
  }

  /**
   * Whether the timer of a view change runs, given the view changes in for the new view (own
   * included): only once a quorum is in (Castro and Liskov, 4.5.2). A replica that started it on
   * sending its own climbs views alone while cut off, and never meets the others again.
   */
  protected viewChangeTimerRuns(viewChanges: number): boolean {
    return viewChanges >= this.config.validators.quorum;
  }

  // ---- normal case ----

  protected primary(view: number): number {
    return this.config.leaderSchedule?.[view] ?? pbftPrimary(view, this.n);
  }

  private sequence(view: number, seq: number): Slot {
    let byView = this.sequences.get(view);
    if (byView === undefined) this.sequences.set(view, (byView = new Map()));
    let s = byView.get(seq);
    if (s === undefined) byView.set(seq, (s = { prePrepare: undefined, primaryStatement: undefined, prepares: new Map(), commits: new Map(), prepared: false, committed: false, forwarded: undefined }));
    return s;
  }

  private inWindow(seq: number): boolean {
    return seq > this.stable.seq && seq <= this.stable.seq + this.L;
  }

  private onStart(): void {
    this.out.push({ type: 'trace', event: { kind: 'view', view: this.view, leader: this.primary(this.view) } });
    this.out.push({ type: 'set-timer', timer: 'batch', at: this.now + this.batchInterval });
    if (this.inViewChange) {
      // Restarted during a view change: send it again. Its prepared certificates cannot change during
      // a view change, so it is the same statement, or one for a newer stable checkpoint (another sequence).
      this.sendViewChange(this.view);
    } else {
      this.armProgressTimer();
    }
    this.maybeFetch();
  }

  private onBatchTimer(): void {
    this.out.push({ type: 'set-timer', timer: 'batch', at: this.now + this.batchInterval });
    if (this.inViewChange || this.primary(this.view) !== this.self) return;
    if (this.nextSeq <= this.lastExecuted) {
      this.nextSeq = this.lastExecuted + 1;
      this.dirty = true;
    }
    if (this.nextSeq - this.lastExecuted > this.pipeline || !this.inWindow(this.nextSeq)) return;
    const inFlight = new Set<string>();
    const byView = this.sequences.get(this.view);
    for (let s = this.lastExecuted + 1; s < this.nextSeq; s++) {
      const pp = byView?.get(s)?.prePrepare;
      if (pp !== undefined) for (const tx of pp.batch.payload) inFlight.add(txKey(tx));
    }
    const batch = makeBlock({ parent: ZERO_HASH, height: this.nextSeq, view: this.view, proposer: this.self, payload: this.mempool.take(this.maxBlockTxs, inFlight) });
    this.nextSeq++;
    this.dirty = true;
    if (!this.recordSigned(PbftDomains.prePrepare, this.view, batch.height, batch.hash)) return;
    const prePrepare = this.signPrePrepare(this.view, batch);
    this.out.push({ type: 'trace', event: { kind: 'propose', view: this.view, block: batch.id, height: batch.height, parent: toHex(ZERO_HASH) } });
    this.emit({ type: 'broadcast', message: { type: 'pre-prepare', prePrepare } });
    this.onPrePrepare(prePrepare);
  }

  private signPrePrepare(view: number, batch: Block): PrePrepare {
    const signature = signStatement(this.config.signer, this.self, PbftDomains.prePrepare, { view: view, sequence: batch.height, blockHash: batch.hash }).signature;
    return { view, primary: this.self, batch, signature };
  }

  /** Valid on its own: signed by the primary of its view, a well-formed batch. */
  private validPrePrepare(p: PrePrepare): boolean {
    const b = p.batch;
    return p.primary === this.primary(p.view) && bytesEqual(b.parent, ZERO_HASH) && b.height > 0 && this.verifier.verify(prePrepareStatement(p)) && payloadMatches(b);
  }

  private onPrePrepare(p: PrePrepare): void {
    const seq = p.batch.height;
    if (p.view !== this.view || this.inViewChange) {
      if (p.view > this.view) this.refusedAhead(p.primary, p.view, () => this.validPrePrepare(p));
      return;
    }
    if (!this.inWindow(seq)) return this.drop();
    if (!this.validPrePrepare(p)) return;
    const sequence = this.sequence(p.view, seq);
    this.notePrimary(sequence, prePrepareStatement(p));
    if (sequence.prePrepare !== undefined) return; // one per (view, seq); a second one is the primary's equivocation
    sequence.prePrepare = p;
    for (const earlier of sequence.prepares.values()) this.forwardIfConflicting(sequence, earlier);
    for (const earlier of sequence.commits.values()) this.forwardIfConflicting(sequence, earlier);
    if (this.primary(p.view) !== this.self && this.recordSigned(PbftDomains.prepare, p.view, seq, p.batch.hash)) {
      const prepare = signStatement(this.config.signer, this.self, PbftDomains.prepare, { view: p.view, sequence: seq, blockHash: p.batch.hash });
      this.out.push({ type: 'trace', event: { kind: 'vote', view: p.view, block: p.batch.id } });
      this.emit({ type: 'broadcast', message: { type: 'prepare', statement: prepare, prePrepare: prePrepareStatement(p) } });
      sequence.prepares.set(this.self, prepare);
    }
    this.checkSequence(p.view, seq);
  }

  private onPrepare(s: SignedStatement, prePrepare: SignedStatement): void {
    if (s.domain !== PbftDomains.prepare || s.signer === this.primary(s.view)) return;
    if (s.view !== this.view) {
      if (s.view > this.view) this.refusedAhead(s.signer, s.view, () => this.verifier.verify(s));
      return;
    }
    if (!this.inWindow(s.sequence)) return this.drop();
    if (!this.verifier.verify(s)) return;
    const sequence = this.sequence(s.view, s.sequence);
    // The primary's statement it answers: every version a primary sent reaches every replica.
    if (prePrepare.domain === PbftDomains.prePrepare && prePrepare.signer === this.primary(prePrepare.view) && prePrepare.view === s.view && prePrepare.sequence === s.sequence && this.verifier.verify(prePrepare)) this.notePrimary(sequence, prePrepare);
    if (!this.firstOf(sequence.prepares, s)) return;
    this.forwardIfConflicting(sequence, s);
    this.checkSequence(s.view, s.sequence);
  }

  private onCommit(s: SignedStatement): void {
    if (s.domain !== PbftDomains.commit) return;
    if (s.view > this.view) return this.refusedAhead(s.signer, s.view, () => this.verifier.verify(s));
    if (s.view + PAST_VIEWS < this.view || !this.inWindow(s.sequence)) return this.drop();
    if (!this.verifier.verify(s)) return;
    const sequence = this.sequence(s.view, s.sequence);
    if (!this.firstOf(sequence.commits, s)) return;
    this.forwardIfConflicting(sequence, s);
    this.checkSequence(s.view, s.sequence);
    // A quorum committed a batch this replica never got the pre-prepare of: an honest one executes it.
    if (sequence.prePrepare === undefined && s.sequence > this.lastExecuted && this.matching(sequence.commits, s.blockHash) >= this.config.validators.quorum) this.executedElsewhere(s.sequence);
  }

  /** Stores the first statement of its signer in `bySigner`; a later different one is shown as evidence. False if not the first. */
  private firstOf(bySigner: Map<number, SignedStatement>, s: SignedStatement): boolean {
    const earlier = bySigner.get(s.signer);
    if (earlier === undefined) {
      bySigner.set(s.signer, s);
      return true;
    }
    if (!bytesEqual(earlier.blockHash, s.blockHash)) this.equivocation(earlier, s);
    return false;
  }

  private notePrimary(sequence: Slot, s: SignedStatement): void {
    if (sequence.primaryStatement === undefined) sequence.primaryStatement = s;
    else if (!bytesEqual(sequence.primaryStatement.blockHash, s.blockHash)) this.equivocation(sequence.primaryStatement, s);
  }

  private equivocation(first: SignedStatement, second: SignedStatement): void {
    if (this.reported.has(second.signer)) return;
    this.reported.add(second.signer);
    this.out.push({ type: 'evidence', evidence: { kind: 'equivocation', offender: second.signer, first, second } });
  }

  /**
   * A prepare or commit for another batch than the one this replica accepted for (view, seq) is
   * passed on to everyone: if its signer sent each half of the replicas a different version, the
   * replicas holding the other one can now prove it. Honest replicas only disagree like this when
   * the primary equivocated, so the cost is paid only under attack.
   */
  private forwardIfConflicting(sequence: Slot, s: SignedStatement): void {
    const p = sequence.prePrepare;
    if (p === undefined || bytesEqual(p.batch.hash, s.blockHash)) return;
    const key = 2 * s.signer + (s.domain === PbftDomains.prepare ? 0 : 1);
    if (sequence.forwarded?.has(key)) return;
    (sequence.forwarded ??= new Set()).add(key);
    const message: PbftMessage = s.domain === PbftDomains.prepare ? { type: 'prepare', statement: s, prePrepare: prePrepareStatement(p) } : { type: 'commit', statement: s };
    this.emit({ type: 'broadcast', message });
  }

  private matching(bySigner: Map<number, SignedStatement>, digest: Uint8Array): number {
    let count = 0;
    for (const s of bySigner.values()) if (bytesEqual(s.blockHash, digest)) count++;
    return count;
  }

  private collect(bySigner: Map<number, SignedStatement>, digest: Uint8Array, most: number): SignedStatement[] {
    const out: SignedStatement[] = [];
    for (const s of bySigner.values()) if (out.length < most && bytesEqual(s.blockHash, digest)) out.push(s);
    return out;
  }

  /** Prepared and committed predicates for (view, seq), and what follows from them. */
  private checkSequence(view: number, seq: number): void {
    const sequence = this.sequence(view, seq);
    const p = sequence.prePrepare;
    if (p === undefined) return;
    const digest = p.batch.hash;
    if (!sequence.prepared) {
      const needed = this.preparedQuorum();
      if (this.matching(sequence.prepares, digest) < needed) return;
      sequence.prepared = true;
      const existing = this.preparedCerts.get(seq);
      if (existing === undefined || existing.prePrepare.view < view) {
        this.preparedCerts.set(seq, { prePrepare: p, prepares: this.collect(sequence.prepares, digest, needed) });
        this.dirty = true;
      }
      if (view === this.view && !this.inViewChange && this.recordSigned(PbftDomains.commit, view, seq, digest)) {
        const commit = signStatement(this.config.signer, this.self, PbftDomains.commit, { view: view, sequence: seq, blockHash: digest });
        this.out.push({ type: 'trace', event: { kind: 'certify', view: view, block: p.batch.id, height: seq } });
        this.emit({ type: 'broadcast', message: { type: 'commit', statement: commit } });
        sequence.commits.set(this.self, commit);
      }
    }
    if (sequence.committed) return;
    const needed = this.commitQuorum();
    if (this.matching(sequence.commits, digest) < needed) return;
    sequence.committed = true;
    if (!this.committedBatches.has(seq) && seq > this.lastExecuted) this.committedBatches.set(seq, { batch: p.batch, commits: this.collect(sequence.commits, digest, Math.max(needed, 1)) });
    this.execute();
  }

  /**
   * Executes committed batches in sequence order; each becomes the next ledger block. The commit
   * output goes out before the persist that records the execution: a crash between them makes the
   * replica execute those batches again (the same blocks, a no-op for the ledger), never skip one.
   */
  private execute(): void {
    let blocks: Block[] = [];
    const start = this.lastExecuted;
    for (let next = this.committedBatches.get(this.lastExecuted + 1); next !== undefined; next = this.committedBatches.get(this.lastExecuted + 1)) {
      const { batch } = next;
      this.committedBatches.delete(batch.height);
      const block = makeBlock({ parent: this.ledgerTip, height: batch.height, view: batch.view, proposer: batch.proposer, payload: batch.payload });
      this.ledgerTip = block.hash;
      this.lastExecuted = batch.height;
      this.dirty = true;
      // Batches from a finalized chain come without commits: peers get them from the ledger.
      if (next.commits.length > 0) this.history.set(batch.height, next);
      this.mempool.remove(batch.payload);
      blocks.push(block);
      this.out.push({ type: 'trace', event: { kind: 'finalize', block: block.id, height: block.height, view: block.view, proposal: batch.id } });
      if (batch.height % this.K === 0 && batch.height > this.stable.seq) {
        this.out.push({ type: 'commit', blocks });
        blocks = [];
        if (this.recordSigned(PbftDomains.checkpoint, 0, batch.height, block.hash)) {
          const checkpoint = signStatement(this.config.signer, this.self, PbftDomains.checkpoint, { view: 0, sequence: batch.height, blockHash: block.hash });
          this.emit({ type: 'broadcast', message: { type: 'checkpoint', statement: checkpoint } });
          this.onCheckpoint(checkpoint);
        }
      }
    }
    if (blocks.length > 0) this.out.push({ type: 'commit', blocks });
    this.noteGap();
    if (this.lastExecuted === start || this.inViewChange) return;
    // Progress in this view: the view is working, the timer starts over from the base timeout.
    this.consecutiveViewChanges = 0;
    this.armProgressTimer();
  }

  // ---- checkpoints, watermarks, garbage collection, catching up ----

  private onCheckpoint(s: SignedStatement): void {
    if (s.domain !== PbftDomains.checkpoint || s.view !== 0 || s.sequence % this.K !== 0 || s.sequence <= this.stable.seq || !this.config.validators.has(s.signer)) return;
    const mine = this.checkpoints[s.signer]!;
    const earlier = mine.get(s.sequence);
    if (earlier !== undefined) {
      if (!bytesEqual(earlier.blockHash, s.blockHash) && this.verifier.verify(s)) this.equivocation(earlier, s);
      return;
    }
    if (s.sequence > this.stable.seq + this.L) {
      // Above the window: only the signer's highest is kept (it tells how far the cluster is).
      if (s.sequence <= this.checkpointHigh[s.signer]!) return this.drop();
      if (!this.verifier.verify(s)) return;
      for (const seq of mine.keys()) {
        if (seq <= this.stable.seq + this.L) continue;
        mine.delete(seq);
        this.drop();
      }
    } else if (!this.verifier.verify(s)) return;
    mine.set(s.sequence, s);
    if (s.sequence > this.checkpointHigh[s.signer]!) {
      this.checkpointHigh[s.signer] = s.sequence;
      // f+1 replicas signed checkpoints at or above h: an honest one executed up to h.
      this.executedElsewhere(this.kthHighest(this.checkpointHigh, this.config.validators.oneHonest));
    }
    const statements: SignedStatement[] = [];
    for (const bySeq of this.checkpoints) {
      const c = bySeq.get(s.sequence);
      if (c !== undefined && bytesEqual(c.blockHash, s.blockHash)) statements.push(c);
    }
    if (statements.length >= this.config.validators.quorum) this.adoptStable({ seq: s.sequence, digest: s.blockHash, statements });
  }

  /** The k-th highest of `values` among the other replicas (0 if fewer). */
  private kthHighest(values: readonly number[], k: number): number {
    const others: number[] = [];
    for (let i = 0; i < values.length; i++) if (i !== this.self) others.push(values[i]!);
    others.sort((a, b) => b - a);
    return others[k - 1] ?? 0;
  }

  private validCheckpointProof(c: CheckpointProof): boolean {
    if (c.seq === 0) return bytesEqual(c.digest, GENESIS.hash);
    const signers = new Set<number>();
    for (const s of c.statements) {
      if (s.domain !== PbftDomains.checkpoint || s.view !== 0 || s.sequence !== c.seq || !bytesEqual(s.blockHash, c.digest) || signers.has(s.signer) || !this.verifier.verify(s)) return false;
      signers.add(s.signer);
    }
    return signers.size >= this.config.validators.quorum;
  }

  private adoptStable(proof: CheckpointProof): void {
    if (proof.seq <= this.stable.seq) return;
    this.stable = proof;
    this.dirty = true;
    // Garbage collection: nothing at or below the stable checkpoint is needed for agreement again.
    for (const byView of this.sequences.values()) for (const seq of byView.keys()) if (seq <= proof.seq) byView.delete(seq);
    for (const seq of this.preparedCerts.keys()) if (seq <= proof.seq) this.preparedCerts.delete(seq);
    for (const [key, x] of this.signed) if (x.seq <= proof.seq && x.domain !== PbftDomains.viewChange) this.signed.delete(key);
    for (const bySeq of this.checkpoints) for (const seq of bySeq.keys()) if (seq <= proof.seq) bySeq.delete(seq);
    this.executedElsewhere(proof.seq);
  }

  /** Some honest replica executed up to `seq`: fetch what is missing below it. */
  private executedElsewhere(seq: number): void {
    if (seq <= this.catchUpTarget) return;
    this.catchUpTarget = seq;
    this.maybeFetch();
  }

  /** Behind: an honest replica executed more, or a committed batch waits for one this replica never got. */
  private behind(): boolean {
    return this.lastExecuted < this.catchUpTarget || this.committedBatches.size > 0;
  }

  private maybeFetch(): void {
    if (!this.behind() || this.fetchTimerSet) return;
    this.fetchFrom(this.nextFetchPeer());
  }

  /**
   * A committed batch waits for an earlier one: usually it is only a moment late (commits arrive
   * out of order), so the fetch waits for the timer, and goes out then if the gap is still there.
   */
  private noteGap(): void {
    if (this.committedBatches.size === 0 || this.fetchTimerSet) return;
    this.fetchTimerSet = true;
    this.out.push({ type: 'set-timer', timer: 'fetch', at: this.now + this.resendInterval });
  }

  private nextFetchPeer(): number {
    this.fetchPeer = (this.fetchPeer + 1) % this.n;
    if (this.fetchPeer === this.self) this.fetchPeer = (this.fetchPeer + 1) % this.n;
    return this.fetchPeer;
  }

  /** One request at a time: the next is sent on an answer that helped, or on the timer to another peer. */
  private fetchFrom(peer: number): void {
    if (peer === this.self) return;
    let toSeq = 0;
    for (const seq of this.anchors.keys()) if (toSeq === 0 || seq < toSeq) toSeq = seq;
    this.emit({ type: 'send', to: peer, message: toSeq === 0 ? { type: 'fetch', fromSeq: this.lastExecuted + 1 } : { type: 'fetch', fromSeq: this.lastExecuted + 1, toSeq } });
    this.fetchTimerSet = true;
    this.out.push({ type: 'set-timer', timer: 'fetch', at: this.now + this.resendInterval });
  }

  private onFetchTimer(): void {
    this.fetchTimerSet = false;
    this.maybeFetch();
  }

  /**
   * Executed batches from `fromSeq` on, bounded in count and bytes; a peer gets a few answers in a
   * burst, then one per delta. Those still in memory go with their commits; older ones (dropped by
   * a restart) come from the finalized chain, linked by hashes to the stable checkpoint (see answerFromLedger).
   */
  private onFetch(fromSeq: number, toSeq: number, from: number): void {
    if (from === this.self || !this.config.validators.has(from) || fromSeq < 1 || fromSeq > this.lastExecuted) return;
    const tokens = Math.min(SERVE_BURST, this.serveTokens[from]! + (this.now - this.servedAt[from]!) / this.config.timing.delta);
    if (tokens < 1) return;
    this.serveTokens[from] = tokens - 1;
    this.servedAt[from] = this.now;
    if (!this.history.has(fromSeq)) return this.answerFromLedger(fromSeq, toSeq, from);
    const batches: CommittedBatch[] = [];
    let bytes = 0;
    for (let s = fromSeq; s <= this.lastExecuted && batches.length < MAX_ANSWER_BATCHES && bytes < MAX_ANSWER_BYTES; s++) {
      const c = this.history.get(s);
      if (c === undefined) break;
      batches.push(c);
      for (const tx of c.batch.payload) bytes += tx.length;
    }
    if (batches.length > 0) this.emit({ type: 'send', to: from, message: { type: 'committed', batches } });
  }

  /**
   * Final blocks from the runtime's finalized chain for a peer behind what this replica holds in
   * memory. What proves them is a hash chain up to a proven point: this replica's stable checkpoint
   * (its proof goes along), or the height `toSeq` the asker holds proven. The answer holds at most
   * MAX_ANSWER_BATCHES whole blocks (and MAX_ANSWER_BYTES of payload) from `fromSeq` on, then the
   * headers of the blocks between them and that point (at most MAX_HEADERS); a point further up
   * gets only the MAX_HEADERS headers below it, which prove the asker a point that much lower.
   */
  private answerFromLedger(fromSeq: number, toSeq: number, from: number): void {
    const chain = this.config.finalized;
    const top = toSeq > 0 ? toSeq : this.stable.seq;
    if (chain === undefined || top < fromSeq || top > chain.height) return;
    const topBlock = chain.at(top);
    if (topBlock === undefined || (toSeq === 0 && !bytesEqual(topBlock.hash, this.stable.digest))) return;
    let blocks: Block[] = [];
    let bytes = 0;
    for (let s = fromSeq; s <= top && blocks.length < MAX_ANSWER_BATCHES && bytes < MAX_ANSWER_BYTES; s++) {
      const b = chain.at(s);
      if (b === undefined) return;
      blocks.push(b);
      for (const tx of b.payload) bytes += tx.length;
    }
    if (top - (fromSeq + blocks.length) + 1 > MAX_HEADERS) blocks = [];
    const headers: BlockHeader[] = [];
    for (let s = Math.max(fromSeq + blocks.length, top - MAX_HEADERS + 1); s <= top; s++) {
      const b = chain.at(s);
      if (b === undefined) return;
      headers.push({ parent: b.parent, height: b.height, view: b.view, proposer: b.proposer, payloadRoot: b.payloadRoot });
    }
    this.emit({ type: 'send', to: from, message: { type: 'final', proof: toSeq > 0 ? undefined : this.stable, blocks, headers } });
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
    if (last === undefined || last.height <= this.lastExecuted || (m.proof !== undefined && m.proof.seq !== last.height)) return;
    const hashes = items.map((h) => blockHash(h));
    for (let i = 1; i < items.length; i++) if (items[i]!.height !== items[i - 1]!.height + 1 || !bytesEqual(items[i]!.parent, hashes[i - 1]!)) return;
    const topHash = hashes[hashes.length - 1]!;
    const known = this.anchors.get(last.height) ?? (last.height === this.stable.seq ? this.stable.digest : undefined);
    const proof = m.proof !== undefined && (known === undefined || m.proof.seq > this.stable.seq) && bytesEqual(m.proof.digest, topHash) && this.validCheckpointProof(m.proof) ? m.proof : undefined;
    if (known !== undefined ? !bytesEqual(known, topHash) : proof === undefined) return;
    const first = items[0]!;
    if (m.blocks.length > 0 && (first.height !== this.lastExecuted + 1 || !bytesEqual(first.parent, this.ledgerTip) || !m.blocks.every((b) => payloadMatches(b)))) return;
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
    for (const seq of this.anchors.keys()) if (seq <= this.lastExecuted) this.anchors.delete(seq);
    if ((lowered || this.lastExecuted > before) && this.behind()) this.fetchFrom(from);
  }

  /** Batches committed elsewhere, each with a quorum of matching commits of one view: executed as if committed here. */
  private onCommitted(batches: readonly CommittedBatch[], from: number): void {
    const before = this.lastExecuted;
    const quorum = this.config.validators.quorum;
    for (const { batch, commits } of batches) {
      const seq = batch.height;
      if (seq <= this.lastExecuted || seq > this.lastExecuted + this.L + MAX_ANSWER_BATCHES || this.committedBatches.has(seq) || !bytesEqual(batch.parent, ZERO_HASH) || !payloadMatches(batch)) continue;
      const first = commits[0];
      const signers = new Set<number>();
      const ok =
        first !== undefined &&
        commits.every((s) => s.domain === PbftDomains.commit && s.view === first.view && s.sequence === seq && bytesEqual(s.blockHash, batch.hash) && !signers.has(s.signer) && signers.add(s.signer) && this.verifier.verify(s));
      if (ok && signers.size >= quorum) this.committedBatches.set(seq, { batch, commits });
    }
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
    this.out.push({ type: 'set-timer', timer: 'progress', at: this.now + timeout });
  }

  /** Drops log entries of views this replica will never sign in again, and view changes at or below `view`. */
  private leaveViewsBelow(view: number): void {
    for (const v of this.sequences.keys()) if (v + PAST_VIEWS < view) this.sequences.delete(v);
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
    // The timer for the new view starts only with a quorum of view changes for it (below).
    this.out.push({ type: 'cancel-timer', timer: 'progress' });
    this.out.push({ type: 'trace', event: { kind: 'view', view: newView, leader: this.primary(newView) } });
    this.sendViewChange(newView);
  }

  /** Signs (or re-signs identically) this replica's view change for `view`, broadcasts it, and keeps re-sending it. */
  private sendViewChange(view: number): void {
    const prepared = [...this.preparedCerts.values()].filter((c) => c.prePrepare.batch.height > this.stable.seq).sort((a, b) => a.prePrepare.batch.height - b.prePrepare.batch.height);
    const digest = preparedDigest(prepared);
    if (!this.recordSigned(PbftDomains.viewChange, view, this.stable.seq, digest)) return;
    const statement = signStatement(this.config.signer, this.self, PbftDomains.viewChange, { view: view, sequence: this.stable.seq, blockHash: digest });
    const viewChange: ViewChange = { statement, stable: this.stable, prepared };
    this.myViewChange = viewChange;
    this.emit({ type: 'broadcast', message: { type: 'view-change', viewChange } });
    this.out.push({ type: 'set-timer', timer: 'view-change', at: this.now + this.resendInterval });
    this.viewChanges.set(this.self, viewChange);
    this.viewChangeCounted();
  }

  /** While in a view change, its message is re-sent: lost before GST, or not received by a replica that was down. */
  private onViewChangeTimer(): void {
    if (!this.inViewChange || this.myViewChange === undefined || this.myViewChange.statement.view !== this.view) return;
    this.emit({ type: 'broadcast', message: { type: 'view-change', viewChange: this.myViewChange } });
    this.out.push({ type: 'set-timer', timer: 'view-change', at: this.now + this.resendInterval });
  }

  private validViewChange(v: ViewChange): boolean {
    const s = v.statement;
    if (s.domain !== PbftDomains.viewChange || s.sequence !== v.stable.seq || !bytesEqual(s.blockHash, preparedDigest(v.prepared))) return false;
    if (!this.verifier.verify(s) || !this.validCheckpointProof(v.stable)) return false;
    return v.prepared.every((c) => this.validPreparedCertificate(c, s.view, v.stable.seq));
  }

  private validPreparedCertificate(c: PreparedCertificate, newView: number, stableSeq: number): boolean {
    const p = c.prePrepare;
    const seq = p.batch.height;
    if (p.view >= newView || seq <= stableSeq || seq > stableSeq + this.L || !this.validPrePrepare(p)) return false;
    const signers = new Set<number>();
    for (const s of c.prepares) {
      if (s.domain !== PbftDomains.prepare || s.view !== p.view || s.sequence !== seq || !bytesEqual(s.blockHash, p.batch.hash)) return false;
      if (s.signer === this.primary(p.view) || signers.has(s.signer) || !this.verifier.verify(s)) return false;
      signers.add(s.signer);
    }
    return signers.size >= this.preparedQuorum();
  }

  private onViewChange(v: ViewChange, from: number): void {
    const s = v.statement;
    const newView = s.view;
    if (!this.config.validators.has(s.signer) || s.signer === this.self) return;
    const kept = this.viewChanges.get(s.signer);
    if (newView < this.view || (newView === this.view && !this.inViewChange) || (kept !== undefined && kept.statement.view >= newView)) {
      // Its sender is behind, or asks again: it has not got the NEW-VIEW of the view this replica is in.
      if (!this.inViewChange && newView <= this.view) this.resendNewView(from);
      return;
    }
    if (!this.validViewChange(v)) return;
    if (kept !== undefined) this.drop();
    this.viewChanges.set(s.signer, v); // only the highest of each replica: memory bounded by n
    this.aheadOf(s.signer, newView, () => true);
    if (newView === this.view && this.inViewChange) this.viewChangeCounted();
  }

  /** A view change for the view this replica is changing to came in: start the timer, or send NEW-VIEW as its primary. */
  private viewChangeCounted(): void {
    let count = 0;
    for (const v of this.viewChanges.values()) if (v.statement.view === this.view) count++;
    if (this.timerArmedFor !== this.view && this.viewChangeTimerRuns(count)) {
      this.timerArmedFor = this.view;
      this.armProgressTimer();
    }
    if (this.primary(this.view) === this.self && count >= this.config.validators.quorum && this.newViewSentFor < this.view) this.sendNewView();
  }

  private sendNewView(): void {
    const view = this.view;
    // The first quorum in (the order they came in): any quorum will do.
    const viewChanges: ViewChange[] = [];
    for (const v of this.viewChanges.values()) if (v.statement.view === view && viewChanges.length < this.config.validators.quorum) viewChanges.push(v);
    const batches = this.reproposals(view, viewChanges);
    for (const b of batches) if (!this.canSign(PbftDomains.prePrepare, view, b.height, b.hash)) return;
    for (const b of batches) this.recordSigned(PbftDomains.prePrepare, view, b.height, b.hash);
    this.newViewSentFor = view;
    const prePrepares = batches.map((batch) => this.signPrePrepare(view, batch));
    // The new view, its pre-prepares and the next sequence number are persisted before NEW-VIEW leaves.
    this.enterNewView(view, viewChanges, prePrepares, true);
  }

  /** The batches a new view must propose, from a quorum of view changes: every replica computes the same list. */
  private reproposals(newView: number, viewChanges: readonly ViewChange[]): Block[] {
    const minS = Math.max(...viewChanges.map((v) => v.stable.seq));
    const bySeq = new Map<number, PreparedCertificate[]>();
    for (const v of viewChanges) for (const c of v.prepared) if (c.prePrepare.batch.height > minS) bySeq.set(c.prePrepare.batch.height, [...(bySeq.get(c.prePrepare.batch.height) ?? []), c]);
    const maxS = Math.max(minS, ...bySeq.keys());
    const out: Block[] = [];
    for (let seq = minS + 1; seq <= maxS; seq++) {
      const chosen = this.chooseReproposal(bySeq.get(seq) ?? []);
      out.push(chosen?.prePrepare.batch ?? nullBatch(newView, seq, this.primary(newView)));
    }
    return out;
  }

  private onNewView(view: number, viewChanges: readonly ViewChange[], prePrepares: readonly PrePrepare[]): void {
    if (view < this.view || (view === this.view && !this.inViewChange)) return;
    const signers = new Set<number>();
    for (const v of viewChanges) {
      if (v.statement.view !== view || signers.has(v.statement.signer) || !this.validViewChange(v)) return;
      signers.add(v.statement.signer);
    }
    if (signers.size < this.config.validators.quorum) return;
    const expected = this.reproposals(view, viewChanges);
    if (expected.length !== prePrepares.length) return;
    for (let i = 0; i < expected.length; i++) {
      const p = prePrepares[i]!;
      if (p.view !== view || !bytesEqual(p.batch.hash, expected[i]!.hash) || !this.validPrePrepare(p)) return;
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
    const best = viewChanges.reduce((a, v) => (v.stable.seq > a.seq ? v.stable : a), this.stable);
    this.nextSeq = Math.max(this.lastExecuted, best.seq, ...prePrepares.map((p) => p.batch.height)) + 1;
    this.dirty = true;
    this.out.push({ type: 'cancel-timer', timer: 'view-change' });
    if (asPrimary) this.emit({ type: 'broadcast', message });
    this.out.push({ type: 'trace', event: { kind: 'view', view: view, leader: this.primary(view) } });
    if (best.seq > this.stable.seq) this.adoptStable(best);
    this.armProgressTimer();
    for (const p of prePrepares) this.onPrePrepare(p);
  }

  /** Sends the NEW-VIEW this replica entered its view with to a replica still changing views, at most once per interval. */
  private resendNewView(to: number): void {
    if (this.currentNewView === undefined || to === this.self || !this.config.validators.has(to) || this.now - this.newViewSentAt[to]! < this.resendInterval) return;
    this.newViewSentAt[to] = this.now;
    this.emit({ type: 'send', to, message: this.currentNewView });
  }

  /** A message for a view above this replica's: nothing of it is kept (counted as dropped), but its signer is there. */
  private refusedAhead(signer: number, view: number, valid: () => boolean): void {
    this.drop();
    this.aheadOf(signer, view, valid);
  }

  /**
   * `signer` showed, in a validly signed message, that it is in `view`. f+1 replicas above this one
   * make it join the highest view f+1 of them reached (one of them is honest; Castro and Liskov
   * 4.5.2 with any signed message, not only view changes): a replica that was cut off or down comes
   * back to where the others are. `valid` runs only when the message tells something new.
   */
  private aheadOf(signer: number, view: number, valid: () => boolean): void {
    if (!this.config.validators.has(signer) || view <= this.viewOf[signer]! || !valid()) return;
    this.viewOf[signer] = view;
    const joined = this.kthHighest(this.viewOf, this.config.validators.oneHonest);
    if (joined > this.view) this.startViewChange(joined);
  }

  // ---- plumbing ----

  private onMessage(m: PbftMessage, from: number): void {
    switch (m.type) {
      case 'pre-prepare':
        return this.onPrePrepare(m.prePrepare);
      case 'prepare':
        return this.onPrepare(m.statement, m.prePrepare);
      case 'commit':
        return this.onCommit(m.statement);
      case 'checkpoint':
        return this.onCheckpoint(m.statement);
      case 'view-change':
        return this.onViewChange(m.viewChange, from);
      case 'new-view':
        return this.onNewView(m.view, m.viewChanges, m.prePrepares);
      case 'fetch':
        return this.onFetch(m.fromSeq, m.toSeq ?? 0, from);
      case 'committed':
        return this.onCommitted(m.batches, from);
      case 'final':
        return this.onFinal(m, from);
    }
  }

  private drop(): void {
    this.dropped++;
  }

  private canSign(domain: SignedDomain, view: number, seq: number, digest: Uint8Array): boolean {
    const earlier = this.signed.get(`${domain}/${view}/${seq}`);
    return earlier === undefined || bytesEqual(earlier.digest, digest);
  }

  /** Records that this replica signs `digest` for (domain, view, seq), persisted before the next send; false if it signed another. */
  private recordSigned(domain: SignedDomain, view: number, seq: number, digest: Uint8Array): boolean {
    const key = `${domain}/${view}/${seq}`;
    const earlier = this.signed.get(key);
    if (earlier !== undefined) return bytesEqual(earlier.digest, digest);
    this.signed.set(key, { domain, view, seq, digest });
    this.dirty = true;
    return true;
  }

  private recentlyExecuted(): CommittedBatch[] {
    const out: CommittedBatch[] = [];
    for (let seq = Math.max(1, this.lastExecuted - this.L + 1); seq <= this.lastExecuted; seq++) {
      const c = this.history.get(seq);
      if (c !== undefined) out.push(c);
    }
    return out;
  }

  /** Every send goes through here: the state it depends on is made durable first. */
  private emit(o: ProtocolOutput<PbftMessage>): void {
    this.flush();
    this.out.push(o);
  }

  private flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    this.out.push({
      type: 'persist',
      state: encodeSafetyState({
        view: this.view,
        inViewChange: this.inViewChange,
        stable: this.stable,
        lastExecuted: this.lastExecuted,
        ledgerTip: this.ledgerTip,
        nextSeq: this.nextSeq,
        prepared: [...this.preparedCerts.values()],
        executed: this.recentlyExecuted(),
        signed: [...this.signed.values()],
      }),
    });
  }
}
