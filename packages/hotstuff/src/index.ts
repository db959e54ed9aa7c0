// @bftx/hotstuff: chained HotStuff behind the bftx Protocol interface.
export { hotstuff } from './definition';
export { hotStuffCertificate, verifyHotStuffCommit } from './certificate';
export { GENESIS_QC, HotStuff, VIEW_WINDOW, type HotStuffOptions } from './hotstuff';
export { defaultRules, lock, proposal, propose, resendTimeout, safeNode, startView, threeChain, viewTimeout, vote, voteGuard, joinView } from './rules';
export type { Ancestry, BackoffState, ChainState, HotStuffRules, JoinState, LockState, ProposalState, ProposalVerdict, ProposeDecision, ProposeState, RestartState, TimeoutState, VoteState } from './rules';
export { ANSWER_BLOCKS, decodeHotStuffMessage, encodeHotStuffMessage, type HotStuffMessage, type TimeoutCertificate, type TimeoutVote } from './messages';
export type { CertifiedLink } from './store';
