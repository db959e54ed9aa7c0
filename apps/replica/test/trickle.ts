// A light, steady load for the fault tests: every few milliseconds one signed order from each of a
// cluster's clients (resting bids, and sells that take them), offered to every replica that
// answers. Not a benchmark (that is runLoad): it keeps blocks coming while replicas are killed or cut off.
import { createSignatureScheme, fromHex, toHex } from '@bftx/crypto';
import { DEFAULT_CLUSTER, expiryFrom, placeAction, signOrder } from '@bftx/exchange';
import { MARKET, type ClusterFiles } from '@bftx/node';

export interface Trickle {
  /** Stops after the round in flight. */
  stop(): Promise<void>;
}

export function startTrickle(cluster: ClusterFiles, everyMs: number): Trickle {
  const scheme = createSignatureScheme();
  const clients = cluster.clients.map((s) => ({ signer: scheme.signer(fromHex(s)), nonce: 0 }));
  let on = true;
  const done = (async () => {
    let height = 0;
    let clusterId = DEFAULT_CLUSTER;
    for (let k = 0; on; k++) {
      // Valid for the default lifetime from the highest height a replica reported so far.
      const heights = await Promise.allSettled(cluster.replicas.map((r) => fetch(`http://${r.api.host}:${r.api.port}/v1/status`, { signal: AbortSignal.timeout(2_000) }).then((res) => res.json() as Promise<{ height: number; cluster?: string }>)));
      for (const h of heights) {
        if (h.status !== 'fulfilled') continue;
        if (Number.isSafeInteger(h.value.height)) height = Math.max(height, h.value.height);
        // The cluster id the replicas name (orders signed for another are refused).
        if (typeof h.value.cluster === 'string' && /^[0-9a-f]{64}$/.test(h.value.cluster)) clusterId = fromHex(h.value.cluster);
      }
      const validity = { cluster: clusterId, expiresAt: expiryFrom(height) };
      const txs = clients.map((c, j) => toHex(signOrder(c.signer, ++c.nonce, placeAction({ symbol: MARKET.symbol, clientId: c.nonce, side: (k + j) % 2 ? 'sell' : 'buy', price: 1_000, size: 1, tif: (k + j) % 2 ? 'IOC' : 'GTC' }), validity)));
      const body = JSON.stringify({ transactions: txs });
      await Promise.allSettled(
        cluster.replicas.map((r) =>
          fetch(`http://${r.api.host}:${r.api.port}/v1/transactions`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(2_000) }).then((res) => res.arrayBuffer()),
        ),
      );
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      on = false;
      await done;
    },
  };
}
