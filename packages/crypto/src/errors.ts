/** Why a crypto call refused its input. */
export type CryptoErrorCode =
  | 'INVALID_HEX'
  | 'INVALID_LENGTH'
  | 'INVALID_DOMAIN'
  | 'INVALID_ARGUMENT'
  | 'BACKEND_UNAVAILABLE';

/** A typed error for bad input to @bftx/crypto; `code` is stable, `message` says what to fix. */
export class CryptoError extends Error {
  override readonly name = 'CryptoError';
  constructor(
    readonly code: CryptoErrorCode,
    message: string,
  ) {
    super(message);
  }
}
