// Chained HotStuff (Yin, Malkhi, Reiter, Gueta, Abraham, PODC 2019), Algorithm 3, with a
// timeout-certificate pacemaker. The rules it decides by (propose, vote, lock, commit, view change)
// are in rules.ts, with the paper's lines; this file wires them to messages:
//  - views have round-robin leaders (view mod n); a block carries the QC of its parent (justify);
//  - a replica votes once per view, for the leader's block, if the block extends its locked
//    block or its justify QC is from a higher view than the lock (safeNode); votes go to the
//    next leader, who forms a QC and proposes on its highest QC at once (responsive), and to the
//    leader after it, so that a QC survives one crashed leader;
//  - on a QC for b'' whose parent b' and grandparent b are certified: lock on b' (the 2-chain
//    head) and commit b when b, b', b'' have consecutive views (the 3-chain rule);
//  - a view that does not end with a QC times out: replicas broadcast a signed timeout with their
//    highest QC, and re-send that same statement until the view changes; a quorum of timeouts (a
//    TC) moves everyone to the next view, whose leader proposes on the highest QC it has seen.
//    Timeouts double after each consecutive timeout.
// Restart: the persisted safety state alone (no input log) is enough to restart: the vote,
// proposal and timeout guards, the lock, the highest QC, and the committed tip with every block
// above it up to the highest certified one (see SafetyState); the rest is fetched from peers.
// Final blocks are the runtime's (config.finalized): the store holds only what is above the
// committed tip, and fetches for final blocks are served from the runtime's finalized chain.
// Every input refused is a typed `reject` output (RejectionCode); footprint().dropped counts, as
// before, those refused for being too far from the current view (and rate-limited fetches).
import {
  BlockCodec,
  CertificateCodec,
  collectQuorum,
  commitChain,
  GENESIS,
  makeBlock,
  makeCertificate,
  Outbox,
  payloadMatches,
  pendingKeys,
  refinalized,
  resolveConfig,
  roundRobin,
  sealBlock,
  signStatement,
  txKey,
  verifyCertificate,
  VoteTally,
  type Block,
  type PayloadContext,
  type PayloadPolicy,
  type Protocol,
  type ProtocolConfig,
  type ProtocolFootprint,
  type ProtocolInput,
  type ProtocolOutput,
  type QuorumCertificate,
  type RejectionCode,
  type SignedStatement,
  type StatementVerifier,
  dispatch,
  type InputHandlers,
  BlockFetcher,
  unfairProposalEvidence,
} from '@bftx/consensus';
import { bytesEqual, codec, decode, Domains, encode, toHex } from '@bftx/crypto';
import { hotStuffCertificate } from './certificate';
import { ANSWER_BLOCKS, type HotStuffMessage, type TimeoutCertificate } from './messages';
import { defaultRules, type HotStuffRules } from './rules';
import { BlockStore, StatementWindow, type CertifiedLink, type StoredLink } from './store';

/** The QC every chain starts from: genesis, view 0, no signatures needed. */
export const GENESIS_QC: QuorumCertificate = { domain: Domains.vote, view: 0, sequence: 0, blockHash: GENESIS.hash, signers: new Uint8Array(0), signatures: [] };

/** Views above the current one whose votes and timeouts are kept (sent a little early by replicas ahead); later ones are dropped and counted. */
export const VIEW_WINDOW = 8;
/**
 * Views below the current one whose statements are still compared for equivocation evidence;
 * a proposal for a view older than that is refused unread (and counted as dropped): it can no
 * longer be voted for, and a block a QC names is fetched, not taken from proposals.
 */
const EVIDENCE_VIEWS = 16;
/**
 * Most blocks above the committed tip that the persisted state can carry: the chain up to the
 * highest certified block is persisted whole. After GST it is about 3 blocks long; before GST it
 * grows by at most one block per view that certifies a block without committing one, so this cap
 * is only reached after that many such views in a row (the lowest are then kept).
 */
const MAX_PERSISTED_BLOCKS = 65_535;
/** Fetch answers a peer may get in a burst; one more each delta after that. */
const SERVE_BURST = 8;
/** Most blocks asked for at once, QCs waiting for their block, and blocks waiting for their parent. */
const MAX_FETCHING = 64;
const MAX_PENDING_QC = 64;
const MAX_ORPHANS = 256;

/** A block asked for: its hash, the view of the QC (or child) that names it, its height once known. */
interface FetchRequest {
  readonly hash: Uint8Array;
  readonly view: number;
  height: number | undefined;
}

/**
 * What the payload policy is told about a proposed block: `pending` (the transactions of the chain
 * it extends, above the committed tip) is worked out only if the policy reads it (FIFO does not).
 */
class ProposalContext implements PayloadContext {
  readonly view: number;
  readonly height: number;
  private keys: Set<string> | undefined;

  constructor(
    private readonly block: Block,
    readonly now: number,
    private readonly store: BlockStore,
    private readonly above: number,
  ) {
    this.view = block.view;
    this.height = block.height;
  }

  get pending(): ReadonlySet<string> {
    return (this.keys ??= pendingKeys(this.store.chain(this.block.parentId, this.above).map((l) => l.block)));
  }

  /** A replica votes for a block whose ancestors it is still fetching: then the chain above the committed tip is not all here. */
  get pendingComplete(): boolean {
    if (this.block.height - 1 < this.above) return true;
    const lowest = this.store.chain(this.block.parentId, this.above)[0];
    return lowest !== undefined && lowest.block.height === this.above;
  }
}

/**
 * What survives a crash. lastVotedView: no vote (and no new timeout) in a view at or below it.
 * proposedView: no second proposal in a view. timeout: the last timeout statement signed (and the
 * QC it names), re-sent as it is, never re-signed. locked / high: the lock and the highest QC.
 * blocks: the committed tip first, always (the root a restarted replica stands on: the runtime's
 * ledger holds what is below), then every block above it up to the highest QC's (the chain the
 * lock and the highest QC need: a cluster that restarts all at once holds it nowhere else), each
 * with its justify (none for a block served from a peer's finalized chain), and the block it last
 * voted for with its chain (`voted`, its hash): a QC may form on it where this replica does not
 * see it (only a Byzantine replica may hold it otherwise). tc: the highest TC it holds (a
 * restarted replica forwards it to peers still in that view, who may never get it otherwise: the
 * timeouts behind it may have reached this replica only). A few QCs, a TC, and the uncommitted
 * chain: about 3 blocks after GST, longer only while views certify blocks without committing any.
 */
const SafetyStateCodec = codec.record({
  lastVotedView: codec.uint(),
  proposedView: codec.uint(),
  timeout: codec.optional(
    codec.record({
      view: codec.uint(),
      blockHash: codec.fixedBytes(32),
      signature: codec.bytes(64),
      highQC: CertificateCodec,
      proposal: codec.optional(codec.record({ blockHash: codec.fixedBytes(32), signer: codec.uint(65535), signature: codec.bytes(64) })),
    }),
  ),
  locked: CertificateCodec,
  high: CertificateCodec,
  blocks: codec.array(codec.record({ block: BlockCodec, justify: codec.optional(CertificateCodec) }), 2 * MAX_PERSISTED_BLOCKS + 1),
  voted: codec.optional(codec.fixedBytes(32)),
  tc: codec.optional(codec.record({ view: codec.uint(), timeouts: codec.array(codec.record({ signer: codec.uint(65535), blockHash: codec.fixedBytes(32), signature: codec.bytes(64) }), 8192) })),
});

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
  /** Rules replaced (see rules.ts): a variant of the protocol, a mutant in a test, a Byzantine replica. */
  readonly rules?: Partial<HotStuffRules>;
}

type TimeoutMessage = Extract<HotStuffMessage, { type: 'timeout' }>;

export class HotStuff implements Protocol<HotStuffMessage> {
  readonly self: number;
  private readonly n: number;
  private readonly rules: HotStuffRules;
  /** Known blocks, rooted at the block this instance stands on. */
  private readonly store: BlockStore;
  private readonly verifier: StatementVerifier;
  private readonly payload: PayloadPolicy;
  private readonly leaderOf: (view: number) => number;
  private readonly statements = new StatementWindow();
  private readonly maxBlockTxs: number;
  private readonly baseTimeout: number;
  private readonly maxBackoff: number;
  /**
   * Votes this replica collects: a tally per view, by block (`txKey` of its hash: a key for memory
   * only). A signer's second vote of a view for another block never reaches it: it is an
   * equivocation (`observe`).
   */
  private readonly votes = new Map<number, VoteTally<string>>();
  private readonly qcFormed = new Set<number>();
  /**
   * Blocks asked for, by id: the view of the QC naming each and its height if known. An open
   * request's height is updated when learned (a child that arrives names its parent's height, which
   * lets peers serve it from their ledgers); when full, the lowest view goes first; what the
   * committed tip passed is forgotten; a block is asked again at most once per 2 delta (or at once
   * on the fetch timer), without an attempt limit (it stays wanted until the committed tip passes it).
   */
  private readonly fetcher: BlockFetcher<FetchRequest>;
  /** Fetch answers each peer may still get now (a token bucket per peer), and when it was last served. */
  private readonly serveTokens: number[];
  private readonly servedAt: number[];
  private fetchTimerArmed = false;
  /** QCs for blocks that have not joined yet. */
  private readonly pendingQC = new Map<string, QuorumCertificate>();
  /** Timeout statements by view (within the window): a quorum is a TC; f+1 (`joins`) make a replica join the view. */
  private readonly timeouts: VoteTally<number>;
  private readonly joins: VoteTally<number>;
  /** Each signer's highest timeout beyond the window: f+1 of them let a replica far behind join. */
  private readonly farTimeouts = new Map<number, number>();
  private readonly tcs = new Map<number, TimeoutCertificate>();
  /** The highest TC held (persisted). */
  private highTC: TimeoutCertificate | undefined;
  private view = 0;
  private lastVotedView = 0;
  private lockedQC: QuorumCertificate = GENESIS_QC;
  private highQC: QuorumCertificate = GENESIS_QC;
  private proposedView = 0;
  private timedOutView = 0;
  /** The last timeout this replica signed: re-sent, never re-signed. */
  private lastTimeout: TimeoutMessage | undefined;
  private consecutiveTimeouts = 0;
  private readonly idleViewMs: number;
  /** Inside the handling of its own proposal (see tryPropose). */
  private proposing = false;
  private viewEnteredAt = 0;
  /** The committed tip: its block is in the store (the root, or above it). */
  private committedTip: Block;
  /** Persisted blocks to put back in the store at start (a restart). */
  private restored: readonly StoredLink[] = [];
  /** The block this replica last voted for (persisted with its chain). */
  private voted: StoredLink | undefined;
  private dirty = false;
  /** footprint().dropped: inputs refused for being too far from the current view, proposals refused unread (stale), fetches refused by the rate limit. */
  private dropped = 0;
  private now = 0;
  private readonly out = new Outbox<HotStuffMessage>();

  constructor(
    private readonly config: ProtocolConfig,
    options: HotStuffOptions = {},
  ) {
    this.self = config.self;
    this.n = config.validators.n;
    this.rules = { ...defaultRules, ...options.rules };
    const resolved = resolveConfig(config, roundRobin);
    this.verifier = resolved.verifier;
    this.payload = resolved.payload;
    this.maxBlockTxs = resolved.maxBlockTxs;
    this.leaderOf = resolved.leaderOf;
    this.fetcher = new BlockFetcher<FetchRequest>({ maxOutstanding: MAX_FETCHING, maxAttempts: Infinity, retryAfter: 2 * config.timing.delta, priority: (r) => r.view });
    this.timeouts = new VoteTally(this.verifier, 'quorum');
    this.joins = new VoteTally(this.verifier, 'one-honest');
    this.baseTimeout = (options.baseTimeoutDeltas ?? 4) * config.timing.delta;
    this.maxBackoff = options.maxBackoff ?? 3;
    this.idleViewMs = options.idleViewMs ?? 0;
    this.serveTokens = new Array<number>(this.n).fill(SERVE_BURST);
    this.servedAt = new Array<number>(this.n).fill(0);
    let root: StoredLink = { block: GENESIS, justify: GENESIS_QC };
    if (config.safetyState !== undefined) {
      const s = decode(SafetyStateCodec, config.safetyState);
      this.lastVotedView = s.lastVotedView;
      this.proposedView = s.proposedView;
      this.lockedQC = s.locked;
      this.highQC = s.high;
      if (s.timeout !== undefined) {
        const { highQC, proposal, ...signed } = s.timeout;
        this.timedOutView = signed.view;
        const statement: SignedStatement = { domain: Domains.timeout, sequence: 0, signer: this.self, ...signed };
        this.lastTimeout = { type: 'timeout', timeout: { statement, highQC, ...(proposal === undefined ? {} : { proposal: { domain: Domains.proposal, view: signed.view, sequence: 0, ...proposal } }) } };
      }
      const links = s.blocks.map((l) => ({ block: sealBlock(l.block), justify: l.justify }));
      if (links.length > 0) root = links[0]!;
      this.restored = links.slice(1);
      const voted = s.voted === undefined ? undefined : toHex(s.voted);
      this.voted = this.restored.find((l) => l.block.id === voted);
      if (s.tc !== undefined) {
        const view = s.tc.view;
        this.highTC = { view, timeouts: s.tc.timeouts.map((t) => ({ domain: Domains.timeout, view: view, sequence: 0, ...t })) };
        this.tcs.set(view, this.highTC);
      }
    }
    this.store = new BlockStore(root, MAX_ORPHANS);
    this.committedTip = root.block;
  }

  step(input: ProtocolInput<HotStuffMessage>): ProtocolOutput<HotStuffMessage>[] {
    this.now = input.now;
    dispatch(input, this.handlers);
    this.flush();
    return this.out.take();
  }

  private readonly handlers: InputHandlers<HotStuffMessage> = {
    start: () => this.start(),
    timer: (timer) => {
      if (timer === 'view') this.onViewTimeout();
      else if (timer === 'idle') this.tryPropose();
      else if (timer === 'fetch') this.refetch();
    },
    transactions: (txs, now) => {
      this.payload.offer(txs, now);
      this.tryPropose(); // a leader waiting for something to order has it now
    },
    message: (m, from) => this.onMessage(m, from),
  };

  footprint(): ProtocolFootprint {
    // Blocks not final yet count too (joined above the committed tip, and orphans): final ones are the runtime's.
    // `joins` holds the same statements as `timeouts`.
    let retained = this.statements.size + this.farTimeouts.size + this.tcs.size + this.pendingQC.size + this.fetcher.size + this.store.size + this.qcFormed.size + this.timeouts.size;
    for (const tally of this.votes.values()) retained += tally.size;
    return { retained, dropped: this.dropped };
  }

  // ---- views ----

  /**
   * A fresh replica starts in view 1. A restarted one puts its persisted blocks back and starts in
   * the view it last voted or timed out in (or after its highest QC): it never votes there again,
   * but it may still time out of it if it had not (a view a quorum is stuck in may need its
   * timeout), and if it had, it re-sends that very timeout. Holding a TC (persisted: the highest)
   * it starts in the view after it, as it had before the crash.
   */
  private start(): void {
    for (const l of this.restored) this.store.add(l.block, l.justify);
    this.restored = [];
    for (const l of this.store.chain(toHex(this.highQC.blockHash), this.store.root.block.height + 1)) this.store.certify(l.block.id);
    // A TC it held entitles it to the view after (it had entered it before the crash).
    this.enterView(this.rules.startView({ lastVotedView: this.lastVotedView, highQC: this.highQC, tcView: this.highTC?.view }), false);
    if (this.timedOutView === this.view && this.lastTimeout !== undefined) {
      this.out.broadcast(this.lastTimeout);
      this.countTimeout(this.lastTimeout.timeout.statement);
    }
    this.onQC(this.highQC);
    this.tryPropose();
  }

  private enterView(view: number, progress: boolean): void {
    if (view <= this.view) return;
    this.view = view;
    this.viewEnteredAt = this.now;
    if (progress) this.consecutiveTimeouts = 0;
    const leader = this.leaderOf(view);
    this.out.trace({ kind: 'view', view, leader });
    this.out.setTimer('view', this.now + this.rules.viewTimeout({ base: this.baseTimeout, consecutiveTimeouts: this.consecutiveTimeouts, maxBackoff: this.maxBackoff }));
    // Bounded memory: what belongs to views this replica has left behind is dropped.
    const left = (v: number) => v < view - 1;
    this.timeouts.prune(left);
    this.joins.prune(left);
    for (const v of this.tcs.keys()) if (v < view - 1) this.tcs.delete(v);
    for (const v of this.votes.keys()) if (v < view - 1) this.votes.delete(v);
    for (const v of this.qcFormed) if (v < view - 1) this.qcFormed.delete(v);
    for (const [signer, v] of this.farTimeouts) if (v <= view + VIEW_WINDOW) this.farTimeouts.delete(signer);
    this.statements.prune(view - EVIDENCE_VIEWS);
    this.tryPropose();
  }

  /** Propose if this replica leads the current view and holds what justifies entering it. */
  private tryPropose(): void {
    if (this.proposing) return this.out.setTimer('idle', this.now + this.config.timing.delta);
    const view = this.view;
    const decision = this.rules.propose({ view, leads: this.leaderOf(view) === this.self, proposedView: this.proposedView, highQC: this.highQC, tc: this.tcs.get(view - 1) });
    if (decision === undefined) return;
    const { justify, tc } = decision;
    const parent = this.store.get(toHex(justify.blockHash));
    if (parent === undefined) {
      this.fetchChainOf(justify); // the certified block is missing: ask for it, and keep asking
      return;
    }
    const pending = this.store.chain(parent.id, this.committedTip.height + 1);
    if (this.idleViewMs > 0 && this.now < this.viewEnteredAt + this.idleViewMs && this.payload.size === 0 && pending.every((l) => l.block.payload.length === 0)) {
      this.out.setTimer('idle', this.viewEnteredAt + this.idleViewMs);
      return;
    }
    this.proposedView = view;
    this.dirty = true;
    this.flush(); // the proposal guard is durable before the proposal leaves
    const context: PayloadContext = { view, height: parent.height + 1, now: this.now, pending: pendingKeys(pending.map((l) => l.block)) };
    const block = makeBlock({ parent: parent.hash, height: parent.height + 1, view, proposer: this.self, payload: this.payload.build(context, this.maxBlockTxs) });
    const signature = signStatement(this.config.signer, this.self, Domains.proposal, { view, sequence: 0, blockHash: block.hash }).signature;
    const message: HotStuffMessage = { type: 'proposal', block, justify, tc, signature };
    this.out.trace({ kind: 'propose', view, block: block.id, height: block.height, parent: parent.id });
    this.out.broadcast(message);
    // Its own proposal is handled at once. With n = 1 its own vote is a quorum: that forms the QC,
    // enters the next view and would propose again inside this call, without end and without time
    // passing; so a proposal due while handling its own waits delta (the 'idle' timer proposes).
    this.proposing = true;
    try {
      this.onProposal(message, undefined);
    } finally {
      this.proposing = false;
    }
  }

  /** The view timer: time out of the view (once), or re-send that timeout (the pacemaker rules). */
  private onViewTimeout(): void {
    if (this.timedOutView < this.view) {
      this.timedOutView = this.view;
      this.consecutiveTimeouts++;
      // No vote in a view this replica has given up on: persisted with the vote guard.
      this.lastVotedView = Math.max(this.lastVotedView, this.view);
      const statement = signStatement(this.config.signer, this.self, Domains.timeout, { view: this.view, sequence: 0, blockHash: this.highQC.blockHash });
      // With the leader's proposal as first seen in this view: another version seen elsewhere convicts it.
      const proposal = this.statements.first(this.view, Domains.proposal, this.leaderOf(this.view));
      this.lastTimeout = { type: 'timeout', timeout: { statement, highQC: this.highQC, ...(proposal === undefined ? {} : { proposal }) } };
      this.dirty = true;
      this.flush(); // durable before it leaves: a restarted replica re-sends it, never signs another
      this.out.broadcast(this.lastTimeout);
      this.countTimeout(statement);
    } else if (this.resendsTimeout()) {
      this.out.broadcast(this.lastTimeout!);
    } else {
      return;
    }
    // Still in the view (no TC yet): re-send at the base interval until it changes.
    if (this.resendsTimeout()) this.out.setTimer('view', this.now + this.baseTimeout);
  }

  private resendsTimeout(): boolean {
    return this.rules.resendTimeout({ view: this.view, timedOutView: this.timedOutView, hasTimeout: this.lastTimeout !== undefined });
  }

  // ---- messages ----

  private onMessage(m: HotStuffMessage, from: number): void {
    switch (m.type) {
      case 'fetch':
        return this.answerFetch(m.blockHash, m.above, m.height, from);
      case 'block':
        return this.onFetchedBlocks(m.blocks, from);
      case 'final':
        return this.onFinalBlocks(m.blocks, from);
      case 'proposal':
        return this.onProposal(m, from);
      case 'vote':
        return this.onVote(m.vote, m.proposal, from);
      case 'timeout':
        this.forwardTC(m.timeout.statement, from);
        return this.onTimeoutMessage(m.timeout.statement, m.timeout.highQC, m.timeout.proposal, from);
      case 'tc':
        return this.onTC(m.tc, from);
    }
  }

  /**
   * A timeout for a view this replica left with a TC: its signer missed the TC (or the timeouts
   * behind it, lost before GST), and a replica never re-sends timeouts of a view it left, so it
   * would wait in that view for ever. It gets the TC, once for each timeout it sends.
   */
  private forwardTC(statement: SignedStatement, from: number): void {
    if (statement.domain !== Domains.timeout || statement.view >= this.view || from === this.self) return;
    const tc = this.tcs.get(statement.view);
    if (tc !== undefined) this.out.send(from, { type: 'tc', tc });
  }

  /** A TC sent on its own: it moves this replica to the view after it (a quorum gave up on that view). */
  private onTC(tc: TimeoutCertificate, from: number): void {
    // One it no longer needs: nothing checked.
    if (tc.view < this.view) return this.out.reject('STALE', from, 'tc');
    if (this.tcs.has(tc.view)) return this.out.reject('DUPLICATE', from, 'tc');
    if (tc.view > this.view + VIEW_WINDOW) return this.drop(from, 'tc');
    const valid = this.validTC(tc);
    if (valid === undefined) return this.out.reject('BAD_CERTIFICATE', from, 'tc');
    this.keepTC(valid);
    this.enterView(tc.view + 1, false);
    this.tryPropose();
  }

  /** Refused for being too far from the current view to be kept (counted in footprint().dropped too). */
  private drop(from: number | undefined, kind: HotStuffMessage['type']): void {
    this.dropped++;
    this.out.reject('OUT_OF_WINDOW', from, kind);
  }

  /** Keeps a valid TC; the highest is persisted. */
  private keepTC(tc: TimeoutCertificate): void {
    this.tcs.set(tc.view, tc);
    if (tc.view > (this.highTC?.view ?? -1)) {
      this.highTC = tc;
      this.dirty = true;
    }
  }

  private validQC(qc: QuorumCertificate): boolean {
    if (qc.view === 0) return bytesEqual(qc.blockHash, GENESIS.hash) && qc.domain === Domains.vote;
    return qc.domain === Domains.vote && qc.sequence === 0 && verifyCertificate(qc, this.verifier);
  }

  /**
   * The TC of a quorum of distinct validators' valid timeouts for its view, as kept: only those
   * timeouts (what else it carries is left out, so nothing unverified is kept, persisted or forwarded).
   */
  private validTC(tc: TimeoutCertificate): TimeoutCertificate | undefined {
    if (tc.timeouts.length > this.n) return undefined;
    const timeouts = collectQuorum(tc.timeouts, { domain: Domains.timeout, view: tc.view, sequence: 0 }, this.verifier);
    return timeouts === undefined ? undefined : { view: tc.view, timeouts };
  }

  /** A statement of a view still compared for evidence: reports an equivocation; false if it conflicts with an earlier one. */
  private observe(s: SignedStatement): boolean {
    if (s.view + EVIDENCE_VIEWS < this.view || s.view > this.view + VIEW_WINDOW) return true;
    const { outcome, evidence } = this.statements.observe(s);
    this.out.evidence(evidence);
    return outcome !== 'conflict';
  }

  /** A proposal, a peer's (`from`) or this replica's own (undefined). */
  private onProposal(m: Extract<HotStuffMessage, { type: 'proposal' }>, from: number | undefined): void {
    const { block, justify, tc } = m;
    if (this.store.has(block.id)) return this.out.reject('DUPLICATE', from, 'proposal');
    // Cannot extend the committed tip, or too old to vote for or to convict anyone with: refused unread.
    if (block.height <= this.committedTip.height || block.view <= this.committedTip.view || block.view + EVIDENCE_VIEWS < this.view) {
      this.dropped++;
      return this.out.reject('STALE', from, 'proposal');
    }
    const statement: SignedStatement = { domain: Domains.proposal, view: block.view, sequence: 0, blockHash: block.hash, signer: block.proposer, signature: m.signature };
    const verdict = this.rules.proposal({ block, justify, tcView: tc?.view, leader: this.leaderOf(block.view) });
    let entry: TimeoutCertificate | undefined;
    let refused: RejectionCode | undefined;
    if (verdict !== 'qc' && verdict !== 'tc') refused = verdict;
    else if (verdict === 'tc' && (entry = this.validTC(tc!)) === undefined) refused = 'BAD_CERTIFICATE';
    else if (!this.verifier.verify(statement)) refused = 'BAD_SIGNATURE';
    else if (!payloadMatches(block)) refused = 'INVALID_PAYLOAD';
    else if (!this.validQC(justify)) refused = 'BAD_CERTIFICATE';
    if (refused !== undefined) {
      // Far ahead, it could not be valid anyway (it needs a QC or TC for the view before).
      if (block.view > this.view + VIEW_WINDOW) return this.drop(from, 'proposal');
      return this.out.reject(refused, from, 'proposal');
    }
    // A second block of the leader for one view: evidence, and not kept (a QC naming it fetches it).
    if (!this.observe(statement)) return this.out.reject('EQUIVOCATION', from, 'proposal');
    if (entry !== undefined) this.keepTC(entry);
    this.addBlock(block, justify);
    this.onQC(justify);
    this.enterView(block.view, justify.view === block.view - 1);
    // Voting needs no ancestor beyond the justify (its block is the parent), so a block waiting
    // for its parent can be voted for: a replica that restarted votes at once.
    this.maybeVote(block, justify, statement, from);
    // The block may complete a QC this replica already held (votes can overtake the proposal).
    this.tryPropose();
  }

  /** Adds a block whose justify QC was verified (or accepted by hash, without one); applies the QCs it completes; asks for what it misses below. */
  private addBlock(block: Block, justify: QuorumCertificate | undefined): void {
    for (const joined of this.store.add(block, justify)) {
      this.fetcher.resolve(joined.id);
      const carried = this.store.justify(joined.id);
      if (carried !== undefined) this.onQC(carried);
      const pending = this.pendingQC.get(joined.id);
      this.pendingQC.delete(joined.id);
      if (pending !== undefined) this.onQC(pending);
    }
    const missing = this.store.missingBelow(block.id);
    if (missing !== undefined) this.fetch(missing.hash, missing.view, missing.height);
  }

  /** Asks for the block `qc` names, or for what its chain misses below. */
  private fetchChainOf(qc: QuorumCertificate): void {
    const id = toHex(qc.blockHash);
    if (!this.store.has(id)) return this.fetch(qc.blockHash, qc.view, undefined);
    const missing = this.store.missingBelow(id);
    if (missing !== undefined) this.fetch(missing.hash, missing.view, missing.height);
  }

  /**
   * Asks everyone for a block named by a QC of view `view`, and keeps asking (the fetch timer)
   * until it arrives: a peer may not have it, may have restarted without it, or may answer wrongly.
   */
  private fetch(blockHash: Uint8Array, view: number, height: number | undefined, now = false): void {
    if (view <= this.committedTip.view || (height !== undefined && height <= this.committedTip.height)) return; // committed, or on a fork that never will be
    const id = toHex(blockHash);
    const asked = this.fetcher.get(id);
    if (asked !== undefined && height !== undefined) asked.height = height;
    const known = height ?? asked?.height;
    const request: FetchRequest = { hash: blockHash, view, height: known };
    const sent = asked === undefined ? this.fetcher.ask(id, request, this.now) : this.fetcher.again(id, request, this.now, now);
    if (sent === undefined) return;
    this.out.broadcast({ type: 'fetch', blockHash, above: this.committedTip.height, ...(known === undefined ? {} : { height: known }) });
    if (!this.fetchTimerArmed) {
      this.fetchTimerArmed = true;
      this.out.setTimer('fetch', this.now + 4 * this.config.timing.delta);
    }
  }

  /** The fetch timer: ask again for what has not arrived and is still worth having. */
  private refetch(): void {
    this.fetchTimerArmed = false;
    this.forgetCommitted();
    for (const f of this.fetcher.requests()) {
      const id = toHex(f.hash);
      if (this.store.has(id)) {
        // Arrived, but its chain still misses a block below: ask for that one instead.
        this.fetcher.resolve(id);
        const missing = this.store.missingBelow(id);
        if (missing !== undefined) this.fetch(missing.hash, missing.view, missing.height);
      } else this.fetch(f.hash, f.view, f.height, true);
    }
    this.fetchChainOf(this.highQC);
  }

  /** Fetches and QCs no longer worth having: for blocks at or below the committed tip, or that joined. */
  private forgetCommitted(): void {
    const tip = this.committedTip;
    this.fetcher.forget((id, f) => this.store.isJoined(id) || f.view <= tip.view || (f.height !== undefined && f.height <= tip.height));
    for (const [id, qc] of this.pendingQC) if (qc.view <= tip.view) this.pendingQC.delete(id);
  }

  /**
   * Answers with the block and its ancestors down to the asker's committed height (at most
   * ANSWER_BLOCKS): from the store (each with its justify) for a block not final here, or from the
   * runtime's finalized chain (`final`: blocks alone) for one at or below the finalized height whose
   * height the asker gave, the hash checked. A peer gets SERVE_BURST answers, then one per delta:
   * a flood of fetches costs this replica a bounded bandwidth whatever its size.
   */
  private answerFetch(blockHash: Uint8Array, above: number, height: number | undefined, from: number): void {
    if (from === this.self || !Number.isInteger(from) || from < 0 || from >= this.n) return this.out.reject('MALFORMED', from, 'fetch');
    const top = this.store.get(toHex(blockHash));
    let answer: HotStuffMessage;
    if (top !== undefined) {
      // Asked for a block at or below the asker's own committed height: it has it.
      if (top.height === 0 || top.height <= above) return this.out.reject('STALE', from, 'fetch');
      // Highest first, as long as the blocks are alike: with their justify, or (accepted from a
      // finalized chain) without.
      const chain = this.store.chain(top.id, Math.max(above + 1, 1), ANSWER_BLOCKS).reverse();
      const certified = chain[0]!.justify !== undefined;
      let k = 0;
      while (k < chain.length && (chain[k]!.justify !== undefined) === certified) k++;
      const links = chain.slice(0, k);
      answer = certified ? { type: 'block', blocks: links.map(({ block, justify }) => ({ block, justify: justify! })) } : { type: 'final', blocks: links.map((l) => l.block) };
    } else {
      const ledger = this.config.finalized;
      if (height !== undefined && (height === 0 || height <= above)) return this.out.reject('STALE', from, 'fetch');
      // Not refused: nothing to answer with (a fetch goes to everyone, and only some hold the block).
      if (height === undefined || ledger === undefined || height > ledger.height) return;
      const b = ledger.at(height);
      if (b === undefined || !bytesEqual(b.hash, blockHash)) return;
      const finals = [b];
      for (let h = height - 1; h > above && finals.length < ANSWER_BLOCKS; h--) {
        const next = ledger.at(h);
        if (next === undefined) break;
        finals.push(next);
      }
      answer = { type: 'final', blocks: finals };
    }
    const tokens = Math.min(SERVE_BURST, this.serveTokens[from]! + (this.now - this.servedAt[from]!) / this.config.timing.delta);
    this.servedAt[from] = this.now;
    if (tokens < 1) {
      this.serveTokens[from] = tokens;
      this.dropped++;
      return this.out.reject('RATE_LIMITED', from, 'fetch');
    }
    this.serveTokens[from] = tokens - 1;
    this.out.send(from, answer);
  }

  /**
   * An answer from a peer's finalized chain: its first block must be one asked for, and each next
   * one the parent of the one before (hashes link them, down from a hash a certified block or a
   * block held names); they join without justify. Anything else in it is ignored.
   */
  private onFinalBlocks(blocks: readonly Block[], from: number): void {
    if (this.unaskedAnswer(blocks[0], from, 'final')) return;
    const accepted: Block[] = [];
    let expected = blocks[0]!.hash;
    for (const block of blocks) {
      if (!bytesEqual(block.hash, expected) || this.store.has(block.id) || block.height <= this.store.root.block.height || !payloadMatches(block)) break;
      if (accepted.length > 0 && block.height !== accepted[accepted.length - 1]!.height - 1) break;
      accepted.push(block);
      expected = block.parent;
    }
    // The block asked for itself does not prove (its transactions do not match its header): refused, still asked for.
    if (accepted.length === 0) return this.out.reject('UNPROVEN', from, 'final');
    for (let i = accepted.length - 1; i >= 0; i--) this.addBlock(accepted[i]!, undefined);
    this.tryPropose();
  }

  /**
   * Refuses (true) a fetch answer whose first block was not asked for (a peer that answered after
   * another one's answer joined it, a late one, or one nobody asked) or is held already.
   */
  private unaskedAnswer(top: Block | undefined, from: number, kind: 'block' | 'final'): boolean {
    if (top === undefined) this.out.reject('MALFORMED', from, kind);
    else if (this.store.has(top.id)) this.out.reject('DUPLICATE', from, kind);
    else if (top.height <= this.store.root.block.height) this.out.reject('STALE', from, kind);
    else if (!this.fetcher.isOpen(top.id)) this.out.reject('UNASKED', from, kind);
    else return false;
    return true;
  }

  /**
   * An answer to a fetch: its first block must be one asked for, and each next one the parent of
   * the one before (hashes link them), each with a valid QC for its parent. Anything else in it is
   * ignored, and what was asked for stays asked for.
   */
  private onFetchedBlocks(blocks: readonly CertifiedLink[], from: number): void {
    if (this.unaskedAnswer(blocks[0]?.block, from, 'block')) return;
    const accepted: CertifiedLink[] = [];
    let expected = blocks[0]!.block.hash;
    for (const l of blocks) {
      const { block, justify } = l;
      if (!bytesEqual(block.hash, expected) || this.store.has(block.id) || block.height <= this.store.root.block.height) break;
      if (!bytesEqual(block.parent, justify.blockHash) || block.view <= justify.view || !payloadMatches(block) || !this.validQC(justify)) break;
      accepted.push(l);
      expected = block.parent;
    }
    // The block asked for comes without a proof (a valid QC for its parent) or does not match its header.
    if (accepted.length === 0) return this.out.reject('UNPROVEN', from, 'block');
    for (let i = accepted.length - 1; i >= 0; i--) this.addBlock(accepted[i]!.block, accepted[i]!.justify);
    this.tryPropose();
  }

  /** Votes for a valid proposal if the vote rule and the payload policy allow it. */
  private maybeVote(block: Block, justify: QuorumCertificate, proposal: SignedStatement, from: number | undefined): void {
    if (!this.rules.vote({ view: this.view, lastVotedView: this.lastVotedView, lockedQC: this.lockedQC, block, justify, tree: this.store })) return;
    const verdict = this.payload.validate(block.payload, this.payloadContext(block));
    if (!verdict.ok) {
      if (verdict.convicts) this.out.evidence(unfairProposalEvidence(block, proposal));
      return this.out.reject('INVALID_PAYLOAD', from, 'proposal');
    }
    this.lastVotedView = block.view;
    this.voted = { block, justify };
    this.dirty = true;
    this.flush(); // durable before the vote leaves
    const vote = signStatement(this.config.signer, this.self, Domains.vote, { view: block.view, sequence: 0, blockHash: block.hash });
    this.out.trace({ kind: 'vote', view: block.view, block: block.id });
    // To the next leader, and the one after: a QC then survives one crashed leader (with round-robin
    // leaders and one replica of four down, a 3-chain never completes if only the next leader
    // collects, because every fourth QC would be formed by the crashed replica and lost).
    for (const to of this.collectors(block.view)) {
      if (to === this.self) this.onVote(vote, proposal, undefined);
      else this.out.send(to, { type: 'vote', vote, proposal });
    }
  }

  private payloadContext(block: Block): PayloadContext {
    return new ProposalContext(block, this.now, this.store, this.committedTip.height + 1);
  }

  /** A leader's signed proposal statement for `view` (carried by a vote or a timeout). */
  private isProposalStatement(s: SignedStatement, view: number): boolean {
    return s.domain === Domains.proposal && s.view === view && s.sequence === 0 && s.signer === this.leaderOf(view) && this.verifier.verify(s);
  }

  /** A vote, a peer's (`from`) or this replica's own (undefined). */
  private onVote(vote: SignedStatement, proposal: SignedStatement, from: number | undefined): void {
    if (vote.domain !== Domains.vote || vote.sequence !== 0) return this.out.reject('MALFORMED', from, 'vote');
    // Too far ahead to keep: a replica that far behind catches up by proposals and timeouts.
    if (vote.view > this.view + VIEW_WINDOW) return this.drop(from, 'vote');
    if (vote.view + EVIDENCE_VIEWS < this.view) return this.out.reject('STALE', from, 'vote');
    if (!this.verifier.verify(vote)) return this.out.reject('BAD_SIGNATURE', from, 'vote');
    const first = this.observe(vote);
    // The proposal statement the vote carries: every version a proposer sent reaches the next leader.
    if (this.isProposalStatement(proposal, vote.view)) this.observe(proposal);
    if (!first) return this.out.reject('EQUIVOCATION', from, 'vote');
    // Sent to a replica that does not collect that view's votes: no honest replica does that.
    if (!this.collectors(vote.view).includes(this.self)) return this.out.reject('MALFORMED', from, 'vote');
    // Its view was left, or its QC formed already (the votes after the quorum's).
    if (vote.view + 1 < this.view || this.qcFormed.has(vote.view)) return this.out.reject('STALE', from, 'vote');
    let tally = this.votes.get(vote.view);
    if (tally === undefined) this.votes.set(vote.view, (tally = new VoteTally(this.verifier, 'quorum')));
    const block = txKey(vote.blockHash);
    const counted = tally.addOwn(block, vote); // verified above
    if (counted === 'duplicate') return this.out.reject('DUPLICATE', from, 'vote');
    if (counted !== 'reached') return;
    this.qcFormed.add(vote.view);
    const qc = makeCertificate(tally.statements(block), this.n);
    this.votes.delete(vote.view);
    this.onQC(qc);
    this.enterView(qc.view + 1, true);
    this.tryPropose();
  }

  private onTimeoutMessage(statement: SignedStatement, highQC: QuorumCertificate, proposal: SignedStatement | undefined, from: number): void {
    if (statement.domain !== Domains.timeout || statement.sequence !== 0) return this.out.reject('MALFORMED', from, 'timeout');
    if (statement.view + 1 < this.view) return this.out.reject('STALE', from, 'timeout');
    if (!bytesEqual(statement.blockHash, highQC.blockHash)) return this.out.reject('MALFORMED', from, 'timeout');
    if (!this.verifier.verify(statement)) return this.out.reject('BAD_SIGNATURE', from, 'timeout');
    if (!this.validQC(highQC)) return this.out.reject('BAD_CERTIFICATE', from, 'timeout');
    if (proposal !== undefined && this.isProposalStatement(proposal, statement.view)) this.observe(proposal);
    this.onQC(highQC);
    if (statement.view > this.view + VIEW_WINDOW) {
      // Too far ahead to keep by view: only the signer's highest, for the f+1 rule.
      this.drop(from, 'timeout');
      if ((this.farTimeouts.get(statement.signer) ?? -1) >= statement.view) return;
      this.farTimeouts.set(statement.signer, statement.view);
      const views = [...this.farTimeouts.values()].sort((a, b) => b - a);
      const joined = views[this.joins.threshold - 1];
      if (joined !== undefined && joined > this.view) {
        this.enterView(joined, false);
        this.onViewTimeout();
      }
      return;
    }
    this.countTimeout(statement, from);
  }

  /** A verified timeout within the window (a peer's, or this replica's own: `from` undefined). */
  private countTimeout(statement: SignedStatement, from?: number): void {
    const view = statement.view;
    if (this.timeouts.addOwn(view, statement) === 'duplicate') return this.out.reject('DUPLICATE', from, 'timeout'); // re-sent until the view changes
    this.joins.addOwn(view, statement);
    // f+1 timeouts for a view at least as high as ours: some honest replica gave up on it, so join it
    // (views synchronise after GST even when replicas' timers are out of step).
    if (this.joins.reached(view) && this.rules.joinView({ view, currentView: this.view, timedOutView: this.timedOutView })) {
      this.enterView(view, false);
      if (this.view === view) this.onViewTimeout();
    }
    if (this.timeouts.reached(view) && !this.tcs.has(view)) {
      this.keepTC({ view, timeouts: this.timeouts.statements(view) });
      this.enterView(view + 1, false);
      this.tryPropose();
    }
  }

  // ---- certificates, locks and commits ----

  /** A valid QC was seen: raise highQC, and apply the lock and commit rules on its chain. */
  private onQC(qc: QuorumCertificate): void {
    const id = toHex(qc.blockHash);
    // A QC for the current view or later ends it, however it arrived (a proposal, votes, a timeout).
    if (qc.view >= this.view) this.enterView(qc.view + 1, true);
    const b2 = this.store.get(id);
    if (b2 === undefined) {
      // Applied when the block joins the tree (highQC included: a leader proposes on a block it
      // holds); asked for now, and again until it arrives (a QC proves honest replicas hold it).
      if (qc.view > this.committedTip.view) {
        if (qc.view > (this.pendingQC.get(id)?.view ?? -1) && (this.pendingQC.size < MAX_PENDING_QC || this.pendingQC.has(id))) this.pendingQC.set(id, qc);
        this.fetchChainOf(qc);
      }
      return;
    }
    if (qc.view > this.highQC.view) {
      this.highQC = qc;
      this.dirty = true;
    }
    if (this.store.certify(id) && qc.view > 0) this.out.trace({ kind: 'certify', view: qc.view, block: id, height: b2.height });
    if (b2.height <= this.store.root.block.height) return;
    const b1QC = this.store.justify(id);
    if (b1QC === undefined) return; // served from a finalized chain: final already, nothing to lock or commit
    const b1 = this.store.get(toHex(b1QC.blockHash));
    if (b1 === undefined || b1.height === 0) return;
    const locked = this.rules.lock({ lockedQC: this.lockedQC, parentQC: b1QC });
    if (locked !== this.lockedQC) {
      this.lockedQC = locked;
      this.dirty = true;
    }
    const bQC = this.store.justify(b1.id);
    const b = bQC === undefined ? undefined : this.store.get(toHex(bQC.blockHash));
    const commit = this.rules.commit({ b, b1, b2 });
    // The certificate of b's commit: the three-chain and its QCs (built only when b is what commits).
    if (commit !== undefined) this.commit(commit, commit === b && bQC !== undefined ? () => hotStuffCertificate(b, b1, b2, bQC, b1QC, qc) : undefined);
  }

  private commit(block: Block, certificate: (() => Uint8Array) | undefined): void {
    const tip = this.committedTip;
    if (block.height <= tip.height) {
      // Committed already, or a conflicting commit: handed to the runtime, whose ledger refuses it loudly.
      refinalized(this.out, block, this.config.finalized, (h) => (h === tip.height ? tip : this.store.chain(tip.id, h, 1)[0]?.block));
      return;
    }
    const chain = this.store.chain(block.id, tip.height + 1).map((l) => l.block);
    if (chain.length === 0 || chain[0]!.height !== tip.height + 1) return;
    if (chain[0]!.parentId !== tip.id) {
      this.out.commit(chain); // conflicting: refused loudly by the ledger
      return;
    }
    commitChain(this.out, chain, this.payload, undefined, certificate);
    // After the commit output: a persisted tip is always one the runtime's ledger already has.
    this.committedTip = block;
    this.dirty = true;
    // Final now: the runtime holds it. The store keeps only what descends from the new tip.
    this.store.prune(block.id);
    this.forgetCommitted();
  }

  /** Who collects votes of `view` into a QC: the leaders of the next two views. */
  private collectors(view: number): number[] {
    const a = this.leaderOf(view + 1);
    const b = this.leaderOf(view + 2);
    return a === b ? [a] : [a, b];
  }

  /** Emits the safety state if it changed since the last persist output. */
  private flush(): void {
    if (!this.dirty) return;
    this.dirty = false;
    const tip = this.committedTip;
    const top = this.store.get(toHex(this.highQC.blockHash)) ?? this.store.get(toHex(this.lockedQC.blockHash));
    // The whole chain from the tip up to the highest certified block (the lowest kept past the cap).
    const above = top === undefined ? [] : this.store.chain(top.id, tip.height + 1).slice(0, MAX_PERSISTED_BLOCKS);
    const voted = this.voted !== undefined && this.voted.block.height > tip.height ? this.voted : undefined;
    if (voted !== undefined && !above.some((l) => l.block.id === voted.block.id)) {
      // Its chain (when joined) down to what is already there, else the block alone.
      const have = new Set(above.map((a) => a.block.id));
      const own = this.store.chain(voted.block.id, tip.height + 1).slice(0, MAX_PERSISTED_BLOCKS).filter((l) => !have.has(l.block.id));
      above.push(...(own.length > 0 ? own : [voted]));
      above.sort((a, b) => a.block.height - b.block.height);
    }
    const root = { block: tip, justify: this.store.justify(tip.id) }; // first, always: the restart's root
    const t = this.lastTimeout?.timeout;
    this.out.persist(
      encode(SafetyStateCodec, {
        lastVotedView: this.lastVotedView,
        proposedView: this.proposedView,
        timeout:
          t === undefined
            ? undefined
            : {
                view: t.statement.view,
                blockHash: t.statement.blockHash,
                signature: t.statement.signature,
                highQC: wireQC(t.highQC),
                proposal: t.proposal === undefined ? undefined : { blockHash: t.proposal.blockHash, signer: t.proposal.signer, signature: t.proposal.signature },
              },
        locked: wireQC(this.lockedQC),
        high: wireQC(this.highQC),
        blocks: [root, ...above].map((l) => ({ block: { ...l.block, payload: l.block.payload as Uint8Array[] }, justify: l.justify === undefined ? undefined : wireQC(l.justify) })),
        voted: voted?.block.hash,
        tc: this.highTC === undefined ? undefined : { view: this.highTC.view, timeouts: this.highTC.timeouts.map((t) => ({ signer: t.signer, blockHash: t.blockHash, signature: t.signature })) },
      }),
    );
  }
}

function wireQC(qc: QuorumCertificate) {
  return { ...qc, signatures: qc.signatures as Uint8Array[] };
}
