// Shared by the tests: four replicas in this process on loopback TCP, with Ed25519 and LevelDB.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ProtocolDefinition } from '@bftx/consensus';
import { createSignatureScheme } from '@bftx/crypto';
import { DEFAULT_CLUSTER, DEFAULT_MAX_ORDER_LIFETIME, expiryFrom, placeAction, signOrder, type ExchangeConfig } from '@bftx/exchange';
import { ReplicaNode, type ReplicaOptions } from '../src/index';

export const scheme = createSignatureScheme();
export const N = 4;
export const secrets = Array.from({ length: N }, (_, i) => new Uint8Array(32).fill(i + 1));
export const keys = secrets.map((s) => scheme.publicKey(s));
export const clients = Array.from({ length: 2 }, (_, i) => scheme.signer(new Uint8Array(32).fill(100 + i)));
export const exchange: ExchangeConfig = {
  assets: ['CASH', 'SHARE'],
  markets: [{ symbol: 'SHARE-CASH', base: 'SHARE', quote: 'CASH', tickSize: 1, lotSize: 1, maxOrderSize: 1_000 }],
  genesis: clients.map((c) => ({ account: c.publicKey, balances: { CASH: 1_000_000n, SHARE: 1_000n } })),
  // Named, so orders() needs no protocol: a replica whose config names none takes clusterId(protocol, validators).
  cluster: DEFAULT_CLUSTER,
};

const dirs: string[] = [];
/** Removes the data directories made so far (call from afterAll). */
export function removeDataDirs(): void {
  dirs.splice(0).forEach((d) => rmSync(d, { recursive: true, force: true }));
}

export async function cluster(protocol: ProtocolDefinition<any>, extra: Partial<ReplicaOptions<any>> = {}, perReplica: (self: number) => Partial<ReplicaOptions<any>> = () => ({})): Promise<ReplicaNode<any>[]> {
  const dir = mkdtempSync(join(tmpdir(), 'bftx-node-'));
  dirs.push(dir);
  // Ports are picked by the OS: start each replica, then tell the others where it listens.
  const peers: Array<{ host: string; port: number } | undefined> = new Array(N).fill(undefined);
  const nodes = secrets.map(
    (secretKey, self) =>
      new ReplicaNode({ protocol, self, validatorKeys: keys, scheme, clientScheme: scheme, secretKey, timing: { delta: 50 }, exchange, dataDir: join(dir, `r${self}`), listen: { host: '127.0.0.1', port: 0 }, peers, ...extra, ...perReplica(self) }),
  );
  // Higher-numbered replicas first, so the lower ones find them listening when they dial.
  for (let i = N - 1; i >= 0; i--) {
    await nodes[i]!.start();
    peers[i] = { host: '127.0.0.1', port: nodes[i]!.port };
  }
  return nodes;
}

export async function until(what: string | (() => string), cond: () => boolean | Promise<boolean>, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${typeof what === 'string' ? what : what()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Signed orders, valid on the default cluster for as long as the exchange allows from `height` (default 0). */
export function orders(count: number, from = 0, height = 0): Uint8Array[] {
  const validity = { cluster: DEFAULT_CLUSTER, expiresAt: expiryFrom(height, DEFAULT_MAX_ORDER_LIFETIME) };
  return Array.from({ length: count }, (_, i) => {
    const k = from + i;
    const c = clients[k % 2]!;
    return signOrder(c, Math.floor(k / 2) + 1, placeAction({ symbol: 'SHARE-CASH', clientId: k + 1, side: k % 2 ? 'sell' : 'buy', price: 100, size: 1 }), validity);
  });
}

