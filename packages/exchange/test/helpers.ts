import { SimulatedSignatureScheme } from '@bftx/consensus';
import { toHex, type Signer } from '@bftx/crypto';
import { DEFAULT_CLUSTER, Exchange, expiryFrom, placeAction, signOrder, signTransfer, type ExchangeConfig, type OrderAction, type PlaceRequest, type Validity } from '../src/index';

/** What the helpers sign for unless told otherwise: the default cluster, valid until the default lifetime past height 0. */
export const VALID: Validity = { cluster: DEFAULT_CLUSTER, expiresAt: expiryFrom(0) };

export const scheme = new SimulatedSignatureScheme();
export const operator = scheme.signer(scheme.keyPair(1000).secretKey);

export function client(i: number): Signer {
  return scheme.signer(scheme.keyPair(i).secretKey);
}

export const MARKET = { symbol: 'BTC-USD', base: 'BTC', quote: 'USD', tickSize: 1, lotSize: 1, maxOrderSize: 1_000, protectionTicks: 10 } as const;

export function config(overrides: Partial<ExchangeConfig> = {}, funded: readonly Signer[] = [client(1), client(2), client(3)]): ExchangeConfig {
  return {
    assets: ['USD', 'BTC'],
    markets: [MARKET],
    fees: { makerBps: 10, takerBps: 25 },
    operator: operator.publicKey,
    genesis: funded.map((c) => ({ account: c.publicKey, balances: { USD: 1_000_000n, BTC: 1_000n } })),
    ...overrides,
  };
}

/** A client that numbers its own transactions. */
export class Client {
  nonce = 0;
  constructor(
    readonly signer: Signer,
    public validity: Validity = VALID,
  ) {}
  get key(): string {
    return toHex(this.signer.publicKey);
  }
  order(action: OrderAction): Uint8Array {
    return signOrder(this.signer, ++this.nonce, action, this.validity);
  }
  place(r: Omit<PlaceRequest, 'symbol'> & { symbol?: string }): Uint8Array {
    return this.order(placeAction({ symbol: MARKET.symbol, ...r }));
  }
  cancel(clientId: number): Uint8Array {
    return this.order({ action: 'cancel', symbol: MARKET.symbol, clientId });
  }
  modify(clientId: number, price: number, size: number): Uint8Array {
    return this.order({ action: 'modify', symbol: MARKET.symbol, clientId, price, size });
  }
}

let operatorNonce = 0;
export function deposit(account: Signer, asset: string, amount: bigint, kind: 'deposit' | 'withdraw' = 'deposit', validity: Validity = VALID): Uint8Array {
  return signTransfer(operator, { kind, account: account.publicKey, asset, amount, nonce: ++operatorNonce }, validity);
}

export function newExchange(overrides: Partial<ExchangeConfig> = {}): Exchange {
  return new Exchange(config(overrides), scheme);
}
