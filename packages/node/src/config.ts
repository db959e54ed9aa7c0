// A replica's config file (JSON), checked field by field: a bad file gives a ConfigError naming the
// field and what is expected, before anything is opened or listened on. The protocol is named; the
// caller says which names it can run (the node package does not pick protocols for its users).
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { createSignatureScheme, fromHex, toHex } from '@bftx/crypto';
import { checkConfig, type ExchangeConfig, type MarketConfig } from '@bftx/exchange';

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/** The file as written: hex keys, decimal-string balances, paths relative to the file. */
export interface ReplicaConfigFile {
  readonly protocol: string;
  readonly self: number;
  /** This validator's Ed25519 seed (64 hex); or `secretKeyFile`, exactly one of the two. */
  readonly secretKey?: string;
  /** A key file written by `bftx-replica keys gen` ({ publicKey, secretKey }), relative to the config's folder: keeps the key out of a config that is shared (a ConfigMap, a repo). */
  readonly secretKeyFile?: string;
  readonly validators: ReadonlyArray<{ readonly publicKey: string; readonly host: string; readonly port: number }>;
  readonly deltaMs: number;
  readonly dataDir: string;
  readonly api: Endpoint;
  /** Where to listen for peers, when it is not this replica's own entry in `validators` (behind a relay or NAT). */
  readonly listen?: Endpoint;
  readonly maxBlockTxs?: number;
  /** Keep every vote this replica sends in its store, for audits (default false). */
  readonly auditVotes?: boolean;
  /** A damaged input log: 'refuse' to start (default) or 'discard' it and restart from the safety state. */
  readonly damagedLog?: 'refuse' | 'discard';
  /** How a block's transactions are ordered: 'leader' (default) or 'fair' (leader-proof ordering); the same on every replica of a cluster. */
  readonly ordering?: Ordering;
  /** Sign, send and check execution attestations after each finalized block (default true). */
  readonly attestations?: boolean;
  /** Worker threads checking client signatures (default: the machine's cores less one; 0: on the event loop). */
  readonly verifyWorkers?: number;
  readonly exchange: {
    readonly assets: readonly string[];
    readonly markets: readonly MarketConfig[];
    readonly genesis: ReadonlyArray<{ readonly account: string; readonly balances: Readonly<Record<string, string>> }>;
    /** Maker and taker fees in basis points of the notional (0 to 1,000 each; default none). */
    readonly fees?: { readonly makerBps: number; readonly takerBps: number };
    /** The operator's public key (hex): it signs deposits and withdrawals (default: none, so no deposits). */
    readonly operator?: string;
  };
}

/** The config with keys as bytes, balances as bigints and the data directory resolved. */
export interface ReplicaConfig {
  readonly protocol: string;
  readonly self: number;
  readonly secretKey: Uint8Array;
  readonly validatorKeys: Uint8Array[];
  readonly peers: Endpoint[];
  /** Where this replica listens for peers. */
  readonly listen: Endpoint;
  readonly deltaMs: number;
  readonly dataDir: string;
  readonly api: Endpoint;
  readonly maxBlockTxs?: number;
  readonly auditVotes: boolean;
  readonly damagedLog: 'refuse' | 'discard';
  readonly ordering: Ordering;
  readonly attestations: boolean;
  /** Undefined: the machine's cores less one. */
  readonly verifyWorkers?: number;
  readonly exchange: ExchangeConfig;
}

/**
 * Who orders a block's transactions. 'leader': the leader, as it likes (nothing checks it).
 * 'fair': leader-proof ordering (`fairOrdering` from @bftx/consensus): replicas sign receive logs,
 * a block carries n-f of them and then exactly a prefix of their fair order, voters refuse
 * anything else. Replicas of one cluster must agree on it (they refuse each other's handshake otherwise).
 */
export type Ordering = 'leader' | 'fair';
export const ORDERINGS: readonly Ordering[] = ['leader', 'fair'];

const HEX = /^[0-9a-f]*$/;

function fail(field: string, expected: string): never {
  throw new ConfigError(`${field}: expected ${expected}`);
}

/** A misspelt field (`maxBlockTx`) would otherwise be ignored and the default used in silence. */
function onlyFields(value: object, field: string, allowed: readonly string[]): void {
  for (const k of Object.keys(value)) {
    if (!allowed.includes(k)) throw new ConfigError(`${field === '' ? '' : `${field}.`}${k}: unknown field (expected one of ${allowed.join(', ')})`);
  }
}

const TOP_FIELDS = ['protocol', 'self', 'secretKey', 'secretKeyFile', 'validators', 'deltaMs', 'dataDir', 'api', 'listen', 'maxBlockTxs', 'auditVotes', 'damagedLog', 'ordering', 'attestations', 'verifyWorkers', 'exchange'] as const;
const MARKET_FIELDS = ['symbol', 'base', 'quote', 'tickSize', 'lotSize', 'maxOrderSize', 'protectionTicks', 'matching'] as const;

function hexKey(value: unknown, field: string): Uint8Array {
  if (typeof value !== 'string' || value.length !== 64 || !HEX.test(value)) fail(field, '64 lowercase hex digits (32 bytes)');
  return fromHex(value);
}

function integer(value: unknown, field: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) fail(field, `a whole number from ${min} to ${max}`);
  return value;
}

function endpoint(value: unknown, field: string, minPort = 1): Endpoint {
  const v = value as Partial<Endpoint> | null;
  if (typeof v !== 'object' || v === null) fail(field, 'an object { "host": ..., "port": ... }');
  onlyFields(v, field, field.startsWith('validators[') ? ['publicKey', 'host', 'port'] : ['host', 'port']);
  if (typeof v.host !== 'string' || v.host.length === 0) fail(`${field}.host`, 'a host name or address');
  return { host: v.host, port: integer(v.port, `${field}.port`, minPort, 65535) };
}

/** The seed from `secretKey`, or from the key file `secretKeyFile` names (exactly one of them). */
function readSecretKey(c: Partial<ReplicaConfigFile>, base: string): Uint8Array {
  if ((c.secretKey === undefined) === (c.secretKeyFile === undefined)) fail('secretKey', 'a key (64 hex digits) in secretKey, or a key file in secretKeyFile: exactly one of the two');
  if (c.secretKey !== undefined) return hexKey(c.secretKey, 'secretKey');
  if (typeof c.secretKeyFile !== 'string' || c.secretKeyFile.length === 0) fail('secretKeyFile', 'a file path (a key pair from `bftx-replica keys gen`)');
  const path = resolve(base, c.secretKeyFile);
  let pair: unknown;
  try {
    const text = readFileSync(path, 'utf8').trim();
    if (/^[0-9a-fA-F]{64}$/.test(text)) throw new Error('it holds a bare key; expected a key pair as `bftx-replica keys gen` writes it ({ "publicKey": ..., "secretKey": ... }), or put the key in secretKey');
    // Podman 4.3 (Debian 12) `kube play` mounts a Secret's `data` still base64-encoded, as written in
    // the manifest (Kubernetes decodes it): a key file that is base64 of the JSON is read as the JSON.
    pair = JSON.parse(text.startsWith('{') || !/^[A-Za-z0-9+/=\s]+$/.test(text) ? text : Buffer.from(text, 'base64').toString('utf8'));
  } catch (e) {
    throw new ConfigError(`secretKeyFile: cannot read a key pair from ${path}: ${(e as { message?: string }).message ?? String(e)}`);
  }
  return hexKey((pair as { secretKey?: unknown } | null)?.secretKey, `secretKeyFile (${path}): secretKey`);
}

/** Checks a parsed config file; `base` is the directory relative paths start from. */
export function parseConfig(raw: unknown, base: string, protocols: readonly string[]): ReplicaConfig {
  const c = raw as Partial<ReplicaConfigFile> | null;
  if (typeof c !== 'object' || c === null || Array.isArray(c)) fail('config', 'a JSON object');
  onlyFields(c, '', TOP_FIELDS);
  if (typeof c.protocol !== 'string' || !protocols.includes(c.protocol)) fail('protocol', `one of ${protocols.join(', ')}`);
  if (!Array.isArray(c.validators) || c.validators.length < 1 || c.validators.length > 256) fail('validators', 'a list of 1 to 256 { publicKey, host, port }');
  const validatorKeys = c.validators.map((v, i) => hexKey((v as { publicKey?: unknown } | null)?.publicKey, `validators[${i}].publicKey`));
  // One key twice would count one validator's votes twice toward a quorum.
  const firstWith = new Map<string, number>();
  validatorKeys.forEach((k, i) => {
    const hex = Buffer.from(k).toString('hex');
    const earlier = firstWith.get(hex);
    if (earlier !== undefined) fail(`validators[${i}].publicKey`, `a key of its own (it is validators[${earlier}].publicKey too)`);
    firstWith.set(hex, i);
  });
  const peers = c.validators.map((v, i) => endpoint(v, `validators[${i}]`));
  const self = integer(c.self, 'self', 0, c.validators.length - 1);
  const secretKey = readSecretKey(c, base);
  // A key that is not this replica's validator key would sign what every peer refuses: say so now.
  if (toHex(createSignatureScheme().publicKey(secretKey)) !== toHex(validatorKeys[self]!)) {
    throw new ConfigError(`${c.secretKeyFile !== undefined ? `secretKeyFile (${c.secretKeyFile})` : 'secretKey'}: its public key is not validators[${self}].publicKey (self is ${self})`);
  }
  const deltaMs = integer(c.deltaMs, 'deltaMs', 1, 600_000);
  if (typeof c.dataDir !== 'string' || c.dataDir.length === 0) fail('dataDir', 'a directory path');
  const api = endpoint(c.api, 'api', 0);
  const listen = c.listen === undefined ? peers[self]! : endpoint(c.listen, 'listen', 0);
  const maxBlockTxs = c.maxBlockTxs === undefined ? undefined : integer(c.maxBlockTxs, 'maxBlockTxs', 1, 100_000);
  const verifyWorkers = c.verifyWorkers === undefined ? undefined : integer(c.verifyWorkers, 'verifyWorkers', 0, 256);
  if (c.auditVotes !== undefined && typeof c.auditVotes !== 'boolean') fail('auditVotes', 'true or false');
  if (c.attestations !== undefined && typeof c.attestations !== 'boolean') fail('attestations', 'true or false');
  if (c.damagedLog !== undefined && c.damagedLog !== 'refuse' && c.damagedLog !== 'discard') fail('damagedLog', '"refuse" or "discard"');
  if (c.ordering !== undefined && !ORDERINGS.includes(c.ordering)) fail('ordering', `"leader" (the leader orders a block's transactions; the default) or "fair" (leader-proof ordering), not ${JSON.stringify(c.ordering)}`);
  const x = c.exchange as Partial<ReplicaConfigFile['exchange']> | undefined;
  if (typeof x !== 'object' || x === null) fail('exchange', 'an object { assets, markets, genesis }');
  onlyFields(x, 'exchange', ['assets', 'markets', 'genesis', 'fees', 'operator']);
  if (!Array.isArray(x.markets)) fail('exchange.markets', 'a list of markets');
  x.markets.forEach((m, i) => {
    if (typeof m !== 'object' || m === null) fail(`exchange.markets[${i}]`, 'an object { symbol, base, quote, tickSize, lotSize, maxOrderSize }');
    onlyFields(m, `exchange.markets[${i}]`, MARKET_FIELDS);
    const matching = (m as { matching?: unknown }).matching;
    if (matching !== undefined && matching !== 'continuous' && matching !== 'batch') fail(`exchange.markets[${i}].matching`, `"continuous" (each order matches on arrival; the default) or "batch" (one uniform-price auction per block), not ${JSON.stringify(matching)}`);
  });
  if (x.genesis !== undefined && !Array.isArray(x.genesis)) fail('exchange.genesis', 'a list of { account, balances }');
  const genesis = (x.genesis ?? []).map((g, i) => {
    if (typeof g === 'object' && g !== null) onlyFields(g, `exchange.genesis[${i}]`, ['account', 'balances']);
    const balances: Record<string, bigint> = {};
    if (typeof g?.balances !== 'object' || g.balances === null) fail(`exchange.genesis[${i}].balances`, 'an object of asset: "decimal amount"');
    for (const [asset, amount] of Object.entries(g.balances)) {
      if (typeof amount !== 'string' || !/^[0-9]{1,40}$/.test(amount)) fail(`exchange.genesis[${i}].balances.${asset}`, 'a decimal string of a whole amount');
      balances[asset] = BigInt(amount);
    }
    return { account: hexKey(g.account, `exchange.genesis[${i}].account`), balances };
  });
  let fees: ExchangeConfig['fees'];
  if (x.fees !== undefined) {
    if (typeof x.fees !== 'object' || x.fees === null) fail('exchange.fees', 'an object { "makerBps": ..., "takerBps": ... }');
    onlyFields(x.fees, 'exchange.fees', ['makerBps', 'takerBps']);
    fees = { makerBps: integer(x.fees.makerBps, 'exchange.fees.makerBps', 0, 1_000), takerBps: integer(x.fees.takerBps, 'exchange.fees.takerBps', 0, 1_000) };
  }
  const operator = x.operator === undefined ? undefined : hexKey(x.operator, 'exchange.operator');
  const exchange: ExchangeConfig = { assets: x.assets ?? [], markets: x.markets, genesis, ...(fees !== undefined ? { fees } : {}), ...(operator !== undefined ? { operator } : {}) };
  try {
    checkConfig(exchange);
  } catch (e) {
    throw new ConfigError(`exchange: ${e instanceof Error ? e.message : String(e)}`);
  }
  return { protocol: c.protocol, self, secretKey, validatorKeys, peers, listen, deltaMs, dataDir: resolve(base, c.dataDir), api, ...(maxBlockTxs !== undefined ? { maxBlockTxs } : {}), auditVotes: c.auditVotes === true, damagedLog: c.damagedLog ?? 'refuse', ordering: c.ordering ?? 'leader', attestations: c.attestations !== false, ...(verifyWorkers !== undefined ? { verifyWorkers } : {}), exchange };
}

export function readConfig(path: string, protocols: readonly string[]): ReplicaConfig {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read ${path}: ${(e as { message?: string }).message ?? String(e)}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`${path} is not JSON: ${(e as { message?: string }).message ?? String(e)}`);
  }
  return parseConfig(raw, dirname(resolve(path)), protocols);
}
