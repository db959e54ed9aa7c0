export type ConsensusErrorCode = 'INVALID_VALIDATOR_SET' | 'UNKNOWN_VALIDATOR' | 'LEDGER_CONFLICT' | 'LEDGER_GAP' | 'INVALID_ARGUMENT';

/** A typed error from @bftx/consensus. LEDGER_CONFLICT means a safety violation was about to be committed. */
export class ConsensusError extends Error {
  override readonly name = 'ConsensusError';
  constructor(
    readonly code: ConsensusErrorCode,
    message: string,
  ) {
    super(message);
  }
}
