// The files of a local cluster: one config per replica, the client accounts the exchange opens
// with (their keys are for the load generator), and a summary of every endpoint.
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSignatureScheme, toHex } from '@bftx/crypto';
import type { MarketConfig } from '@bftx/exchange';
import type { Endpoint, Ordering, ReplicaConfigFile } from './config';

export const MARKET = { symbol: 'BFT-USD', base: 'BFT', quote: 'USD', tickSize: 1, lotSize: 1, maxOrderSize: 1_000_000 } as const;

export interface ClusterFiles {
  readonly protocol: string;
  /** Present when not the default 'leader'. */
  readonly ordering?: Ordering;
  readonly replicas: ReadonlyArray<{ readonly config: string; readonly peer: Endpoint; readonly api: Endpoint }>;
  /** Secret keys of the funded client accounts (hex). */
  readonly clients: readonly string[];
  /** The validators' public keys (hex), in order: what a client trusts. Absent in files written before it was added. */
  readonly validators?: readonly string[];
  /** The operator's secret key (hex), when the cluster has one: it signs deposits and withdrawals. */
  readonly operator?: string;
  /** Written by `cluster init`: replicas on their own hosts, not started by `cluster`. */
  readonly hosts?: true;
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
  /** Who orders a block's transactions (default 'leader'; written to each config only when 'fair'). */
  readonly ordering?: Ordering;
  /** How the cluster's market matches (default 'continuous'; written only when 'batch'). */
  readonly matching?: 'continuous' | 'batch';
  /** Replicas sign and exchange execution attestations (default true; written only when false). */
  readonly attestations?: boolean;
  /** Each replica's verify workers (written only when given; default: the machine's cores less one). */
  readonly verifyWorkers?: number;
  /** Maker and taker fees in basis points (default none). */
  readonly fees?: { readonly makerBps: number; readonly takerBps: number };
  /** Generate an operator key (kept in cluster.json) that signs deposits and withdrawals (default: none, so no deposits). */
  readonly operator?: boolean;
}

/** The exchange section every replica's config shares: the market, the funded clients, fees and the operator. */
export function clusterExchange(o: Pick<ClusterOptions, 'matching' | 'fees'>, clientSecrets: readonly Uint8Array[], operatorSecret?: Uint8Array): ReplicaConfigFile['exchange'] {
  const scheme = createSignatureScheme();
  // Defaults are left out of the files, so a default cluster's files are what they always were.
  const market: MarketConfig = o.matching === 'batch' ? { ...MARKET, matching: 'batch' } : MARKET;
  return {
    assets: [MARKET.base, MARKET.quote],
    markets: [market],
    genesis: clientSecrets.map((s) => ({ account: toHex(scheme.publicKey(s)), balances: { [MARKET.base]: '1000000000', [MARKET.quote]: '1000000000000' } })),
    ...(o.fees !== undefined ? { fees: o.fees } : {}),
    ...(operatorSecret !== undefined ? { operator: toHex(scheme.publicKey(operatorSecret)) } : {}),
  };
}

export function newSecretKey(): Uint8Array {
  return new Uint8Array(randomBytes(32));
}

/**
 * A file holding a key, written afresh: whatever was at the path (an older file of another mode, a
 * link to somewhere else) is removed first, and the new one created 0600 and never through a link.
 */
function writeSecretFile(file: string, text: string): void {
  rmSync(file, { force: true });
  writeFileSync(file, text, { mode: 0o600, flag: 'wx' });
}

/** Writes node-<i>.json, cluster.json into `dir` (replacing any there); returns what cluster.json holds. */
export function writeClusterFiles(dir: string, o: ClusterOptions): ClusterFiles {
  const scheme = createSignatureScheme();
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const secrets = Array.from({ length: o.nodes }, newSecretKey);
  const clientSecrets = Array.from({ length: o.clients }, newSecretKey);
  const validators = secrets.map((s, i) => ({ publicKey: toHex(scheme.publicKey(s)), host: o.host, port: o.basePort + i }));
  const operatorSecret = o.operator === true ? newSecretKey() : undefined;
  const ordering = o.ordering === 'fair' ? { ordering: 'fair' as const } : {};
  const exchange = clusterExchange(o, clientSecrets, operatorSecret);
  const replicas = secrets.map((s, self) => {
    const config: ReplicaConfigFile = { protocol: o.protocol, self, secretKey: toHex(s), validators, deltaMs: o.deltaMs, dataDir: `data/replica-${self}`, api: { host: o.host, port: o.basePort + 100 + self }, ...(o.auditVotes === true ? { auditVotes: true } : {}), ...ordering, ...(o.attestations === false ? { attestations: false } : {}), ...(o.verifyWorkers !== undefined ? { verifyWorkers: o.verifyWorkers } : {}), exchange };
    const file = join(dir, `node-${self}.json`);
    writeSecretFile(file, JSON.stringify(config, null, 2) + '\n');
    return { config: file, peer: { host: o.host, port: o.basePort + self }, api: config.api };
  });
  const files: ClusterFiles = { protocol: o.protocol, ...ordering, replicas, clients: clientSecrets.map(toHex), validators: validators.map((v) => v.publicKey), ...(operatorSecret !== undefined ? { operator: toHex(operatorSecret) } : {}) };
  writeSecretFile(join(dir, 'cluster.json'), JSON.stringify(files, null, 2) + '\n');
  return files;
}
