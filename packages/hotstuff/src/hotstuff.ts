// Chained HotStuff (Yin, Malkhi, Reiter, Gueta, Abraham, PODC 2019), Algorithm 3, with a
// timeout-certificate pacemaker:
//  - views have round-robin leaders (view mod n); a block carries the QC of its parent (justify);
//  - a replica votes once per view, for the leader's block, if the block extends its locked
//    block or its justify QC is from a higher view than the lock (safeNode); votes go to the
//    next leader, who forms a QC and proposes on its highest QC at once (responsive), and to the
//    leader after it, so that a QC survives one crashed leader;
//  - on a QC for b'' whose parent b' and grandparent b are certified: lock on b' (the 2-chain
//    head) and commit b when b, b', b'' have consecutive views (the 3-chain rule);
//  - a view that does not end with a QC times out: replicas broadcast a signed timeout with their
//    highest QC; a quorum of timeouts (a TC) moves everyone to the next view, whose leader
//    proposes on the highest QC it has seen. Timeouts double after each consecutive timeout.
import {
  BlockTree,
  CertificateCodec,
  EquivocationDetector,
  FifoMempool,
  GENESIS,
  makeBlock,
  makeCertificate,
  payloadMatches,
  signStatement,
  StatementVerifier,
  txKey,
  verifyCertificate,
  type Block,
  type Protocol,
  type ProtocolConfig,
  type ProtocolInput,
  type ProtocolOutput,
  type QuorumCertificate,
  type SignedStatement,
} from '@bftx/consensus';
import { bytesEqual, codec, decode, Domains, encode, toHex } from '@bftx/crypto';
import type { HotStuffMessage, TimeoutCertificate } from './messages';

/** The QC every chain starts from: genesis, view 0, no signatures needed. */
export const GENESIS_QC: QuorumCertificate = { domain: Domains.vote, epoch: 0, slot: 0, phase: 0, blockHash: GENESIS.hash, signers: new Uint8Array(0), signatures: [] };

const SafetyStateCodec = codec.record({ lastVotedView: codec.uint(), locked: CertificateCodec, high: CertificateCodec });

export interface HotStuffOptions {
  /** A view's timeout before any backoff, in multiples of delta (default 4: a proposal and a vote round trip with slack). */
  readonly baseTimeoutDeltas?: number;
  /** Most doublings of the timeout after consecutive timeouts (default 3). */
  readonly maxBackoff?: number;
  /**
   * With nothing to order (an empty mempool, and no transactions on the chain waiting to be
   * committed), a leader waits this long (ms) after entering its view before proposing an empty
   * block (default 0: at once). Transactions arriving end the wait. An idle cluster then makes a
   * block per this interval instead of one per round trip (hundreds a second on a LAN, each
   * written to disk), and a loaded one is not slowed at all. Keep it below the view timeout.
   */
  readonly idleViewMs?: number;
}

export function hotstuffLeader(view: number, n: number): number {
  return view % n;
}

export class HotStuff implements Protocol<HotStuffMessage> {
  readonly self: number;
  protected readonly n: number;
  protected readonly tree = new BlockTree();
  protected readonly verifier: StatementVerifier;
  private readonly detector = new EquivocationDetector();
  private readonly mempool = new FifoMempool();
  private readonly maxBlockTxs: number;
  private readonly baseTimeout: number;
  private readonly maxBackoff: number;
  /** The QC each known block carries for its parent. */
  protected readonly justifyOf = new Map<string, QuorumCertificate>([[GENESIS.id, GENESIS_QC]]);
  /** Votes for blocks this replica leads next, by block id then signer. */
  private readonly votes = new Map<string, Map<number, SignedStatement>>();
  private readonly qcFormed = new Set<string>();
  /** Blocks asked for by hash, and when. */
  private readonly fetching = new Map<string, number>();
  /** QCs for blocks that have not arrived yet. */
  private readonly pendingQC = new Map<string, QuorumCertificate>();
  /** Timeout statements by view, then signer. */
  private readonly timeouts = new Map<number, Map<number, SignedStatement>>();
  private readonly tcs = new Map<number, TimeoutCertificate>();
  protected view = 0;
  protected lastVotedView = 0;
  protected lockedQC: QuorumCertificate = GENESIS_QC;
  protected highQC: QuorumCertificate = GENESIS_QC;
  private proposedInView = 0;
  private timedOutView = 0;
  private consecutiveTimeouts = 0;
  private prunedAt = 0;
  private readonly idleViewMs: number;
  private viewEnteredAt = 0;
  private readonly committed: string[] = [GENESIS.id];
  private now = 0;
  private out: ProtocolOutput<HotStuffMessage>[] = [];

  constructor(
    protected readonly config: ProtocolConfig,
    options: HotStuffOptions = {},
  ) {
    this.self = config.self;
    this.n = config.validators.n;
    this.verifier = config.verifier ?? new StatementVerifier(config.validators, config.scheme);
    this.maxBlockTxs = config.maxBlockTxs ?? 1000;
    this.baseTimeout = (options.baseTimeoutDeltas ?? 4) * config.timing.delta;
    this.maxBackoff = options.maxBackoff ?? 3;
    this.idleViewMs = options.idleViewMs ?? 0;
    if (config.safetyState !== undefined) {
      const s = decode(SafetyStateCodec, config.safetyState);
      this.lastVotedView = s.lastVotedView;
      this.lockedQC = s.locked;
      this.highQC = s.high;
      this.timedOutView = s.lastVotedView;
    }
  }

  step(input: ProtocolInput<HotStuffMessage>): ProtocolOutput<HotStuffMessage>[] {
    this.out = [];
    this.now = input.now;
    switch (input.type) {
      case 'start':
        this.enterView(Math.max(1, this.lastVotedView), false);
        break;
      case 'timer':
        if (input.timer === 'view') this.onViewTimeout();
        else if (input.timer === 'idle') this.tryPropose();
        break;
      case 'transactions':
        this.mempool.add(input.txs);
        this.tryPropose(); // a leader waiting for something to order has it now
        break;
      case 'message':
        this.onMessage(input.message, input.from);
        break;
    }
    return this.out;
  }

  // ---- rules (protected: the mutation tests override them to plant bugs) ----

  /** safeNode: the block extends the locked block, or its justify is newer than the lock. */
  protected safeToVote(block: Block, justify: QuorumCertificate): boolean {
    return this.extendsBlock(block, this.lockedQC.blockHash) || justify.epoch > this.lockedQC.epoch;
  }

  /** The 3-chain rule: b, b', b'' certified with consecutive views commits b. Returns the block to commit. */
  protected committable(b: Block | undefined, b1: Block, b2: Block): Block | undefined {
    return b !== undefined && b1.epoch === b.epoch + 1 && b2.epoch === b1.epoch + 1 ? b : undefined;
  }

  // ---- views ----

  private enterView(view: number, progress: boolean): void {
    if (view <= this.view) return;
    this.view = view;
    this.viewEnteredAt = this.now;
    if (progress) this.consecutiveTimeouts = 0;
    const leader = this.leaderOf(view);
    this.out.push({ type: 'trace', event: { kind: 'epoch', epoch: view, leader } });
    const timeout = this.baseTimeout * 2 ** Math.min(this.consecutiveTimeouts, this.maxBackoff);
    this.out.push({ type: 'set-timer', timer: 'view', at: this.now + timeout });
    // Bounded memory: what belongs to views this replica has left behind is dropped, in batches.
    if (view - this.prunedAt >= 64) {
      this.prunedAt = view;
      this.timeouts.forEach((_, v) => v < view - 1 && this.timeouts.delete(v));
      this.tcs.forEach((_, v) => v < view - 1 && this.tcs.delete(v));
      this.votes.forEach((byBlock, id) => byBlock.values().next().value!.epoch < view - 2 && this.votes.delete(id));
      this.detector.prune(view - 64);
    }
    this.tryPropose();
  }

  /** Propose if this replica leads the current view and holds what justifies entering it. */
  private tryPropose(): void {
    const view = this.view;
    if (this.leaderOf(view) !== this.self || this.proposedInView >= view) return;
    const tc = this.tcs.get(view - 1);
    if (this.highQC.epoch !== view - 1 && tc === undefined) return;
    const parent = this.tree.get(toHex(this.highQC.blockHash));
    if (parent === undefined) return; // the certified block has not arrived yet
    const pending = this.tree.chain(parent.id, this.committed.length);
    if (this.idleViewMs > 0 && this.now < this.viewEnteredAt + this.idleViewMs && this.mempool.size === 0 && pending.every((b) => b.payload.length === 0)) {
      this.out.push({ type: 'set-timer', timer: 'idle', at: this.viewEnteredAt + this.idleViewMs });
      return;
    }
    this.proposedInView = view;
    const onChain = new Set<string>();
    for (const b of pending) for (const tx of b.payload) onChain.add(txKey(tx));
    const block = makeBlock({ parent: parent.hash, height: parent.height + 1, epoch: view, proposer: this.self, payload: this.mempool.take(this.maxBlockTxs, onChain) });
    const signature = signStatement(this.config.signer, this.self, Domains.proposal, { epoch: view, slot: 0, phase: 0, blockHash: block.hash }).signature;
    const message: HotStuffMessage = { type: 'proposal', block, justify: this.highQC, tc: this.highQC.epoch === view - 1 ? undefined : tc, signature };
    this.out.push({ type: 'trace', event: { kind: 'propose', epoch: view, block: block.id, height: block.height, parent: parent.id } });
    this.out.push({ type: 'broadcast', message });
    this.onProposal(message);
  }

  private onViewTimeout(): void {
    if (this.timedOutView >= this.view) return;
    this.timedOutView = this.view;
    this.consecutiveTimeouts++;
    // No vote in a view this replica has given up on: persisted with the vote guard.
    this.lastVotedView = Math.max(this.lastVotedView, this.view);
    this.persist();
    const statement = signStatement(this.config.signer, this.self, Domains.timeout, { epoch: this.view, slot: 0, phase: 0, blockHash: this.highQC.blockHash });
    const message: HotStuffMessage = { type: 'timeout', timeout: { statement, highQC: this.highQC } };
    this.out.push({ type: 'broadcast', message });
    this.countTimeout(statement);
  }

  // ---- messages ----

  private onMessage(m: HotStuffMessage, from: number): void {
    switch (m.type) {
      case 'fetch': {
        const b = this.tree.get(toHex(m.blockHash));
        const justify = b === undefined ? undefined : this.justifyOf.get(b.id);
        if (b !== undefined && b.height > 0 && justify !== undefined) this.out.push({ type: 'send', to: from, message: { type: 'block', block: b, justify } });
        return;
      }
      case 'block':
        return this.onFetchedBlock(m.block, m.justify);
      case 'proposal':
        return this.onProposal(m);
      case 'vote':
        return this.onVote(m.vote, m.proposal);
      case 'timeout':
        return this.onTimeoutMessage(m.timeout.statement, m.timeout.highQC);
    }
  }

  private validQC(qc: QuorumCertificate): boolean {
    if (qc.epoch === 0) return bytesEqual(qc.blockHash, GENESIS.hash) && qc.domain === Domains.vote;
    return qc.domain === Domains.vote && qc.slot === 0 && qc.phase === 0 && verifyCertificate(qc, this.verifier);
  }

  private validTC(tc: TimeoutCertificate): boolean {
    const signers = new Set<number>();
    for (const t of tc.timeouts) {
      if (t.domain !== Domains.timeout || t.epoch !== tc.view || t.phase !== 0 || signers.has(t.signer) || !this.verifier.verify(t)) return false;
      signers.add(t.signer);
    }
    return signers.size >= this.config.validators.quorum;
  }

  private onProposal(m: Extract<HotStuffMessage, { type: 'proposal' }>): void {
    const { block, justify, tc } = m;
    if (this.tree.has(block.id) && this.justifyOf.has(block.id)) return;
    const statement: SignedStatement = { domain: Domains.proposal, epoch: block.epoch, slot: 0, phase: 0, blockHash: block.hash, signer: block.proposer, signature: m.signature };
    if (block.proposer !== this.leaderOf(block.epoch) || block.epoch <= justify.epoch || !bytesEqual(block.parent, justify.blockHash)) return;
    // Entering view v needs QC(v-1) or TC(v-1).
    if (justify.epoch !== block.epoch - 1 && (tc === undefined || tc.view !== block.epoch - 1 || !this.validTC(tc))) return;
    if (!this.verifier.verify(statement) || !payloadMatches(block) || !this.validQC(justify)) return;
    const evidence = this.detector.observe(statement);
    if (evidence !== undefined) this.out.push({ type: 'evidence', evidence });
    if (tc !== undefined) this.tcs.set(tc.view, tc);
    this.addBlock(block, justify);
    this.onQC(justify);
    this.enterView(block.epoch, justify.epoch === block.epoch - 1);
    if (block.epoch === this.view && this.tree.has(block.id)) this.maybeVote(block, justify, statement);
    // The block may complete a QC this replica already held (votes can overtake the proposal).
    this.tryPropose();
  }

  /** Adds a block whose justify QC was verified; applies the QCs it completes; asks for a missing parent. */
  private addBlock(block: Block, justify: QuorumCertificate): void {
    this.justifyOf.set(block.id, justify);
    for (const joined of this.tree.add(block)) {
      this.onQC(this.justifyOf.get(joined.id)!);
      const pending = this.pendingQC.get(joined.id);
      this.pendingQC.delete(joined.id);
      if (pending !== undefined) this.onQC(pending);
    }
    if (!this.tree.has(block.id)) this.fetch(block.parent);
  }

  private fetch(blockHash: Uint8Array): void {
    const id = toHex(blockHash);
    const asked = this.fetching.get(id);
    if (asked !== undefined && this.now - asked < 4 * this.config.timing.delta) return;
    if (this.fetching.size >= 1024) this.fetching.delete(this.fetching.keys().next().value!);
    this.fetching.set(id, this.now);
    this.out.push({ type: 'broadcast', message: { type: 'fetch', blockHash } });
  }

  /** A block sent in answer to a fetch: accepted only if it was asked for, and its parent's QC is valid. */
  private onFetchedBlock(block: Block, justify: QuorumCertificate): void {
    if (!this.fetching.has(block.id) || this.tree.has(block.id)) return;
    if (block.height === 0 || !bytesEqual(block.parent, justify.blockHash) || block.epoch <= justify.epoch || !payloadMatches(block) || !this.validQC(justify)) return;
    this.fetching.delete(block.id);
    this.addBlock(block, justify);
    this.tryPropose();
  }

  private maybeVote(block: Block, justify: QuorumCertificate, proposal: SignedStatement): void {
    if (block.epoch <= this.lastVotedView || !this.safeToVote(block, justify)) return;
    this.lastVotedView = block.epoch;
    this.persist(); // durable before the vote leaves
    const vote = signStatement(this.config.signer, this.self, Domains.vote, { epoch: block.epoch, slot: 0, phase: 0, blockHash: block.hash });
    this.out.push({ type: 'trace', event: { kind: 'vote', epoch: block.epoch, block: block.id } });
    // To the next leader, and the one after: a QC then survives one crashed leader (with round-robin
    // leaders and one replica of four down, a 3-chain never completes if only the next leader
    // collects, because every fourth QC would be formed by the crashed replica and lost).
    for (const to of this.collectors(block.epoch)) {
      if (to === this.self) this.onVote(vote, proposal);
      else this.out.push({ type: 'send', to, message: { type: 'vote', vote, proposal } });
    }
  }

  private onVote(vote: SignedStatement, proposal: SignedStatement): void {
    if (vote.domain !== Domains.vote || vote.slot !== 0 || vote.phase !== 0 || !this.verifier.verify(vote)) return;
    const evidence = this.detector.observe(vote);
    if (evidence !== undefined) this.out.push({ type: 'evidence', evidence });
    // The proposal statement the vote carries: every version a proposer sent reaches the next leader.
    if (proposal.domain === Domains.proposal && proposal.epoch === vote.epoch && proposal.signer === this.leaderOf(proposal.epoch) && this.verifier.verify(proposal)) {
      const e = this.detector.observe(proposal);
      if (e !== undefined) this.out.push({ type: 'evidence', evidence: e });
    }
    if (!this.collectors(vote.epoch).includes(this.self) || vote.epoch + 1 < this.view) return;
    const id = toHex(vote.blockHash);
    if (this.qcFormed.has(id)) return;
    let byBlock = this.votes.get(id);
    if (byBlock === undefined) this.votes.set(id, (byBlock = new Map()));
    if (byBlock.has(vote.signer)) return;
    byBlock.set(vote.signer, vote);
    if (byBlock.size < this.config.validators.quorum) return;
    this.qcFormed.add(id);
    this.votes.delete(id);
    const qc = makeCertificate([...byBlock.values()], this.n);
    this.onQC(qc);
    this.enterView(qc.epoch + 1, true);
    this.tryPropose();
  }

  private onTimeoutMessage(statement: SignedStatement, highQC: QuorumCertificate): void {
    if (statement.domain !== Domains.timeout || statement.phase !== 0 || statement.epoch < this.view - 1) return;
    if (!bytesEqual(statement.blockHash, highQC.blockHash) || !this.verifier.verify(statement) || !this.validQC(highQC)) return;
    this.onQC(highQC);
    this.countTimeout(statement);
  }

  private countTimeout(statement: SignedStatement): void {
    const view = statement.epoch;
    let byView = this.timeouts.get(view);
    if (byView === undefined) this.timeouts.set(view, (byView = new Map()));
    if (byView.has(statement.signer)) return;
    byView.set(statement.signer, statement);
    // f+1 timeouts for a view at least as high as ours: some honest replica gave up on it, so join it
    // (views synchronise after GST even when replicas' timers are out of step).
    if (byView.size === this.config.validators.f + 1 && view >= this.view && this.timedOutView < view) {
      this.enterView(view, false);
      if (this.view === view) this.onViewTimeout();
    }
    if (byView.size === this.config.validators.quorum && !this.tcs.has(view)) {
      this.tcs.set(view, { view, timeouts: [...byView.values()] });
      this.enterView(view + 1, false);
      this.tryPropose();
    }
  }

  // ---- certificates, locks and commits ----

  /** A valid QC was seen: raise highQC, and apply the lock and commit rules on its chain. */
  private onQC(qc: QuorumCertificate): void {
    const id = toHex(qc.blockHash);
    const b2 = this.tree.get(id);
    if (b2 === undefined) {
      // Applied when the block joins the tree.
      if (qc.epoch > (this.pendingQC.get(id)?.epoch ?? -1) && this.pendingQC.size < 1024) this.pendingQC.set(id, qc);
      return;
    }
    if (!this.tree.isCertified(id)) {
      this.tree.certify(id);
      if (qc.epoch > 0) this.out.push({ type: 'trace', event: { kind: 'notarize', epoch: qc.epoch, block: id, height: b2.height } });
    }
    if (qc.epoch > this.highQC.epoch) {
      this.highQC = qc;
      this.persist();
    }
    // A QC for the current view or later ends it, however it arrived (a proposal, votes, a timeout).
    if (qc.epoch >= this.view) this.enterView(qc.epoch + 1, true);
    if (b2.height === 0) return;
    const b1QC = this.justifyOf.get(id)!;
    const b1 = this.tree.get(toHex(b1QC.blockHash));
    if (b1 === undefined || b1.height === 0) return;
    // The 2-chain head b' is locked: its QC is the one b'' carries.
    if (b1QC.epoch > this.lockedQC.epoch) {
      this.lockedQC = b1QC;
      this.persist();
    }
    const b = this.tree.get(toHex(this.justifyOf.get(b1.id)!.blockHash));
    const commit = this.committable(b, b1, b2);
    if (commit !== undefined) this.commit(commit);
  }

  private commit(block: Block): void {
    if (block.height < this.committed.length) {
      if (this.committed[block.height] === block.id) return;
      // A conflicting commit: hand it to the runtime, whose ledger refuses it loudly.
      this.out.push({ type: 'commit', blocks: this.tree.chain(block.id, block.height) });
      return;
    }
    const chain = this.tree.chain(block.id, this.committed.length);
    if (chain.length === 0 || chain[0]!.height !== this.committed.length) return;
    for (const b of chain) {
      this.committed.push(b.id);
      this.out.push({ type: 'trace', event: { kind: 'finalize', block: b.id, height: b.height, epoch: b.epoch } });
      this.mempool.remove(b.payload);
    }
    this.out.push({ type: 'commit', blocks: chain });
  }

  private leaderOf(view: number): number {
    return this.config.leaderSchedule?.[view] ?? hotstuffLeader(view, this.n);
  }

  /** Who collects votes of `view` into a QC: the leaders of the next two views. */
  private collectors(view: number): number[] {
    const a = this.leaderOf(view + 1);
    const b = this.leaderOf(view + 2);
    return a === b ? [a] : [a, b];
  }

  /** Does `block` have the block `ancestor` on its chain (or is it)? */
  protected extendsBlock(block: Block, ancestor: Uint8Array): boolean {
    const target = toHex(ancestor);
    const a = this.tree.get(target);
    if (a === undefined) return false;
    let b: Block | undefined = block;
    while (b !== undefined && b.height > a.height) b = this.tree.get(b.parentId);
    return b !== undefined && b.id === target;
  }

  private persist(): void {
    this.out.push({ type: 'persist', state: encode(SafetyStateCodec, { lastVotedView: this.lastVotedView, locked: wireQC(this.lockedQC), high: wireQC(this.highQC) }) });
  }
}

function wireQC(qc: QuorumCertificate) {
  return { ...qc, signatures: qc.signatures as Uint8Array[] };
}
