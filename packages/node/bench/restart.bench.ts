// node:bench:restart: restart time and disk are bounded by state, not uptime. For each protocol, a
// 4-replica cluster in this process (loopback TCP, Ed25519, LevelDB with fsync) runs under a
// trickle of signed orders for a short and a long uptime; then one replica is stopped and started
// again from its disk. Reported per run: uptime, blocks, inputs the replica ever logged, inputs in
// its log at the stop, its data directory's size, and the time from start() to a running replica
// (most of it applying the blocks after the latest exchange snapshot, every 100 blocks here).
// Last line: one JSON object.
//
//   npx nx run node:bench:restart
//   BFTX_BENCH_UPTIMES=5,20 BFTX_BENCH_PROTOCOLS=hotstuff npx nx run node:bench:restart
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProtocolDefinition } from '@bftx/consensus';
import { createSignatureScheme } from '@bftx/crypto';
import { expiryFrom, placeAction, signOrder, type ExchangeConfig } from '@bftx/exchange';
import { hotstuff } from '@bftx/hotstuff';
import { pbft } from '@bftx/pbft';
import { streamlet } from '@bftx/streamlet';
import { ReplicaNode, ReplicaStore } from '../src/index';

const N = 4;
const UPTIMES_S = (process.env['BFTX_BENCH_UPTIMES'] ?? '5,20').split(',').map(Number);
const PROTOCOLS: Record<string, ProtocolDefinition<any>> = { hotstuff: hotstuff({ idleViewMs: 50 }), streamlet: streamlet(), pbft: pbft() };
const chosen = (process.env['BFTX_BENCH_PROTOCOLS'] ?? 'hotstuff,streamlet,pbft').split(',');

const scheme = createSignatureScheme();
const secrets = Array.from({ length: N }, (_, i) => new Uint8Array(32).fill(i + 1));
const keys = secrets.map((s) => scheme.publicKey(s));
const client = scheme.signer(new Uint8Array(32).fill(100));
const exchange: ExchangeConfig = {
  assets: ['CASH', 'SHARE'],
  markets: [{ symbol: 'SHARE-CASH', base: 'SHARE', quote: 'CASH', tickSize: 1, lotSize: 1, maxOrderSize: 1_000 }],
  genesis: [{ account: client.publicKey, balances: { CASH: 1_000_000_000n, SHARE: 1_000_000n } }],
};

function du(dir: string): number {
  let bytes = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) bytes += e.isDirectory() ? du(join(dir, e.name)) : statSync(join(dir, e.name)).size;
  return bytes;
}

interface RestartRun {
  readonly protocol: string;
  readonly uptimeS: number;
  readonly height: number;
  readonly inputsEverLogged: number;
  readonly inputsInLog: number;
  readonly diskBytes: number;
  readonly restartMs: number;
  /** Blocks applied to the exchange at the restart: those after the latest snapshot. */
  readonly blocksApplied: number;
}

async function run(name: string, uptimeS: number): Promise<RestartRun> {
  const dir = mkdtempSync(join(tmpdir(), 'bftx-restart-'));
  const peers: Array<{ host: string; port: number } | undefined> = new Array(N).fill(undefined);
  const make = (self: number, port = 0) =>
    new ReplicaNode({ protocol: PROTOCOLS[name]!, self, validatorKeys: keys, scheme, clientScheme: scheme, secretKey: secrets[self]!, timing: { delta: 50 }, exchange, dataDir: join(dir, `r${self}`), listen: { host: '127.0.0.1', port }, peers, snapshotEvery: 100 });
  const nodes = secrets.map((_, i) => make(i));
  try {
    for (let i = N - 1; i >= 0; i--) {
      await nodes[i]!.start();
      peers[i] = { host: '127.0.0.1', port: nodes[i]!.port };
    }
    // A trickle of signed orders: 20 per 100 ms, to every replica.
    let nonce = 0;
    const end = Date.now() + uptimeS * 1000;
    while (Date.now() < end) {
      const validity = { cluster: nodes[0]!.cluster, expiresAt: expiryFrom(nodes[0]!.exchange.exchange.lastHeight) };
      const txs = Array.from({ length: 20 }, () => {
        nonce++;
        return signOrder(client, nonce, placeAction({ symbol: 'SHARE-CASH', clientId: nonce, side: nonce % 2 ? 'buy' : 'sell', price: 100 + (nonce % 7), size: 1 }), validity);
      });
      for (const n of nodes) n.submit(txs);
      await new Promise((r) => setTimeout(r, 100));
    }
    const victim = nodes[2]!;
    await victim.idle();
    const height = victim.ledger.height;
    await victim.stop();
    const store = await ReplicaStore.open(victim.options.dataDir);
    const inputsEverLogged = store.inputsEverLogged;
    const inputsInLog = store.loggedInputs;
    await store.close();
    const diskBytes = du(victim.options.dataDir);
    const again = make(2, victim.port);
    nodes[2] = again;
    const began = performance.now();
    await again.start();
    const restartMs = performance.now() - began;
    const blocksApplied = again.recovery!.storedHeight - again.recovery!.snapshotHeight;
    return { protocol: name, uptimeS, height, inputsEverLogged, inputsInLog, diskBytes, restartMs: Math.round(restartMs), blocksApplied };
  } finally {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    rmSync(dir, { recursive: true, force: true });
  }
}

const results: RestartRun[] = [];
for (const name of chosen) {
  for (const uptimeS of UPTIMES_S) {
    const r = await run(name, uptimeS);
    results.push(r);
    console.log(`${name.padEnd(10)} uptime ${String(uptimeS).padStart(3)} s: height ${String(r.height).padStart(6)}, inputs logged ${String(r.inputsEverLogged).padStart(7)}, in the log at stop ${String(r.inputsInLog).padStart(4)}, disk ${(r.diskBytes / 1024).toFixed(0).padStart(6)} KiB, restart ${String(r.restartMs).padStart(5)} ms (${r.blocksApplied} blocks after the snapshot applied)`);
  }
}
console.log(JSON.stringify({ bench: 'node:restart', runs: results }));
