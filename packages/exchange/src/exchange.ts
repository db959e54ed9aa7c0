import { bytesEqual, codec, decode, encode, fromHex, hash, hashParts, IncrementalMerkleTree, merkleRoot, sha256, toHex, type DomainTag, type SignatureScheme } from '@bftx/crypto';
import { MatchingEngine, type EngineEvent, type PlaceOrder, type TradeEvent } from '@bftx/matching-engine';
import { checkConfig, type ExchangeConfig, type MarketConfig } from './config';
import { ExchangeError, type RejectReason } from './errors';
import { AccountLeafCodec, receiptLeaf, RootHeaderCodec, stateRootOf, type AccountProof, type StateOpening } from './proofs';
import { DEFAULT_CLUSTER, DEFAULT_MAX_ORDER_LIFETIME, decodeTransaction, MAX_AMOUNT, signedBody, type OrderAction, type PlaceAction, type Transaction } from './transactions';

/** A trade as the exchange settled it: accounts as hex public keys. */
export interface Trade {
  readonly symbol: string;
  readonly price: number;
  readonly size: number;
  readonly buyer: string;
  readonly seller: string;
  readonly aggressor: 'buy' | 'sell';
  readonly buyerFee: bigint;
  readonly sellerFee: bigint;
  readonly ts: number;
}

/** What became of one transaction. */
export type TxReceipt =
  | {
      readonly status: 'executed';
      readonly account: string;
      /** The engine id of the order placed, cancelled or modified (none for a transfer). */
      readonly orderId?: number;
      readonly events: readonly EngineEvent[];
      readonly trades: readonly Trade[];
    }
  | { readonly status: 'rejected'; readonly reason: RejectReason; readonly detail: string; readonly account?: string };

/** A block proposer shown to have put a transaction no honest mempool admits (forged or malformed) into a finalized block. */
export interface ForgedTransactionEvidence {
  readonly kind: 'forged-transaction';
  readonly proposer: number;
  readonly height: number;
  readonly txIndex: number;
  readonly reason: 'MALFORMED' | 'BAD_SIGNATURE';
  /** The offending bytes: anyone can check they fail to decode or to verify. */
  readonly tx: Uint8Array;
}

export interface BlockResult {
  readonly height: number;
  readonly receipts: readonly TxReceipt[];
  readonly trades: readonly Trade[];
  /** Hash of the canonical state after the block: stateRootOf(opening). */
  readonly stateRoot: Uint8Array;
  /** The parts the state root hashes (proofs are checked against them). */
  readonly opening: StateOpening;
  /** ReceiptLeafCodec-encoded receipts, in block order: their Merkle root is opening.receipts (receiptProof gives a leaf's proof). */
  readonly receiptLeaves: Uint8Array[];
  readonly evidence: readonly ForgedTransactionEvidence[];
}

/** A finalized block as the exchange needs it. `timestamp` must be agreed by all replicas (the block height will do). */
export interface ExchangeBlock {
  readonly height: number;
  readonly proposer: number;
  readonly payload: readonly Uint8Array[];
  readonly timestamp: number;
}

export interface AccountView {
  readonly nonce: number;
  /** Per asset: free and reserved-for-orders balances. */
  readonly balances: Readonly<Record<string, { readonly available: bigint; readonly reserved: bigint }>>;
  /** Live orders: client id -> engine order id. */
  readonly openOrders: ReadonlyMap<number, number>;
}

interface Account {
  readonly key: string;
  readonly owner: number;
  nonce: number;
  readonly available: bigint[];
  readonly reserved: bigint[];
  /** clientId -> engine order id. */
  readonly live: Map<number, number>;
}

interface OrderRecord {
  readonly id: number;
  readonly owner: number;
  readonly clientId: number;
  readonly market: number;
  readonly side: 'buy' | 'sell';
  /** The price buys are reserved at (their limit, or a market order's protection bound). */
  price: number;
  /** Funds held for this order: quote for a buy, base for a sell. */
  reserved: bigint;
}

interface Market extends MarketConfig {
  readonly index: number;
  readonly baseIndex: number;
  readonly quoteIndex: number;
  readonly protection: number;
  /** Cleared as one uniform-price auction per block (matching: 'batch'). */
  readonly batch: boolean;
}

/** A batch-market action waiting for its block's auction: who, what, and (from a signed transaction) its nonce and bytes. */
interface BatchItem {
  readonly accountKey: string;
  readonly order: OrderAction;
  readonly nonce?: number;
  readonly bytes?: Uint8Array;
}

/** A place action accepted into an auction: funds held, an order record and an engine command. */
interface Collected {
  readonly item: number;
  readonly market: Market;
  readonly cmd: PlaceOrder;
  readonly acct: Account;
}

/** Domain of the books' hash, the `books` part of a state opening: hash(BOOKS_DOMAIN, booksSnapshot()). */
export const BOOKS_DOMAIN = 'bftx.exchange-books';
const REMAINDER_DOMAIN = 'bftx.batch-remainder';
const EMPTY: ReadonlyMap<number, number> = new Map();
const BPS = 10_000n;
const UINT = codec.uint();
const AMOUNTS = codec.array(codec.biguint(128));

const StateCodec = codec.record({
  magic: codec.string(16),
  commands: UINT,
  nextOrderId: UINT,
  operatorNonce: UINT,
  fees: AMOUNTS,
  accounts: codec.array(
    codec.record({
      key: codec.fixedBytes(32),
      nonce: UINT,
      available: AMOUNTS,
      reserved: AMOUNTS,
      live: codec.array(codec.record({ clientId: UINT, id: UINT })),
    }),
  ),
  orders: codec.array(codec.record({ id: UINT, owner: UINT, clientId: UINT, market: UINT, side: codec.enumeration(['buy', 'sell'] as const), price: UINT, reserved: codec.biguint(128) })),
  offenders: codec.array(UINT),
  engine: codec.bytes(),
  height: UINT,
  receipts: codec.fixedBytes(32),
});
const MAGIC = 'bftx-exchange-2';

// The state root commits to the same state as the snapshot, in four parts (proofs.ts) so that a
// block costs only what it changed: the small scalars, a Merkle tree with one leaf per account
// (in order of first appearance; a leaf holds the account and its live orders' records), the hash
// of the books (recomputed only after a block that changed them), and the Merkle root of the last
// block's receipts.
const EMPTY_RECEIPTS = merkleRoot([]);

/**
 * The replicated state machine of a spot exchange: accounts with per-asset
 * balances (bigint), funds reserved for resting orders, one matching-engine
 * book per market, trades settled atomically with maker/taker fees. `apply`
 * is deterministic: the same blocks give the same receipts and state root on
 * every replica. A rejected transaction changes nothing but the nonce it used up (see RejectReason).
 */
export class Exchange {
  private readonly markets: Market[];
  private readonly marketBySymbol = new Map<string, Market>();
  private readonly assetIndex = new Map<string, number>();
  private readonly makerBps: bigint;
  private readonly takerBps: bigint;
  private readonly reserveBps: bigint;
  /** Some market clears in batches: blocks take the batch path (see apply). */
  private readonly hasBatch: boolean;
  private engine: MatchingEngine;
  private readonly accounts = new Map<string, Account>();
  private readonly byOwner: Account[] = [];
  private readonly orders = new Map<number, OrderRecord>();
  private fees: bigint[];
  private commands = 0;
  private nextOrderId = 1;
  private operatorNonce = 0;
  private readonly offenderSet = new Set<number>();
  /** State-root caches: accounts changed since the last root, the account tree, the books' hash (undefined: changed). */
  private readonly dirtyAccounts = new Set<Account>();
  private readonly accountTree = new IncrementalMerkleTree();
  private booksHash: Uint8Array | undefined;
  /** The height of the last block applied, and the Merkle root of its receipts. */
  private height = 0;
  private receiptsRoot: Uint8Array = EMPTY_RECEIPTS;
  private readonly cluster: Uint8Array;
  private readonly maxLifetime: number;
  /** Transactions whose signature this replica already checked (mempool entry), so execution does not check twice. */
  private readonly preverified = new Map<string, Array<{ readonly bytes: Uint8Array; readonly tx: Transaction }>>();
  private preverifiedCount = 0;
  /** Decoded by signatureCheckOf and not admitted or executed yet (bounded by MAX_DECODED_AHEAD). */
  private readonly decoded = new Map<string, Array<{ readonly bytes: Uint8Array; readonly tx: Transaction; readonly body: { domain: DomainTag; bytes: Uint8Array } }>>();
  private decodedCount = 0;
  /** Counters since construction (metrics, not state). */
  readonly counters = { executed: 0, rejected: {} as Partial<Record<RejectReason, number>>, signatureChecks: 0 };

  constructor(
    readonly config: ExchangeConfig,
    private readonly scheme: SignatureScheme,
  ) {
    checkConfig(config);
    config.assets.forEach((a, i) => this.assetIndex.set(a, i));
    this.markets = config.markets.map((m, index) => ({ ...m, index, baseIndex: this.assetIndex.get(m.base)!, quoteIndex: this.assetIndex.get(m.quote)!, protection: m.protectionTicks ?? 100, batch: m.matching === 'batch' }));
    this.hasBatch = this.markets.some((m) => m.batch);
    for (const m of this.markets) this.marketBySymbol.set(m.symbol, m);
    this.makerBps = BigInt(config.fees?.makerBps ?? 0);
    this.takerBps = BigInt(config.fees?.takerBps ?? 0);
    this.reserveBps = this.makerBps > this.takerBps ? this.makerBps : this.takerBps;
    this.engine = new MatchingEngine(this.markets.map((m) => ({ symbol: m.symbol, tickSize: m.tickSize, lotSize: m.lotSize, defaultProtectionTicks: m.protection })));
    this.fees = config.assets.map(() => 0n);
    this.cluster = config.cluster ?? DEFAULT_CLUSTER;
    this.maxLifetime = config.maxOrderLifetime ?? DEFAULT_MAX_ORDER_LIFETIME;
    for (const g of config.genesis ?? []) {
      const acct = this.account(toHex(g.account));
      for (const [asset, amount] of Object.entries(g.balances)) acct.available[this.assetIndex.get(asset)!]! += amount;
    }
  }

  // ---- the replicated entry points -------------------------------------------------------

  /**
   * Stateless admission for a mempool: one canonical transaction with a valid
   * signature. Deterministic; remembered so that execution does not verify it again.
   */
  admit(bytes: Uint8Array): { ok: true; tx: Transaction } | { ok: false; reason: 'MALFORMED' | 'BAD_SIGNATURE'; detail: string } {
    // The same bytes admitted before (a client API checks before the mempool does): not again.
    const known = this.findVerified(bytes);
    if (known !== undefined) return { ok: true, tx: known };
    let ahead = this.takeDecoded(bytes);
    if (ahead === undefined) {
      try {
        ahead = { tx: decodeTransaction(bytes), body: undefined };
      } catch (e) {
        return { ok: false, reason: 'MALFORMED', detail: e instanceof Error ? e.message : String(e) };
      }
    }
    const { tx } = ahead;
    if (!this.signatureValid(tx, ahead.body)) return { ok: false, reason: 'BAD_SIGNATURE', detail: tx.type === 'order' ? 'the client signature does not verify' : 'the operator signature does not verify' };
    this.rememberVerified(bytes, tx);
    return { ok: true, tx };
  }

  /**
   * Whether `tx` (admitted: decoded and verified) can still execute against the current state, as far
   * as can be known before its block (the next height): this cluster's, not expired at the next
   * height nor expiring further than maxOrderLifetime past it, a nonce above the account's (a final
   * transaction has used its nonce up), an account that exists, and for a limit order the funds its
   * reservation needs now. Changes nothing.
   */
  admissible(tx: Transaction): { ok: true } | { ok: false; reason: 'WRONG_CLUSTER' | 'EXPIRED' | 'EXPIRY_TOO_FAR' | 'STALE_NONCE' | 'UNKNOWN_ACCOUNT' | 'UNKNOWN_SYMBOL' | 'INSUFFICIENT_FUNDS'; detail: string } {
    const invalid = this.validityProblem(tx, this.height + 1);
    if (invalid !== undefined) return { ok: false, ...invalid };
    if (tx.type === 'transfer') {
      return tx.nonce > this.operatorNonce ? { ok: true } : { ok: false, reason: 'STALE_NONCE', detail: `operator nonce ${tx.nonce} is not above ${this.operatorNonce}` };
    }
    const acct = this.accounts.get(toHex(tx.account));
    if (acct === undefined) return { ok: false, reason: 'UNKNOWN_ACCOUNT', detail: 'the account holds nothing here (no deposit or genesis balance)' };
    if (tx.nonce <= acct.nonce) return { ok: false, reason: 'STALE_NONCE', detail: `nonce ${tx.nonce} is not above ${acct.nonce}: final already, or overtaken` };
    const o = tx.order;
    const market = this.marketBySymbol.get(o.symbol);
    if (market === undefined) return { ok: false, reason: 'UNKNOWN_SYMBOL', detail: `no market ${o.symbol}` };
    if (o.action === 'place' && o.type === 'limit') {
      {
        const asset = o.side === 'buy' ? market.quoteIndex : market.baseIndex;
        const need = o.side === 'buy' ? this.buyCost(o.price, o.size) : BigInt(o.size);
        if (need !== undefined && need > acct.available[asset]!) return { ok: false, reason: 'INSUFFICIENT_FUNDS', detail: `needs ${need} ${this.config.assets[asset]}, ${acct.available[asset]} available` };
      }
    }
    return { ok: true };
  }

  /**
   * Applies a finalized block: every transaction in order, then the state root. With a batch
   * market configured, the block's orders for batch markets wait until the others (transfers,
   * continuous markets: in block order) have run, then clear together (see `runBatch`); their
   * receipts keep their places in block order.
   */
  apply(block: ExchangeBlock): BlockResult {
    if (!Number.isSafeInteger(block.height) || block.height < 0) throw new ExchangeError('INVALID_ARGUMENT', `block height must be a non-negative safe integer, got ${block.height}`);
    this.height = block.height;
    const { receipts, trades, evidence } = this.hasBatch ? this.applyWithBatches(block) : this.applyInOrder(block);
    const receiptLeaves = receipts.map((r, i) => receiptLeaf(sha256(block.payload[i]!), i, r));
    this.receiptsRoot = merkleRoot(receiptLeaves);
    const opening = this.stateOpening();
    return { height: block.height, receipts, trades, stateRoot: stateRootOf(opening), opening, receiptLeaves, evidence };
  }

  private applyInOrder(block: ExchangeBlock): { receipts: TxReceipt[]; trades: Trade[]; evidence: ForgedTransactionEvidence[] } {
    const receipts: TxReceipt[] = [];
    const trades: Trade[] = [];
    const evidence: ForgedTransactionEvidence[] = [];
    block.payload.forEach((bytes, txIndex) => {
      const receipt = this.applyTransaction(bytes, block.timestamp);
      receipts.push(receipt);
      if (receipt.status === 'executed') trades.push(...receipt.trades);
      else if (receipt.reason === 'MALFORMED' || receipt.reason === 'BAD_SIGNATURE') {
        // An honest mempool never admits these: the proposer put them there.
        evidence.push({ kind: 'forged-transaction', proposer: block.proposer, height: block.height, txIndex, reason: receipt.reason, tx: bytes.slice() });
        this.offenderSet.add(block.proposer);
      }
    });
    return { receipts, trades, evidence };
  }

  private applyWithBatches(block: ExchangeBlock): { receipts: TxReceipt[]; trades: Trade[]; evidence: ForgedTransactionEvidence[] } {
    const receipts: TxReceipt[] = [];
    const trades: Trade[] = [];
    const evidence: ForgedTransactionEvidence[] = [];
    const deferred: Array<{ readonly txIndex: number; readonly item: BatchItem }> = [];
    block.payload.forEach((bytes, txIndex) => {
      const tx = this.authenticate(bytes);
      if ('status' in tx) {
        receipts[txIndex] = tx;
        if (tx.status === 'rejected' && (tx.reason === 'MALFORMED' || tx.reason === 'BAD_SIGNATURE')) {
          evidence.push({ kind: 'forged-transaction', proposer: block.proposer, height: block.height, txIndex, reason: tx.reason, tx: bytes.slice() });
          this.offenderSet.add(block.proposer);
        }
      } else if (tx.type === 'order' && this.marketBySymbol.get(tx.order.symbol)?.batch === true && this.validityProblem(tx, this.height) === undefined) {
        deferred.push({ txIndex, item: { accountKey: toHex(tx.account), order: tx.order, nonce: tx.nonce, bytes } });
      } else {
        const receipt = this.execute(tx, block.timestamp);
        receipts[txIndex] = receipt;
        if (receipt.status === 'executed') trades.push(...receipt.trades);
      }
    });
    const batch = this.runBatch(deferred.map((d) => d.item), block.timestamp);
    deferred.forEach((d, i) => (receipts[d.txIndex] = batch.receipts[i]!));
    trades.push(...batch.trades);
    return { receipts, trades, evidence };
  }

  /**
   * One transaction (decode, signature, cluster, nonce, expiry, then the action) at the current
   * height (the last block's, which `apply` sets before it runs the block's transactions). When
   * rejected it changes nothing but, for the reasons RejectReason lists, the nonce it used up.
   */
  applyTransaction(bytes: Uint8Array, ts: number): TxReceipt {
    const tx = this.authenticate(bytes);
    return 'status' in tx ? tx : this.execute(tx, ts);
  }

  /** The decoded transaction, or the receipt that rejects it (malformed, bad signature). */
  private authenticate(bytes: Uint8Array): Transaction | TxReceipt {
    // Admitted here before: decoded and verified then, so neither is done twice.
    let tx = this.takeVerified(bytes);
    if (tx === undefined) {
      let ahead = this.takeDecoded(bytes);
      if (ahead === undefined) {
        try {
          ahead = { tx: decodeTransaction(bytes), body: undefined };
        } catch (e) {
          return this.reject('MALFORMED', e instanceof Error ? e.message : String(e));
        }
      }
      tx = ahead.tx;
      if (!this.signatureValid(tx, ahead.body)) return this.reject('BAD_SIGNATURE', 'the signature does not verify');
    }
    return tx;
  }

  /**
   * What keeps `tx` from executing at `height` whatever the state: another cluster, expired, or an
   * expiry too far ahead. (A transaction carries its own validity under its signature.)
   */
  private validityProblem(tx: Transaction, height: number): { reason: 'WRONG_CLUSTER' | 'EXPIRED' | 'EXPIRY_TOO_FAR'; detail: string } | undefined {
    if (!bytesEqual(tx.cluster, this.cluster)) return { reason: 'WRONG_CLUSTER', detail: `signed for cluster ${toHex(tx.cluster).slice(0, 16)}, this is ${toHex(this.cluster).slice(0, 16)}` };
    if (height > tx.expiresAt) return { reason: 'EXPIRED', detail: `valid up to height ${tx.expiresAt}, the block is at ${height}` };
    if (tx.expiresAt > height + this.maxLifetime) return { reason: 'EXPIRY_TOO_FAR', detail: `expires at height ${tx.expiresAt}, more than ${this.maxLifetime} blocks past ${height}` };
    return undefined;
  }

  /**
   * An authenticated transaction: cluster, nonce, expiry, then the action. Wrong cluster, stale
   * nonce, expired: refused, nothing changes (the bytes can never execute here anyway). Any other
   * outcome uses the nonce up, executed or rejected (see `consumeNonce`).
   */
  private execute(tx: Transaction, ts: number): TxReceipt {
    const accountKey = toHex(tx.account);
    if (!bytesEqual(tx.cluster, this.cluster)) return this.refuse(this.validityProblem(tx, this.height)!, accountKey);
    if (tx.type === 'transfer') return this.transfer(tx, accountKey);
    const existing = this.accounts.get(accountKey);
    if (existing !== undefined && tx.nonce <= existing.nonce) return this.reject('STALE_NONCE', `nonce ${tx.nonce} is not above ${existing.nonce}`, accountKey);
    const invalid = this.validityProblem(tx, this.height);
    let receipt: TxReceipt;
    if (invalid?.reason === 'EXPIRED') return this.refuse(invalid, accountKey);
    else if (invalid !== undefined) receipt = this.refuse(invalid, accountKey);
    else receipt = this.act(accountKey, tx.order, ts);
    this.consumeNonce(accountKey, tx.nonce);
    return receipt;
  }

  /**
   * A signed order is used up once final, executed or rejected: its bytes cannot be finalized
   * again later, when they might execute without the signer meaning it now (after a deposit, say).
   * An account unknown so far is created for it, holding nothing but the nonce: a replay must find
   * the nonce whatever happened since (see the README on the choice).
   */
  private consumeNonce(accountKey: string, nonce: number): void {
    const acct = this.account(accountKey);
    if (acct.nonce < nonce) {
      acct.nonce = nonce;
      this.dirtyAccounts.add(acct);
    }
  }

  private refuse(problem: { reason: RejectReason; detail: string }, accountKey: string): TxReceipt {
    return this.reject(problem.reason, problem.detail, accountKey);
  }

  /**
   * An order action for an account, without signature or nonce: the state
   * machine's core, which `applyTransaction` calls after authenticating, and
   * the direct path of a simulation that does not model clients' keys.
   */
  act(accountKey: string, order: OrderAction, ts: number): TxReceipt {
    const market = this.marketBySymbol.get(order.symbol);
    if (market === undefined) return this.reject('UNKNOWN_SYMBOL', `no market ${order.symbol}`, accountKey);
    // In a batch market a place alone is an auction of one order (a block's orders clear together: actBatch, apply).
    if (market.batch && order.action !== 'cancel') return this.runBatch([{ accountKey, order }], ts).receipts[0]!;
    return this.actNow(accountKey, market, order, ts);
  }

  /** An action executed at once: any cancel; a place or modify in a continuous market. */
  private actNow(accountKey: string, market: Market, order: OrderAction, ts: number): TxReceipt {
    const acct = this.accounts.get(accountKey);
    if (order.action === 'place') return this.place(accountKey, acct, market, order, ts);
    const id = acct?.live.get(order.clientId);
    if (acct === undefined || id === undefined) return this.reject('UNKNOWN_ORDER', `account has no live order ${order.clientId}`, accountKey);
    const rec = this.orders.get(id)!;
    if (order.action === 'cancel') return this.run(acct, () => this.engine.cancel({ id, symbol: market.symbol, seq: this.commands + 1, ts }), ts, market, id);
    // modify: a buy's reservation follows its new price and size.
    if (order.size > market.maxOrderSize) return this.reject('SIZE_LIMIT', `size ${order.size} is above the market's maximum ${market.maxOrderSize}`, accountKey);
    const need = rec.side === 'buy' ? this.buyCost(order.price, order.size) : BigInt(order.size);
    if (need === undefined) return this.reject('ORDER_REJECTED', 'price and size must be positive safe integers', accountKey);
    const asset = rec.side === 'buy' ? market.quoteIndex : market.baseIndex;
    const extra = need - rec.reserved;
    if (extra > acct.available[asset]!) return this.reject('INSUFFICIENT_FUNDS', `needs ${extra} more ${this.config.assets[asset]} reserved, ${acct.available[asset]} available`, accountKey);
    if (extra > 0n) this.hold(acct, rec, asset, extra);
    const events = this.engine.modify({ id, symbol: market.symbol, price: order.price, size: order.size, seq: this.commands + 1, ts });
    if (events[0]?.type === 'rejected') {
      if (extra > 0n) this.hold(acct, rec, asset, -extra);
      return this.reject('ORDER_REJECTED', `${events[0].reason}: ${events[0].message}`, accountKey);
    }
    if (rec.side === 'buy') rec.price = order.price;
    this.dirtyAccounts.add(acct);
    return this.finish(acct, events, ts, market, id);
  }

  // ---- batch markets ---------------------------------------------------------------------

  /**
   * Order actions without signatures or nonces (a simulation's direct path), applied as one
   * block's worth: continuous-market ones at once in list order, then the batch-market ones
   * together as `apply` does with a block's transactions. Receipts in list order; for the batch
   * part, their content does not depend on the list's order across accounts (an account's own
   * actions keep their list order, as its nonces would).
   */
  actBatch(actions: ReadonlyArray<{ readonly account: string; readonly order: OrderAction }>, ts: number): { receipts: TxReceipt[]; trades: Trade[] } {
    const receipts: TxReceipt[] = [];
    const trades: Trade[] = [];
    const deferred: number[] = [];
    actions.forEach((a, i) => {
      if (this.marketBySymbol.get(a.order.symbol)?.batch === true) deferred.push(i);
      else {
        const r = this.act(a.account, a.order, ts);
        receipts[i] = r;
        if (r.status === 'executed') trades.push(...r.trades);
      }
    });
    const batch = this.runBatch(deferred.map((i) => ({ accountKey: actions[i]!.account, order: actions[i]!.order })), ts);
    deferred.forEach((i, k) => (receipts[i] = batch.receipts[k]!));
    trades.push(...batch.trades);
    return { receipts, trades };
  }

  /**
   * A block's actions on batch markets, whatever their order in `items`:
   * 1. sorted by (account, nonce, bytes), so that nothing below depends on the block's order: an
   *    account's own actions run in its nonce order; a nonce not above the account's last (or
   *    used twice) is STALE_NONCE;
   * 2. every cancel (an order placed in the same block is not live yet: UNKNOWN_ORDER);
   *    a modify is refused (UNSUPPORTED_ORDER: cancel and place in one block instead);
   * 3. every place: the checks and reservation of a continuous place (funds in account order, an
   *    account's orders in nonce order), with an order id each; stops, FOK and self-trade
   *    prevention are refused (UNSUPPORTED_ORDER);
   * 4. per market (configuration order), one auction of its new orders with its book
   *    (MatchingEngine.auction); the lots left by pro-rata rounding go by a hash of
   *    (symbol, ts, order id); trades settle at the clearing price, the block's orders paying the
   *    taker fee, orders resting from earlier blocks the maker fee;
   * 5. nonces recorded.
   * Receipts align with `items`; a trade is in its taker's receipt (the newer order of the pair),
   * with the events of a resting order it finished. Trades: auction order, market by market.
   */
  private runBatch(items: readonly BatchItem[], ts: number): { receipts: TxReceipt[]; trades: Trade[] } {
    const receipts: TxReceipt[] = [];
    const order = items.map((_, i) => i).sort((a, b) => compareItems(items[a]!, items[b]!) || a - b);
    // 1. Nonces.
    const seen = new Map<string, number>();
    const valid: number[] = [];
    for (const i of order) {
      const { accountKey, nonce } = items[i]!;
      if (nonce !== undefined) {
        const last = Math.max(this.accounts.get(accountKey)?.nonce ?? 0, seen.get(accountKey) ?? 0);
        if (nonce <= last) {
          receipts[i] = this.reject('STALE_NONCE', `nonce ${nonce} is not above ${last}`, accountKey);
          continue;
        }
        seen.set(accountKey, nonce);
      }
      valid.push(i);
    }
    // 2. Cancels and modifies.
    for (const i of valid) {
      const { accountKey, order: o } = items[i]!;
      if (o.action === 'cancel') receipts[i] = this.actNow(accountKey, this.marketBySymbol.get(o.symbol)!, o, ts);
      else if (o.action === 'modify') receipts[i] = this.reject('UNSUPPORTED_ORDER', `${o.symbol} clears in batches: cancel and place again (in one block) instead of modify`, accountKey);
    }
    // 3. Places.
    const collected: Collected[] = [];
    for (const i of valid) {
      const { accountKey, order: o } = items[i]!;
      if (o.action !== 'place') continue;
      const c = this.collect(i, accountKey, this.marketBySymbol.get(o.symbol)!, o, ts);
      if ('status' in c) receipts[i] = c;
      else collected.push(c);
    }
    // 4. One auction per market.
    const trades: Trade[] = [];
    for (const market of this.markets) {
      const mine = collected.filter((c) => c.market === market);
      if (mine.length === 0) continue;
      trades.push(...this.clear(market, mine, ts, receipts));
    }
    // 5. Nonces used up, as `execute` does for every authenticated order.
    for (const [key, nonce] of seen) this.consumeNonce(key, nonce);
    return { receipts, trades };
  }

  /** A batch-market place: checked and funded now (or rejected), executed by the block's auction. */
  private collect(item: number, accountKey: string, market: Market, p: PlaceAction, ts: number): TxReceipt | Collected {
    const unsupported = p.type === 'stop-limit' || p.type === 'stop-market' ? `${p.type} orders` : p.tif === 'FOK' ? 'FOK orders' : p.stp !== 'none' ? 'self-trade prevention' : undefined;
    if (unsupported !== undefined) return this.reject('UNSUPPORTED_ORDER', `${market.symbol} clears in batches: ${unsupported} are not supported there`, accountKey);
    const existing = this.accounts.get(accountKey);
    const prepared = this.prepare(accountKey, existing, market, p, ts);
    if ('status' in prepared) return prepared;
    const { asset, need, price } = prepared;
    const cmd = { ...prepared.cmd, seq: this.commands + 1 };
    const refused = this.engine.auctionRejection(cmd);
    if (refused !== undefined) return this.reject('ORDER_REJECTED', `${refused.reason}: ${refused.message}`, accountKey);
    const acct = existing ?? this.account(accountKey);
    const rec: OrderRecord = { id: cmd.id, owner: acct.owner, clientId: p.clientId, market: market.index, side: p.side, price, reserved: 0n };
    this.nextOrderId++;
    this.orders.set(rec.id, rec);
    acct.live.set(p.clientId, rec.id);
    this.hold(acct, rec, asset, need);
    this.commands++;
    this.counters.executed++;
    this.booksHash = undefined;
    return { item, market, cmd, acct };
  }

  /** Runs one market's auction, settles it, and writes the receipts of its orders. */
  private clear(market: Market, mine: readonly Collected[], ts: number, receipts: TxReceipt[]): Trade[] {
    const byId = new Map(mine.map((c) => [c.cmd.id, c]));
    const fresh = new Set(byId.keys());
    const salt = encode(codec.record({ symbol: codec.string(32), ts: UINT }), { symbol: market.symbol, ts });
    const result = this.engine.auction({
      symbol: market.symbol,
      seq: this.commands,
      ts,
      orders: mine.map((c) => c.cmd),
      remainderRank: (id) => remainderRank(salt, id),
    });
    this.booksHash = undefined;
    const out = new Map<Collected, { events: EngineEvent[]; trades: Trade[] }>(mine.map((c) => [c, { events: [], trades: [] }]));
    // Whose receipt: an order of this block its own; a trade its taker's; a resting order's end its last taker's.
    const lastTaker = new Map<number, Collected>();
    const touched = new Set<number>();
    const trades: Trade[] = [];
    for (const e of result.events) {
      if (e.type === 'rejected') throw new Error(`exchange invariant broken: the auction refused checked order ${e.orderId} (${e.reason})`);
      if (e.type === 'trade') {
        const taker = byId.get(e.takerId) ?? byId.get(e.makerId)!;
        const trade = this.settle(e, market, ts, fresh);
        trades.push(trade);
        out.get(taker)!.events.push(e);
        out.get(taker)!.trades.push(trade);
        lastTaker.set(e.makerId, taker).set(e.takerId, taker);
        touched.add(e.makerId).add(e.takerId);
        continue;
      }
      const owner = byId.get(e.orderId) ?? lastTaker.get(e.orderId);
      if (owner === undefined) throw new Error(`exchange invariant broken: auction event for order ${e.orderId} belongs to no receipt`);
      out.get(owner)!.events.push(e);
      touched.add(e.orderId);
    }
    for (const id of touched) this.reconcile(id);
    for (const [c, { events, trades: mineTrades }] of out) {
      this.dirtyAccounts.add(c.acct);
      receipts[c.item] = { status: 'executed', account: c.acct.key, orderId: c.cmd.id, events, trades: mineTrades };
    }
    return trades;
  }

  // ---- queries ---------------------------------------------------------------------------

  /**
   * The commitment to the whole state (everything the snapshot holds): equal states, equal
   * roots. Costs O(accounts changed x log accounts) plus a hash of the books if they changed,
   * not a pass over every account.
   */
  stateRoot(): Uint8Array {
    return stateRootOf(this.stateOpening());
  }

  /** The four parts the current state root hashes (see proofs.ts): what every proof is checked against. */
  /** Every market's book as the matching engine's snapshot bytes: what the opening's `books` part hashes (BOOKS_DOMAIN). */
  booksSnapshot(): Uint8Array {
    return this.engine.snapshot();
  }

  stateOpening(): StateOpening {
    if (this.dirtyAccounts.size > 0) {
      const changed = [...this.dirtyAccounts].sort((a, b) => a.owner - b.owner);
      this.dirtyAccounts.clear();
      // Accounts are created in owner order and marked on creation, so new ones append in order.
      for (const a of changed) {
        const leaf = this.accountLeaf(a);
        if (a.owner === this.accountTree.size) this.accountTree.push(leaf);
        else this.accountTree.set(a.owner, leaf);
      }
    }
    this.booksHash ??= this.engine.withSnapshot((bytes) => hash(BOOKS_DOMAIN, bytes));
    const header = encode(RootHeaderCodec, { magic: MAGIC, height: this.height, commands: this.commands, nextOrderId: this.nextOrderId, operatorNonce: this.operatorNonce, fees: this.fees, offenders: this.offenders });
    return { header, accounts: this.accountTree.root(), books: this.booksHash.slice(), receipts: this.receiptsRoot.slice() };
  }

  /**
   * The proof of an account (64 hex digits or 32 bytes) against the current state root: its leaf
   * (nonce, balances, live orders with what remains of each) and the leaf's Merkle path, with the
   * opening. undefined for an account the state does not hold. Check it with verifyAccountProof.
   */
  accountProof(account: Uint8Array | string): AccountProof | undefined {
    const acct = this.accounts.get(typeof account === 'string' ? account.toLowerCase() : toHex(account));
    if (acct === undefined) return undefined;
    const opening = this.stateOpening();
    return { opening, leaf: this.accountLeaf(acct), proof: this.accountTree.proof(acct.owner) };
  }

  /** The height of the last block applied (0 before any). */
  get lastHeight(): number {
    return this.height;
  }

  private accountLeaf(a: Account): Uint8Array {
    const orders = [...a.live]
      .sort((x, y) => x[0] - y[0])
      .map(([, id]) => {
        const o = this.orders.get(id)!;
        return { clientId: o.clientId, id: o.id, market: o.market, side: o.side, price: o.price, reserved: o.reserved, remaining: this.engine.order(id)?.remaining ?? 0 };
      });
    return encode(AccountLeafCodec, { key: fromHex(a.key), nonce: a.nonce, available: a.available, reserved: a.reserved, orders });
  }

  accountView(account: Uint8Array | string): AccountView | undefined {
    const acct = this.accounts.get(typeof account === 'string' ? account : toHex(account));
    if (acct === undefined) return undefined;
    const balances: Record<string, { available: bigint; reserved: bigint }> = {};
    this.config.assets.forEach((a, i) => (balances[a] = { available: acct.available[i]!, reserved: acct.reserved[i]! }));
    return { nonce: acct.nonce, balances, openOrders: new Map(acct.live) };
  }

  /** An account's total (available + reserved) of `asset`; 0n for an unknown account. Cheap: for agents polling their position. */
  holding(accountKey: string, asset: string): bigint {
    const acct = this.accounts.get(accountKey);
    const i = this.assetIndex.get(asset);
    if (i === undefined) throw new ExchangeError('INVALID_ARGUMENT', `unknown asset ${asset}`);
    return acct === undefined ? 0n : acct.available[i]! + acct.reserved[i]!;
  }

  /** An account's live orders, client id -> engine order id (a read-only view, not a copy). */
  openOrders(accountKey: string): ReadonlyMap<number, number> {
    return this.accounts.get(accountKey)?.live ?? EMPTY;
  }

  /** Balances of the fee account (fees collected), by asset. */
  feeBalances(): Record<string, bigint> {
    return Object.fromEntries(this.config.assets.map((a, i) => [a, this.fees[i]!]));
  }

  /** The total of `asset` held by every account (available + reserved) and the fee account. */
  totalOf(asset: string): bigint {
    const i = this.assetIndex.get(asset);
    if (i === undefined) throw new ExchangeError('INVALID_ARGUMENT', `unknown asset ${asset}`);
    let sum = this.fees[i]!;
    for (const a of this.byOwner) sum += a.available[i]! + a.reserved[i]!;
    return sum;
  }

  /** Accounts as hex public keys, in order of first appearance. */
  get accountKeys(): string[] {
    return this.byOwner.map((a) => a.key);
  }

  /** Block proposers shown to have included forged or malformed transactions. */
  get offenders(): number[] {
    return [...this.offenderSet].sort((a, b) => a - b);
  }

  /** The matching engine's market data (L1, L2, L3, last trade) for read-only use. */
  get book(): Pick<MatchingEngine, 'l1' | 'l2' | 'l3' | 'lastTrade' | 'order'> {
    return this.engine;
  }

  // ---- snapshot --------------------------------------------------------------------------

  /** Canonical bytes of the whole state (not the counters, which are metrics). */
  snapshot(): Uint8Array {
    const orders = [...this.orders.values()].sort((a, b) => a.id - b.id);
    return encode(StateCodec, {
      magic: MAGIC,
      commands: this.commands,
      nextOrderId: this.nextOrderId,
      operatorNonce: this.operatorNonce,
      fees: this.fees,
      accounts: this.byOwner.map((a) => ({
        key: fromHex(a.key),
        nonce: a.nonce,
        available: a.available,
        reserved: a.reserved,
        live: [...a.live].sort((x, y) => x[0] - y[0]).map(([clientId, id]) => ({ clientId, id })),
      })),
      orders: orders.map((o) => ({ id: o.id, owner: o.owner, clientId: o.clientId, market: o.market, side: o.side, price: o.price, reserved: o.reserved })),
      offenders: this.offenders,
      engine: this.engine.snapshot(),
      height: this.height,
      receipts: this.receiptsRoot,
    });
  }

  /** The exchange a snapshot describes, under the same configuration. Throws ExchangeError INVALID_SNAPSHOT on bytes that are not one consistent state. */
  static restore(config: ExchangeConfig, scheme: SignatureScheme, bytes: Uint8Array): Exchange {
    const bad = (m: string): never => {
      throw new ExchangeError('INVALID_SNAPSHOT', m);
    };
    let s: codec.Infer<typeof StateCodec>;
    try {
      s = decode(StateCodec, bytes);
    } catch (e) {
      return bad(e instanceof Error ? e.message : String(e));
    }
    if (s.magic !== MAGIC) bad(`not an exchange snapshot (${JSON.stringify(s.magic)})`);
    const x = new Exchange({ ...config, genesis: [] }, scheme);
    const nAssets = config.assets.length;
    const amounts = (a: bigint[], what: string) => {
      if (a.length !== nAssets) bad(`${what}: ${a.length} balances for ${nAssets} assets`);
      return a;
    };
    try {
      x.engine = MatchingEngine.restore(s.engine);
    } catch (e) {
      bad(`engine: ${e instanceof Error ? e.message : String(e)}`);
    }
    x.commands = s.commands;
    x.nextOrderId = s.nextOrderId;
    x.operatorNonce = s.operatorNonce;
    x.height = s.height;
    x.receiptsRoot = s.receipts;
    x.fees = amounts(s.fees, 'fees');
    for (const a of s.accounts) {
      const key = toHex(a.key);
      if (x.accounts.has(key)) bad(`account ${key} appears twice`);
      const acct: Account = { key, owner: x.byOwner.length, nonce: a.nonce, available: amounts(a.available, key), reserved: amounts(a.reserved, key), live: new Map(a.live.map((l) => [l.clientId, l.id])) };
      x.accounts.set(key, acct);
      x.byOwner.push(acct);
      x.dirtyAccounts.add(acct);
    }
    for (const o of s.orders) {
      if (o.market >= x.markets.length || o.owner >= x.byOwner.length) bad(`order ${o.id} names an unknown market or owner`);
      if (o.id >= x.nextOrderId || x.orders.has(o.id)) bad(`order id ${o.id} is not below the next id or appears twice`);
      const live = x.engine.order(o.id);
      if (live === undefined || live.owner !== o.owner || live.side !== o.side || live.symbol !== x.markets[o.market]!.symbol) bad(`order ${o.id} does not match the book`);
      if (x.byOwner[o.owner]!.live.get(o.clientId) !== o.id) bad(`order ${o.id} is not the account's live order ${o.clientId}`);
      x.orders.set(o.id, { ...o });
    }
    if (x.engine.liveOrders !== x.orders.size) bad('the book and the order records disagree');
    for (const acct of x.byOwner) for (const id of acct.live.values()) if (x.orders.get(id)?.owner !== acct.owner) bad(`account ${acct.key} lists order ${id} it does not own`);
    // Reservations are derived data: they must add up exactly.
    const reserved = x.byOwner.map(() => config.assets.map(() => 0n));
    for (const o of x.orders.values()) {
      const m = x.markets[o.market]!;
      reserved[o.owner]![o.side === 'buy' ? m.quoteIndex : m.baseIndex]! += o.reserved;
    }
    x.byOwner.forEach((a, i) => a.reserved.forEach((r, j) => r !== reserved[i]![j] && bad(`account ${a.key}: reserved ${r} but its orders hold ${reserved[i]![j]}`)));
    for (const o of s.offenders) x.offenderSet.add(o);
    if (!bytesEqual(x.snapshot(), bytes)) bad('not in canonical order');
    return x;
  }

  // ---- internals -------------------------------------------------------------------------

  private account(key: string): Account {
    let acct = this.accounts.get(key);
    if (acct === undefined) {
      acct = { key, owner: this.byOwner.length, nonce: 0, available: this.config.assets.map(() => 0n), reserved: this.config.assets.map(() => 0n), live: new Map() };
      this.accounts.set(key, acct);
      this.byOwner.push(acct);
      this.dirtyAccounts.add(acct);
    }
    return acct;
  }

  private signatureValid(tx: Transaction, body?: { readonly domain: DomainTag; readonly bytes: Uint8Array }): boolean {
    const key = tx.type === 'order' ? tx.account : this.config.operator;
    if (key === undefined) return false;
    const { domain, bytes } = body ?? signedBody(tx);
    this.counters.signatureChecks++;
    return this.scheme.verify(key, domain, bytes, tx.signature);
  }

  /**
   * The signature check admitting or executing `bytes` makes (the signer's key, the domain, the
   * signed body, the signature), for a runtime that makes it ahead, elsewhere (a worker pool), and
   * gives this exchange a scheme that remembers the verdicts. Undefined when there is none to make:
   * checked here before, or the bytes do not decode, or name no key. The decoding is kept for the
   * admit or execution that follows (bounded), so the bytes are decoded once.
   */
  signatureCheckOf(bytes: Uint8Array): { publicKey: Uint8Array; domain: DomainTag; payload: Uint8Array; signature: Uint8Array } | undefined {
    if (this.findVerified(bytes) !== undefined) return undefined;
    let tx: Transaction;
    try {
      tx = decodeTransaction(bytes);
    } catch {
      return undefined;
    }
    const publicKey = tx.type === 'order' ? tx.account : this.config.operator;
    if (publicKey === undefined) return undefined;
    const body = signedBody(tx);
    if (this.decodedCount >= MAX_DECODED_AHEAD) {
      this.decoded.clear();
      this.decodedCount = 0;
    }
    const k = tailKey(bytes);
    const entry = { bytes: bytes.slice(), tx, body };
    const list = this.decoded.get(k);
    if (list === undefined) this.decoded.set(k, [entry]);
    else list.push(entry);
    this.decodedCount++;
    return { publicKey, domain: body.domain, payload: body.bytes, signature: tx.signature };
  }

  /** What signatureCheckOf decoded for exactly these bytes, if anything (and forgets it). */
  private takeDecoded(bytes: Uint8Array): { tx: Transaction; body: { domain: DomainTag; bytes: Uint8Array } | undefined } | undefined {
    if (this.decodedCount === 0) return undefined;
    const k = tailKey(bytes);
    const list = this.decoded.get(k);
    if (list === undefined) return undefined;
    const i = list.findIndex((e) => bytesEqual(e.bytes, bytes));
    if (i < 0) return undefined;
    const { tx, body } = list[i]!;
    list.splice(i, 1);
    if (list.length === 0) this.decoded.delete(k);
    this.decodedCount--;
    return { tx, body };
  }

  private rememberVerified(bytes: Uint8Array, tx: Transaction): void {
    if (this.preverifiedCount >= 100_000) {
      this.preverified.clear();
      this.preverifiedCount = 0;
    }
    const k = tailKey(bytes);
    const list = this.preverified.get(k);
    const entry = { bytes: bytes.slice(), tx };
    if (list === undefined) this.preverified.set(k, [entry]);
    else list.push(entry);
    this.preverifiedCount++;
  }

  private findVerified(bytes: Uint8Array): Transaction | undefined {
    const list = this.preverified.get(tailKey(bytes));
    return list?.find((e) => bytesEqual(e.bytes, bytes))?.tx;
  }

  /** The decoded transaction if `bytes` were admitted before (and forgets them: a transaction executes once). */
  private takeVerified(bytes: Uint8Array): Transaction | undefined {
    const k = tailKey(bytes);
    const list = this.preverified.get(k);
    if (list === undefined) return undefined;
    const i = list.findIndex((e) => bytesEqual(e.bytes, bytes));
    if (i < 0) return undefined;
    const { tx } = list[i]!;
    list.splice(i, 1);
    if (list.length === 0) this.preverified.delete(k);
    this.preverifiedCount--;
    return tx;
  }

  private reject(reason: RejectReason, detail: string, account?: string): TxReceipt {
    this.counters.rejected[reason] = (this.counters.rejected[reason] ?? 0) + 1;
    return account === undefined ? { status: 'rejected', reason, detail } : { status: 'rejected', reason, detail, account };
  }

  private transfer(tx: Extract<Transaction, { type: 'transfer' }>, accountKey: string): TxReceipt {
    if (tx.nonce <= this.operatorNonce) return this.reject('STALE_NONCE', `operator nonce ${tx.nonce} is not above ${this.operatorNonce}`, accountKey);
    const invalid = this.validityProblem(tx, this.height);
    if (invalid?.reason === 'EXPIRED') return this.refuse(invalid, accountKey);
    const receipt = invalid === undefined ? this.transferChecked(tx, accountKey) : this.refuse(invalid, accountKey);
    // Used up once final, executed or rejected, as an order is: a rejected withdrawal's bytes must
    // not execute later, when the account can cover them.
    this.operatorNonce = tx.nonce;
    return receipt;
  }

  private transferChecked(tx: Extract<Transaction, { type: 'transfer' }>, accountKey: string): TxReceipt {
    const asset = this.assetIndex.get(tx.asset);
    if (asset === undefined) return this.reject('UNKNOWN_ASSET', `no asset ${tx.asset}`, accountKey);
    const existing = this.accounts.get(accountKey);
    if (tx.kind === 'deposit') {
      const have = existing?.available[asset] ?? 0n;
      if (have + tx.amount > MAX_AMOUNT) return this.reject('SIZE_LIMIT', 'the balance would exceed 2^96', accountKey);
      const acct = this.account(accountKey);
      acct.available[asset]! += tx.amount;
      this.dirtyAccounts.add(acct);
    } else {
      const have = existing?.available[asset] ?? 0n;
      if (existing === undefined || have < tx.amount) return this.reject('INSUFFICIENT_FUNDS', `withdrawal of ${tx.amount} ${tx.asset}, ${have} available`, accountKey);
      existing.available[asset]! -= tx.amount;
      this.dirtyAccounts.add(existing);
    }
    this.counters.executed++;
    return { status: 'executed', account: accountKey, events: [], trades: [] };
  }

  /** Quote needed to buy `size` at `price`, fee included; undefined for non-positive or unsafe inputs. */
  private buyCost(price: number, size: number): bigint | undefined {
    if (!Number.isSafeInteger(price) || !Number.isSafeInteger(size) || price <= 0 || size <= 0) return undefined;
    const notional = BigInt(price) * BigInt(size);
    return notional + (notional * this.reserveBps) / BPS;
  }

  private hold(acct: Account, rec: OrderRecord, asset: number, amount: bigint): void {
    acct.available[asset]! -= amount;
    acct.reserved[asset]! += amount;
    rec.reserved += amount;
    this.dirtyAccounts.add(acct);
  }

  private place(accountKey: string, existing: Account | undefined, market: Market, p: PlaceAction, ts: number): TxReceipt {
    const prepared = this.prepare(accountKey, existing, market, p, ts);
    if ('status' in prepared) return prepared;
    const { cmd, asset, need, price } = prepared;
    // The engine checks ticks, lots and combinations; a refusal there must leave no trace here,
    // so the account is created and funds held only once it accepted.
    const events = this.engine.place(cmd);
    if (events[0]?.type === 'rejected') return this.reject('ORDER_REJECTED', `${events[0].reason}: ${events[0].message}`, accountKey);
    const acct = existing ?? this.account(accountKey);
    const rec: OrderRecord = { id: cmd.id, owner: acct.owner, clientId: p.clientId, market: market.index, side: p.side, price, reserved: 0n };
    this.nextOrderId++;
    this.orders.set(rec.id, rec);
    acct.live.set(p.clientId, rec.id);
    this.hold(acct, rec, asset, need);
    return this.finish(acct, events, ts, market, rec.id);
  }

  /** The exchange's checks of a place action and the engine command it becomes, with the funds to hold; or the rejection. */
  private prepare(accountKey: string, existing: Account | undefined, market: Market, p: PlaceAction, ts: number): TxReceipt | { cmd: PlaceOrder; asset: number; need: bigint; price: number } {
    if (p.size > market.maxOrderSize) return this.reject('SIZE_LIMIT', `size ${p.size} is above the market's maximum ${market.maxOrderSize}`, accountKey);
    if (existing?.live.has(p.clientId)) return this.reject('DUPLICATE_CLIENT_ID', `client order id ${p.clientId} is live`, accountKey);
    if (p.type === 'stop-market' && p.side === 'buy') return this.reject('UNSUPPORTED_ORDER', 'a stop-market buy has no price bound to reserve funds at; use a stop-limit', accountKey);
    const isMarket = p.type === 'market' || p.type === 'stop-market';
    const withPrice = p.type === 'limit' || p.type === 'stop-limit';
    if (!withPrice && p.price !== 0) return this.reject('UNSUPPORTED_ORDER', `${p.type} orders take no price`, accountKey);
    if (p.type !== 'stop-limit' && p.type !== 'stop-market' && p.stopPrice !== 0) return this.reject('UNSUPPORTED_ORDER', `${p.type} orders take no stop price`, accountKey);
    // What the order can ever spend: a buy at its limit (a market buy at its protection bound), a sell its size.
    let price = p.price;
    if (p.type === 'market' && p.side === 'buy') {
      const ask = this.engine.l1(market.symbol).askPrice;
      price = ask === undefined ? 0 : ask + market.protection * market.tickSize;
    }
    const asset = p.side === 'buy' ? market.quoteIndex : market.baseIndex;
    let need: bigint;
    if (p.side === 'sell') need = BigInt(p.size);
    else if (price === 0) need = 0n; // a market buy into an empty book: the engine cancels it
    else {
      const cost = this.buyCost(price, p.size);
      if (cost === undefined) return this.reject('ORDER_REJECTED', 'INVALID_PRICE: price and size must be positive safe integers', accountKey);
      need = cost;
    }
    const have = existing?.available[asset] ?? 0n;
    if (need > have) return this.reject('INSUFFICIENT_FUNDS', `needs ${need} ${this.config.assets[asset]} reserved, ${have} available`, accountKey);
    const cmd: PlaceOrder = {
      id: this.nextOrderId,
      owner: existing?.owner ?? this.byOwner.length,
      symbol: market.symbol,
      side: p.side,
      type: p.type,
      size: p.size,
      tif: p.tif,
      stp: p.stp,
      seq: this.commands + 1,
      ts,
      ...(withPrice ? { price: p.price } : {}),
      ...(p.type === 'stop-limit' || p.type === 'stop-market' ? { stopPrice: p.stopPrice } : {}),
      ...(p.postOnly ? { postOnly: true } : {}),
      ...(p.visibleSize !== 0 ? { visibleSize: p.visibleSize } : {}),
      ...(isMarket ? { protectionTicks: market.protection } : {}),
    };
    return { cmd, asset, need, price };
  }

  private run(acct: Account, command: () => EngineEvent[], ts: number, market: Market, orderId: number): TxReceipt {
    const events = command();
    if (events[0]?.type === 'rejected') return this.reject('ORDER_REJECTED', `${events[0].reason}: ${events[0].message}`, acct.key);
    return this.finish(acct, events, ts, market, orderId);
  }

  /** Settles the trades of an accepted command, then brings every touched order's reservation to what it still needs. */
  private finish(acct: Account, events: readonly EngineEvent[], ts: number, market: Market, orderId: number): TxReceipt {
    this.commands++;
    this.counters.executed++;
    this.booksHash = undefined;
    this.dirtyAccounts.add(acct);
    const trades: Trade[] = [];
    const touched = new Set<number>();
    for (const e of events) {
      if (e.type === 'trade') {
        trades.push(this.settle(e, market, ts));
        touched.add(e.makerId).add(e.takerId);
      } else if (e.type !== 'rejected') touched.add(e.orderId);
    }
    for (const id of touched) this.reconcile(id);
    return { status: 'executed', account: acct.key, orderId, events, trades };
  }

  /** Settles one trade; `fresh` (batch): the orders of this block, which pay the taker fee (the others the maker fee). */
  private settle(t: TradeEvent, market: Market, ts: number, fresh?: ReadonlySet<number>): Trade {
    const buyId = t.aggressor === 'buy' ? t.takerId : t.makerId;
    const sellId = t.aggressor === 'buy' ? t.makerId : t.takerId;
    const buy = this.orders.get(buyId)!;
    const sell = this.orders.get(sellId)!;
    const buyer = this.byOwner[buy.owner]!;
    const seller = this.byOwner[sell.owner]!;
    const notional = BigInt(t.price) * BigInt(t.size);
    const buyerTakes = fresh === undefined ? t.aggressor === 'buy' : fresh.has(buyId);
    const sellerTakes = fresh === undefined ? t.aggressor === 'sell' : fresh.has(sellId);
    const buyerFee = (notional * (buyerTakes ? this.takerBps : this.makerBps)) / BPS;
    const sellerFee = (notional * (sellerTakes ? this.takerBps : this.makerBps)) / BPS;
    const q = market.quoteIndex;
    const b = market.baseIndex;
    const paid = notional + buyerFee;
    // Reservations were made at a price at or above the trade's and with the larger fee rate,
    // so they always cover the fill; anything else is a bug, not a market event.
    if (buy.reserved < paid || sell.reserved < BigInt(t.size)) throw new Error(`exchange invariant broken: reservation short for trade ${t.makerId}/${t.takerId}`);
    buy.reserved -= paid;
    buyer.reserved[q]! -= paid;
    buyer.available[b]! += BigInt(t.size);
    sell.reserved -= BigInt(t.size);
    seller.reserved[b]! -= BigInt(t.size);
    seller.available[q]! += notional - sellerFee;
    this.dirtyAccounts.add(buyer).add(seller);
    this.fees[q]! += buyerFee + sellerFee;
    return { symbol: market.symbol, price: t.price, size: t.size, buyer: buyer.key, seller: seller.key, aggressor: t.aggressor, buyerFee, sellerFee, ts };
  }

  /** Releases what an order no longer needs; forgets it when it left the book. */
  private reconcile(id: number): void {
    const rec = this.orders.get(id);
    if (rec === undefined) return;
    const acct = this.byOwner[rec.owner]!;
    const market = this.markets[rec.market]!;
    const live = this.engine.order(id);
    const asset = rec.side === 'buy' ? market.quoteIndex : market.baseIndex;
    const need = live === undefined ? 0n : rec.side === 'buy' ? (rec.price === 0 ? 0n : this.buyCost(rec.price, live.remaining)!) : BigInt(live.remaining);
    if (need > rec.reserved) throw new Error(`exchange invariant broken: order ${id} needs ${need}, holds ${rec.reserved}`);
    this.hold(acct, rec, asset, need - rec.reserved);
    if (live === undefined) {
      this.orders.delete(id);
      acct.live.delete(rec.clientId);
    }
  }
}

/** Batch items in a canonical order: account, then nonce, then the transaction bytes. */
function compareItems(a: BatchItem, b: BatchItem): number {
  if (a.accountKey !== b.accountKey) return a.accountKey < b.accountKey ? -1 : 1;
  if (a.nonce !== b.nonce) return (a.nonce ?? 0) - (b.nonce ?? 0);
  const x = a.bytes;
  const y = b.bytes;
  if (x === undefined || y === undefined) return 0;
  const n = Math.min(x.length, y.length);
  for (let i = 0; i < n; i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

/** Who gets a lot left by pro-rata rounding first: the first 48 bits of a hash of (symbol, ts, order id). */
function remainderRank(salt: Uint8Array, id: number): number {
  const h = hashParts(REMAINDER_DOMAIN, [salt, encode(UINT, id)]);
  return h[0]! * 2 ** 40 + h[1]! * 2 ** 32 + h[2]! * 2 ** 24 + h[3]! * 2 ** 16 + h[4]! * 2 ** 8 + h[5]!;
}

/** A map key for admitted transactions: their last 16 bytes (a signature's tail for every kind). */
/** Transactions decoded ahead and held for their admission or execution, at most (then it starts over). */
const MAX_DECODED_AHEAD = 65_536;

function tailKey(bytes: Uint8Array): string {
  const from = Math.max(0, bytes.length - 16);
  return String.fromCharCode.apply(null, bytes.subarray(from) as unknown as number[]);
}
