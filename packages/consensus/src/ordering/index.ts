export { fairOrder, checkProof, provableDeviation, splitPayload, verifyUnfairProposal, type Obliged, type SplitPayload, type UnfairProposalEvidence } from './order';
export { adversarialPayload, FairOrderingPolicy, MAX_ASK, type FairOrderingOptions, type OrderingAdversary } from './policy';
export { checkReceiveLog, decodeLogElement, encodeLogElement, isLogElement, LOG_ELEMENT_TAG, MAX_LOG_ENTRIES, OrderingDomains, payloadTransactions, signReceiveLog, SignedReceiveLogCodec, txDigest, type LogEntry, type SignedReceiveLog } from './receive-log';
export { fairOrdering, LOG_TIMER, withPayloadPolicy, type Envelope, type FairOrderingSetup } from './wrapper';
