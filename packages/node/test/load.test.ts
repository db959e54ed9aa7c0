// runLoad's proven sample: the last orders final, which a replica's window of recent receipts still
// holds at the end of a long run (an outside review found the first ten sampled: past the window,
// a healthy cluster's run failed to prove them, and `load` exited 1).
import type { ProtocolDefinition } from '@bftx/consensus';
import { toHex } from '@bftx/crypto';
import { hotstuff } from '@bftx/hotstuff';
import { ClientApi, MARKET, runLoad, type ClusterFiles } from '../src/index';
import { clients, cluster, keys, N, removeDataDirs, until } from './helpers';

afterAll(removeDataDirs);

test('with a receipt window far smaller than the run, the sampled receipts all prove', async () => {
  const exchange = { assets: [MARKET.base, MARKET.quote], markets: [MARKET], genesis: clients.map((c) => ({ account: c.publicKey, balances: { [MARKET.base]: 1_000_000_000n, [MARKET.quote]: 1_000_000_000_000n } })) };
  const nodes = await cluster(hotstuff() as ProtocolDefinition<any>, { exchange });
  // A window of 50 receipts stands in for the default 100,000 and a run of more.
  const apis = nodes.map((n) => new ClientApi(n, { host: '127.0.0.1', port: 0, recentReceipts: 50 }));
  try {
    await until('connected', () => nodes.every((n) => n.connectedPeers().length === N - 1));
    const ports = await Promise.all(apis.map((a) => a.start()));
    const files: ClusterFiles = { protocol: 'hotstuff', replicas: ports.map((p, i) => ({ config: `node-${i}.json`, peer: { host: '127.0.0.1', port: 1 }, api: { host: '127.0.0.1', port: p } })), clients: [100, 101].map((b) => toHex(new Uint8Array(32).fill(b))), validators: keys.map(toHex) };
    const report = await runLoad(files, { rate: 100, durationS: 2, drainS: 5 });
    expect(report.finalized).toBeGreaterThan(100);
    expect(report.provenReceipts).toEqual({ proven: 10, sampled: 10 });
  } finally {
    await Promise.all(apis.map((a) => a.stop()));
    await Promise.all(nodes.map((n) => n.stop()));
  }
}, 60_000);
