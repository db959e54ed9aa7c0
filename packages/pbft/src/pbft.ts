// PBFT (Castro and Liskov, OSDI 1999), with batches as the requests:
//  - the primary of view v (v mod n) binds a batch to sequence number s with a signed PRE-PREPARE;
//    backups accept one per (v, s) inside the watermarks and broadcast PREPARE; a batch is
//    prepared with the pre-prepare and 2f matching prepares from other replicas, and then each
//    replica broadcasts COMMIT; it is committed with 2f+1 matching commits, and executed in
//    sequence order (the ledger block of s extends the block of s-1);
//  - every K sequence numbers replicas sign a CHECKPOINT of the ledger block; 2f+1 matching ones
//    make it stable: the low watermark moves to it and the log below is dropped; the high
//    watermark is low + L;
//  - a replica that sees no execution progress for a timeout moves to view v+1 with a signed
//    VIEW-CHANGE carrying its stable checkpoint proof and its prepared certificates; f+1 view
//    changes for higher views make it join; the new primary, with 2f+1 of them, sends NEW-VIEW
//    re-proposing, for every sequence number between the highest stable checkpoint and the highest
//    prepared one, the batch prepared in the highest view, or a null batch where none was; backups
//    recompute that list and accept only the same. Timeouts double with each view change in a row;
//  - a replica behind the stable checkpoint fetches committed batches with their 2f+1 commits.
// The primary proposes a batch every batch interval (2 delta), empty if there are no
// transactions: a silent primary is then told from an idle one.
import {
  EquivocationDetector,
  FifoMempool,
  GENESIS,
  makeBlock,
  payloadMatches,
  signStatement,
  StatementVerifier,
  txKey,
  type Block,
  type Protocol,
  type ProtocolConfig,
  type ProtocolInput,
  type ProtocolOutput,
  type SignedStatement,
} from '@bftx/consensus';
import { bytesEqual, codec, encode, hash, toHex } from '@bftx/crypto';
import { decodeSafetyState, encodeSafetyState, PbftDomains, type CheckpointProof, type CommittedBatch, type PbftMessage, type PrePrepare, type PreparedCertificate, type ViewChange } from './messages';

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

/** The digest a view change signs: the prepared (view, seq, batch) it reports, in order. */
export function preparedDigest(prepared: readonly PreparedCertificate[]): Uint8Array {
  return hash('bftx.pbft.prepared', encode(SeqListCodec, prepared.map((c) => ({ view: c.prePrepare.view, seq: c.prePrepare.batch.height, digest: c.prePrepare.batch.hash }))));
}

/** The batch a new primary proposes where no batch was prepared: empty, and the same at every replica. */
export function nullBatch(view: number, seq: number, primary: number): Block {
  return makeBlock({ parent: ZERO_HASH, height: seq, epoch: view, proposer: primary, payload: [] });
}

interface Slot {
  prePrepare: PrePrepare | undefined;
  readonly prepares: Map<number, SignedStatement>;
  readonly commits: Map<number, SignedStatement>;
  prepared: boolean;
  committed: boolean;
}

export class Pbft implements Protocol<PbftMessage> {
  readonly self: number;
  protected readonly n: number;
  protected readonly f: number;
  protected readonly quorum: number;
  protected readonly verifier: StatementVerifier;
  private readonly detector = new EquivocationDetector();
  private readonly mempool = new FifoMempool();
  private readonly K: number;
  private readonly L: number;
  private readonly pipeline: number;
  private readonly baseTimeout: number;
  private readonly maxBackoff: number;
  private readonly batchInterval: number;
  private readonly maxBlockTxs: number;

  protected view = 0;
  protected inViewChange = false;
  private consecutiveViewChanges = 0;
  /** Log entries by `${view}/${seq}`. */
  private readonly slots = new Map<string, Slot>();
  /** Per sequence number above the stable checkpoint: the prepared certificate of the highest view. */
  protected readonly preparedCerts = new Map<number, PreparedCertificate>();
  /** What this replica signed, by `${domain}/${view}/${seq}`: never two digests for one of them. */
  private readonly signed = new Map<string, { domain: string; view: number; seq: number; digest: Uint8Array }>();
  private readonly committedBatches = new Map<number, CommittedBatch>();
  /**
   * Executed batches with their commits, to serve replicas that fell behind. Kept whole, like the
   * block trees of the other protocols: pruning it needs the durable storage of @bftx/node.
   */
  private readonly history = new Map<number, CommittedBatch>();
  private lastExecuted = 0;
  private ledgerTip: Block = GENESIS;
  protected stable: CheckpointProof = GENESIS_CHECKPOINT;
  private readonly checkpoints = new Map<string, Map<number, SignedStatement>>();
  private readonly viewChanges = new Map<number, Map<number, ViewChange>>();
  private readonly newViewSent = new Set<number>();
  /** Conflicting prepares and commits already passed on, by domain/signer/view/seq. */
  private readonly forwarded = new Set<string>();
  private nextSeq = 1;
  private now = 0;
  private out: ProtocolOutput<PbftMessage>[] = [];

  constructor(
    protected readonly config: ProtocolConfig,
    options: PbftOptions = {},
  ) {
    this.self = config.self;
    this.n = config.validators.n;
    this.f = config.validators.f;
    this.quorum = config.validators.quorum;
    this.verifier = config.verifier ?? new StatementVerifier(config.validators, config.scheme);
    this.K = options.checkpointInterval ?? 8;
    this.L = options.window ?? 4 * this.K;
    this.pipeline = options.pipeline ?? 4;
    this.baseTimeout = (options.viewTimeoutDeltas ?? 10) * config.timing.delta;
    this.maxBackoff = options.maxBackoff ?? 3;
    this.batchInterval = 2 * config.timing.delta;
    this.maxBlockTxs = config.maxBlockTxs ?? 1000;
    if (config.safetyState !== undefined) {
      const s = decodeSafetyState(config.safetyState);
      this.view = s.view;
      for (const c of s.prepared) this.preparedCerts.set(c.prePrepare.batch.height, c);
      for (const x of s.signed) this.signed.set(`${x.domain}/${x.view}/${x.seq}`, { ...x });
    }
  }

  step(input: ProtocolInput<PbftMessage>): ProtocolOutput<PbftMessage>[] {
    this.out = [];
    this.now = input.now;
    switch (input.type) {
      case 'start':
        this.out.push({ type: 'trace', event: { kind: 'epoch', epoch: this.view, leader: this.primary(this.view) } });
        this.armProgressTimer();
        this.out.push({ type: 'set-timer', timer: 'batch', at: this.now + this.batchInterval });
        break;
      case 'timer':
        if (input.timer === 'batch') this.onBatchTimer();
        else if (input.timer === 'progress') this.startViewChange(this.view + 1);
        break;
      case 'transactions':
        this.mempool.add(input.txs);
        break;
      case 'message':
        this.onMessage(input.message, input.from);
        break;
    }
    return this.out;
  }

  // ---- rules (protected: the mutation tests override them to plant bugs) ----

  /** Matching commits (the replica's own included) that commit a prepared batch: 2f+1. */
  protected commitQuorum(): number {
    return this.quorum;
  }

  /** The batch a new primary must re-propose for `seq`: the prepared certificate of the highest view. */
  protected chooseReproposal(certs: readonly PreparedCertificate[]): PreparedCertificate | undefined {
    let best: PreparedCertificate | undefined;
    for (const c of certs) if (best === undefined || c.prePrepare.view > best.prePrepare.view) best = c;
    return best;
  }

  // ---- normal case ----

  protected primary(view: number): number {
    return this.config.leaderSchedule?.[view] ?? pbftPrimary(view, this.n);
  }

  private slot(view: number, seq: number): Slot {
    const key = `${view}/${seq}`;
    let s = this.slots.get(key);
    if (s === undefined) this.slots.set(key, (s = { prePrepare: undefined, prepares: new Map(), commits: new Map(), prepared: false, committed: false }));
    return s;
  }

  private inWindow(seq: number): boolean {
    return seq > this.stable.seq && seq <= this.stable.seq + this.L;
  }

  private onBatchTimer(): void {
    this.out.push({ type: 'set-timer', timer: 'batch', at: this.now + this.batchInterval });
    if (this.inViewChange || this.primary(this.view) !== this.self) return;
    this.nextSeq = Math.max(this.nextSeq, this.lastExecuted + 1);
    if (this.nextSeq - this.lastExecuted > this.pipeline || !this.inWindow(this.nextSeq)) return;
    const inFlight = new Set<string>();
    for (let s = this.lastExecuted + 1; s < this.nextSeq; s++) {
      const pp = this.slots.get(`${this.view}/${s}`)?.prePrepare;
      if (pp !== undefined) for (const tx of pp.batch.payload) inFlight.add(txKey(tx));
    }
    const batch = makeBlock({ parent: ZERO_HASH, height: this.nextSeq, epoch: this.view, proposer: this.self, payload: this.mempool.take(this.maxBlockTxs, inFlight) });
    this.nextSeq++;
    this.sendPrePrepare(this.view, batch);
  }

  private sendPrePrepare(view: number, batch: Block): void {
    if (!this.recordSigned(PbftDomains.prePrepare, view, batch.height, batch.hash)) return;
    const signature = signStatement(this.config.signer, this.self, PbftDomains.prePrepare, { epoch: view, slot: batch.height, phase: 0, blockHash: batch.hash }).signature;
    const prePrepare: PrePrepare = { view, batch, signature };
    this.out.push({ type: 'trace', event: { kind: 'propose', epoch: view, block: batch.id, height: batch.height, parent: toHex(ZERO_HASH) } });
    this.out.push({ type: 'broadcast', message: { type: 'pre-prepare', prePrepare } });
    this.onPrePrepare(prePrepare);
  }

  private prePrepareStatement(p: PrePrepare): SignedStatement {
    return { domain: PbftDomains.prePrepare, epoch: p.view, slot: p.batch.height, phase: 0, blockHash: p.batch.hash, signer: this.primary(p.view), signature: p.signature };
  }

  /** Valid on its own: signed by the primary of its view, a well-formed batch. */
  private validPrePrepare(p: PrePrepare): boolean {
    const b = p.batch;
    return bytesEqual(b.parent, ZERO_HASH) && b.height > 0 && this.verifier.verify(this.prePrepareStatement(p)) && payloadMatches(b);
  }

  private onPrePrepare(p: PrePrepare): void {
    const seq = p.batch.height;
    if (p.view !== this.view || this.inViewChange || !this.inWindow(seq) || !this.validPrePrepare(p)) return;
    const statement = this.prePrepareStatement(p);
    this.observe(statement);
    const slot = this.slot(p.view, seq);
    if (slot.prePrepare !== undefined) return; // one per (view, seq); a second one is the primary's equivocation
    slot.prePrepare = p;
    for (const earlier of [...slot.prepares.values(), ...slot.commits.values()]) this.forwardIfConflicting(slot, earlier);
    if (this.primary(p.view) !== this.self && this.recordSigned(PbftDomains.prepare, p.view, seq, p.batch.hash)) {
      const prepare = signStatement(this.config.signer, this.self, PbftDomains.prepare, { epoch: p.view, slot: seq, phase: 0, blockHash: p.batch.hash });
      this.out.push({ type: 'trace', event: { kind: 'vote', epoch: p.view, block: p.batch.id } });
      this.out.push({ type: 'broadcast', message: { type: 'prepare', statement: prepare, prePrepare: statement } });
      slot.prepares.set(this.self, prepare);
    }
    this.checkSlot(p.view, seq);
  }

  private onPrepare(s: SignedStatement, prePrepare: SignedStatement): void {
    if (s.domain !== PbftDomains.prepare || s.phase !== 0 || s.signer === this.primary(s.epoch) || !this.verifier.verify(s)) return;
    this.observe(s);
    // The primary's statement it answers: every version a primary sent reaches every replica.
    if (prePrepare.domain === PbftDomains.prePrepare && prePrepare.signer === this.primary(prePrepare.epoch) && prePrepare.epoch === s.epoch && prePrepare.slot === s.slot && this.verifier.verify(prePrepare)) this.observe(prePrepare);
    if (s.epoch !== this.view || !this.inWindow(s.slot)) return;
    const slot = this.slot(s.epoch, s.slot);
    if (slot.prepares.has(s.signer)) return;
    slot.prepares.set(s.signer, s);
    this.forwardIfConflicting(slot, s);
    this.checkSlot(s.epoch, s.slot);
  }

  /**
   * A prepare or commit for another batch than the one this replica accepted for (view, seq) is
   * passed on to everyone: if its signer sent each half of the replicas a different version, the
   * replicas holding the other one can now prove it. Honest replicas only disagree like this when
   * the primary equivocated, so the cost is paid only under attack.
   */
  private forwardIfConflicting(slot: Slot, s: SignedStatement): void {
    const p = slot.prePrepare;
    if (p === undefined || bytesEqual(p.batch.hash, s.blockHash)) return;
    const key = `${s.domain}/${s.signer}/${s.epoch}/${s.slot}`;
    if (this.forwarded.has(key)) return;
    if (this.forwarded.size >= 4096) this.forwarded.clear();
    this.forwarded.add(key);
    const message: PbftMessage = s.domain === PbftDomains.prepare ? { type: 'prepare', statement: s, prePrepare: this.prePrepareStatement(p) } : { type: 'commit', statement: s };
    this.out.push({ type: 'broadcast', message });
  }

  private onCommit(s: SignedStatement): void {
    if (s.domain !== PbftDomains.commit || s.phase !== 0 || !this.verifier.verify(s)) return;
    this.observe(s);
    if (!this.inWindow(s.slot) || s.epoch > this.view) return;
    const slot = this.slot(s.epoch, s.slot);
    if (slot.commits.has(s.signer)) return;
    slot.commits.set(s.signer, s);
    this.forwardIfConflicting(slot, s);
    this.checkSlot(s.epoch, s.slot);
  }

  /** Prepared and committed predicates for (view, seq), and what follows from them. */
  private checkSlot(view: number, seq: number): void {
    const slot = this.slot(view, seq);
    const p = slot.prePrepare;
    if (p === undefined) return;
    const digest = p.batch.hash;
    if (!slot.prepared) {
      const matching = [...slot.prepares.values()].filter((s) => bytesEqual(s.blockHash, digest));
      if (matching.length < 2 * this.f) return;
      slot.prepared = true;
      const existing = this.preparedCerts.get(seq);
      if (existing === undefined || existing.prePrepare.view < view) this.preparedCerts.set(seq, { prePrepare: p, prepares: matching.slice(0, 2 * this.f) });
      if (view === this.view && !this.inViewChange && this.recordSigned(PbftDomains.commit, view, seq, digest)) {
        const commit = signStatement(this.config.signer, this.self, PbftDomains.commit, { epoch: view, slot: seq, phase: 0, blockHash: digest });
        this.out.push({ type: 'trace', event: { kind: 'notarize', epoch: view, block: p.batch.id, height: seq } });
        this.out.push({ type: 'broadcast', message: { type: 'commit', statement: commit } });
        slot.commits.set(this.self, commit);
      }
    }
    if (slot.committed) return;
    const commits = [...slot.commits.values()].filter((s) => bytesEqual(s.blockHash, digest));
    if (commits.length < this.commitQuorum()) return;
    slot.committed = true;
    if (!this.committedBatches.has(seq) && seq > this.lastExecuted) this.committedBatches.set(seq, { batch: p.batch, commits });
    this.execute();
  }

  /** Executes committed batches in sequence order; each becomes the next ledger block. */
  private execute(): void {
    const blocks: Block[] = [];
    for (let next = this.committedBatches.get(this.lastExecuted + 1); next !== undefined; next = this.committedBatches.get(this.lastExecuted + 1)) {
      const { batch } = next;
      this.committedBatches.delete(batch.height);
      const block = makeBlock({ parent: this.ledgerTip.hash, height: batch.height, epoch: batch.epoch, proposer: batch.proposer, payload: batch.payload });
      this.ledgerTip = block;
      this.lastExecuted = batch.height;
      this.history.set(batch.height, next);
      this.mempool.remove(batch.payload);
      blocks.push(block);
      this.out.push({ type: 'trace', event: { kind: 'finalize', block: block.id, height: block.height, epoch: block.epoch, proposal: batch.id } });
      if (batch.height % this.K === 0) {
        const checkpoint = signStatement(this.config.signer, this.self, PbftDomains.checkpoint, { epoch: 0, slot: batch.height, phase: 0, blockHash: block.hash });
        this.out.push({ type: 'broadcast', message: { type: 'checkpoint', statement: checkpoint } });
        this.onCheckpoint(checkpoint);
      }
    }
    if (blocks.length === 0) return;
    this.out.push({ type: 'commit', blocks });
    this.consecutiveViewChanges = 0;
    this.armProgressTimer();
  }

  // ---- checkpoints, watermarks, garbage collection, catching up ----

  private onCheckpoint(s: SignedStatement): void {
    if (s.domain !== PbftDomains.checkpoint || s.epoch !== 0 || s.phase !== 0 || s.slot % this.K !== 0 || s.slot <= this.stable.seq || !this.verifier.verify(s)) return;
    const key = `${s.slot}/${toHex(s.blockHash)}`;
    let bySigner = this.checkpoints.get(key);
    if (bySigner === undefined) this.checkpoints.set(key, (bySigner = new Map()));
    bySigner.set(s.signer, s);
    if (bySigner.size >= this.quorum) this.adoptStable({ seq: s.slot, digest: s.blockHash, statements: [...bySigner.values()] });
  }

  private validCheckpointProof(c: CheckpointProof): boolean {
    if (c.seq === 0) return bytesEqual(c.digest, GENESIS.hash);
    const signers = new Set<number>();
    for (const s of c.statements) {
      if (s.domain !== PbftDomains.checkpoint || s.epoch !== 0 || s.slot !== c.seq || !bytesEqual(s.blockHash, c.digest) || signers.has(s.signer) || !this.verifier.verify(s)) return false;
      signers.add(s.signer);
    }
    return signers.size >= this.quorum;
  }

  private adoptStable(proof: CheckpointProof): void {
    if (proof.seq <= this.stable.seq) return;
    this.stable = proof;
    // Garbage collection: nothing at or below the stable checkpoint is needed for agreement again.
    for (const key of this.slots.keys()) if (Number(key.slice(key.indexOf('/') + 1)) <= proof.seq) this.slots.delete(key);
    for (const seq of this.preparedCerts.keys()) if (seq <= proof.seq) this.preparedCerts.delete(seq);
    for (const [key, x] of this.signed) if (x.seq <= proof.seq) this.signed.delete(key);
    for (const key of this.checkpoints.keys()) if (Number(key.slice(0, key.indexOf('/'))) <= proof.seq) this.checkpoints.delete(key);
    this.persist();
    if (this.lastExecuted < proof.seq) this.out.push({ type: 'broadcast', message: { type: 'fetch', fromSeq: this.lastExecuted + 1 } });
  }

  private onFetch(fromSeq: number, from: number): void {
    const batches: CommittedBatch[] = [];
    for (let s = fromSeq; s <= this.lastExecuted && batches.length < 64; s++) {
      const c = this.history.get(s);
      if (c === undefined) break;
      batches.push(c);
    }
    if (batches.length > 0) this.out.push({ type: 'send', to: from, message: { type: 'committed', batches } });
  }

  /** Batches committed elsewhere, each with 2f+1 matching commits: executed as if committed here. */
  private onCommitted(batches: readonly CommittedBatch[]): void {
    for (const { batch, commits } of batches) {
      const seq = batch.height;
      if (seq <= this.lastExecuted || this.committedBatches.has(seq) || !bytesEqual(batch.parent, ZERO_HASH) || !payloadMatches(batch)) continue;
      const first = commits[0];
      const signers = new Set<number>();
      const ok =
        first !== undefined &&
        commits.every((s) => s.domain === PbftDomains.commit && s.epoch === first.epoch && s.slot === seq && bytesEqual(s.blockHash, batch.hash) && !signers.has(s.signer) && signers.add(s.signer) && this.verifier.verify(s));
      if (ok && signers.size >= this.quorum) this.committedBatches.set(seq, { batch, commits });
    }
    this.execute();
  }

  // ---- view changes ----

  private armProgressTimer(): void {
    const timeout = this.baseTimeout * 2 ** Math.min(this.consecutiveViewChanges, this.maxBackoff);
    this.out.push({ type: 'set-timer', timer: 'progress', at: this.now + timeout });
  }

  private startViewChange(newView: number): void {
    if (newView <= this.view && this.inViewChange) return;
    if (newView < this.view) return;
    this.view = newView;
    this.inViewChange = true;
    this.consecutiveViewChanges++;
    const prepared = [...this.preparedCerts.values()].filter((c) => c.prePrepare.batch.height > this.stable.seq).sort((a, b) => a.prePrepare.batch.height - b.prePrepare.batch.height);
    this.persist(); // the new view is durable before the view change leaves: never back to a view it left
    const statement = signStatement(this.config.signer, this.self, PbftDomains.viewChange, { epoch: newView, slot: this.stable.seq, phase: 0, blockHash: preparedDigest(prepared) });
    const viewChange: ViewChange = { statement, stable: this.stable, prepared };
    this.out.push({ type: 'trace', event: { kind: 'epoch', epoch: newView, leader: this.primary(newView) } });
    this.out.push({ type: 'broadcast', message: { type: 'view-change', viewChange } });
    this.armProgressTimer();
    this.onViewChange(viewChange);
  }

  private validViewChange(v: ViewChange): boolean {
    const s = v.statement;
    if (s.domain !== PbftDomains.viewChange || s.phase !== 0 || s.slot !== v.stable.seq || !bytesEqual(s.blockHash, preparedDigest(v.prepared))) return false;
    if (!this.verifier.verify(s) || !this.validCheckpointProof(v.stable)) return false;
    return v.prepared.every((c) => this.validPreparedCertificate(c, s.epoch, v.stable.seq));
  }

  private validPreparedCertificate(c: PreparedCertificate, newView: number, stableSeq: number): boolean {
    const p = c.prePrepare;
    const seq = p.batch.height;
    if (p.view >= newView || seq <= stableSeq || seq > stableSeq + this.L || !this.validPrePrepare(p)) return false;
    const signers = new Set<number>();
    for (const s of c.prepares) {
      if (s.domain !== PbftDomains.prepare || s.epoch !== p.view || s.slot !== seq || !bytesEqual(s.blockHash, p.batch.hash)) return false;
      if (s.signer === this.primary(p.view) || signers.has(s.signer) || !this.verifier.verify(s)) return false;
      signers.add(s.signer);
    }
    return signers.size >= 2 * this.f;
  }

  private onViewChange(v: ViewChange): void {
    const newView = v.statement.epoch;
    if (newView < this.view || (newView === this.view && !this.inViewChange) || !this.validViewChange(v)) return;
    let bySigner = this.viewChanges.get(newView);
    if (bySigner === undefined) this.viewChanges.set(newView, (bySigner = new Map()));
    if (bySigner.has(v.statement.signer)) return;
    bySigner.set(v.statement.signer, v);
    // f+1 replicas want a view above ours: at least one is honest, so join the lowest such view.
    const above = [...this.viewChanges.entries()].filter(([view]) => view > this.view);
    const signersAbove = new Set(above.flatMap(([, m]) => [...m.keys()]));
    if (signersAbove.size >= this.f + 1) {
      this.startViewChange(Math.min(...above.map(([view]) => view)));
      return;
    }
    if (this.primary(newView) === this.self && bySigner.size >= this.quorum && !this.newViewSent.has(newView) && newView === this.view) {
      this.newViewSent.add(newView);
      const viewChanges = [...bySigner.values()].slice(0, this.quorum);
      const prePrepares = this.reproposals(newView, viewChanges).map((batch) => ({
        view: newView,
        batch,
        signature: signStatement(this.config.signer, this.self, PbftDomains.prePrepare, { epoch: newView, slot: batch.height, phase: 0, blockHash: batch.hash }).signature,
      }));
      for (const p of prePrepares) this.recordSigned(PbftDomains.prePrepare, newView, p.batch.height, p.batch.hash);
      this.out.push({ type: 'broadcast', message: { type: 'new-view', view: newView, viewChanges, prePrepares } });
      this.enterNewView(newView, viewChanges, prePrepares);
    }
  }

  /** The batches a new view must propose, from 2f+1 view changes: every replica computes the same list. */
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
      if (v.statement.epoch !== view || signers.has(v.statement.signer) || !this.validViewChange(v)) return;
      signers.add(v.statement.signer);
    }
    if (signers.size < this.quorum) return;
    const expected = this.reproposals(view, viewChanges);
    if (expected.length !== prePrepares.length) return;
    for (let i = 0; i < expected.length; i++) {
      const p = prePrepares[i]!;
      if (p.view !== view || !bytesEqual(p.batch.hash, expected[i]!.hash) || !this.validPrePrepare(p)) return;
    }
    this.enterNewView(view, viewChanges, prePrepares);
  }

  private enterNewView(view: number, viewChanges: readonly ViewChange[], prePrepares: readonly PrePrepare[]): void {
    this.view = view;
    this.inViewChange = false;
    this.persist();
    this.out.push({ type: 'trace', event: { kind: 'epoch', epoch: view, leader: this.primary(view) } });
    const best = viewChanges.reduce((a, v) => (v.stable.seq > a.seq ? v.stable : a), this.stable);
    if (best.seq > this.stable.seq) this.adoptStable(best);
    for (const [v] of this.viewChanges) if (v <= view) this.viewChanges.delete(v);
    this.nextSeq = Math.max(this.lastExecuted, this.stable.seq, ...prePrepares.map((p) => p.batch.height)) + 1;
    this.armProgressTimer();
    for (const p of prePrepares) this.onPrePrepare(p);
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
        return this.onViewChange(m.viewChange);
      case 'new-view':
        return this.onNewView(m.view, m.viewChanges, m.prePrepares);
      case 'fetch':
        return this.onFetch(m.fromSeq, from);
      case 'committed':
        return this.onCommitted(m.batches);
    }
  }

  private observe(s: SignedStatement): void {
    const evidence = this.detector.observe(s);
    if (evidence !== undefined) this.out.push({ type: 'evidence', evidence });
  }

  /** Records (and persists, before the signature leaves) that this replica signs `digest` for (domain, view, seq); false if it signed another. */
  private recordSigned(domain: string, view: number, seq: number, digest: Uint8Array): boolean {
    const key = `${domain}/${view}/${seq}`;
    const earlier = this.signed.get(key);
    if (earlier !== undefined) return bytesEqual(earlier.digest, digest);
    this.signed.set(key, { domain, view, seq, digest });
    this.persist();
    return true;
  }

  private persist(): void {
    this.out.push({ type: 'persist', state: encodeSafetyState({ view: this.view, prepared: [...this.preparedCerts.values()], signed: [...this.signed.values()] }) });
  }
}
