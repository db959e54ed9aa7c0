// @bftx/consensus: the Protocol interface and the machinery every protocol shares.
export { adversaryBlocks } from './adversary-blocks';
export { BlockCodec, BlockHeaderCodec, blockHash, GENESIS, HASH_BYTES, makeBlock, MAX_BLOCK_TXS, MAX_TX_BYTES, payloadMatches, sealBlock, type Block, type BlockHeader } from './block';
export { CertificateCodec, makeCertificate, signersOf, verifyCertificate, type QuorumCertificate } from './certificate';
export { dispatch, type InputHandlers } from './core/dispatch';
export { DEFAULT_MAX_BLOCK_TXS, resolveConfig, type ResolvedConfig } from './core/config';
export { commitChain, refinalized } from './core/finality';
export { drive, newDriven, type Action, type CommitCertificate, type Driven, type MutableDriven } from './core/driver';
export { BlockFetcher } from './core/fetcher';
export { hashedLeader, leaderSchedule, roundRobin, type LeaderRule } from './core/leader';
export { Outbox } from './core/outbox';
export { FifoPayloadPolicy, pendingKeys, RECENT_FINAL_BLOCKS, type PayloadContext, type PayloadPolicy, type PayloadVerdict } from './core/payload';
export { collectQuorum, distinctVerified, VoteTally, type ExpectedStatement, type TallyResult, type ThresholdKind } from './core/tally';
export { ConsensusError, type ConsensusErrorCode } from './errors';
export {
  checkVoteChain,
  encodeVoteChain,
  FinalityProofCodec,
  headerOf,
  headersDown,
  MAX_CERTIFICATE_BYTES,
  MAX_CERTIFICATE_VALIDATORS,
  MAX_PROOF_HEADERS,
  noSignatures,
  qcSignatures,
  signatureSet,
  SignatureSetCodec,
  signatureSetProblem,
  statementsOf,
  thinSignatureSet,
  thinVoteChain,
  verifyFinality,
  VoteChainCertificateCodec,
  type CheckedVoteChain,
  type CommitCheck,
  type FinalityProof,
  type SignatureSet,
  type SignedFields,
  type VoteChainCertificate,
} from './finality-proof';
export { EquivocationDetector, unfairProposalEvidence, verifyEvidence, type EquivocationEvidence, type Evidence } from './evidence';
export { investigate, verifyForkProof, type CertifiedBlock, type ForensicReport, type ForkProof, type ForkProofCheck, type Transcript } from './forensics';
export * from './ordering/index';
export { Ledger } from './ledger';
export { FifoMempool, txKey, type Mempool } from './mempool';
export type { ByzantineHooks, FinalizedChain, Protocol, ProtocolConfig, ProtocolDefinition, ProtocolFootprint, ProtocolInput, ProtocolOutput, TimerId, Timing, TraceEvent } from './protocol';
export { SimulatedSignatureScheme } from './simulated-signatures';
export { REJECTION_CODES, type Rejection, type RejectionCode } from './rejection';
export { signStatement, StatementCodec, StatementVerifier, type SignedStatement, type Statement } from './statement';
export { ValidatorSet } from './validators';
