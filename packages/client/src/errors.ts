/**
 * Why the client refused an answer or could not finish. Each names one check:
 * - MALFORMED_ANSWER: not the shape the API documents, or a part that does not decode.
 * - FINALITY_MISSING: no commit certificate for the height (the replica holds none yet).
 * - CERTIFICATE_INVALID: the certificate or its header chain does not verify against the validator set.
 * - WRONG_BLOCK: a valid certificate, but for another block than the answer claims.
 * - ATTESTATIONS_SHORT: fewer valid execution attestations of (height, block, state root) than the threshold.
 * - WRONG_HEIGHT: the proof's state is at another height than the certified one.
 * - OPENING_MISMATCH: the state opening does not hash to the attested state root.
 * - PROOF_INVALID: the item is not in the tree the opening commits to.
 * - WRONG_ITEM: a valid proof, but of another account, transaction or order.
 * - STALE: a valid answer about a height below the one the caller required.
 * - NO_VERIFIED_ANSWER: no replica gave an answer that verified (`causes` says why for each).
 * - REFUSED: every replica refused a submitted transaction (`causes` holds their reasons).
 * - TIMEOUT: no verified answer in time.
 * - BAD_OPTIONS: the client was configured wrongly.
 */
export type ClientErrorCode =
  | 'MALFORMED_ANSWER'
  | 'FINALITY_MISSING'
  | 'CERTIFICATE_INVALID'
  | 'WRONG_BLOCK'
  | 'ATTESTATIONS_SHORT'
  | 'WRONG_HEIGHT'
  | 'OPENING_MISMATCH'
  | 'PROOF_INVALID'
  | 'WRONG_ITEM'
  | 'STALE'
  | 'NO_VERIFIED_ANSWER'
  | 'REFUSED'
  | 'TIMEOUT'
  | 'BAD_OPTIONS';

export class ClientError extends Error {
  override readonly name = 'ClientError';
  constructor(
    readonly code: ClientErrorCode,
    message: string,
    /** The replica (base URL) whose answer failed, when one did. */
    readonly replica?: string,
    /** For NO_VERIFIED_ANSWER, REFUSED and TIMEOUT: what each replica's answer failed on. */
    readonly causes: readonly ClientError[] = [],
    /** For a replica's refusal (a cause of REFUSED): the replica's own error code, e.g. STALE_NONCE (its word, unproven). */
    readonly reason?: string,
  ) {
    super(replica === undefined ? `${code}: ${message}` : `${code} (${replica}): ${message}`);
  }
}
