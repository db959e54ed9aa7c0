// What the one-replica benches share (ingest, execute): funded client accounts, one market, the
// validity orders are signed with, and a fresh single-validator replicated exchange whose client
// signatures are checked with a given scheme (a verify pool's).
import { ValidatorSet } from '@bftx/consensus';
import { createSignatureScheme, type SignatureScheme, type Signer } from '@bftx/crypto';
import { DEFAULT_CLUSTER, DEFAULT_MAX_ORDER_LIFETIME, expiryFrom, replicatedExchange, type ExchangeConfig, type ReplicatedExchange } from '@bftx/exchange';
import { hotstuff } from '@bftx/hotstuff';

export const scheme = createSignatureScheme('node');
export const SYMBOL = 'BFT-USD';
/** What every bench order is signed for: this cluster, valid for the longest lifetime from height 0. */
export const validity = { cluster: DEFAULT_CLUSTER, expiresAt: expiryFrom(0, DEFAULT_MAX_ORDER_LIFETIME) };

/** `n` client signers, the same on every run. */
export function benchClients(n: number): Signer[] {
  return Array.from({ length: n }, (_, i) => scheme.signer(Uint8Array.from({ length: 32 }, (_, k) => (i * 7 + k * 13 + 1) & 0xff)));
}

/** One market, every client funded far beyond what a bench spends. */
export function benchExchange(clients: readonly Signer[]): ExchangeConfig {
  return {
    assets: ['USD', 'BFT'],
    markets: [{ symbol: SYMBOL, base: 'BFT', quote: 'USD', tickSize: 1, lotSize: 1, maxOrderSize: 1_000_000 }],
    genesis: clients.map((c) => ({ account: c.publicKey, balances: { USD: 10n ** 12n, BFT: 10n ** 9n } })),
    cluster: DEFAULT_CLUSTER,
  };
}

const validatorSecret = new Uint8Array(32).fill(1);
const validators = new ValidatorSet([scheme.publicKey(validatorSecret)]);

/** A fresh replica's exchange (nothing admitted yet) checking client signatures with `clientScheme`; no rate limit (one account sends many orders here). */
export function freshReplica(exchange: ExchangeConfig, clientScheme: SignatureScheme): ReplicatedExchange<unknown> {
  const def = replicatedExchange(hotstuff(), { exchange, clientScheme, admissionRate: { perSecond: 1e12, burst: 1e12 } });
  return def.create({ self: 0, validators, scheme, signer: scheme.signer(validatorSecret), timing: { delta: 50 } }) as unknown as ReplicatedExchange<unknown>;
}
