// Streamlet (Chan and Shi, "Streamlet: Textbook Streamlined Blockchains", AFT 2020): the paper's
// rules are in rules.ts (propose, vote, notarize, finalize, the view clock); this file is the state
// machine that feeds them and carries out what they decide. What it adds:
//  - every message is echoed to all on first receipt (the paper's echo; a switch turns it off);
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
//    for it (a Byzantine peer's fabricated chains are refused, counted);
//  - every refusal is a typed `reject` output (see the RejectionCode at each one).
import {
  BlockFetcher,
  commitChain,
  distinctVerified,
  EquivocationDetector,
  GENESIS,
  makeBlock,
  Outbox,
  payloadMatches,
  pendingKeys,
  refinalized,
  resolveConfig,
  signStatement,
  VoteTally,
  type Block,
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
import { bytesEqual, Domains, toHex } from '@bftx/crypto';
import { streamletCertificate } from './certificate';
import { MAX_ANCESTORS, type StreamletMessage } from './messages';
import { decodeSafetyState, encodedBlock, encodeSafetyState, KEPT_FINAL_BLOCKS, KEPT_FINAL_BYTES, type Lock } from './safety-state';
import { defaultRules, type StreamletRules } from './rules';
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
export interface StreamletOptions {
  /** Re-broadcast every message on first receipt (the paper's echo; default true). */
  readonly echo?: boolean;
  /** Rules that replace the paper's (a mutant in a test, a Byzantine variant): see rules.ts. */
  readonly rules?: Partial<StreamletRules>;
}

/** A proposal of a view's leader, as received. */
interface Proposal {
  readonly block: Block;
  readonly statement: SignedStatement;
  /** The payload policy refused it: never voted for (and refused once only). */
  refused: boolean;
}

/** What is kept of one view inside the window. */
interface ViewRecord {
  /** The leader's proposals, as received: the first is the one voted for, a second proves equivocation; more are refused. */
  readonly proposals: Proposal[];
  /** Votes per signer: one, or two that prove equivocation; more are refused. */
  readonly votes: Map<number, SignedStatement[]>;
  /** Distinct votes per block not yet notarized. */
  readonly tally: VoteTally<string>;
}

type Message<T extends StreamletMessage['type']> = Extract<StreamletMessage, { type: T }>;

export class Streamlet implements Protocol<StreamletMessage> {
  readonly self: number;
  private readonly n: number;
  /** rules.viewLength: 2 delta + 1 ms. */
  private readonly viewLength: number;
  private readonly rules: StreamletRules;
  private readonly tree: NotarizedTree;
  private readonly verifier: StatementVerifier;
  private readonly payload: PayloadPolicy;
  private readonly leaderOf: (view: number) => number;
  /** Distinct votes that notarize a block: the validator set's quorum threshold (what the tallies use). */
  private readonly quorum: number;
  private readonly out = new Outbox<StreamletMessage>();
  private readonly views = new Map<number, ViewRecord>();
  /** The votes that notarize each notarized block (a quorum): proofs to answer fetches with. */
  private readonly notarizations = new Map<string, readonly SignedStatement[]>();
  private readonly equivocations = new EquivocationDetector();
  private readonly fetcher: BlockFetcher<Message<'fetch'>>;
  private view = 0;
  private lastVotedView = 0;
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
  /** Messages (and fetched blocks) refused to keep the state bounded: out of the window, or not vouched for. */
  private dropped = 0;
  private readonly echo: boolean;
  private readonly maxBlockTxs: number;
  private now = 0;

  constructor(
    private readonly config: ProtocolConfig,
    options: StreamletOptions = {},
  ) {
    this.self = config.self;
    this.n = config.validators.n;
    this.rules = { ...defaultRules, ...options.rules };
    this.viewLength = this.rules.viewLength(config.timing.delta);
    const resolved = resolveConfig(config, this.rules.leader);
    this.verifier = resolved.verifier;
    this.payload = resolved.payload;
    this.maxBlockTxs = resolved.maxBlockTxs;
    this.leaderOf = resolved.leaderOf;
    this.quorum = this.verifier.validators.threshold('quorum');
    this.fetcher = new BlockFetcher({ maxOutstanding: MAX_FETCHING, maxAttempts: FETCH_ATTEMPTS, retryAfter: 2 * config.timing.delta });
    this.echo = options.echo ?? true;
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
    this.now = input.now;
    dispatch(input, this.handlers);
    return this.out.take();
  }

  private readonly handlers: InputHandlers<StreamletMessage> = {
    start: (now) => this.onStart(now),
    timer: (timer, now) => {
      if (timer === 'view') this.onViewTimer(now);
    },
    transactions: (txs, now) => this.payload.offer(txs, now),
    message: (m, from) => {
      if (m.type === 'proposal') this.onProposal(m, from);
      else if (m.type === 'vote') this.onVote(m, from);
      else if (m.type === 'notarization') this.onNotarization(m, from);
      else if (m.type === 'fetch') this.onFetch(m, from);
      else this.onFetchedBlock(m, from);
    },
  };

  footprint(): ProtocolFootprint {
    // Blocks not yet final (in the tree or waiting for a parent), notarizations, fetches, and the window's proposals and votes.
    let retained = this.fetcher.size + this.tree.size + this.notarizations.size;
    for (const r of this.views.values()) {
      retained += r.proposals.length;
      for (const list of r.votes.values()) retained += list.length;
    }
    return { retained, dropped: this.dropped };
  }

  // ---- the rules' inputs ----

  /** May this replica vote for `p`, a proposal of the current view (record `r`)? */
  private mayVote(p: Proposal, r: ViewRecord): boolean {
    const parent = this.tree.get(p.block.parentId);
    const extendsLongestNotarized = this.rules.extendsLongestNotarized({
      parent: parent === undefined ? undefined : { height: parent.height, notarizedChain: this.tree.isCertifiedChain(parent.id) },
      longestNotarizedHeight: this.tree.longestCertifiedHeight,
      lockHeight: this.lock.height,
    });
    return this.rules.vote({ block: p.block, firstProposal: r.proposals[0] === p, lastVotedView: this.lastVotedView, extendsLongestNotarized });
  }

  /** What the payload policy is told of a block at `height` in `view` on the chain ending at `parentId` (its pending set built only if read). */
  private payloadContext(view: number, height: number, parentId: string): PayloadContext {
    const tree = this.tree;
    const from = this.finalized.height + 1;
    const now = this.now;
    let pending: Set<string> | undefined;
    return {
      view,
      height,
      now,
      get pending() {
        return (pending ??= pendingKeys(tree.chain(parentId, from)));
      },
    };
  }

  // ---- views and proposals ----

  private onStart(now: number): void {
    this.view = Math.floor(now / this.viewLength);
    const lock = this.lock;
    if (lock.height > this.tree.root.height && lock.votes.length > 0) {
      // Restarted on a chain longer than its finalized tip: take the notarization it persisted, tell
      // the others (they may never have seen it), and fetch the blocks up to it.
      const id = toHex(lock.blockHash);
      this.acceptNotarization(lock.view, lock.blockHash, id, lock.votes);
      this.out.broadcast({ type: 'notarization', view: lock.view, blockHash: lock.blockHash, votes: lock.votes });
      const tip = this.tree.get(id);
      if (tip === undefined) this.fetch(lock.blockHash, id, lock.height);
      else this.repairBelow(tip);
      this.afterTreeChange();
    }
    this.scheduleNextView(now);
  }

  private scheduleNextView(now: number): void {
    const next = Math.floor(now / this.viewLength) + 1;
    this.out.setTimer('view', next * this.viewLength);
  }

  private onViewTimer(now: number): void {
    this.view = Math.floor(now / this.viewLength);
    const leader = this.leaderOf(this.view);
    this.out.trace({ kind: 'view', view: this.view, leader });
    for (const e of this.views.keys()) if (e + PAST_VIEWS < this.view) this.views.delete(e);
    this.equivocations.prune(this.view - PAST_VIEWS);
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
    const parent = this.rules.propose({
      view: this.view,
      lastProposedView: this.lastProposedView,
      longestNotarizedTips: this.tree.longestCertifiedTips,
      longestNotarizedHeight: this.tree.longestCertifiedHeight,
      lockHeight: this.lock.height,
    });
    if (parent === undefined) return;
    const height = parent.height + 1;
    const payload = this.payload.build(this.payloadContext(this.view, height, parent.id), this.maxBlockTxs);
    const block = makeBlock({ parent: parent.hash, height, view: this.view, proposer: this.self, payload });
    const statement = signStatement(this.config.signer, this.self, Domains.proposal, { view: this.view, sequence: 0, blockHash: block.hash });
    // Durable before the proposal leaves: a restarted leader never proposes twice in a view.
    this.lastProposedView = this.view;
    this.persist();
    this.out.trace({ kind: 'propose', view: this.view, block: block.id, height: block.height, parent: parent.id });
    this.out.broadcast({ type: 'proposal', block, signature: statement.signature });
    this.record(this.view).proposals.push({ block, statement, refused: false });
    this.acceptProposal(block);
  }

  // ---- messages ----

  /** Is `view` inside the window kept around the current one? */
  private inWindow(view: number): boolean {
    return view <= this.view + FUTURE_VIEWS && view + PAST_VIEWS >= this.view;
  }

  /** Refuses a message for a view outside the window (bounded state): counted in `dropped` too. */
  private outOfWindow(from: number, kind: string): void {
    this.dropped++;
    this.out.reject('OUT_OF_WINDOW', from, kind);
  }

  private record(view: number): ViewRecord {
    let r = this.views.get(view);
    if (r === undefined) this.views.set(view, (r = { proposals: [], votes: new Map(), tally: new VoteTally<string>(this.verifier) }));
    return r;
  }

  private onProposal(m: Message<'proposal'>, from: number): void {
    const block = m.block;
    if (!this.inWindow(block.view)) return this.outOfWindow(from, m.type);
    if (block.proposer !== this.leaderOf(block.view)) return this.out.reject('NOT_FROM_LEADER', from, m.type);
    const r = this.record(block.view);
    if (r.proposals.some((p) => p.block.id === block.id)) return this.out.reject('DUPLICATE', from, m.type);
    // Two versions from one leader in one view prove its equivocation; a third adds only load.
    if (r.proposals.length >= 2) return this.out.reject('EQUIVOCATION', from, m.type);
    const statement: SignedStatement = { domain: Domains.proposal, view: block.view, sequence: 0, blockHash: block.hash, signer: block.proposer, signature: m.signature };
    if (!this.verifier.verify(statement)) return this.out.reject('BAD_SIGNATURE', from, m.type);
    if (!payloadMatches(block)) return this.out.reject('INVALID_PAYLOAD', from, m.type);
    r.proposals.push({ block, statement, refused: false });
    if (r.proposals.length === 2) this.equivocation(r.proposals[0]!.statement, statement);
    if (this.echo) this.out.broadcast(m);
    this.acceptProposal(block, from);
  }

  private acceptProposal(block: Block, from = this.self): void {
    const root = this.tree.root;
    if (block.height <= root.height || (block.height === root.height + 1 && block.parentId !== root.id)) {
      // It cannot extend the finalized tip (a leader behind on finality proposed it): never voted for, never kept.
      this.dropped++;
      return this.out.reject('STALE', from, 'proposal');
    }
    this.tree.add(block);
    this.repairBelow(block);
    this.afterTreeChange();
  }

  private onVote(m: Message<'vote'>, from: number): void {
    const v = m.vote;
    if (v.domain !== Domains.vote || v.sequence !== 0) return this.out.reject('MALFORMED', from, m.type);
    if (!this.inWindow(v.view)) return this.outOfWindow(from, m.type);
    const r = this.record(v.view);
    const earlier = r.votes.get(v.signer);
    if (earlier !== undefined) {
      if (earlier.some((e) => bytesEqual(e.blockHash, v.blockHash))) return this.out.reject('DUPLICATE', from, m.type);
      if (earlier.length >= 2) return this.out.reject('EQUIVOCATION', from, m.type);
    }
    if (!this.verifier.verify(v)) return this.out.reject('BAD_SIGNATURE', from, m.type);
    if (this.echo) this.out.broadcast(m);
    this.countVote(r, v);
    this.afterTreeChange();
  }

  /** A verified vote inside the window: kept (at most two per signer and view), and tallied for its block. */
  private countVote(r: ViewRecord, v: SignedStatement): void {
    const earlier = r.votes.get(v.signer);
    if (earlier === undefined) r.votes.set(v.signer, [v]);
    else {
      earlier.push(v);
      this.equivocation(earlier[0]!, v);
    }
    const id = toHex(v.blockHash);
    if (this.tree.isCertified(id)) return;
    r.tally.addOwn(id, v); // verified already
    if (this.rules.notarize(r.tally.count(id), r.tally.threshold, this.n)) {
      const votes = r.tally.statements(id);
      r.tally.delete(id);
      this.notarize(id, v.view, votes);
    }
  }

  /**
   * A second statement of one signer in a view (the view record keeps both): evidence, once per
   * offender. The detector sees only such pairs, so it holds equivocators' statements alone (cheap
   * on the hot path, where every vote would cost it a key).
   */
  private equivocation(first: SignedStatement, second: SignedStatement): void {
    this.equivocations.observe(first);
    this.out.evidence(this.equivocations.observe(second));
  }

  private notarize(id: string, view: number, votes: readonly SignedStatement[]): void {
    this.notarizations.set(id, votes);
    this.tree.certify(id);
    if (view > this.lastNotarizedView) this.lastNotarizedView = view;
    this.out.trace({ kind: 'certify', view, block: id, height: this.tree.get(id)?.height ?? -1 });
  }

  /**
   * Votes for one block (a gossiped notarization, a fetch answer): notarizes it when they hold a
   * quorum of valid distinct signers, whatever its view (a notarization is proof on its own);
   * fewer are tallied like single votes, inside the window only. True if the block is notarized.
   */
  private acceptNotarization(view: number, blockHash: Uint8Array, id: string, votes: readonly SignedStatement[]): boolean {
    if (this.tree.isCertified(id)) return true;
    const valid = distinctVerified(votes, { domain: Domains.vote, view, sequence: 0, blockHash }, this.verifier);
    if (this.rules.notarize(valid.length, this.quorum, this.n)) {
      this.notarize(id, view, valid);
      return true;
    }
    if (valid.length > 0) {
      if (!this.inWindow(view)) this.dropped++;
      else {
        const r = this.record(view);
        for (const v of valid) {
          const earlier = r.votes.get(v.signer);
          if (earlier === undefined || (earlier.length < 2 && !earlier.some((e) => bytesEqual(e.blockHash, v.blockHash)))) this.countVote(r, v);
        }
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
      this.out.broadcast({ type: 'notarization', view: tip.view, blockHash: tip.hash, votes });
      return;
    }
    const lock = this.lock;
    if (lock.votes.length > 0 && lock.height > this.tree.longestCertifiedHeight) this.out.broadcast({ type: 'notarization', view: lock.view, blockHash: lock.blockHash, votes: lock.votes });
  }

  private onNotarization(m: Message<'notarization'>, from: number): void {
    const { view, blockHash, votes } = m;
    if (view > this.view + FUTURE_VIEWS) return this.outOfWindow(from, m.type);
    // Below the finalized root: nothing to learn (a peer behind on finality gossips it).
    if (view <= this.tree.root.view) return this.out.reject('STALE', from, m.type);
    const id = toHex(blockHash);
    // Known notarized: the gossip of a peer that missed what this replica saw.
    if (this.tree.isCertified(id)) return this.out.reject('DUPLICATE', from, m.type);
    if (!this.acceptNotarization(view, blockHash, id, votes)) return this.out.reject('BAD_CERTIFICATE', from, m.type);
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
    if (this.fetcher.isOpen(id)) return; // asked already; asked again each view until answered
    // What it has is its longest notarized chain: the ancestors above it likely miss too.
    const request = this.fetcher.ask(id, { type: 'fetch', blockHash, height, after: this.tree.longestCertifiedHeight }, this.now);
    if (request !== undefined) this.out.broadcast(request);
  }

  /** Is what a fetch asked for proven here: the block, and its notarization? */
  private fetched(id: string): boolean {
    return this.tree.has(id) && this.tree.isCertified(id);
  }

  /** Once a view, asks everyone again for what no answer has proven within a round trip (a Byzantine peer may answer first, with less). */
  private askAgain(): void {
    for (const request of this.fetcher.due(this.now, (id) => this.fetched(id))) this.out.broadcast(request);
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

  private onFetch(m: Message<'fetch'>, from: number): void {
    const id = toHex(m.blockHash);
    const block = this.body(id, m.height);
    // Not refused: nothing to answer with (a fetch goes to everyone, and only some hold the block).
    if (block === undefined) return;
    if (block.height === 0) return this.out.reject('MALFORMED', from, m.type); // genesis: every replica has it
    const votes = this.notarizations.get(id) ?? this.views.get(block.view)?.tally.statements(id) ?? [];
    const ancestors: Block[] = [];
    for (let a = this.body(block.parentId, block.height - 1); a !== undefined && a.height > m.after && a.height > 0 && ancestors.length < MAX_ANCESTORS; a = this.body(a.parentId, a.height - 1)) ancestors.push(a);
    this.out.send(from, { type: 'block', block, votes, ancestors });
  }

  /**
   * An answer to a fetch: taken only for a hash asked for, and only for a block a notarization
   * vouches for (its own votes in the answer, or known here, or a notarized block waiting for it as
   * its parent), with the ancestors that chain to it by their hashes (a notarized block's ancestors
   * are notarized); anything else is refused and counted (a Byzantine peer's fabricated chain never
   * enters the tree). The fetch stays open until the block and its notarization are here.
   */
  private onFetchedBlock(m: Message<'block'>, from: number): void {
    const { block, votes, ancestors } = m;
    if (!this.fetcher.isOpen(block.id)) {
      // Answers after the first that proved it (every peer answers a fetch) are duplicates; late ones, stale.
      const code = block.height <= this.tree.root.height ? 'STALE' : this.fetched(block.id) ? 'DUPLICATE' : 'UNASKED';
      return this.out.reject(code, from, m.type);
    }
    if (block.height <= this.tree.root.height) {
      this.fetcher.resolve(block.id); // at or below the finalized root: of no use
      return this.out.reject('STALE', from, m.type);
    }
    if (!payloadMatches(block)) return this.out.reject('INVALID_PAYLOAD', from, m.type);
    if (votes.length > 0 && !this.tree.isCertified(block.id)) this.acceptNotarization(block.view, block.hash, block.id, votes);
    if (!this.tree.isCertified(block.id) && !this.tree.has(block.id)) {
      this.dropped += 1 + ancestors.length; // nothing vouches for it (yet): asked again, answers with its votes are taken
      return this.out.reject('UNPROVEN', from, m.type);
    }
    const chain: Block[] = [];
    let child = block;
    for (const a of ancestors) {
      if (a.id !== child.parentId || a.height + 1 !== child.height || a.height <= this.tree.root.height || !payloadMatches(a)) break;
      chain.push(a);
      child = a;
    }
    if (!this.tree.isCertified(block.id)) chain.length = 0; // a proposal held here, not notarized: its ancestors are not vouched for
    let refused: RejectionCode | undefined;
    if (chain.length < ancestors.length) {
      this.dropped += ancestors.length - chain.length;
      // Ancestors the finalized root passed since the fetch are of no use; others are not proven.
      refused = ancestors[chain.length]!.height <= this.tree.root.height ? 'STALE' : 'UNPROVEN';
    }
    // The block first, then its ancestors nearest first: a notarized block waiting for its parent vouches for the parent.
    this.tree.add(block);
    for (const a of chain) this.tree.add(a);
    if (this.fetched(block.id)) this.fetcher.resolve(block.id);
    else refused = 'UNPROVEN'; // the block is here, the quorum of votes asked for is not: asked again
    if (refused !== undefined) this.out.reject(refused, from, m.type);
    this.repairBelow(block);
    this.afterTreeChange();
  }

  // ---- voting ----

  /**
   * Votes for this view's proposals the rules allow now (called whenever the tree changes), after
   * the payload policy accepts the payload (a refusal: no vote, counted once); true if it voted.
   */
  private tryVote(): boolean {
    const r = this.views.get(this.view);
    if (r === undefined) return false;
    let voted = false;
    for (const p of r.proposals) {
      if (p.refused || !this.tree.has(p.block.id) || r.votes.get(this.self)?.some((v) => bytesEqual(v.blockHash, p.block.hash))) continue;
      if (!this.mayVote(p, r)) continue;
      const b = p.block;
      const verdict = this.payload.validate(b.payload, this.payloadContext(b.view, b.height, b.parentId));
      if (!verdict.ok) {
        p.refused = true;
        this.out.reject('INVALID_PAYLOAD', b.proposer, 'proposal');
        if (verdict.convicts) this.out.evidence(unfairProposalEvidence(b, p.statement));
        continue;
      }
      this.vote(b);
      voted = true;
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
    this.out.trace({ kind: 'vote', view: block.view, block: block.id });
    this.out.broadcast({ type: 'vote', vote });
    const r = this.record(block.view);
    if (!(r.votes.get(this.self) ?? []).some((e) => bytesEqual(e.blockHash, vote.blockHash))) this.countVote(r, vote);
  }

  private persist(): void {
    this.out.persist(encodeSafetyState({ lastVotedView: this.lastVotedView, lastProposedView: this.lastProposedView, finalized: this.finalized, lock: this.lock, blocks: this.keptBlocks() }));
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
        if (this.rules.finalize(grandparent, parent, b)) this.finalize(parent, grandparent === undefined ? undefined : [grandparent, parent, b]);
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

  /** The block bodies for the safety state (see KEPT_FINAL_BLOCKS), encoded. */
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

  /** Finalizes `block` (and its prefix); `notarized` is the notarized grandparent, parent (`block`) and child that finalized it. */
  private finalize(block: Block, notarized: readonly [Block, Block, Block] | undefined): void {
    if (block.height <= this.finalized.height) {
      // Found final again: nothing to do, or (a conflict) handed to the runtime, whose ledger refuses it loudly.
      const tip = this.finalized.id;
      return refinalized(this.out, block, this.config.finalized, (height) => this.tree.ancestorAt(tip, height));
    }
    const chain = this.tree.chain(block.id, this.finalized.height + 1);
    if (this.config.finalized === undefined) this.keepFinal(chain);
    // The certificate: the three notarized blocks and their notarizations, taken now (encoded when the
    // runtime reads it). None where a notarization is not held (see the README, "Commit certificate").
    const votes = notarized?.map((b) => (b.id === GENESIS.id ? [] : this.notarizations.get(b.id)));
    const held = notarized !== undefined && votes !== undefined && votes.every((v) => v !== undefined) ? { notarized, votes: votes as (readonly SignedStatement[])[] } : undefined;
    commitChain(this.out, chain, this.payload, undefined, held === undefined ? undefined : () => streamletCertificate(held.notarized, held.votes, this.n));
    // Final blocks are the runtime's from here: the tree keeps what descends from the new tip only.
    this.tree.reroot(block);
    for (const id of this.notarizations.keys()) if (!this.tree.has(id) && !this.tree.isCertified(id)) this.notarizations.delete(id);
    // After the commit: a crash between the two re-commits the same blocks after the restart (a no-op).
    this.persist();
  }
}
