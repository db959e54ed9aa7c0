import { bytesEqual, codec, decode, encode, fromHex, hashParts, merkleProof, MerkleProofCodec, toHex, verifyMerkleProof, type MerkleProof } from '@bftx/crypto';
import type { EngineEvent } from '@bftx/matching-engine';
import type { TxReceipt } from './exchange';

// What a state root commits to, and the proofs a client checks against one. Everything here is
// pure (no node: imports): @bftx/client runs these verifiers in browsers.

const UINT = codec.uint();
const HASH = codec.fixedBytes(32);
const AMOUNTS = codec.array(codec.biguint(128));
const SIDE = codec.enumeration(['buy', 'sell'] as const);

/** Domain of the state root: hashParts(STATE_DOMAIN, [header, accounts root, books hash, receipts root]). */
export const STATE_DOMAIN = 'bftx.exchange-state';

/** The small scalars of the state, encoded as the first part of the state root. */
export const RootHeaderCodec = codec.record({
  magic: codec.string(16),
  /** The height of the last block applied (0 before any). */
  height: UINT,
  commands: UINT,
  nextOrderId: UINT,
  operatorNonce: UINT,
  fees: AMOUNTS,
  offenders: codec.array(UINT),
});

/**
 * One leaf of the accounts tree (one per account, in order of first appearance): the account's
 * nonce, its balances (`available`, `reserved`: indexed as the exchange configuration's `assets`)
 * and its live orders by client id (`market`: index into the configuration's `markets`; `price`:
 * what a buy's funds are held at; `reserved`: funds held for it; `remaining`: size left to trade).
 */
export const AccountLeafCodec = codec.record({
  key: HASH,
  nonce: UINT,
  available: AMOUNTS,
  reserved: AMOUNTS,
  orders: codec.array(codec.record({ clientId: UINT, id: UINT, market: UINT, side: SIDE, price: UINT, reserved: codec.biguint(128), remaining: UINT })),
});
export type AccountLeaf = codec.Infer<typeof AccountLeafCodec>;

const LeafTradeCodec = codec.record({
  price: UINT,
  size: UINT,
  makerOrderId: UINT,
  takerOrderId: UINT,
  buyer: HASH,
  seller: HASH,
  aggressor: SIDE,
  buyerFee: codec.biguint(128),
  sellerFee: codec.biguint(128),
});

/** An order's life in a receipt (a trade is in `trades`). */
const LeafEventCodec = codec.taggedUnion('type', {
  accepted: { orderId: UINT },
  rejected: { orderId: UINT, reason: codec.string(32) },
  cancelled: { orderId: UINT, size: UINT, remaining: UINT, reason: codec.enumeration(['USER', 'IOC', 'FOK', 'STP', 'NO_LIQUIDITY', 'WOULD_TAKE'] as const) },
  triggered: { orderId: UINT, lastPrice: UINT },
  modified: { orderId: UINT, price: UINT, size: UINT, priorityKept: codec.bool },
  done: { orderId: UINT, reason: codec.enumeration(['filled', 'cancelled'] as const) },
});

/**
 * One leaf of a block's receipts tree: what became of the transaction at `index` of the block.
 * `tx`: SHA-256 of the transaction's bytes (the node's transaction id); `reason`: the RejectReason,
 * '' when executed; `account`: the account's key, or empty (a transaction rejected before one is
 * known); `orderId`: the engine id of the order placed, cancelled or modified, 0 for none; `trades`:
 * its fills (price, size, both orders and both accounts, fees); `events`: the other order events
 * (accepted, cancelled with what remained, triggered, modified, done).
 */
export const ReceiptLeafCodec = codec.record({
  tx: HASH,
  index: UINT,
  status: codec.enumeration(['executed', 'rejected'] as const),
  reason: codec.string(32),
  account: codec.bytes(32),
  orderId: UINT,
  trades: codec.array(LeafTradeCodec),
  events: codec.array(LeafEventCodec),
});
export type ReceiptLeaf = codec.Infer<typeof ReceiptLeafCodec>;

/** The four parts a state root hashes: a reader who has them (and the root) can check any proof below. */
export interface StateOpening {
  /** RootHeaderCodec-encoded scalars (height, counters, fees, offenders). */
  readonly header: Uint8Array;
  /** Merkle root of the account leaves. */
  readonly accounts: Uint8Array;
  /** Hash of the order books. */
  readonly books: Uint8Array;
  /** Merkle root of the receipt leaves of the last block applied (merkleRoot([]) for an empty block or none). */
  readonly receipts: Uint8Array;
}

export const StateOpeningCodec = codec.record({ header: codec.bytes(1 << 20), accounts: HASH, books: HASH, receipts: HASH });

/** The state root an opening hashes to. */
export function stateRootOf(opening: StateOpening): Uint8Array {
  return hashParts(STATE_DOMAIN, [opening.header, opening.accounts, opening.books, opening.receipts]);
}

/** An account's leaf and its path to the accounts root in an opening. */
export interface AccountProof {
  readonly opening: StateOpening;
  /** AccountLeafCodec-encoded. */
  readonly leaf: Uint8Array;
  readonly proof: MerkleProof;
}

/** A receipt's leaf and its path to the receipts root in an opening. */
export interface ReceiptProof {
  readonly opening: StateOpening;
  /** ReceiptLeafCodec-encoded. */
  readonly leaf: Uint8Array;
  readonly proof: MerkleProof;
}

/** Canonical encodings of the proofs, for the wire. */
export const AccountProofCodec = codec.record({ opening: StateOpeningCodec, leaf: codec.bytes(), proof: MerkleProofCodec });
export const ReceiptProofCodec = codec.record({ opening: StateOpeningCodec, leaf: codec.bytes(), proof: MerkleProofCodec });

/**
 * Why a proof does not hold: OPENING_MISMATCH (the opening does not hash to the root), NOT_IN_TREE
 * (the leaf is not at that place under the opening), WRONG_ITEM (a valid leaf, but of another
 * account or transaction), MALFORMED (not decodable, or not the shapes expected).
 */
export type ProofFailure = 'OPENING_MISMATCH' | 'NOT_IN_TREE' | 'WRONG_ITEM' | 'MALFORMED';

export interface ProvenOrder {
  readonly clientId: number;
  readonly id: number;
  /** Index into the exchange configuration's `markets`. */
  readonly market: number;
  readonly side: 'buy' | 'sell';
  readonly price: number;
  readonly reserved: bigint;
  readonly remaining: number;
}

/** An account as a proof shows it. `available`, `reserved` by asset index (the configuration's `assets` order); `balances` by name when the asset list was given. */
export interface ProvenAccount {
  readonly key: string;
  /** The height of the state (the last block applied). */
  readonly height: number;
  readonly nonce: number;
  readonly available: readonly bigint[];
  readonly reserved: readonly bigint[];
  readonly balances?: Readonly<Record<string, { readonly available: bigint; readonly reserved: bigint }>>;
  readonly orders: readonly ProvenOrder[];
}

export interface ProvenTrade {
  readonly price: number;
  readonly size: number;
  readonly makerOrderId: number;
  readonly takerOrderId: number;
  readonly buyer: string;
  readonly seller: string;
  readonly aggressor: 'buy' | 'sell';
  readonly buyerFee: bigint;
  readonly sellerFee: bigint;
}

/** A receipt as a proof shows it: accounts as hex keys. */
export interface ProvenReceipt {
  readonly tx: string;
  /** The height of the block the transaction was in. */
  readonly height: number;
  readonly index: number;
  readonly status: 'executed' | 'rejected';
  /** The RejectReason; '' when executed. */
  readonly reason: string;
  readonly account?: string;
  readonly orderId: number;
  readonly trades: readonly ProvenTrade[];
  readonly events: ReceiptLeaf['events'];
}

type Failure = { readonly ok: false; readonly reason: ProofFailure; readonly detail: string };
const fail = (reason: ProofFailure, detail: string): Failure => ({ ok: false, reason, detail });

function keyBytes(key: Uint8Array | string): Uint8Array | undefined {
  if (key instanceof Uint8Array) return key.length === 32 ? key : undefined;
  if (typeof key !== 'string' || !/^[0-9a-fA-F]{64}$/.test(key)) return undefined;
  return fromHex(key);
}

/** Checks the opening against the root and the leaf under `part`; the decoded header on success. */
function checkPath(stateRoot: Uint8Array, p: { opening: StateOpening; leaf: Uint8Array; proof: MerkleProof }, part: 'accounts' | 'receipts'): Failure | codec.Infer<typeof RootHeaderCodec> {
  let opening: StateOpening;
  try {
    // Round-trip through the wire codec: every part the right type and size.
    opening = decode(StateOpeningCodec, encode(StateOpeningCodec, p.opening));
    if (!(p.leaf instanceof Uint8Array) || !(stateRoot instanceof Uint8Array)) return fail('MALFORMED', 'the leaf and the root must be bytes');
    decode(MerkleProofCodec, encode(MerkleProofCodec, p.proof));
  } catch (e) {
    return fail('MALFORMED', e instanceof Error ? e.message : String(e));
  }
  if (!bytesEqual(stateRootOf(opening), stateRoot)) return fail('OPENING_MISMATCH', 'the opening does not hash to the state root');
  if (!verifyMerkleProof(opening[part], p.leaf, p.proof)) return fail('NOT_IN_TREE', `the leaf is not at index ${p.proof.index} of the ${part} tree`);
  try {
    return decode(RootHeaderCodec, opening.header);
  } catch (e) {
    return fail('MALFORMED', `header: ${e instanceof Error ? e.message : String(e)}`);
  }
}

/**
 * Whether `p` proves account `accountKey` (32 bytes or 64 hex digits) in the state with root
 * `stateRoot`; if so, the account. With `assets` (the exchange configuration's asset names, in
 * order), also its balances by name. An account not in the state has no proof: absence is not
 * provable here (the tree is in order of first appearance, not by key).
 */
export function verifyAccountProof(stateRoot: Uint8Array, p: AccountProof, accountKey: Uint8Array | string, assets?: readonly string[]): { readonly ok: true; readonly account: ProvenAccount } | Failure {
  const key = keyBytes(accountKey);
  if (key === undefined) return fail('MALFORMED', 'the account key must be 32 bytes or 64 hex digits');
  const header = checkPath(stateRoot, p, 'accounts');
  if ('ok' in header) return header;
  let leaf: AccountLeaf;
  try {
    leaf = decode(AccountLeafCodec, p.leaf);
  } catch (e) {
    return fail('MALFORMED', `account leaf: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!bytesEqual(leaf.key, key)) return fail('WRONG_ITEM', `the leaf is account ${toHex(leaf.key).slice(0, 12)}, not ${toHex(key).slice(0, 12)}`);
  let balances: Record<string, { available: bigint; reserved: bigint }> | undefined;
  if (assets !== undefined) {
    if (assets.length !== leaf.available.length || assets.length !== leaf.reserved.length) return fail('MALFORMED', `the leaf holds ${leaf.available.length} balances, ${assets.length} assets given`);
    balances = {};
    assets.forEach((a, i) => (balances![a] = { available: leaf.available[i]!, reserved: leaf.reserved[i]! }));
  }
  const account: ProvenAccount = { key: toHex(leaf.key), height: header.height, nonce: leaf.nonce, available: leaf.available, reserved: leaf.reserved, orders: leaf.orders, ...(balances === undefined ? {} : { balances }) };
  return { ok: true, account };
}

/**
 * Whether `p` proves the receipt of transaction `txId` (SHA-256 of its bytes; 32 bytes or 64 hex
 * digits) in the block whose state root is `stateRoot`; if so, the receipt.
 */
export function verifyReceiptProof(stateRoot: Uint8Array, p: ReceiptProof, txId: Uint8Array | string): { readonly ok: true; readonly receipt: ProvenReceipt } | Failure {
  const id = keyBytes(txId);
  if (id === undefined) return fail('MALFORMED', 'the transaction id must be 32 bytes or 64 hex digits');
  const header = checkPath(stateRoot, p, 'receipts');
  if ('ok' in header) return header;
  let leaf: ReceiptLeaf;
  try {
    leaf = decode(ReceiptLeafCodec, p.leaf);
  } catch (e) {
    return fail('MALFORMED', `receipt leaf: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (!bytesEqual(leaf.tx, id)) return fail('WRONG_ITEM', `the leaf is the receipt of ${toHex(leaf.tx).slice(0, 12)}, not ${toHex(id).slice(0, 12)}`);
  if (leaf.index !== p.proof.index) return fail('WRONG_ITEM', `the leaf says index ${leaf.index}, the proof ${p.proof.index}`);
  const receipt: ProvenReceipt = {
    tx: toHex(leaf.tx),
    height: header.height,
    index: leaf.index,
    status: leaf.status,
    reason: leaf.reason,
    ...(leaf.account.length === 32 ? { account: toHex(leaf.account) } : {}),
    orderId: leaf.orderId,
    trades: leaf.trades.map((t) => ({ ...t, buyer: toHex(t.buyer), seller: toHex(t.seller) })),
    events: leaf.events,
  };
  return { ok: true, receipt };
}

/** The inclusion proof of receipt `index` of a block (its BlockResult.receiptLeaves). */
export function receiptProof(leaves: readonly Uint8Array[], index: number): MerkleProof {
  return merkleProof(leaves, index);
}

/** The encoded receipt leaf of the transaction with id `txId` (SHA-256 of its bytes) at `index` of its block, given its receipt. */
export function receiptLeaf(txId: Uint8Array, index: number, r: TxReceipt): Uint8Array {
  const account = r.account === undefined ? new Uint8Array(0) : fromHex(r.account);
  if (r.status === 'rejected') return encode(ReceiptLeafCodec, { tx: txId, index, status: 'rejected', reason: r.reason, account, orderId: 0, trades: [], events: [] });
  const trades: ReceiptLeaf['trades'] = [];
  const events: ReceiptLeaf['events'] = [];
  let k = 0;
  for (const e of r.events) {
    if (e.type === 'trade') {
      // Trades settle in the order of their events (Exchange.finish, Exchange.clear).
      const t = r.trades[k++]!;
      trades.push({ price: e.price, size: e.size, makerOrderId: e.makerId, takerOrderId: e.takerId, buyer: fromHex(t.buyer), seller: fromHex(t.seller), aggressor: e.aggressor, buyerFee: t.buyerFee, sellerFee: t.sellerFee });
    } else events.push(leafEvent(e));
  }
  return encode(ReceiptLeafCodec, { tx: txId, index, status: 'executed', reason: '', account, orderId: r.orderId ?? 0, trades, events });
}

function leafEvent(e: Exclude<EngineEvent, { type: 'trade' }>): ReceiptLeaf['events'][number] {
  switch (e.type) {
    case 'accepted':
      return { type: 'accepted', orderId: e.orderId };
    case 'rejected':
      return { type: 'rejected', orderId: e.orderId, reason: e.reason };
    case 'cancelled':
      return { type: 'cancelled', orderId: e.orderId, size: e.size, remaining: e.remaining, reason: e.reason };
    case 'triggered':
      return { type: 'triggered', orderId: e.orderId, lastPrice: e.lastPrice };
    case 'modified':
      return { type: 'modified', orderId: e.orderId, price: e.price, size: e.size, priorityKept: e.priorityKept };
    case 'done':
      return { type: 'done', orderId: e.orderId, reason: e.reason };
  }
}
