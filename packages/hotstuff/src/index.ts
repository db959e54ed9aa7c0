// @bftx/hotstuff: chained HotStuff behind the bftx Protocol interface.
export { hotstuff } from './definition';
export { GENESIS_QC, HotStuff, hotstuffLeader, VIEW_WINDOW, type HotStuffOptions } from './hotstuff';
export { ANSWER_BLOCKS, decodeHotStuffMessage, encodeHotStuffMessage, type HotStuffMessage, type TimeoutCertificate, type TimeoutVote } from './messages';
export type { CertifiedLink } from './store';
