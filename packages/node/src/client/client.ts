// A small client of a cluster's API: sign one order with a client key, offer it to every replica,
// and wait until it is final, reading the exchange's receipt for it.
import { createSignatureScheme, toHex } from '@bftx/crypto';
import { DEFAULT_CLUSTER, expiryFrom, placeAction, signOrder, type TxReceipt } from '@bftx/exchange';
import { fromHex } from '@bftx/crypto';
import { transactionId } from '../api';
import type { ClusterFiles } from '../cluster-files';

export interface OrderRequest {
  readonly symbol: string;
  readonly side: 'buy' | 'sell';
  readonly price: number;
  readonly size: number;
  readonly tif: 'GTC' | 'IOC' | 'FOK';
}

export interface OrderResult {
  readonly id: string;
  readonly account: string;
  readonly nonce: number;
  readonly height: number;
  readonly receipt: TxReceipt;
  readonly finalMs: number;
}

const url = (e: { host: string; port: number }, path: string) => `http://${e.host}:${e.port}${path}`;

/** Signs and submits one limit order; resolves when a replica reports it final. Throws with the replicas' reasons when none takes it. */
export async function placeOrder(cluster: ClusterFiles, secretKey: Uint8Array, order: OrderRequest, timeoutMs = 30_000): Promise<OrderResult> {
  const signer = createSignatureScheme().signer(secretKey);
  const account = toHex(signer.publicKey);
  let nonce: number | undefined;
  for (const r of cluster.replicas) {
    const res = await fetch(url(r.api, `/v1/accounts/${account}`)).catch(() => undefined);
    if (res?.ok) {
      nonce = ((await res.json()) as { nonce: number }).nonce;
      break;
    }
  }
  if (nonce === undefined) throw new Error(`no replica knows account ${account.slice(0, 12)} (is the cluster up, and is this one of its clients?)`);
  // Valid from the height a replica reports, for the default lifetime, on the cluster id it names (orders for another are refused).
  type Status = { height: number; cluster?: string };
  const status: Status = await fetch(url(cluster.replicas[0]!.api, '/v1/status')).then((res) => (res.ok ? (res.json() as Promise<Status>) : { height: 0 }), () => ({ height: 0 }));
  const clusterId = typeof status.cluster === 'string' && /^[0-9a-f]{64}$/.test(status.cluster) ? fromHex(status.cluster) : DEFAULT_CLUSTER;
  // The nonce doubles as the order's client id: unique among this account's orders.
  const tx = signOrder(signer, nonce + 1, placeAction({ symbol: order.symbol, clientId: nonce + 1, side: order.side, price: order.price, size: order.size, tif: order.tif }), { cluster: clusterId, expiresAt: expiryFrom(status.height) });
  const id = transactionId(tx);
  const began = performance.now();
  const answers = await Promise.all(
    cluster.replicas.map((r) =>
      fetch(url(r.api, '/v1/transactions'), { method: 'POST', body: JSON.stringify({ transactions: [toHex(tx)] }), headers: { 'content-type': 'application/json' } }).then(
        async (res) => ({ ok: res.ok, text: await res.text() }),
        (e: unknown) => ({ ok: false, text: e instanceof Error ? e.message : String(e) }),
      ),
    ),
  );
  if (!answers.some((a) => a.ok)) throw new Error(`no replica took the order: ${answers.map((a) => a.text).join('; ')}`);
  const end = began + timeoutMs;
  while (performance.now() < end) {
    for (const r of cluster.replicas) {
      const res = await fetch(url(r.api, `/v1/transactions/${id}`)).catch(() => undefined);
      if (res?.ok) {
        const found = (await res.json()) as { height: number; receipt: TxReceipt };
        return { id, account, nonce: nonce + 1, height: found.height, receipt: found.receipt, finalMs: Math.round(performance.now() - began) };
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`order ${id.slice(0, 12)} was not final within ${timeoutMs} ms`);
}
