/** Misuse of the exchange API itself (a bad configuration or snapshot). Bad transactions are never thrown: they are rejected with a reason. */
export type ExchangeErrorCode = 'INVALID_CONFIG' | 'INVALID_SNAPSHOT' | 'INVALID_ARGUMENT';

export class ExchangeError extends Error {
  constructor(
    readonly code: ExchangeErrorCode,
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'ExchangeError';
  }
}

/**
 * Why a transaction was refused. A refused transaction changes nothing but its nonce: after
 * MALFORMED, BAD_SIGNATURE, WRONG_CLUSTER, STALE_NONCE and EXPIRED nothing at all; after any other
 * reason the account's nonce (the operator's, for a transfer) becomes the transaction's, so the
 * same bytes can never execute later (see the README, "What a signed order can and cannot be used for").
 */
export type RejectReason =
  /** Not one canonical transaction encoding. */
  | 'MALFORMED'
  /** The client's (or, for a deposit or withdrawal, the operator's) signature does not verify; with no operator configured, no transfer verifies. */
  | 'BAD_SIGNATURE'
  /** Signed for another exchange (its cluster id is not this one's). */
  | 'WRONG_CLUSTER'
  /** The nonce is not above the account's last used nonce. */
  | 'STALE_NONCE'
  /** The block's height is above the transaction's expiresAt. */
  | 'EXPIRED'
  /** expiresAt lies more than maxOrderLifetime blocks past the block's height. */
  | 'EXPIRY_TOO_FAR'
  | 'UNKNOWN_SYMBOL'
  | 'UNKNOWN_ASSET'
  /** The account cannot cover the order's reservation or the withdrawal. */
  | 'INSUFFICIENT_FUNDS'
  /** Size above the market's maximum order size, or a balance above the 2^96 cap. */
  | 'SIZE_LIMIT'
  /** A client order id already live for this account. */
  | 'DUPLICATE_CLIENT_ID'
  /** Cancel or modify of an order the account has not got live. */
  | 'UNKNOWN_ORDER'
  /** An order the risk check cannot bound (a stop-market buy) or a field combination the exchange refuses. */
  | 'UNSUPPORTED_ORDER'
  /** The matching engine refused it (bad price, tick, lot, post-only would take...); `detail` says why. */
  | 'ORDER_REJECTED';

/** Why a mempool turns a transaction away before it reaches a block (admission; nothing is executed). */
export type AdmissionReason =
  | 'MALFORMED'
  | 'BAD_SIGNATURE'
  /** Signed for another exchange (its cluster id is not this one's). */
  | 'WRONG_CLUSTER'
  /** The nonce is not above the account's: it is final already (executed or rejected) or was overtaken. */
  | 'STALE_NONCE'
  /** Its expiry height is below the next block's height: it can never execute. */
  | 'EXPIRED'
  /** Its expiry lies more than maxOrderLifetime blocks past the next block's height. */
  | 'EXPIRY_TOO_FAR'
  /** An order from an account that holds nothing: it could only be rejected, in a block, for free. */
  | 'UNKNOWN_ACCOUNT'
  /** An order for a market that does not exist. */
  | 'UNKNOWN_SYMBOL'
  /** A limit order whose reservation the account cannot cover now. */
  | 'INSUFFICIENT_FUNDS'
  /** The account sent more than its share of transactions per second. */
  | 'RATE_LIMITED';
