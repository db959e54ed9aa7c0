// @bftx/pbft: PBFT behind the bftx Protocol interface.
export { pbft, pbftStatements } from './definition';
export { batchDigest, MAX_CERTIFICATE_LINKS, pbftCertificate, PbftCertificateCodec, thinPbftCertificate, verifyPbftCommit, type CertifiedSequence, type PbftCertificate } from './certificate';
export {
  decodePbftMessage,
  decodeSafetyState,
  encodePbftMessage,
  encodeSafetyState,
  MAX_HEADERS,
  PbftDomains,
  type CheckpointProof,
  type CommittedBatch,
  type FinalAnswer,
  type PbftMessage,
  type PrePrepare,
  type PreparedCertificate,
  type SafetyState,
  type SignedDomain,
  type SignedRecord,
  type ViewChange,
} from './messages';
export { Pbft, preparedDigest, prePrepareStatement, type PbftOptions } from './pbft';
export { defaultRules, nullBatch, type CommittedState, type PbftRules, type PreparedState, type PrePrepareState, type ReproposalState, type Verdict, type Watermarks } from './rules';
