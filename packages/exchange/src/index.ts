// @bftx/exchange: a spot exchange as a deterministic replicated state machine, and its wiring to any consensus protocol.
export {
  attestationThreshold,
  AttestationCodec,
  AttestationStatementCodec,
  signAttestation,
  verifyAttestations,
  type Attestation,
  type AttestedStatement,
} from './attestation';
export { checkConfig, type ExchangeConfig, type FeeSchedule, type MarketConfig, type MatchingMode } from './config';
export { ExchangeError, type AdmissionReason, type ExchangeErrorCode, type RejectReason } from './errors';
export { Exchange, type AccountView, type BlockResult, type ExchangeBlock, type ForgedTransactionEvidence, type Trade, type TxReceipt } from './exchange';
export { replicatedExchange, ReplicatedExchange, type AdmissionVerdict, type Offence, type ReplicatedExchangeOptions } from './replicated';
export {
  decodeTransaction,
  MAX_AMOUNT,
  OPERATOR_DOMAIN,
  OrderActionCodec,
  OrderBodyCodec,
  placeAction,
  signedBody,
  signOrder,
  signTransfer,
  TransactionCodec,
  TransferBodyCodec,
  type OrderAction,
  type OrderTransaction,
  type PlaceAction,
  type PlaceRequest,
  type Transaction,
  type TransferTransaction,
} from './transactions';
