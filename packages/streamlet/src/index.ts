// @bftx/streamlet: the Streamlet protocol behind the bftx Protocol interface.
export { streamlet } from './definition';
export { streamletCertificate, verifyStreamletCommit } from './certificate';
export { decodeStreamletMessage, encodeStreamletMessage, type StreamletMessage } from './messages';
export { defaultRules, leader as streamletLeader, type ExtendState, type ProposeState, type StreamletRules, type VoteState } from './rules';
export { Streamlet, type StreamletOptions } from './streamlet';
