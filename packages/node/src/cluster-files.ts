// The files of a local cluster: one config per replica, the client accounts the exchange opens
// with (their keys are for the load generator), and a summary of every endpoint.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSignatureScheme, toHex } from '@bftx/crypto';
import type { Endpoint, ReplicaConfigFile } from './config';

export const MARKET = { symbol: 'BFT-USD', base: 'BFT', quote: 'USD', tickSize: 1, lotSize: 1, maxOrderSize: 1_000_000 } as const;

export interface ClusterFiles {
  readonly protocol: string;
  readonly replicas: ReadonlyArray<{ readonly config: string; readonly peer: Endpoint; readonly api: Endpoint }>;
  /** Secret keys of the funded client accounts (hex). */
  readonly clients: readonly string[];
}

export interface ClusterOptions {
  readonly nodes: number;
  readonly protocol: string;
  readonly host: string;
  /** Replica i listens for peers on basePort + i and serves its API on basePort + 100 + i. */
  readonly basePort: number;
  readonly deltaMs: number;
  readonly clients: number;
  /** Replicas keep every vote they send, for audits. */
  readonly auditVotes?: boolean;
}

export function newSecretKey(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

/** Writes node-<i>.json, cluster.json into `dir`; returns what cluster.json holds. */
export function writeClusterFiles(dir: string, o: ClusterOptions): ClusterFiles {
  const scheme = createSignatureScheme();
  mkdirSync(dir, { recursive: true });
  const secrets = Array.from({ length: o.nodes }, newSecretKey);
  const clientSecrets = Array.from({ length: o.clients }, newSecretKey);
  const validators = secrets.map((s, i) => ({ publicKey: toHex(scheme.publicKey(s)), host: o.host, port: o.basePort + i }));
  const exchange: ReplicaConfigFile['exchange'] = {
    assets: [MARKET.base, MARKET.quote],
    markets: [MARKET],
    genesis: clientSecrets.map((s) => ({ account: toHex(scheme.publicKey(s)), balances: { [MARKET.base]: '1000000000', [MARKET.quote]: '1000000000000' } })),
  };
  const replicas = secrets.map((s, self) => {
    const config: ReplicaConfigFile = { protocol: o.protocol, self, secretKey: toHex(s), validators, deltaMs: o.deltaMs, dataDir: `data/replica-${self}`, api: { host: o.host, port: o.basePort + 100 + self }, ...(o.auditVotes === true ? { auditVotes: true } : {}), exchange };
    const file = join(dir, `node-${self}.json`);
    writeFileSync(file, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
    return { config: file, peer: { host: o.host, port: o.basePort + self }, api: config.api };
  });
  const files: ClusterFiles = { protocol: o.protocol, replicas, clients: clientSecrets.map(toHex) };
  writeFileSync(join(dir, 'cluster.json'), JSON.stringify(files, null, 2) + '\n', { mode: 0o600 });
  return files;
}
