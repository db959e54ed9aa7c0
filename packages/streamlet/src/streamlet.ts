// Streamlet (Chan and Shi, "Streamlet: Textbook Streamlined Blockchains", 2020):
//  - views of 2 delta (plus 1 ms, below); the leader of view e is H(e) mod n (public, so Byzantine
//    replicas lead too);
//  - the leader proposes a block extending one of the longest notarized chains it has seen;
//  - in view e a replica votes for the first proposal of e's leader, only if it extends one of
//    the longest notarized chains it has seen, and at most once per view (persisted before sending);
//  - a block is notarized with votes of at least 2n/3 distinct validators;
//  - three adjacent notarized blocks with consecutive views finalize the chain up to the second;
//  - every message is echoed to all on first receipt (a switch turns echo off).
// Beyond the paper, for a runtime that crashes and loses messages:
//  - restart: the safety state holds the last voted and proposed views, the finalized tip and the
//    longest notarized chain seen at the last vote (its height and notarization, and the bodies of
//    every block from the finalized tip up to it, however many and large); a restarted
//    replica roots its tree at the finalized tip, never votes on a chain shorter than that height,
//    and fetches the rest;
//  - repair: a replica whose last view notarized nothing gossips the notarization of its longest
//    notarized tip; a block, or the votes of a block, that a replica misses is fetched (the answer
//    brings a run of ancestors too), and asked for again each view until an answer proves it (the
//    block, and a quorum of votes);
//  - bounded state: proposals and votes are kept for a window of views around the current one;
//    the rest are refused (counted), never echoed. The block tree holds blocks not yet final only:
//    it is cut at each finalized tip (final blocks are the runtime's, `config.finalized`, and fetches
//    for them are answered from there), and a fetched block enters only when a notarization vouches
//    for it (a Byzantine peer's fabricated chains are refused, counted).
import {
  BlockCodec,
  FifoMempool,
  makeBlock,
  payloadMatches,
  sealBlock,
  signStatement,
  StatementVerifier,
  txKey,
  type Block,
  type Protocol,
  type ProtocolConfig,
  type ProtocolFootprint,
  type ProtocolInput,
  type ProtocolOutput,
  type SignedStatement,
} from '@bftx/consensus';
import { bytesEqual, codec, decode, Domains, encode, hash, toHex, tryDecode } from '@bftx/crypto';
import { MAX_ANCESTORS, type StreamletMessage } from './messages';
import { NotarizedTree } from './tree';

/** Views behind the current one whose proposals and votes are still taken. */
export const PAST_VIEWS = 8;
/** Views ahead of the current one whose proposals and votes are kept (clocks differ a little). */
export const FUTURE_VIEWS = 4;
/** Most blocks fetched at once, and how many views one is asked for before giving up (asked again when needed again). */
const MAX_FETCHING = 64;
const FETCH_ATTEMPTS = 8;
/** How far down a chain one repair walks (per event; the next event walks on): past every block that may wait for its parent. */
const REPAIR_DEPTH = 300;
/**
 * Block bodies kept in the safety state:
 * - every block of the notarized chain from the finalized tip (exclusive) up to the lock, whatever
 *   their number and size: what a restarted replica stands on, and when a whole cluster restarts,
 *   nobody else holds it. After GST this chain is a block or two; before GST it grows by at most
 *   one block per view that notarizes a block without finalizing one (see the README);
 * - only when the runtime gives no finalized chain to serve from (`ProtocolConfig.finalized`), the
 *   latest finalized blocks within a budget (what a replica that was down may still need to fetch).
 */
const KEPT_FINAL_BLOCKS = 8;
const KEPT_FINAL_BYTES = 128 * 1024;
/** Most blocks of the chain up to the lock in a safety state (more than any run holds; an encoding limit, not a budget). */
const MAX_LOCK_CHAIN = 1 << 20;
/** Largest block body in a safety state: the largest valid block (10,000 transactions of 64 KiB) fits. */
const MAX_BODY_BYTES = 1 << 30;

const HASH = codec.fixedBytes(32);
const SignatureOnly = codec.record({ signer: codec.uint(65535), signature: codec.bytes(64) });
/**
 * What a restart needs, and no more (its size bounded by n and the chain from the finalized tip up
 * to the lock, never by history):
 * - lastVotedView, lastProposedView: never a second vote or proposal in a view;
 * - finalized: the tip the tree is rooted at after a restart (blocks below it are final);
 * - lock: the longest notarized chain seen at the last vote, as its tip's height and notarization.
 *   Chan-Shi's consistency proof needs only that each replica's voted-on chains never get shorter
 *   (a vote in a later view is for a chain at least as long); the notarization lets others and
 *   the replica itself re-learn that chain when it was the only one to see the votes.
 */
const SafetyStateCodec = codec.record({
  lastVotedView: codec.uint(),
  lastProposedView: codec.uint(),
  finalized: codec.record({ hash: HASH, height: codec.uint(), view: codec.uint() }),
  lock: codec.record({ height: codec.uint(), view: codec.uint(), blockHash: HASH, votes: codec.array(SignatureOnly, 1024) }),
  blocks: codec.array(codec.bytes(MAX_BODY_BYTES), MAX_LOCK_CHAIN + KEPT_FINAL_BLOCKS),
});
/** The state of versions before restarts were supported: the last voted view only. */
const LegacySafetyStateCodec = codec.record({ lastVotedView: codec.uint() });
const LeaderSeedCodec = codec.uint();

export interface StreamletOptions {
  /** Re-broadcast every message on first receipt (the paper's echo; default true). */
  readonly echo?: boolean;
}

/** The leader of `view` among `n`: H(view) mod n, a public hash. */
export function streamletLeader(view: number, n: number): number {
  const h = hash('bftx.leader', encode(LeaderSeedCodec, view));
  return (((h[0]! << 24) | (h[1]! << 16) | (h[2]! << 8) | h[3]!) >>> 0) % n;
}

/** The longest notarized chain a replica stood on when it last voted: its tip's height and notarization. */
interface Lock {
  readonly height: number;
  readonly view: number;
  readonly blockHash: Uint8Array;
  readonly votes: readonly SignedStatement[];
}

/** What is kept of one view inside the window. */
interface ViewRecord {
  /** The leader's proposals, as received: the first is the one voted for, a second proves equivocation; more are refused. */
  readonly proposals: { readonly block: Block; readonly statement: SignedStatement }[];
  /** Votes per signer: one, or two that prove equivocation; more are refused. */
  readonly votes: Map<number, SignedStatement[]>;
  /** Votes per block not yet notarized. */
  readonly tallies: Map<string, Map<number, SignedStatement>>;
}

interface Fetch {
  readonly hash: Uint8Array;
  /** The block's height where the asker knows it (0: unknown): a peer finds a final block by it. */
  readonly height: number;
  readonly after: number;
  askedAt: number;
  attempts: number;
}

export class Streamlet implements Protocol<StreamletMessage> {
  readonly self: number;
  protected readonly n: number;
  /**
   * 2 delta + 1 ms. A proposal sent at a view's start reaches everyone within delta, their votes
   * reach everyone within delta more: at 2 delta at the latest. With views of exactly 2 delta,
   * votes delayed exactly delta arrive at the same instant the next leader proposes, and which of
   * the two comes first decides whether it builds on the block they notarize: with every delay
   * exactly delta nothing would ever finalize. One more millisecond and the votes are in first,
   * whatever the order of simultaneous events.
   */
  protected readonly viewLength: number;
  protected readonly tree: NotarizedTree;
  protected readonly verifier: StatementVerifier;
  private readonly mempool = new FifoMempool();
  private readonly views = new Map<number, ViewRecord>();
  /** The votes that notarize each notarized block (a quorum): proofs to answer fetches with. */
  private readonly notarizations = new Map<string, readonly SignedStatement[]>();
  private readonly reported = new Set<number>();
  private readonly fetching = new Map<string, Fetch>();
  protected view = 0;
  protected lastVotedView = 0;
  private lastProposedView = 0;
  private lock: Lock;
  /** The finalized tip: the tree's root (what is below it is the runtime's, `config.finalized`). */
  private get finalized(): Block {
    return this.tree.root;
  }
  /** Without `config.finalized` only: the latest finalized blocks (oldest first, bounded), answers to fetches for blocks at or below the tree's root. */
  private readonly finalBodies = new Map<string, Block>();
  /** The highest view of a block notarized here: when the last view's block is not, the replica repairs. */
  private lastNotarizedView = 0;
  private dropped = 0;
  private readonly echo: boolean;
  private readonly maxBlockTxs: number;
  private out: ProtocolOutput<StreamletMessage>[] = [];
  private now = 0;

  constructor(
    protected readonly config: ProtocolConfig,
    options: StreamletOptions = {},
  ) {
    this.self = config.self;
    this.n = config.validators.n;
    this.viewLength = 2 * config.timing.delta + 1;
    this.verifier = config.verifier ?? new StatementVerifier(config.validators, config.scheme);
    this.echo = options.echo ?? true;
    this.maxBlockTxs = config.maxBlockTxs ?? 1000;
    const state = config.safetyState === undefined ? undefined : decodeSafetyState(config.safetyState);
    this.tree = new NotarizedTree(state?.finalized);
    this.lastVotedView = state?.lastVotedView ?? 0;
    this.lastProposedView = state?.lastProposedView ?? 0;
    this.lock = state?.lock ?? { height: 0, view: 0, blockHash: this.tree.root.hash, votes: [] };
    for (const b of state?.blocks ?? []) {
      if (b.height <= this.tree.root.height) this.finalBodies.set(b.id, b);
      else this.tree.add(b);
    }
  }

  step(input: ProtocolInput<StreamletMessage>): ProtocolOutput<StreamletMessage>[] {
    this.out = [];
    this.now = input.now;
    switch (input.type) {
      case 'start':
        this.onStart(input.now);
        break;
      case 'timer':
        if (input.timer === 'view') this.onViewTimer(input.now);
        break;
      case 'transactions':
        this.mempool.add(input.txs);
        break;
      case 'message': {
        const m = input.message;
        if (m.type === 'proposal') this.onProposal(m);
        else if (m.type === 'vote') this.onVote(m.vote, m);
        else if (m.type === 'notarization') this.onNotarization(m.view, m.blockHash, m.votes);
        else if (m.type === 'fetch') this.onFetch(m.blockHash, m.height, m.after, input.from);
        else this.onFetchedBlock(m.block, m.votes, m.ancestors);
        break;
      }
    }
    return this.out;
  }

  footprint(): ProtocolFootprint {
    // Blocks not yet final (in the tree or waiting for a parent), notarizations, fetches, and the window's proposals and votes.
    let retained = this.fetching.size + this.tree.size + this.notarizations.size;
    for (const r of this.views.values()) {
      retained += r.proposals.length;
      for (const list of r.votes.values()) retained += list.length;
    }
    return { retained, dropped: this.dropped };
  }

  // ---- rules (protected: the mutation tests override them to plant bugs) ----

  /** Distinct votes that notarize a block: at least 2n/3. */
  protected quorumSize(): number {
    return this.config.validators.quorum;
  }

  /** Does the notarized chain ... grandparent, parent, block finalize up to `parent`? */
  protected finalizes(grandparent: Block | undefined, parent: Block, block: Block): boolean {
    return grandparent !== undefined && grandparent.view + 1 === parent.view && parent.view + 1 === block.view;
  }

  /** May this replica vote for the leader's proposal `block` in the current view? */
  protected mayVote(block: Block): boolean {
    return this.views.get(block.view)?.proposals[0]?.block.id === block.id && this.lastVotedView < block.view && this.extendsLongestNotarized(block);
  }

  /** Does `block` extend one of the longest notarized chains seen, before a restart included (the lock)? */
  protected extendsLongestNotarized(block: Block): boolean {
    const parent = this.tree.get(block.parentId);
    return parent !== undefined && this.tree.isCertifiedChain(parent.id) && parent.height === this.tree.longestCertifiedHeight && parent.height >= this.lock.height;
  }

  // ---- views and proposals ----

  private leaderOf(view: number): number {
    return this.config.leaderSchedule?.[view] ?? streamletLeader(view, this.n);
  }

  private onStart(now: number): void {
    this.view = Math.floor(now / this.viewLength);
    const lock = this.lock;
    if (lock.height > this.tree.root.height && lock.votes.length > 0) {
      // Restarted on a chain longer than its finalized tip: take the notarization it persisted, tell
      // the others (they may never have seen it), and fetch the blocks up to it.
      const id = toHex(lock.blockHash);
      this.acceptNotarization(lock.view, lock.blockHash, id, lock.votes);
      this.out.push({ type: 'broadcast', message: { type: 'notarization', view: lock.view, blockHash: lock.blockHash, votes: lock.votes } });
      const tip = this.tree.get(id);
      if (tip === undefined) this.fetch(lock.blockHash, id, lock.height);
      else this.repairBelow(tip);
      this.afterTreeChange();
    }
    this.scheduleNextView(now);
  }

  private scheduleNextView(now: number): void {
    const next = Math.floor(now / this.viewLength) + 1;
    this.out.push({ type: 'set-timer', timer: 'view', at: next * this.viewLength });
  }

  private onViewTimer(now: number): void {
    this.view = Math.floor(now / this.viewLength);
    const leader = this.leaderOf(this.view);
    this.out.push({ type: 'trace', event: { kind: 'view', view: this.view, leader } });
    for (const e of this.views.keys()) if (e + PAST_VIEWS < this.view) this.views.delete(e);
    // Proposals outside the window that gathered no notarization can no longer be voted for.
    // (Never the chain up to the lock: the safety state carries it, and a whole-cluster restart needs it.)
    const lockChain = this.lock.height > this.finalized.height ? this.tree.chain(toHex(this.lock.blockHash), this.finalized.height + 1) : [];
    this.tree.dropStale(this.view - PAST_VIEWS, new Set(lockChain.map((b) => b.id)));
    if (this.view > 1 && this.lastNotarizedView < this.view - 1) this.gossipLongestNotarized();
    this.askAgain();
    if (leader === this.self) this.propose();
    this.afterTreeChange(); // a proposal that arrived before its view started here may be voted for now
    this.scheduleNextView(now);
  }

  private propose(): void {
    if (this.view <= this.lastProposedView) return; // proposed in this view before a restart
    if (this.tree.longestCertifiedHeight < this.lock.height) return; // still fetching the chain it stood on
    const parent = this.tree.longestCertifiedTips[0]!;
    const onChain = new Set<string>();
    for (const b of this.tree.chain(parent.id, this.finalized.height + 1)) for (const tx of b.payload) onChain.add(txKey(tx));
    const block = makeBlock({ parent: parent.hash, height: parent.height + 1, view: this.view, proposer: this.self, payload: this.mempool.take(this.maxBlockTxs, onChain) });
    const statement = signStatement(this.config.signer, this.self, Domains.proposal, { view: this.view, sequence: 0, blockHash: block.hash });
    // Durable before the proposal leaves: a restarted leader never proposes twice in a view.
    this.lastProposedView = this.view;
    this.persist();
    this.out.push({ type: 'trace', event: { kind: 'propose', view: this.view, block: block.id, height: block.height, parent: parent.id } });
    this.out.push({ type: 'broadcast', message: { type: 'proposal', block, signature: statement.signature } });
    this.record(this.view).proposals.push({ block, statement });
    this.acceptProposal(block);
  }

  // ---- messages ----

  /** Is `view` inside the window kept around the current one? Outside, the message is refused and counted. */
  private inWindow(view: number): boolean {
    if (view <= this.view + FUTURE_VIEWS && view + PAST_VIEWS >= this.view) return true;
    this.dropped++;
    return false;
  }

  private record(view: number): ViewRecord {
    let r = this.views.get(view);
    if (r === undefined) this.views.set(view, (r = { proposals: [], votes: new Map(), tallies: new Map() }));
    return r;
  }

  private onProposal(m: Extract<StreamletMessage, { type: 'proposal' }>): void {
    const block = m.block;
    if (!this.inWindow(block.view) || block.proposer !== this.leaderOf(block.view)) return;
    const r = this.record(block.view);
    // Two versions from one leader in one view prove its equivocation; a third adds only load.
    if (r.proposals.length >= 2 || r.proposals.some((p) => p.block.id === block.id)) return;
    const statement: SignedStatement = { domain: Domains.proposal, view: block.view, sequence: 0, blockHash: block.hash, signer: block.proposer, signature: m.signature };
    if (!this.verifier.verify(statement) || !payloadMatches(block)) return;
    r.proposals.push({ block, statement });
    if (r.proposals.length === 2) this.reportEquivocation(r.proposals[0]!.statement, statement);
    if (this.echo) this.out.push({ type: 'broadcast', message: m });
    this.acceptProposal(block);
  }

  private acceptProposal(block: Block): void {
    const root = this.tree.root;
    if (block.height <= root.height || (block.height === root.height + 1 && block.parentId !== root.id)) {
      this.dropped++; // it cannot extend the finalized tip: never voted for, never kept
      return;
    }
    this.tree.add(block);
    this.repairBelow(block);
    this.afterTreeChange();
  }

  private onVote(v: SignedStatement, m: StreamletMessage): void {
    if (v.domain !== Domains.vote || v.sequence !== 0 || !this.inWindow(v.view)) return;
    const r = this.record(v.view);
    const earlier = r.votes.get(v.signer);
    if (earlier !== undefined && (earlier.length >= 2 || earlier.some((e) => bytesEqual(e.blockHash, v.blockHash)))) return;
    if (!this.verifier.verify(v)) return;
    if (this.echo) this.out.push({ type: 'broadcast', message: m });
    this.countVote(r, v);
    this.afterTreeChange();
  }

  /** A verified vote inside the window: kept (at most two per signer and view), and tallied for its block. */
  private countVote(r: ViewRecord, v: SignedStatement): void {
    const earlier = r.votes.get(v.signer);
    if (earlier === undefined) r.votes.set(v.signer, [v]);
    else {
      earlier.push(v);
      this.reportEquivocation(earlier[0]!, v);
    }
    const id = toHex(v.blockHash);
    if (this.tree.isCertified(id)) return;
    let tally = r.tallies.get(id);
    if (tally === undefined) r.tallies.set(id, (tally = new Map()));
    tally.set(v.signer, v);
    if (tally.size >= this.quorumSize()) {
      r.tallies.delete(id);
      this.notarize(id, v.view, [...tally.values()]);
    }
  }

  private reportEquivocation(first: SignedStatement, second: SignedStatement): void {
    if (this.reported.has(second.signer)) return;
    this.reported.add(second.signer);
    this.out.push({ type: 'evidence', evidence: { kind: 'equivocation', offender: second.signer, first, second } });
  }

  private notarize(id: string, view: number, votes: readonly SignedStatement[]): void {
    this.notarizations.set(id, votes);
    this.tree.certify(id);
    if (view > this.lastNotarizedView) this.lastNotarizedView = view;
    this.out.push({ type: 'trace', event: { kind: 'certify', view, block: id, height: this.tree.get(id)?.height ?? -1 } });
  }

  /**
   * Votes for one block (a gossiped notarization, a fetch answer): notarizes it when they hold a
   * quorum of valid distinct signers, whatever its view (a notarization is proof on its own);
   * fewer are tallied like single votes, inside the window only. True if the block is notarized.
   */
  private acceptNotarization(view: number, blockHash: Uint8Array, id: string, votes: readonly SignedStatement[]): boolean {
    if (this.tree.isCertified(id)) return true;
    const quorum = this.quorumSize();
    const valid: SignedStatement[] = [];
    const signers = new Set<number>();
    for (const v of votes) {
      if (valid.length >= quorum || signers.size >= this.n) break;
      if (v.domain !== Domains.vote || v.sequence !== 0 || v.view !== view || !bytesEqual(v.blockHash, blockHash) || signers.has(v.signer)) continue;
      signers.add(v.signer);
      if (this.verifier.verify(v)) valid.push(v);
    }
    if (valid.length >= quorum) {
      this.notarize(id, view, valid);
      return true;
    }
    if (valid.length > 0 && this.inWindow(view)) {
      const r = this.record(view);
      for (const v of valid) {
        const earlier = r.votes.get(v.signer);
        if (earlier === undefined || (earlier.length < 2 && !earlier.some((e) => bytesEqual(e.blockHash, v.blockHash)))) this.countVote(r, v);
      }
    }
    return this.tree.isCertified(id);
  }

  // ---- repair: gossiping notarizations, fetching what is missing ----

  /**
   * The last view notarized nothing here: votes may have been lost, or this replica may stand on a
   * shorter chain than others (or a longer one). One message per replica per such view tells
   * everyone the longest notarized chain it knows; after GST that puts every honest replica on the
   * longest one any of them knows, and the next honest leader's proposal gathers a quorum again.
   */
  private gossipLongestNotarized(): void {
    for (const tip of this.tree.longestCertifiedTips) {
      const votes = this.notarizations.get(tip.id);
      if (votes === undefined) continue;
      this.out.push({ type: 'broadcast', message: { type: 'notarization', view: tip.view, blockHash: tip.hash, votes } });
      return;
    }
    const lock = this.lock;
    if (lock.votes.length > 0 && lock.height > this.tree.longestCertifiedHeight) this.out.push({ type: 'broadcast', message: { type: 'notarization', view: lock.view, blockHash: lock.blockHash, votes: lock.votes } });
  }

  private onNotarization(view: number, blockHash: Uint8Array, votes: readonly SignedStatement[]): void {
    if (view > this.view + FUTURE_VIEWS) {
      this.dropped++;
      return;
    }
    if (view <= this.tree.root.view) return; // below the finalized root: nothing to learn
    const id = toHex(blockHash);
    if (this.tree.isCertified(id) || !this.acceptNotarization(view, blockHash, id, votes)) return;
    const block = this.tree.get(id);
    if (block === undefined) this.fetch(blockHash, id, 0);
    else this.repairBelow(block);
    this.afterTreeChange();
  }

  /**
   * Fetches what the chain below `block` lacks: the first unknown block under it (walking down
   * through blocks that wait for their parent), and the notarization of the highest known block
   * under it not notarized here (a notarized block vouches for those under it: one is enough).
   */
  private repairBelow(block: Block): void {
    let child = block;
    let askedVotes = false;
    for (let depth = 0; depth < REPAIR_DEPTH; depth++) {
      if (!this.tree.has(child.id) && this.tree.has(child.parentId)) return; // it does not fit under its parent
      const parentId = child.parentId;
      if (this.tree.isCertifiedChain(parentId) || child.height - 1 <= this.tree.root.height) return;
      const parent = this.tree.get(parentId);
      if (parent === undefined) {
        const waiting = this.tree.waitingBlock(parentId);
        if (waiting === undefined) return this.fetch(child.parent, parentId, child.height - 1);
        child = waiting;
        continue;
      }
      if (!askedVotes && !this.tree.isCertified(parentId)) {
        this.fetch(parent.hash, parentId, parent.height);
        askedVotes = true;
      }
      child = parent;
    }
  }

  private fetch(blockHash: Uint8Array, id: string, height: number): void {
    if (this.fetching.has(id)) return; // asked already; asked again each view until answered
    if (this.fetching.size >= MAX_FETCHING) this.fetching.delete(this.fetching.keys().next().value!);
    // What it has is its longest notarized chain: the ancestors above it likely miss too.
    const after = this.tree.longestCertifiedHeight;
    this.fetching.set(id, { hash: blockHash, height, after, askedAt: this.now, attempts: 1 });
    this.out.push({ type: 'broadcast', message: { type: 'fetch', blockHash, height, after } });
  }

  /** Is what a fetch asked for proven here: the block, and its notarization? */
  private fetched(id: string): boolean {
    return this.tree.has(id) && this.tree.isCertified(id);
  }

  /** Once a view, asks everyone again for what no answer has proven within a round trip (a Byzantine peer may answer first, with less). */
  private askAgain(): void {
    for (const [id, f] of this.fetching) {
      if (this.fetched(id) || f.attempts >= FETCH_ATTEMPTS) this.fetching.delete(id);
      else if (this.now - f.askedAt >= 2 * this.config.timing.delta) {
        f.attempts++;
        f.askedAt = this.now;
        this.out.push({ type: 'broadcast', message: { type: 'fetch', blockHash: f.hash, height: f.height, after: f.after } });
      }
    }
  }

  /**
   * The body of block `id` (at `height`, 0 if unknown): from the tree, or when final from the
   * runtime's finalized chain (by height, the hash checked), or the few final bodies kept here.
   */
  private body(id: string, height: number): Block | undefined {
    const known = this.tree.get(id);
    if (known !== undefined && known !== this.tree.root) return known;
    const root = this.tree.root;
    const at = known === root ? root.height : height;
    if (at > 0 && at <= root.height) {
      const final = this.config.finalized?.at(at);
      if (final !== undefined && final.id === id) return final;
    }
    return this.finalBodies.get(id);
  }

  private onFetch(blockHash: Uint8Array, height: number, after: number, from: number): void {
    const id = toHex(blockHash);
    const block = this.body(id, height);
    if (block === undefined || block.height === 0) return;
    const votes = this.notarizations.get(id) ?? [...(this.views.get(block.view)?.tallies.get(id)?.values() ?? [])];
    const ancestors: Block[] = [];
    for (let a = this.body(block.parentId, block.height - 1); a !== undefined && a.height > after && a.height > 0 && ancestors.length < MAX_ANCESTORS; a = this.body(a.parentId, a.height - 1)) ancestors.push(a);
    this.out.push({ type: 'send', to: from, message: { type: 'block', block, votes, ancestors } });
  }

  /**
   * An answer to a fetch: taken only for a hash asked for, and only for a block a notarization
   * vouches for (its own votes in the answer, or known here, or a notarized block waiting for it as
   * its parent), with the ancestors that chain to it by their hashes (a notarized block's ancestors
   * are notarized); anything else is refused and counted (a Byzantine peer's fabricated chain never
   * enters the tree). The fetch stays open until the block and its notarization are here.
   */
  private onFetchedBlock(block: Block, votes: readonly SignedStatement[], ancestors: readonly Block[]): void {
    if (!this.fetching.has(block.id)) return;
    if (block.height <= this.tree.root.height) {
      this.fetching.delete(block.id); // at or below the finalized root: of no use
      return;
    }
    if (!payloadMatches(block)) return;
    if (votes.length > 0 && !this.tree.isCertified(block.id)) this.acceptNotarization(block.view, block.hash, block.id, votes);
    if (!this.tree.isCertified(block.id) && !this.tree.has(block.id)) {
      this.dropped += 1 + ancestors.length; // nothing vouches for it (yet): asked again, answers with its votes are taken
      return;
    }
    const chain: Block[] = [];
    let child = block;
    for (const a of ancestors) {
      if (a.id !== child.parentId || a.height + 1 !== child.height || a.height <= this.tree.root.height || !payloadMatches(a)) break;
      chain.push(a);
      child = a;
    }
    if (!this.tree.isCertified(block.id)) chain.length = 0; // a proposal held here, not notarized: its ancestors are not vouched for
    this.dropped += ancestors.length - chain.length;
    // The block first, then its ancestors nearest first: a notarized block waiting for its parent vouches for the parent.
    this.tree.add(block);
    for (const a of chain) this.tree.add(a);
    if (this.fetched(block.id)) this.fetching.delete(block.id);
    this.repairBelow(block);
    this.afterTreeChange();
  }

  // ---- voting ----

  /** Votes for this view's proposal if the rules allow it now (called whenever the tree changes); true if it voted. */
  private tryVote(): boolean {
    const r = this.views.get(this.view);
    if (r === undefined) return false;
    let voted = false;
    for (const p of r.proposals) {
      if (!this.tree.has(p.block.id) || r.votes.get(this.self)?.some((v) => bytesEqual(v.blockHash, p.block.hash))) continue;
      if (this.mayVote(p.block)) {
        this.vote(p.block);
        voted = true;
      }
    }
    return voted;
  }

  private vote(block: Block): void {
    this.lastVotedView = block.view;
    const parent = this.tree.get(block.parentId)!;
    if (parent.height >= this.lock.height) {
      this.lock = { height: parent.height, view: parent.view, blockHash: parent.hash, votes: this.notarizations.get(parent.id) ?? [] };
    }
    // Durable before the vote leaves: a restarted replica never votes twice in a view, nor on a shorter chain.
    this.persist();
    const vote = signStatement(this.config.signer, this.self, Domains.vote, { view: block.view, sequence: 0, blockHash: block.hash });
    this.out.push({ type: 'trace', event: { kind: 'vote', view: block.view, block: block.id } });
    this.out.push({ type: 'broadcast', message: { type: 'vote', vote } });
    const r = this.record(block.view);
    if (!(r.votes.get(this.self) ?? []).some((e) => bytesEqual(e.blockHash, vote.blockHash))) this.countVote(r, vote);
  }

  private persist(): void {
    const f = this.finalized;
    const l = this.lock;
    this.out.push({
      type: 'persist',
      state: encode(SafetyStateCodec, {
        lastVotedView: this.lastVotedView,
        lastProposedView: this.lastProposedView,
        finalized: { hash: f.hash, height: f.height, view: f.view },
        lock: { height: l.height, view: l.view, blockHash: l.blockHash, votes: l.votes.map((v) => ({ signer: v.signer, signature: v.signature })) },
        blocks: this.keptBlocks(),
      }),
    });
  }

  // ---- finality ----

  /** Finalizes what newly notarized chains finalize, and votes if that is allowed now; until neither changes anything (its own vote may complete a notarization). */
  private afterTreeChange(): void {
    for (;;) {
      const newly = this.tree.takeNewlyCertified();
      for (const b of newly) {
        const parent = this.tree.get(b.parentId);
        if (parent === undefined || parent === this.tree.root) continue;
        const grandparent = this.tree.get(parent.parentId);
        if (this.finalizes(grandparent, parent, b)) this.finalize(parent);
      }
      if (!this.tryVote() && newly.length === 0) return;
    }
  }

  private keepFinal(chain: readonly Block[]): void {
    for (const b of chain.length > KEPT_FINAL_BLOCKS ? chain.slice(-KEPT_FINAL_BLOCKS) : chain) this.finalBodies.set(b.id, b);
    for (const id of this.finalBodies.keys()) {
      if (this.finalBodies.size <= KEPT_FINAL_BLOCKS) break;
      this.finalBodies.delete(id);
    }
  }

  /** The block bodies for the safety state (see KEPT_BYTES), encoded. */
  private keptBlocks(): Uint8Array[] {
    // The whole chain up to the lock, with no cut-off: a whole-cluster restart finds it nowhere else.
    const lockId = toHex(this.lock.blockHash);
    const lockChain = this.lock.height > this.finalized.height ? this.tree.chain(lockId, this.finalized.height + 1) : [];
    const kept = lockChain.map(encodedBlock);
    if (this.config.finalized !== undefined) return kept; // final blocks: the runtime serves them
    let budget = KEPT_FINAL_BYTES;
    const finals = [...this.finalBodies.values()];
    for (let i = finals.length - 1; i >= 0; i--) {
      const bytes = encodedBlock(finals[i]!);
      if (bytes.length > budget) break;
      budget -= bytes.length;
      kept.push(bytes);
    }
    return kept;
  }

  private finalize(block: Block): void {
    if (block.height <= this.finalized.height) {
      const mine = this.config.finalized?.at(block.height) ?? this.tree.ancestorAt(this.finalized.id, block.height);
      if (mine === undefined || mine.id === block.id) return;
      // A conflicting finalization: hand it to the runtime, whose ledger refuses it loudly.
      this.out.push({ type: 'commit', blocks: [block] });
      return;
    }
    const chain = this.tree.chain(block.id, this.finalized.height + 1);
    for (const b of chain) {
      this.out.push({ type: 'trace', event: { kind: 'finalize', block: b.id, height: b.height, view: b.view } });
      this.mempool.remove(b.payload);
    }
    if (this.config.finalized === undefined) this.keepFinal(chain);
    this.out.push({ type: 'commit', blocks: chain });
    // Final blocks are the runtime's from here: the tree keeps what descends from the new tip only.
    this.tree.reroot(block);
    for (const id of this.notarizations.keys()) if (!this.tree.has(id) && !this.tree.isCertified(id)) this.notarizations.delete(id);
    // After the commit: a crash between the two re-commits the same blocks after the restart (a no-op).
    this.persist();
  }
}

/** Each block is encoded once for the safety state, however many persists carry it. */
const encodings = new WeakMap<Block, Uint8Array>();
function encodedBlock(b: Block): Uint8Array {
  let bytes = encodings.get(b);
  if (bytes === undefined) encodings.set(b, (bytes = encode(BlockCodec, { ...b, payload: b.payload as Uint8Array[] })));
  return bytes;
}

function decodeSafetyState(bytes: Uint8Array): {
  lastVotedView: number;
  lastProposedView: number;
  finalized: { hash: Uint8Array; height: number; view: number } | undefined;
  lock: Lock | undefined;
  blocks: Block[];
} {
  const current = tryDecode(SafetyStateCodec, bytes);
  if (!current.ok) {
    const legacy = decode(LegacySafetyStateCodec, bytes);
    return { lastVotedView: legacy.lastVotedView, lastProposedView: legacy.lastVotedView, finalized: undefined, lock: undefined, blocks: [] };
  }
  const s = current.value;
  const l = s.lock;
  const votes = l.votes.map((v) => ({ domain: Domains.vote, sequence: 0, view: l.view, blockHash: l.blockHash, signer: v.signer, signature: v.signature }));
  const blocks = s.blocks.map((bytes) => sealBlock(decode(BlockCodec, bytes)));
  return { lastVotedView: s.lastVotedView, lastProposedView: s.lastProposedView, finalized: s.finalized, lock: { height: l.height, view: l.view, blockHash: l.blockHash, votes }, blocks };
}
