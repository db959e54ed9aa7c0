import { ExchangeError } from './errors';

/** A market: base traded against quote. A trade of `size` at `price` moves `size` units of base and `price × size` units of quote. */
export interface MarketConfig {
  readonly symbol: string;
  readonly base: string;
  readonly quote: string;
  /** Prices are multiples of it (quote units per base unit). */
  readonly tickSize: number;
  /** Sizes are multiples of it (base units). */
  readonly lotSize: number;
  /** Largest size of one order (risk limit). */
  readonly maxOrderSize: number;
  /** Market orders may trade at most this many ticks through the best opposite price (default 100). */
  readonly protectionTicks?: number;
  /**
   * 'continuous' (default): each order matches on arrival, price-time priority, in block order.
   * 'batch': each block's orders for the market clear together with the book in one
   * uniform-price auction, so the order of transactions within a block is worth nothing
   * (see the README, "Batch matching").
   */
  readonly matching?: MatchingMode;
}

/** How a market matches: order by order ('continuous') or one uniform-price auction per block ('batch'). */
export type MatchingMode = 'continuous' | 'batch';

export interface FeeSchedule {
  /** Fees in basis points of the notional, charged in the quote asset, each rounded down. 0 to 1,000. */
  readonly makerBps: number;
  readonly takerBps: number;
}

export interface ExchangeConfig {
  /** Asset names (minor units, integers). */
  readonly assets: readonly string[];
  readonly markets: readonly MarketConfig[];
  readonly fees?: FeeSchedule;
  /** Public key whose signature authorises deposits and withdrawals; without one, only genesis balances exist. */
  readonly operator?: Uint8Array;
  /**
   * This exchange's id (32 bytes; default 32 zero bytes). Every signed transaction names the
   * cluster it is for; one signed for another is refused (WRONG_CLUSTER). Give each deployment
   * (and each test network) its own, a hash of its genesis say.
   */
  readonly cluster?: Uint8Array;
  /** How many blocks past the block's height a transaction's expiry may lie (default 1000); one further is refused (EXPIRY_TOO_FAR). */
  readonly maxOrderLifetime?: number;
  /** Opening balances by account public key. */
  readonly genesis?: ReadonlyArray<{ readonly account: Uint8Array; readonly balances: Readonly<Record<string, bigint>> }>;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,15}$/;
const SYMBOL = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,31}$/;

const positive = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v > 0;

/** Throws ExchangeError INVALID_CONFIG with what is wrong. */
export function checkConfig(c: ExchangeConfig): void {
  const fail = (m: string): never => {
    throw new ExchangeError('INVALID_CONFIG', m);
  };
  if (!Array.isArray(c.assets) || c.assets.length === 0) fail('at least one asset is required');
  const assets = new Set<string>();
  for (const a of c.assets) {
    if (typeof a !== 'string' || !NAME.test(a)) fail(`asset name ${JSON.stringify(a)} must be 1-16 letters, digits, '.', '_' or '-'`);
    if (assets.has(a)) fail(`asset ${a} is listed twice`);
    assets.add(a);
  }
  const symbols = new Set<string>();
  for (const m of c.markets) {
    if (typeof m.symbol !== 'string' || !SYMBOL.test(m.symbol)) fail(`market symbol ${JSON.stringify(m.symbol)} is not valid`);
    if (symbols.has(m.symbol)) fail(`market ${m.symbol} is listed twice`);
    symbols.add(m.symbol);
    if (!assets.has(m.base) || !assets.has(m.quote) || m.base === m.quote) fail(`market ${m.symbol}: base and quote must be two different configured assets`);
    if (!positive(m.tickSize) || !positive(m.lotSize) || !positive(m.maxOrderSize)) fail(`market ${m.symbol}: tickSize, lotSize and maxOrderSize must be positive safe integers`);
    if (m.protectionTicks !== undefined && !(Number.isSafeInteger(m.protectionTicks) && m.protectionTicks >= 0)) fail(`market ${m.symbol}: protectionTicks must be a non-negative safe integer`);
    if (m.matching !== undefined && m.matching !== 'continuous' && m.matching !== 'batch') fail(`market ${m.symbol}: matching must be 'continuous' or 'batch', got ${JSON.stringify(m.matching)}`);
  }
  if (c.fees !== undefined) {
    for (const k of ['makerBps', 'takerBps'] as const) {
      const v = c.fees[k];
      if (!Number.isSafeInteger(v) || v < 0 || v > 1000) fail(`fees.${k} must be an integer from 0 to 1000`);
    }
  }
  if (c.cluster !== undefined && !(c.cluster instanceof Uint8Array && c.cluster.length === 32)) fail('cluster must be 32 bytes');
  if (c.maxOrderLifetime !== undefined && !(Number.isSafeInteger(c.maxOrderLifetime) && c.maxOrderLifetime > 0)) fail('maxOrderLifetime must be a positive safe integer (blocks)');
  if (c.operator !== undefined && !(c.operator instanceof Uint8Array && c.operator.length === 32)) fail('operator must be a 32-byte public key');
  for (const g of c.genesis ?? []) {
    if (!(g.account instanceof Uint8Array) || g.account.length !== 32) fail('genesis accounts must be 32-byte public keys');
    for (const [asset, amount] of Object.entries(g.balances)) {
      if (!assets.has(asset)) fail(`genesis balance in unknown asset ${asset}`);
      if (typeof amount !== 'bigint' || amount < 0n || amount >= 1n << 96n) fail(`genesis balance of ${asset} must be a bigint in [0, 2^96)`);
    }
  }
}
