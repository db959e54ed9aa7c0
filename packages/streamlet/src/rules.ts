// Streamlet's rules (Chan and Shi, "Streamlet: Textbook Streamlined Blockchains", AFT 2020), each a
// small pure function over the state it is given: no `this`, no outputs. The replica (streamlet.ts)
// gathers that state, asks the rule, and acts on the answer. A variant (a mutant in a test, a
// Byzantine replica) overrides rules at creation: `streamlet({ rules: { finalize: ... } })`.
import { hashedLeader, type Block, type LeaderRule } from '@bftx/consensus';

/** What the propose rule reads: the view, the last view this replica proposed in, its notarized chains and its lock. */
export interface ProposeState {
  readonly view: number;
  /** Persisted: a restarted leader never proposes twice in a view. */
  readonly lastProposedView: number;
  /** Tips of the longest notarized chains seen, in the order they became longest. */
  readonly longestNotarizedTips: readonly Block[];
  readonly longestNotarizedHeight: number;
  /** Height of the chain this replica stood on at its last vote (persisted; see the README's Restart). */
  readonly lockHeight: number;
}

/** What "extends one of the longest notarized chains" reads: the proposal's parent as known here. */
export interface ExtendState {
  /** The parent's height and whether its whole chain down to the finalized tip is notarized here; undefined when the parent is unknown. */
  readonly parent: { readonly height: number; readonly notarizedChain: boolean } | undefined;
  readonly longestNotarizedHeight: number;
  readonly lockHeight: number;
}

/** What the vote rule reads about one proposal of the current view. */
export interface VoteState {
  readonly block: Block;
  /** Is it the first proposal of its view's leader received here? */
  readonly firstProposal: boolean;
  /** Persisted: the view of this replica's last vote. */
  readonly lastVotedView: number;
  /** What `extendsLongestNotarized` said of it. */
  readonly extendsLongestNotarized: boolean;
}

/** The paper's rules, as the replica calls them. */
export interface StreamletRules {
  /** Length of a view in ms, given the delay bound delta. */
  viewLength(delta: number): number;
  /** Who leads a view. */
  readonly leader: LeaderRule;
  /** The block to extend when this replica leads `view`, or undefined: it does not propose. */
  propose(s: ProposeState): Block | undefined;
  /** Does the proposal extend one of the longest notarized chains seen, and not a shorter one than the lock? */
  extendsLongestNotarized(s: ExtendState): boolean;
  /** May this replica vote for the proposal? */
  vote(s: VoteState): boolean;
  /** Do `votes` distinct verified votes for one block notarize it (`quorum`: the tally's threshold, from the validator set)? */
  notarize(votes: number, quorum: number, n: number): boolean;
  /** Does the notarized chain ... grandparent, parent, block finalize the chain up to `parent`? */
  finalize(grandparent: Block | undefined, parent: Block, block: Block): boolean;
}

/**
 * §3: views of 2 delta (the paper's epoch is this package's view), plus 1 ms: a proposal sent at a
 * view's start reaches everyone within delta, their votes everyone within delta more. With exactly
 * 2 delta, votes delayed exactly delta tie with the next leader's proposal, and with every delay
 * exactly delta nothing ever finalized; one more ms puts the votes first whatever the order.
 */
export const viewLength = (delta: number): number => 2 * delta + 1;

/** §3: the leader of view v is H(v) mod n, a public hash (Byzantine replicas lead too). */
export const leader: LeaderRule = hashedLeader;

/**
 * §3, Propose-Vote: "the epoch's designated leader proposes a new block extending from the longest
 * notarized chain it has seen"; once per view (persisted), and not while its longest notarized chain
 * is shorter than its lock (it is still fetching the chain it stood on before a restart).
 */
export const propose = (s: ProposeState): Block | undefined => (s.view <= s.lastProposedView || s.longestNotarizedHeight < s.lockHeight ? undefined : s.longestNotarizedTips[0]);

/**
 * §3, Propose-Vote: a vote only for a block "extending from (one of) the longest notarized chains
 * that the voter has seen"; never on a chain shorter than the lock, which keeps across a restart the
 * one fact about a replica's votes the consistency proof (§4) uses: chains voted on never get shorter.
 */
export const extendsLongestNotarized = (s: ExtendState): boolean => s.parent !== undefined && s.parent.notarizedChain && s.parent.height === s.longestNotarizedHeight && s.parent.height >= s.lockHeight;

/** §3, Propose-Vote: vote for "the first proposal they see from the epoch's leader" if it extends a longest notarized chain; at most once per view (persisted before the vote leaves). */
export const vote = (s: VoteState): boolean => s.firstProposal && s.lastVotedView < s.block.view && s.extendsLongestNotarized;

/** §3, notarized: a block is notarized by votes of at least 2n/3 distinct players (the tally's quorum threshold). */
export const notarize = (votes: number, quorum: number): boolean => votes >= quorum;

/** §3, Finalize: three adjacent notarized blocks with consecutive views finalize the chain up to the second (§4 proves it consistent). */
export const finalize = (grandparent: Block | undefined, parent: Block, block: Block): boolean => grandparent !== undefined && grandparent.view + 1 === parent.view && parent.view + 1 === block.view;

/** The paper's protocol. */
export const defaultRules: StreamletRules = { viewLength, leader, propose, extendsLongestNotarized, vote, notarize, finalize };
