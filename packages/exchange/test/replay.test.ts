import { toHex } from '@bftx/crypto';
import { DEFAULT_CLUSTER, Exchange, ExchangeError, expiryFrom, type ExchangeBlock, type TxReceipt } from '../src/index';
import { client, Client, config, deposit, MARKET, scheme, VALID } from './helpers';

const block = (height: number, payload: Uint8Array[]): ExchangeBlock => ({ height, proposer: 0, payload, timestamp: height });
const outcome = (r: TxReceipt) => (r.status === 'rejected' ? r.reason : 'executed');
const OTHER_CLUSTER = new Uint8Array(32).fill(7);
/** The mempool's view: admitted (decodes, signature verifies), then admissible against the state. */
const admissible = (x: Exchange, bytes: Uint8Array) => {
  const a = x.admit(bytes);
  if (!a.ok) throw new Error(a.detail);
  return x.admissible(a.tx);
};

describe.each(['continuous', 'batch'] as const)('replay protection (%s market)', (matching) => {
  const newExchange = () => new Exchange(config({ markets: [{ ...MARKET, matching }] }), scheme);

  test('an order rejected for want of funds never executes later, not even after a deposit (an account the state did not hold)', () => {
    const x = newExchange();
    const newcomer = new Client(client(40));
    const buy = newcomer.place({ clientId: 1, side: 'buy', price: 100, size: 1 });
    expect(outcome(x.apply(block(1, [buy])).receipts[0]!)).toBe('INSUFFICIENT_FUNDS');
    expect(x.accountView(newcomer.key)!.nonce).toBe(1);
    x.apply(block(2, [deposit(newcomer.signer, 'USD', 10_000n)]));
    // Anyone who saw the bytes can put them in a later block: they stay dead.
    expect(outcome(x.apply(block(3, [buy])).receipts[0]!)).toBe('STALE_NONCE');
    expect(admissible(x, buy)).toMatchObject({ ok: false, reason: 'STALE_NONCE' });
    expect(x.accountView(newcomer.key)!.balances.USD).toEqual({ available: 10_000n, reserved: 0n });
    // The account's next order executes.
    expect(outcome(x.apply(block(4, [newcomer.place({ clientId: 1, side: 'buy', price: 100, size: 1 })])).receipts[0]!)).toBe('executed');
  });

  test('an order executed once is STALE_NONCE ever after', () => {
    const x = newExchange();
    const seller = new Client(client(1));
    const sell = seller.place({ clientId: 1, side: 'sell', price: 100, size: 1 });
    expect(outcome(x.apply(block(1, [sell])).receipts[0]!)).toBe('executed');
    expect(outcome(x.apply(block(2, [sell])).receipts[0]!)).toBe('STALE_NONCE');
    expect(x.book.l2(MARKET.symbol).asks).toEqual([{ price: 100, size: 1, orders: 1 }]);
  });

  test('an expired order never executes, and uses nothing up', () => {
    const x = newExchange();
    const seller = new Client(client(1), { cluster: DEFAULT_CLUSTER, expiresAt: 2 });
    const sell = seller.place({ clientId: 1, side: 'sell', price: 100, size: 1 });
    // Height 0 applied: the next block, 1, is within its expiry.
    expect(admissible(x, sell)).toEqual({ ok: true });
    x.apply(block(1, []));
    x.apply(block(2, []));
    // The next block is 3: too late.
    expect(admissible(x, sell)).toMatchObject({ ok: false, reason: 'EXPIRED' });
    for (const h of [3, 4, 1_000]) expect(outcome(x.apply(block(h, [sell])).receipts[0]!)).toBe('EXPIRED');
    expect(x.book.l2(MARKET.symbol).asks).toEqual([]);
    expect(x.accountView(seller.key)!.nonce).toBe(0);
    // At its last height it would have executed.
    const y = newExchange();
    expect(outcome(y.apply(block(2, [sell])).receipts[0]!)).toBe('executed');
  });

  test('an order for another cluster is refused and uses nothing up', () => {
    const x = newExchange();
    const elsewhere = new Client(client(1), { cluster: OTHER_CLUSTER, expiresAt: 1_000 });
    const here = new Client(client(1));
    const foreign = elsewhere.place({ clientId: 1, side: 'sell', price: 100, size: 1 });
    expect(admissible(x, foreign)).toMatchObject({ ok: false, reason: 'WRONG_CLUSTER' });
    const before = toHex(x.snapshot());
    expect(outcome(x.apply(block(1, [foreign])).receipts[0]!)).toBe('WRONG_CLUSTER');
    expect(x.accountView(here.key)!.nonce).toBe(0);
    // The same nonce, signed for this cluster, executes.
    expect(outcome(x.apply(block(2, [here.place({ clientId: 1, side: 'sell', price: 100, size: 1 })])).receipts[0]!)).toBe('executed');
    expect(toHex(x.snapshot())).not.toBe(before);
    // A cluster configured with its own id refuses the default one's transactions.
    const own = new Exchange(config({ markets: [{ ...MARKET, matching }], cluster: OTHER_CLUSTER }), scheme);
    expect(outcome(own.apply(block(1, [new Client(client(2)).place({ clientId: 1, side: 'sell', price: 100, size: 1 })])).receipts[0]!)).toBe('WRONG_CLUSTER');
    expect(outcome(own.apply(block(2, [foreign])).receipts[0]!)).toBe('executed');
  });

  test('an expiry beyond maxOrderLifetime is refused, at admission and in a block, and uses the nonce up', () => {
    const x = new Exchange(config({ markets: [{ ...MARKET, matching }], maxOrderLifetime: 10 }), scheme);
    const c = new Client(client(1), { cluster: DEFAULT_CLUSTER, expiresAt: 12 });
    const far = c.place({ clientId: 1, side: 'sell', price: 100, size: 1 });
    // The next block is 1: at most 1 + 10.
    expect(admissible(x, far)).toMatchObject({ ok: false, reason: 'EXPIRY_TOO_FAR' });
    expect(outcome(x.apply(block(1, [far])).receipts[0]!)).toBe('EXPIRY_TOO_FAR');
    expect(x.accountView(c.key)!.nonce).toBe(1);
    // Later, in range, the same bytes are dead.
    expect(outcome(x.apply(block(2, [far])).receipts[0]!)).toBe('STALE_NONCE');
    expect(() => new Exchange(config({ maxOrderLifetime: 0 }), scheme)).toThrow(ExchangeError);
    expect(() => new Exchange(config({ cluster: new Uint8Array(31) }), scheme)).toThrow(ExchangeError);
  });

  test('transfers carry the same protection: another cluster or expired is refused, a rejected one is used up', () => {
    const x = newExchange();
    const who = client(1);
    expect(outcome(x.apply(block(1, [deposit(who, 'USD', 1n, 'deposit', { cluster: OTHER_CLUSTER, expiresAt: 100 })])).receipts[0]!)).toBe('WRONG_CLUSTER');
    expect(outcome(x.apply(block(2, [deposit(who, 'USD', 1n, 'deposit', { cluster: DEFAULT_CLUSTER, expiresAt: 1 })])).receipts[0]!)).toBe('EXPIRED');
    const tooMuch = deposit(who, 'USD', 10_000_000n, 'withdraw', { cluster: DEFAULT_CLUSTER, expiresAt: expiryFrom(2) });
    expect(outcome(x.apply(block(3, [tooMuch])).receipts[0]!)).toBe('INSUFFICIENT_FUNDS');
    x.apply(block(4, [deposit(who, 'USD', 10_000_000n, 'deposit', VALID)]));
    expect(outcome(x.apply(block(5, [tooMuch])).receipts[0]!)).toBe('STALE_NONCE');
  });
});
