// The rules of chained HotStuff, each a small pure function over explicit state: no `this`, no
// outputs. The state machine (hotstuff.ts) gathers the state a rule needs, calls
// `this.rules.<rule>(...)` and carries out what it decides (signing, sending, persisting).
// A variant (a mutant in a test, a Byzantine replica) replaces rules at creation:
// `hotstuff({ rules: { commit: twoChain } })`.
//
// Citations: [HS] Yin, Malkhi, Reiter, Gueta, Abraham, "HotStuff: BFT Consensus with Linearity and
// Responsiveness", PODC 2019: Algorithm 3 (chained HotStuff), Algorithm 4 (event-driven
// HotStuff: update l. 4-11, onCommit l. 12-14, onReceiveProposal l. 15-19 with the safeNode
// predicate of Algorithm 1 at l. 16, onPropose l. 26-29), numbered as in the arXiv version
// (1803.05069v6) as recalled, not re-checked against the paper here: the procedure names are the
// reliable part of each citation. [Diem] The Diem BFT Team, "DiemBFT v4: State Machine Replication in the Diem
// Blockchain" (2021), section "Pacemaker" (the LibraBFT pacemaker: local_timeout_round,
// process_remote_timeout, advance_round_tc, get_round_timer): HotStuff's own pacemaker
// (Algorithm 5) leaves view synchronization open, and this one is DiemBFT's, with timeouts.
import type { Block, QuorumCertificate, RejectionCode } from '@bftx/consensus';
import { bytesEqual } from '@bftx/crypto';
import type { TimeoutCertificate } from './messages';

/** Which blocks lead to which: the block tree, read only. */
export interface Ancestry {
  /** Is `ancestor` (a hash) `block` itself or on its chain? */
  extends(block: Block, ancestor: Uint8Array): boolean;
}

export interface ProposeState {
  /** The current view. */
  readonly view: number;
  /** Does this replica lead it? */
  readonly leads: boolean;
  /** The last view this replica proposed in (persisted). */
  readonly proposedView: number;
  /** The highest QC this replica holds. */
  readonly highQC: QuorumCertificate;
  /** A TC for the view before the current one, if held. */
  readonly tc: TimeoutCertificate | undefined;
}

/** What a proposal extends: the block `justify` certifies, entered with `tc` when that QC is not for the view before. */
export interface ProposeDecision {
  readonly justify: QuorumCertificate;
  readonly tc: TimeoutCertificate | undefined;
}

export interface ProposalState {
  readonly block: Block;
  readonly justify: QuorumCertificate;
  /** The view of the TC the proposal carries, if any. */
  readonly tcView: number | undefined;
  /** The leader of the block's view. */
  readonly leader: number;
}

/**
 * How a well-formed proposal enters its view: 'qc' by its justify (a QC for the view before),
 * 'tc' by the TC it carries (still to be verified); otherwise why it is refused.
 */
export type ProposalVerdict = 'qc' | 'tc' | Extract<RejectionCode, 'NOT_FROM_LEADER' | 'INVALID_PROPOSAL'>;

export interface VoteState {
  /** The current view. */
  readonly view: number;
  /** No vote at or below it (persisted; a timeout raises it too). */
  readonly lastVotedView: number;
  readonly lockedQC: QuorumCertificate;
  /** The proposed block and the QC it carries for its parent. */
  readonly block: Block;
  readonly justify: QuorumCertificate;
  readonly tree: Ancestry;
}

export interface LockState {
  readonly lockedQC: QuorumCertificate;
  /** The QC the newly certified block b'' carries: it certifies b', the head of a 2-chain. */
  readonly parentQC: QuorumCertificate;
}

/** A newly certified block b'' (b2), its certified parent b' (b1) and b' 's certified parent b, if held. */
export interface ChainState {
  readonly b: Block | undefined;
  readonly b1: Block;
  readonly b2: Block;
}

export interface TimeoutState {
  /** The current view, and the last view this replica timed out of (signed a timeout for). */
  readonly view: number;
  readonly timedOutView: number;
  /** Whether it holds a signed timeout to send again. */
  readonly hasTimeout: boolean;
}

export interface BackoffState {
  /** A view's timeout before any backoff (ms). */
  readonly base: number;
  /** Views in a row that ended by a timeout. */
  readonly consecutiveTimeouts: number;
  /** Most doublings. */
  readonly maxBackoff: number;
}

export interface JoinState {
  /** The view f+1 validators timed out of (or beyond). */
  readonly view: number;
  readonly currentView: number;
  readonly timedOutView: number;
}

export interface RestartState {
  readonly lastVotedView: number;
  readonly highQC: QuorumCertificate;
  /** The view of the highest TC held, if any. */
  readonly tcView: number | undefined;
}

/** The rules a HotStuff replica decides by; override any of them with `hotstuff({ rules })`. */
export interface HotStuffRules {
  /** The leader of the current view proposes once, on its highest QC's block; with a TC for the view before when that QC is older. */
  propose(s: ProposeState): ProposeDecision | undefined;
  /** Whether a proposal is the leader's and enters its view properly (by a QC or a TC for the view before). */
  proposal(s: ProposalState): ProposalVerdict;
  /** Whether to vote for a proposal: the vote guard (one vote per view, in the current view) and safeNode. */
  vote(s: VoteState): boolean;
  /** The lock after a new QC: the head of the 2-chain it completes, if newer than the lock. */
  lock(s: LockState): QuorumCertificate;
  /** The block a new QC commits (with its ancestors), if any: the head of a 3-chain of consecutive views. */
  commit(s: ChainState): Block | undefined;
  /** How long the current view lasts before it times out: doubled after each view in a row that timed out. */
  viewTimeout(s: BackoffState): number;
  /** On the view timer, still in a view it timed out of: send the same signed timeout again (and re-arm the timer). */
  resendTimeout(s: TimeoutState): boolean;
  /** f+1 timeouts for a view: whether to join that view and time out of it at once. */
  joinView(s: JoinState): boolean;
  /** The view a (re)started replica starts in. */
  startView(s: RestartState): number;
}

/** [HS] Alg. 4 l. 26-29 (onPropose on qc_high) and Alg. 3; entry by TC as in [Diem] Pacemaker, advance_round_tc (view v is entered with QC(v-1) or TC(v-1)). */
export function propose(s: ProposeState): ProposeDecision | undefined {
  if (!s.leads || s.proposedView >= s.view) return undefined;
  if (s.highQC.view === s.view - 1) return { justify: s.highQC, tc: undefined };
  return s.tc === undefined ? undefined : { justify: s.highQC, tc: s.tc };
}

/** [HS] Alg. 3 (a proposal extends the block its justify certifies, from the view's leader); [Diem] Pacemaker (QC(v-1) or TC(v-1) enters v). */
export function proposal(s: ProposalState): ProposalVerdict {
  const { block, justify } = s;
  if (block.proposer !== s.leader) return 'NOT_FROM_LEADER';
  if (block.view <= justify.view || !bytesEqual(block.parent, justify.blockHash)) return 'INVALID_PROPOSAL';
  if (justify.view === block.view - 1) return 'qc';
  return s.tcView === block.view - 1 ? 'tc' : 'INVALID_PROPOSAL';
}

/** The vote guard: [HS] Alg. 4 l. 16 (b_new.height > vheight; here, one vote per view, only in the current view). */
export function voteGuard(s: VoteState): boolean {
  return s.block.view === s.view && s.block.view > s.lastVotedView;
}

/** safeNode: [HS] Alg. 1 safeNode, as used at Alg. 4 l. 16: the block extends the locked block, or its justify is newer than the lock. */
export function safeNode(s: VoteState): boolean {
  return s.tree.extends(s.block, s.lockedQC.blockHash) || s.justify.view > s.lockedQC.view;
}

/** [HS] Alg. 4 l. 15-18 (onReceiveProposal): vote if the guard and safeNode both hold. */
export function vote(s: VoteState): boolean {
  return voteGuard(s) && safeNode(s);
}

/** [HS] Alg. 4 l. 7-8 (update: b_lock <- b' when b' is higher): the 2-chain head is locked. */
export function lock(s: LockState): QuorumCertificate {
  return s.parentQC.view > s.lockedQC.view ? s.parentQC : s.lockedQC;
}

/** [HS] Alg. 4 l. 9-10 (update: a 3-chain b <- b' <- b'' of direct parents commits b; here, consecutive views) and Alg. 3. */
export function threeChain(s: ChainState): Block | undefined {
  const { b, b1, b2 } = s;
  return b !== undefined && b1.view === b.view + 1 && b2.view === b1.view + 1 ? b : undefined;
}

/** [Diem] Pacemaker, get_round_timer (here: the timer doubles after each view in a row that timed out, at most maxBackoff times). */
export function viewTimeout(s: BackoffState): number {
  return s.base * 2 ** Math.min(s.consecutiveTimeouts, s.maxBackoff);
}

/** [Diem] Pacemaker, local_timeout_round, plus re-sending the same signed timeout until the view changes ([Diem] assumes reliable links; a timeout lost before GST is sent again). */
export function resendTimeout(s: TimeoutState): boolean {
  return s.hasTimeout && s.timedOutView === s.view;
}

/** [Diem] Pacemaker, process_remote_timeout (f+1 timeouts of a round: time out too): f+1 timeouts for a view at least the current one, not yet timed out of, mean an honest replica gave up on it. */
export function joinView(s: JoinState): boolean {
  return s.view >= s.currentView && s.timedOutView < s.view;
}

/** Restart (not in [HS]): the view last voted or timed out in, or just after the highest QC or TC: it never votes there again. */
export function startView(s: RestartState): number {
  return Math.max(1, s.lastVotedView, s.highQC.view + 1, (s.tcView ?? 0) + 1);
}

/** The rules of chained HotStuff as this package runs them. */
export const defaultRules: HotStuffRules = { propose, proposal, vote, lock, commit: threeChain, viewTimeout, resendTimeout, joinView, startView };

