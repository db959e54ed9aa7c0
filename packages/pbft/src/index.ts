// @bftx/pbft: PBFT behind the bftx Protocol interface.
export { pbft } from './definition';
export {
  decodePbftMessage,
  decodeSafetyState,
  encodePbftMessage,
  encodeSafetyState,
  PbftDomains,
  type CheckpointProof,
  type CommittedBatch,
  type PbftMessage,
  type PrePrepare,
  type PreparedCertificate,
  type SafetyState,
  type ViewChange,
} from './messages';
export { nullBatch, Pbft, pbftPrimary, preparedDigest, type PbftOptions } from './pbft';
