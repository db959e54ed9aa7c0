// `bftx-replica order`: sign one order with a client key and place it through @bftx/client, which
// trusts only the validator keys (read from the cluster's files): the nonce comes from the
// account's proof, and the receipt is accepted only once it is proven final and attested.
import { readFileSync } from 'node:fs';
import { Client, ClientError, type VerifiedReceipt } from '@bftx/client';
import { createSignatureScheme, toHex } from '@bftx/crypto';
import { MARKET, type ClusterFiles } from '../cluster-files';

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

/** Signs and places one limit order; resolves with its proven receipt. Throws a ClientError naming what failed (and each replica's reason). */
export async function placeOrder(cluster: ClusterFiles, secretKey: Uint8Array, order: OrderRequest, timeoutMs = 30_000): Promise<OrderResult> {
  const signer = createSignatureScheme().signer(secretKey);
  const client = clusterClient(cluster);
  const began = performance.now();
  const account = await client.account(toHex(signer.publicKey));
  // The nonce doubles as the order's client id: unique among this account's orders.
  const nonce = account.nonce + 1;
  const placed = await client.placeOrder(signer, { symbol: order.symbol, clientId: nonce, side: order.side, price: order.price, size: order.size, tif: order.tif }, { nonce, timeoutMs });
  const r = placed.receipt;
  return {
    id: placed.id,
    account: toHex(signer.publicKey),
    nonce,
    height: r.certified.height,
    receipt: { ...r, trades: r.trades.map((t) => ({ ...t, buyerFee: String(t.buyerFee), sellerFee: String(t.sellerFee) })) },
    finalMs: Math.round(performance.now() - began),
  };
}
