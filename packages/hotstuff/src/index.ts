// @bftx/hotstuff: chained HotStuff behind the bftx Protocol interface.
export { hotstuff } from './definition';
export { GENESIS_QC, HotStuff, hotstuffLeader, type HotStuffOptions } from './hotstuff';
export { decodeHotStuffMessage, encodeHotStuffMessage, type HotStuffMessage, type TimeoutCertificate, type TimeoutVote } from './messages';
