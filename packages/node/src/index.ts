// @bftx/node: the real replica (the only bftx package that does I/O).
export { clientOf } from './address';
export { ATTESTATION_REFUSALS, AttestationPool, type AttestationPoolOptions, type AttestationRefusal, type AttestationVerdict } from './attestations';
export { ApiError, ClientApi, MAX_EVIDENCE_PAYLOAD_BYTES, transactionId, type ClientApiOptions } from './api';
export { cancelOrder, clusterClient, clusterValidators, freshest, placeOrder, runLoad, transfer, type LoadOptions, type LoadReport, type OrderRequest, type OrderResult, type Progress, type ReceiptJson } from './client/index';
export { clusterExchange, MARKET, newSecretKey, writeClusterFiles, type ClusterFiles, type ClusterOptions } from './cluster-files';
export { ConfigError, ORDERINGS, parseConfig, readConfig, type Endpoint, type Ordering, type ReplicaConfig, type ReplicaConfigFile } from './config';
export { startReplica, type RunningReplica } from './process';
export { DEFAULT_MAX_FRAME_BYTES, encodeFrame, FrameDecoder, FrameError, type FrameErrorCode } from './frame';
export { ReplicaMetrics, type RejectReason } from './metrics';
export { MAX_PROOF_HEADERS, ReplicaNode, type FinalityParts, type RecoveryReport, type ReplicaOptions } from './replica';
export { damagedLogRecord } from './leveldb-log';
export { MAX_CERTIFICATE_BYTES, ReplicaStore, StoreError, type DamagedLogPolicy, type StoreErrorCode, type StoreWrite } from './store';
export { decodeInputRecord, encodeInputRecord } from './wal';
export { Transport, type PeerAddress, type TransportOptions } from './transport';
export { clusterId, EnvelopeCodec, MAX_ATTESTATIONS_SERVED, signHandshake, verifyHandshake, WIRE_VERSION, type Envelope } from './wire';
export { VerifyPool, type VerifyJob, type VerifyPoolOptions } from './verify-pool';
