// @bftx/consensus: the Protocol interface and the machinery every protocol shares.
export { adversaryBlocks } from './adversary-blocks';
export { BlockCodec, BlockHeaderCodec, blockHash, GENESIS, HASH_BYTES, makeBlock, MAX_BLOCK_TXS, MAX_TX_BYTES, payloadMatches, sealBlock, type Block, type BlockHeader } from './block';
export { CertificateCodec, makeCertificate, signersOf, verifyCertificate, type QuorumCertificate } from './certificate';
export { ConsensusError, type ConsensusErrorCode } from './errors';
export { EquivocationDetector, verifyEvidence, type EquivocationEvidence, type Evidence } from './evidence';
export { Ledger } from './ledger';
export { FifoMempool, txKey, type Mempool } from './mempool';
export type { ByzantineHooks, FinalizedChain, Protocol, ProtocolConfig, ProtocolDefinition, ProtocolFootprint, ProtocolInput, ProtocolOutput, TimerId, Timing, TraceEvent } from './protocol';
export { SimulatedSignatureScheme } from './simulated-signatures';
export { signStatement, StatementCodec, StatementVerifier, type SignedStatement, type Statement } from './statement';
export { BlockTree } from './tree';
export { ValidatorSet } from './validators';
