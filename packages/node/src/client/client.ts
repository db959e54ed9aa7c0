// `bftx-replica order`: sign one order with a client key and place it through @bftx/client, which
// trusts only the validator keys (read from the cluster's files): the nonce comes from the
// account's proof, and the receipt is accepted only once it is proven final and attested.
import { readFileSync } from 'node:fs';
import { Client, ClientError, type VerifiedReceipt } from '@bftx/client';
import { createSignatureScheme, fromHex, toHex } from '@bftx/crypto';
import { expiryFrom, placeAction, signOrder, signTransfer, type OrderAction } from '@bftx/exchange';
import { MARKET, type ClusterFiles } from '../cluster-files';
import { ConfigError } from '../config';

export interface OrderRequest {
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly price: number;
  readonly size: number;
  readonly tif: 'GTC' | 'IOC' | 'FOK';
}

/** A receipt as JSON can carry it: fees (bigint) as decimal strings. */
export type ReceiptJson = Omit<VerifiedReceipt, 'trades'> & { readonly trades: ReadonlyArray<Omit<VerifiedReceipt['trades'][number], 'buyerFee' | 'sellerFee'> & { readonly buyerFee: string; readonly sellerFee: string }> };

export interface OrderResult {
  readonly id: string;
  readonly account: string;
  readonly nonce: number;
  /** The height of the block the order was final in (certified). */
  readonly height: number;
  readonly receipt: ReceiptJson;
  readonly finalMs: number;
}

const url = (e: { host: string; port: number }) => `http://${e.host}:${e.port}`;

/** The validator keys of a cluster: from cluster.json, or (files written before they were there) from replica 0's config. */
export function clusterValidators(cluster: ClusterFiles): string[] {
  if (cluster.validators !== undefined) return [...cluster.validators];
  const config = JSON.parse(readFileSync(cluster.replicas[0]!.config, 'utf8')) as { validators: Array<{ publicKey: string }> };
  return config.validators.map((v) => v.publicKey);
}

/** A client of the cluster whose files these are, trusting its validator keys and nothing else. */
export function clusterClient(cluster: ClusterFiles, options: { replicas?: readonly string[] } = {}): Client {
  const protocol = cluster.protocol;
  if (protocol !== 'hotstuff' && protocol !== 'pbft' && protocol !== 'streamlet') throw new ClientError('BAD_OPTIONS', `protocol ${protocol}: the client checks hotstuff, pbft and streamlet certificates`);
  return new Client({ protocol, validators: clusterValidators(cluster), ordering: cluster.ordering ?? 'leader', replicas: options.replicas ?? cluster.replicas.map((r) => url(r.api)), assets: [MARKET.base, MARKET.quote] });
}

/** Where a transaction stands while a command waits for it: signed (a transfer: with which nonce), submitted (which replicas took it), then waiting (seconds so far). */
export type Progress = { readonly stage: 'signed'; readonly nonce: number } | { readonly stage: 'submitted'; readonly id: string; readonly accepted: readonly string[]; readonly refused: ReadonlyArray<{ replica: string; code: string }> } | { readonly stage: 'waiting'; readonly id: string; readonly seconds: number };

/** Submits signed bytes and waits for the proven receipt, telling `onProgress` where it stands (submitted, then once a second). */
async function submitAndWait(client: Client, tx: Uint8Array, timeoutMs: number, onProgress?: (p: Progress) => void): Promise<{ id: string; receipt: VerifiedReceipt }> {
  const { id, accepted, refused } = await client.submit(tx);
  onProgress?.({ stage: 'submitted', id, accepted, refused: refused.map((r) => ({ replica: r.replica, code: r.code })) });
  const began = performance.now();
  const ticker = onProgress === undefined ? undefined : setInterval(() => onProgress({ stage: 'waiting', id, seconds: Math.round((performance.now() - began) / 1000) }), 1000);
  try {
    return { id, receipt: await client.waitForReceipt(id, timeoutMs) };
  } finally {
    if (ticker !== undefined) clearInterval(ticker);
  }
}

function result(id: string, account: string, nonce: number, r: VerifiedReceipt, began: number): OrderResult {
  return {
    id,
    account,
    nonce,
    height: r.certified.height,
    receipt: { ...r, trades: r.trades.map((t) => ({ ...t, buyerFee: String(t.buyerFee), sellerFee: String(t.sellerFee) })) },
    finalMs: Math.round(performance.now() - began),
  };
}

/**
 * A proven answer from every replica at once (each checked against the validator keys alone), the
 * one at the highest certified height: a command that signs the next nonce must not read it from a
 * replica a block behind. Throws the first replica's error when none proves anything.
 */
export async function freshest<T extends { readonly certified: { readonly height: number } }>(cluster: ClusterFiles, ask: (client: Client) => Promise<T>): Promise<T> {
  const answers = await Promise.allSettled(cluster.replicas.map((r) => ask(clusterClient(cluster, { replicas: [url(r.api)] }))));
  const proven = answers.flatMap((a) => (a.status === 'fulfilled' ? [a.value] : []));
  if (proven.length === 0) return ask(clusterClient(cluster)); // its error names every replica's reason
  return proven.reduce((a, b) => (b.certified.height > a.certified.height ? b : a));
}

/** Signs and places one limit order; resolves with its proven receipt. Throws a ClientError naming what failed (and each replica's reason). */
export async function placeOrder(cluster: ClusterFiles, secretKey: Uint8Array, order: OrderRequest, timeoutMs = 30_000, onProgress?: (p: Progress) => void): Promise<OrderResult> {
  // The nonce doubles as the order's client id: unique among this account's orders.
  return sendOrder(cluster, secretKey, (nonce) => placeAction({ symbol: order.symbol, clientId: nonce, side: order.side, price: order.price, size: order.size, tif: order.tif }), timeoutMs, onProgress);
}

/** Signs and sends the cancel of the account's open order `clientId` (for `bftx-replica order`, its nonce); resolves with the proven receipt. */
export async function cancelOrder(cluster: ClusterFiles, secretKey: Uint8Array, symbol: string, clientId: number, timeoutMs = 30_000, onProgress?: (p: Progress) => void): Promise<OrderResult> {
  return sendOrder(cluster, secretKey, () => ({ action: 'cancel', symbol, clientId }), timeoutMs, onProgress);
}

async function sendOrder(cluster: ClusterFiles, secretKey: Uint8Array, action: (nonce: number) => OrderAction, timeoutMs: number, onProgress?: (p: Progress) => void): Promise<OrderResult> {
  const signer = createSignatureScheme().signer(secretKey);
  const client = clusterClient(cluster);
  const began = performance.now();
  // The nonce from the freshest proven account: one a block behind would give a used one (refused).
  const account = await freshest(cluster, (c) => c.account(toHex(signer.publicKey)));
  const nonce = account.nonce + 1;
  const tx = signOrder(signer, nonce, action(nonce), { cluster: fromHex(client.cluster), expiresAt: expiryFrom(account.certified.height) });
  const { id, receipt } = await submitAndWait(client, tx, timeoutMs, onProgress);
  return result(id, toHex(signer.publicKey), nonce, receipt, began);
}

/**
 * An operator-signed deposit to (or withdrawal from) `account`, with the operator key cluster.json
 * holds. Its nonce is the proven operator nonce + 1 unless given: a retry of a transfer whose
 * outcome is unknown (a timeout) must reuse its nonce, so that it is refused (STALE_NONCE) if the
 * first one was final after all instead of moving the amount twice; `onProgress` is told the nonce first.
 */
export async function transfer(cluster: ClusterFiles, t: { kind: 'deposit' | 'withdraw'; account: string; asset: string; amount: bigint; nonce?: number }, timeoutMs = 30_000, onProgress?: (p: Progress) => void): Promise<OrderResult> {
  if (cluster.operator === undefined) throw new ConfigError('this cluster has no operator key (cluster.json has no "operator"): start a cluster with --operator to allow deposits and withdrawals');
  const operator = createSignatureScheme().signer(fromHex(cluster.operator));
  const client = clusterClient(cluster);
  const began = performance.now();
  // A proven answer that exists whether or not the account does (a first deposit opens it): the
  // certified height to count the expiry from, and the operator's last nonce. From every replica,
  // the highest: one a block behind proves an older nonce, and its + 1 would be refused as used.
  const book = await freshest(cluster, (c) => c.book(MARKET.symbol, 1));
  // A retry reuses the nonce printed for the transfer it retries; a higher one than the next would
  // be a new transfer (the exchange takes any nonce above the last), moving the amount again.
  if (t.nonce !== undefined && t.nonce > book.operatorNonce + 1) throw new ConfigError(`nonce ${t.nonce}: the next operator nonce is ${book.operatorNonce + 1} (proven at height ${book.certified.height}); a retry reuses the nonce printed for the transfer it retries, never a higher one`);
  const nonce = t.nonce ?? book.operatorNonce + 1;
  onProgress?.({ stage: 'signed', nonce });
  const tx = signTransfer(operator, { kind: t.kind, account: fromHex(t.account), asset: t.asset, amount: t.amount, nonce }, { cluster: fromHex(client.cluster), expiresAt: expiryFrom(book.certified.height) });
  const { id, receipt } = await submitAndWait(client, tx, timeoutMs, onProgress);
  return result(id, t.account, nonce, receipt, began);
}
