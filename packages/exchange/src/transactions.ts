import { codec, decode, Domains, encode, type DomainTag, type Signer } from '@bftx/crypto';

/** Domain of operator-signed deposits and withdrawals (client orders use Domains.order). */
export const OPERATOR_DOMAIN: DomainTag = 'bftx.operator';

const PUBLIC_KEY = codec.fixedBytes(32);
const SIGNATURE = codec.fixedBytes(64);
const SYMBOL = codec.string(32);
const ASSET = codec.string(16);
/** Amounts of an asset (minor units): up to 2^96, so sums over many accounts stay exact as bigint. */
export const MAX_AMOUNT = (1n << 96n) - 1n;
const AMOUNT = codec.biguint(96);

/** What a client asks for. Prices in ticks, sizes in lots of the market (positive integers). */
export const OrderActionCodec = codec.taggedUnion('action', {
  place: {
    symbol: SYMBOL,
    /** The client's own id for the order, unique among its live orders; cancel and modify use it. */
    clientId: codec.uint(),
    side: codec.enumeration(['buy', 'sell'] as const),
    type: codec.enumeration(['limit', 'market', 'stop-limit', 'stop-market'] as const),
    /** Limit price (limit, stop-limit); 0 otherwise. */
    price: codec.uint(),
    /** Trigger price (stops); 0 otherwise. */
    stopPrice: codec.uint(),
    size: codec.uint(),
    tif: codec.enumeration(['GTC', 'IOC', 'FOK'] as const),
    postOnly: codec.bool,
    /** Iceberg slice (GTC limits); 0 for a plain order. */
    visibleSize: codec.uint(),
    stp: codec.enumeration(['none', 'cancel-newest', 'cancel-oldest', 'cancel-both', 'decrement'] as const),
  },
  cancel: { symbol: SYMBOL, clientId: codec.uint() },
  modify: { symbol: SYMBOL, clientId: codec.uint(), price: codec.uint(), size: codec.uint() },
});
export type OrderAction = codec.Infer<typeof OrderActionCodec>;
export type PlaceAction = Extract<OrderAction, { action: 'place' }>;

/** Which exchange a transaction is for: 32 bytes, the cluster's id (ExchangeConfig.cluster, 32 zero bytes by default). */
const CLUSTER = codec.fixedBytes(32);

/**
 * Where and until when a signed transaction may execute: on the exchange whose `cluster` id it
 * names, in a block of height at most `expiresAt` (good-til-height). Every order and transfer carries
 * one, under its signature: bytes seen once cannot be replayed on another cluster or after expiry.
 */
export interface Validity {
  readonly cluster: Uint8Array;
  /** The last block height at which the transaction may execute. */
  readonly expiresAt: number;
}

/** The cluster id of an exchange configured without one: 32 zero bytes. */
export const DEFAULT_CLUSTER: Uint8Array = new Uint8Array(32);
/** How many blocks past the current height a transaction's expiry may lie, unless configured (ExchangeConfig.maxOrderLifetime). */
export const DEFAULT_MAX_ORDER_LIFETIME = 1000;

/** What expiryFrom gives a transaction unless told: half the default bound (500 blocks). */
export const DEFAULT_ORDER_LIFETIME = DEFAULT_MAX_ORDER_LIFETIME / 2;

/**
 * The expiry for a transaction signed when `height` is the last block the signer knows applied,
 * valid for the next `lifetime` blocks (default DEFAULT_ORDER_LIFETIME): `height + lifetime`.
 * Within an exchange's bound at every replica up to `maxOrderLifetime - lifetime` blocks behind the
 * signer's view (a replica further behind refuses it EXPIRY_TOO_FAR until it catches up).
 */
export function expiryFrom(height: number, lifetime: number = DEFAULT_ORDER_LIFETIME): number {
  return height + lifetime;
}

/** The bytes a client signs: its key, a nonce above its last used one, the cluster and expiry, and the action. */
export const OrderBodyCodec = codec.record({ account: PUBLIC_KEY, nonce: codec.uint(), cluster: CLUSTER, expiresAt: codec.uint(), order: OrderActionCodec });
/** The bytes the operator signs for a deposit or withdrawal. */
export const TransferBodyCodec = codec.record({
  kind: codec.enumeration(['deposit', 'withdraw'] as const),
  account: PUBLIC_KEY,
  asset: ASSET,
  amount: AMOUNT,
  nonce: codec.uint(),
  cluster: CLUSTER,
  expiresAt: codec.uint(),
});

/** A transaction as it travels in blocks. */
export const TransactionCodec = codec.taggedUnion('type', {
  order: { account: PUBLIC_KEY, nonce: codec.uint(), cluster: CLUSTER, expiresAt: codec.uint(), order: OrderActionCodec, signature: SIGNATURE },
  transfer: {
    kind: codec.enumeration(['deposit', 'withdraw'] as const),
    account: PUBLIC_KEY,
    asset: ASSET,
    amount: AMOUNT,
    nonce: codec.uint(),
    cluster: CLUSTER,
    expiresAt: codec.uint(),
    signature: SIGNATURE,
  },
});
export type Transaction = codec.Infer<typeof TransactionCodec>;
export type OrderTransaction = Extract<Transaction, { type: 'order' }>;
export type TransferTransaction = Extract<Transaction, { type: 'transfer' }>;

/** Defaults for the optional fields of a place action. */
export type PlaceRequest = Pick<PlaceAction, 'symbol' | 'clientId' | 'side' | 'size'> & Partial<Omit<PlaceAction, 'action' | 'symbol' | 'clientId' | 'side' | 'size'>>;

export function placeAction(r: PlaceRequest): PlaceAction {
  return {
    action: 'place',
    symbol: r.symbol,
    clientId: r.clientId,
    side: r.side,
    type: r.type ?? 'limit',
    price: r.price ?? 0,
    stopPrice: r.stopPrice ?? 0,
    size: r.size,
    tif: r.tif ?? (r.type === 'market' || r.type === 'stop-market' ? 'IOC' : 'GTC'),
    postOnly: r.postOnly ?? false,
    visibleSize: r.visibleSize ?? 0,
    stp: r.stp ?? 'none',
  };
}

/**
 * A client's signed order transaction, encoded, valid on `validity.cluster` up to height
 * `validity.expiresAt`. Throws EncodeError on fields that do not fit.
 */
export function signOrder(signer: Signer, nonce: number, order: OrderAction, validity: Validity): Uint8Array {
  const { cluster, expiresAt } = validity;
  const signature = signer.sign(Domains.order, encode(OrderBodyCodec, { account: signer.publicKey, nonce, cluster, expiresAt, order }));
  return encode(TransactionCodec, { type: 'order', account: signer.publicKey, nonce, cluster, expiresAt, order, signature });
}

/** An operator-signed deposit or withdrawal for `account`, encoded, valid on `validity.cluster` up to height `validity.expiresAt`. */
export function signTransfer(operator: Signer, t: { kind: 'deposit' | 'withdraw'; account: Uint8Array; asset: string; amount: bigint; nonce: number }, validity: Validity): Uint8Array {
  const body = { kind: t.kind, account: t.account, asset: t.asset, amount: t.amount, nonce: t.nonce, cluster: validity.cluster, expiresAt: validity.expiresAt };
  const signature = operator.sign(OPERATOR_DOMAIN, encode(TransferBodyCodec, body));
  return encode(TransactionCodec, { type: 'transfer', ...body, signature });
}

/** The signed bytes of a decoded transaction (what its signature must verify over). */
export function signedBody(tx: Transaction): { domain: DomainTag; bytes: Uint8Array } {
  if (tx.type === 'order') return { domain: Domains.order, bytes: encode(OrderBodyCodec, { account: tx.account, nonce: tx.nonce, cluster: tx.cluster, expiresAt: tx.expiresAt, order: tx.order }) };
  return { domain: OPERATOR_DOMAIN, bytes: encode(TransferBodyCodec, { kind: tx.kind, account: tx.account, asset: tx.asset, amount: tx.amount, nonce: tx.nonce, cluster: tx.cluster, expiresAt: tx.expiresAt }) };
}

/** Throws DecodeError unless `bytes` is exactly one canonical transaction. */
export function decodeTransaction(bytes: Uint8Array): Transaction {
  return decode(TransactionCodec, bytes);
}
