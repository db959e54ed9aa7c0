import { toHex, utf8 } from '@bftx/crypto';
import { decodeTransaction, Exchange, ExchangeError, placeAction, signOrder, type TxReceipt } from '../src/index';
import { client, Client, config, deposit, MARKET, newExchange, operator, scheme, VALID } from './helpers';

const at = (x: Exchange, txs: Uint8Array[], height = 1, proposer = 0) => x.apply({ height, proposer, payload: txs, timestamp: height });
const rejected = (r: TxReceipt) => (r.status === 'rejected' ? r.reason : 'executed');

describe('orders, reservations and settlement', () => {
  test('a trade moves base and quote, charges maker and taker fees (rounded down), and releases unused reservations', () => {
    const x = newExchange();
    const seller = new Client(client(1));
    const buyer = new Client(client(2));
    const r = at(x, [seller.place({ clientId: 1, side: 'sell', price: 100, size: 10 }), buyer.place({ clientId: 7, side: 'buy', price: 101, size: 4, tif: 'IOC' })]);
    expect(r.receipts.map(rejected)).toEqual(['executed', 'executed']);
    expect(r.trades).toEqual([{ symbol: 'BTC-USD', price: 100, size: 4, buyer: buyer.key, seller: seller.key, aggressor: 'buy', buyerFee: 1n, sellerFee: 0n, ts: 1 }]);
    expect(x.accountView(buyer.key)!.balances).toEqual({ USD: { available: 999_599n, reserved: 0n }, BTC: { available: 1_004n, reserved: 0n } });
    expect(x.accountView(seller.key)!.balances).toEqual({ USD: { available: 1_000_400n, reserved: 0n }, BTC: { available: 990n, reserved: 6n } });
    expect(x.feeBalances()).toEqual({ USD: 1n, BTC: 0n });
    expect(x.accountView(seller.key)!.openOrders).toEqual(new Map([[1, 1]]));
    expect(x.accountView(buyer.key)!.openOrders.size).toBe(0);
  });

  test('a resting buy reserves price x size plus the larger fee rate; cancel releases all of it', () => {
    const x = newExchange();
    const buyer = new Client(client(2));
    at(x, [buyer.place({ clientId: 1, side: 'buy', price: 1_000, size: 100 })]);
    // 100,000 notional + 0.25% = 100,250
    expect(x.accountView(buyer.key)!.balances.USD).toEqual({ available: 899_750n, reserved: 100_250n });
    at(x, [buyer.modify(1, 500, 100)], 2);
    expect(x.accountView(buyer.key)!.balances.USD).toEqual({ available: 949_875n, reserved: 50_125n });
    at(x, [buyer.cancel(1)], 3);
    expect(x.accountView(buyer.key)!.balances.USD).toEqual({ available: 1_000_000n, reserved: 0n });
    expect(x.accountView(buyer.key)!.openOrders.size).toBe(0);
  });

  test('a market buy reserves at its protection bound and pays what it trades at', () => {
    const x = newExchange();
    const seller = new Client(client(1));
    const buyer = new Client(client(2));
    const r = at(x, [seller.place({ clientId: 1, side: 'sell', price: 100, size: 3 }), seller.place({ clientId: 2, side: 'sell', price: 105, size: 3 }), buyer.place({ clientId: 1, side: 'buy', type: 'market', size: 5 })]);
    expect(r.trades.map((t) => [t.price, t.size])).toEqual([
      [100, 3],
      [105, 2],
    ]);
    // 300 + 210 = 510 notional, taker fee floor(0.75) + floor(0.525) = 0
    expect(x.accountView(buyer.key)!.balances.USD).toEqual({ available: 1_000_000n - 510n, reserved: 0n });
  });

  test('self-trade prevention by decrement releases both sides', () => {
    const x = newExchange();
    const c = new Client(client(1));
    at(x, [c.place({ clientId: 1, side: 'sell', price: 100, size: 5 }), c.place({ clientId: 2, side: 'buy', price: 100, size: 3, stp: 'decrement' })]);
    expect(x.accountView(c.key)!.balances).toEqual({ USD: { available: 1_000_000n, reserved: 0n }, BTC: { available: 998n, reserved: 2n } });
  });

  test('a triggered stop-limit buy trades within its reservation', () => {
    const x = newExchange();
    const a = new Client(client(1));
    const b = new Client(client(2));
    const c = new Client(client(3));
    const r = at(x, [
      a.place({ clientId: 1, side: 'sell', price: 100, size: 10 }),
      b.place({ clientId: 1, side: 'buy', type: 'stop-limit', stopPrice: 100, price: 102, size: 4 }),
      c.place({ clientId: 1, side: 'buy', price: 100, size: 1, tif: 'IOC' }),
    ]);
    expect(r.trades.map((t) => [t.buyer === b.key ? 'b' : 'c', t.price, t.size])).toEqual([
      ['c', 100, 1],
      ['b', 100, 4],
    ]);
    expect(x.accountView(b.key)!.balances.USD).toEqual({ available: 1_000_000n - 401n, reserved: 0n });
  });

  test('deposits and withdrawals need the operator; withdrawals only from available funds', () => {
    const x = newExchange();
    const newcomer = client(50);
    const r = at(x, [deposit(newcomer, 'USD', 500n), deposit(newcomer, 'USD', 501n, 'withdraw'), deposit(newcomer, 'USD', 200n, 'withdraw')]);
    expect(r.receipts.map(rejected)).toEqual(['executed', 'INSUFFICIENT_FUNDS', 'executed']);
    expect(x.accountView(newcomer.publicKey)!.balances.USD).toEqual({ available: 300n, reserved: 0n });
    const noOperator = new Exchange(config({ operator: undefined }), scheme);
    expect(rejected(at(noOperator, [deposit(newcomer, 'USD', 1n)]).receipts[0]!)).toBe('BAD_SIGNATURE');
  });
});

describe('bad transactions are rejected with a reason and change nothing but a used-up nonce', () => {
  const seller = new Client(client(1));
  const x = newExchange();
  at(x, [seller.place({ clientId: 1, side: 'sell', price: 100, size: 10 }), seller.place({ clientId: 12, side: 'sell', price: 200, size: 500 })]);
  const other = client(2);
  const forged = signOrder(client(9), 1, placeAction({ symbol: 'BTC-USD', clientId: 1, side: 'buy', price: 100, size: 1 }), VALID);
  forged.set(other.publicKey, 2); // claims to be client 2 (the account follows the version and tag bytes)
  const tampered = seller.place({ clientId: 2, side: 'sell', price: 100, size: 1 });
  tampered[tampered.length - 1]! ^= 1;
  seller.nonce--; // the tampered transaction never executed
  const cases: Array<[string, Uint8Array, string]> = [
    ['random bytes', utf8('not a transaction'), 'MALFORMED'],
    ['trailing byte', Uint8Array.of(...seller.place({ clientId: 3, side: 'sell', price: 100, size: 1 }), 0), 'MALFORMED'],
    ['signature by another key', forged, 'BAD_SIGNATURE'],
    ['tampered signature', tampered, 'BAD_SIGNATURE'],
    ['replayed nonce', signOrder(seller.signer, 1, placeAction({ symbol: 'BTC-USD', clientId: 4, side: 'sell', price: 100, size: 1 }), VALID), 'STALE_NONCE'],
    ['unknown symbol', seller.place({ symbol: 'ETH-USD', clientId: 5, side: 'sell', price: 100, size: 1 }), 'UNKNOWN_SYMBOL'],
    ['over the size limit', seller.place({ clientId: 6, side: 'sell', price: 100, size: MARKET.maxOrderSize + 1 }), 'SIZE_LIMIT'],
    ['more than the balance', seller.place({ clientId: 7, side: 'sell', price: 100, size: 991 }), 'INSUFFICIENT_FUNDS'],
    ['a buy beyond the cash', seller.place({ clientId: 8, side: 'buy', price: 10_000, size: 100 }), 'INSUFFICIENT_FUNDS'],
    ['an account with nothing', new Client(client(60)).place({ clientId: 1, side: 'buy', price: 1, size: 1 }), 'INSUFFICIENT_FUNDS'],
    ['signed for another cluster', new Client(seller.signer, { cluster: new Uint8Array(32).fill(7), expiresAt: 1_000 }).place({ clientId: 13, side: 'sell', price: 100, size: 1 }), 'WRONG_CLUSTER'],
    ['expired', Object.assign(new Client(seller.signer, { ...VALID, expiresAt: 0 }), { nonce: 50 }).place({ clientId: 14, side: 'sell', price: 100, size: 1 }), 'EXPIRED'],
    ['a transfer for another cluster', deposit(other, 'BTC', 1n, 'deposit', { cluster: new Uint8Array(32).fill(7), expiresAt: 1_000 }), 'WRONG_CLUSTER'],
    ['an expired transfer', deposit(other, 'BTC', 1n, 'deposit', { ...VALID, expiresAt: 0 }), 'EXPIRED'],
    ['duplicate client id', seller.place({ clientId: 1, side: 'sell', price: 101, size: 1 }), 'DUPLICATE_CLIENT_ID'],
    ['cancel of an unknown order', seller.cancel(99), 'UNKNOWN_ORDER'],
    ['modify of an unknown order', seller.modify(99, 100, 1), 'UNKNOWN_ORDER'],
    ['stop-market buy', seller.place({ clientId: 9, side: 'buy', type: 'stop-market', stopPrice: 120, size: 1 }), 'UNSUPPORTED_ORDER'],
    ['zero size', seller.place({ clientId: 10, side: 'sell', price: 100, size: 0 }), 'ORDER_REJECTED'],
    ['post-only that would take', seller.place({ clientId: 11, side: 'buy', price: 100, size: 1, postOnly: true }), 'ORDER_REJECTED'],
    ['modify over the size limit', seller.modify(1, 100, 1_001), 'SIZE_LIMIT'],
    ['modify to more than held', seller.modify(1, 100, 600), 'INSUFFICIENT_FUNDS'],
    ['withdraw too much', deposit(other, 'BTC', 1_001n, 'withdraw'), 'INSUFFICIENT_FUNDS'],
    ['unknown asset', deposit(other, 'ETH', 1n), 'UNKNOWN_ASSET'],
    ['deposit over the cap', deposit(other, 'BTC', (1n << 96n) - 1n), 'SIZE_LIMIT'],
    // Last: it uses up nonce 60 of the seller, above every nonce the seller signed for the cases above.
    ['expiry too far ahead', Object.assign(new Client(seller.signer, { ...VALID, expiresAt: 1 + 1_001 }), { nonce: 59 }).place({ clientId: 15, side: 'sell', price: 100, size: 1 }), 'EXPIRY_TOO_FAR'],
  ];
  // Everything but nonces: balances, live orders, fees, the book.
  const view = () => ({ accounts: x.accountKeys.map((k) => ({ k, balances: x.accountView(k)!.balances, openOrders: x.accountView(k)!.openOrders })), fees: x.feeBalances(), book: x.book.l2('BTC-USD', 1_000) });
  test.each(cases)('%s', (_name, tx, reason) => {
    const before = x.snapshot();
    const root = toHex(x.stateRoot());
    const state = view();
    const signed = reason === 'MALFORMED' || reason === 'BAD_SIGNATURE' ? undefined : decodeTransaction(tx);
    const owner = signed?.type === 'order' ? toHex(signed.account) : undefined;
    const existed = owner !== undefined && x.accountView(owner) !== undefined;
    const r = x.applyTransaction(tx, 2);
    expect(rejected(r)).toBe(reason);
    // Refusals that leave the bytes unable to execute here ever: nothing changes at all.
    const consumes = signed !== undefined && !['STALE_NONCE', 'WRONG_CLUSTER', 'EXPIRED'].includes(reason);
    // An order from an account the state did not hold leaves that account, holding its nonce only.
    const zero = { USD: { available: 0n, reserved: 0n }, BTC: { available: 0n, reserved: 0n } };
    expect(view()).toEqual(consumes && owner !== undefined && !existed ? { ...state, accounts: [...state.accounts, { k: owner, balances: zero, openOrders: new Map() }] } : state);
    if (consumes) {
      // An authenticated transaction of this cluster, within its expiry, is used up, rejected or
      // not: its nonce moves, nothing else.
      if (owner !== undefined) expect(x.accountView(owner)!.nonce).toBe(signed!.nonce);
      expect(rejected(x.applyTransaction(tx, 2))).toBe('STALE_NONCE');
    } else {
      expect(toHex(x.stateRoot())).toBe(root);
      expect(x.snapshot()).toEqual(before);
    }
  });

  test('the rejection counters saw each of them', () => {
    expect(x.counters.rejected.MALFORMED).toBe(2);
    expect(x.counters.rejected.BAD_SIGNATURE).toBe(2);
  });
});

describe('blocks, evidence and snapshots', () => {
  test('a proposer whose block carries forged transactions is one offender with checkable evidence, however many it forged', () => {
    const x = newExchange();
    const c = new Client(client(1));
    const forged = c.place({ clientId: 1, side: 'sell', price: 100, size: 1 });
    forged[forged.length - 1]! ^= 1;
    const r1 = at(x, [forged, utf8('junk')], 1, 3);
    const r2 = at(x, [forged], 2, 3);
    expect(r1.evidence.map((e) => [e.proposer, e.txIndex, e.reason])).toEqual([
      [3, 0, 'BAD_SIGNATURE'],
      [3, 1, 'MALFORMED'],
    ]);
    expect(r2.evidence).toHaveLength(1);
    expect(x.offenders).toEqual([3]);
    // Anyone can check the evidence: the bytes do not verify.
    expect(newExchange().admit(r1.evidence[0]!.tx)).toMatchObject({ ok: false, reason: 'BAD_SIGNATURE' });
  });

  test('restore(snapshot) then the same blocks gives the same receipts, roots and snapshots', () => {
    const a = new Client(client(1));
    const b = new Client(client(2));
    const x = newExchange();
    at(x, [a.place({ clientId: 1, side: 'sell', price: 100, size: 10, visibleSize: 2 }), b.place({ clientId: 1, side: 'buy', price: 99, size: 5 })]);
    const copy = Exchange.restore(config(), scheme, x.snapshot());
    expect(copy.snapshot()).toEqual(x.snapshot());
    const next = [b.place({ clientId: 2, side: 'buy', price: 100, size: 3 }), a.cancel(1), b.modify(1, 98, 2)];
    const r1 = at(x, next, 2);
    const r2 = at(copy, next, 2);
    expect(r2).toEqual(r1);
    expect(copy.snapshot()).toEqual(x.snapshot());
  });

  test('corrupted snapshots restore to the same state or fail with INVALID_SNAPSHOT', () => {
    const a = new Client(client(1));
    const x = newExchange();
    at(x, [a.place({ clientId: 1, side: 'sell', price: 100, size: 10 }), a.place({ clientId: 2, side: 'buy', price: 90, size: 10 })]);
    const good = x.snapshot();
    const root = toHex(x.stateRoot());
    let failures = 0;
    for (let i = 0; i < good.length; i++) {
      const bad = good.slice();
      bad[i]! ^= 0x01;
      try {
        const y = Exchange.restore(config(), scheme, bad);
        expect(y.snapshot()).toEqual(bad); // accepted only as a canonical, consistent state
        // ... and another state has another root: the root covers every byte of the state.
        expect(toHex(y.stateRoot())).not.toBe(root);
      } catch (e) {
        expect(e).toBeInstanceOf(ExchangeError);
        expect((e as ExchangeError).code).toBe('INVALID_SNAPSHOT');
        failures++;
      }
    }
    // Many flips give another valid state (a balance, a nonce): a snapshot is state, not a checksum.
    // The rest (structure, magic, book, reservations that do not add up) must be refused.
    expect(failures).toBeGreaterThan(good.length / 4);
    expect(() => Exchange.restore(config(), scheme, good.subarray(0, good.length - 1))).toThrow(ExchangeError);
  });

  test('configuration errors are typed', () => {
    const bad = (c: object) => () => new Exchange({ ...config(), ...c }, scheme);
    expect(bad({ assets: [] })).toThrow(/INVALID_CONFIG/);
    expect(bad({ markets: [{ ...MARKET, quote: 'EUR' }] })).toThrow(/two different configured assets/);
    expect(bad({ markets: [{ ...MARKET, tickSize: 0.5 }] })).toThrow(/positive safe integers/);
    expect(bad({ fees: { makerBps: -1, takerBps: 0 } })).toThrow(/fees.makerBps/);
    expect(bad({ genesis: [{ account: operator.publicKey, balances: { USD: 1 } }] })).toThrow(/bigint/);
  });
});

describe('signatureCheckOf: the check admission and execution make, for a runtime to make ahead', () => {
  /** The exchange with its scheme counting the checks that reach it, and their arguments. */
  function counted() {
    const seen: Array<[string, string, string, string]> = [];
    const counting = { ...scheme, backend: scheme.backend, publicKey: scheme.publicKey.bind(scheme), signer: scheme.signer.bind(scheme), verify: (k: Uint8Array, d: string, p: Uint8Array, s: Uint8Array) => (seen.push([toHex(k), d, toHex(p), toHex(s)]), scheme.verify(k, d, p, s)) };
    return { x: new Exchange(config(), counting), seen };
  }
  const order = (nonce: number, clientId = nonce) => signOrder(client(1), nonce, placeAction({ symbol: MARKET.symbol, clientId, side: 'buy', price: 100, size: 1 }), VALID);

  test('names exactly the check admit then makes (key, domain, signed bytes, signature); the bytes are decoded once', () => {
    const { x, seen } = counted();
    const tx = order(1);
    const job = x.signatureCheckOf(tx)!;
    expect(job.publicKey).toEqual(client(1).publicKey);
    expect(scheme.verify(job.publicKey, job.domain, job.payload, job.signature)).toBe(true);
    expect(x.admit(tx)).toMatchObject({ ok: true });
    expect(seen).toEqual([[toHex(job.publicKey), job.domain, toHex(job.payload), toHex(job.signature)]]);
    // Admitted: nothing left to check ahead.
    expect(x.signatureCheckOf(tx)).toBeUndefined();
  });

  test('execution of a transaction checked ahead (not admitted here) makes the same check; bytes that do not decode need none', () => {
    const { x, seen } = counted();
    const tx = order(1);
    const job = x.signatureCheckOf(tx)!;
    expect(rejected(at(x, [tx]).receipts[0]!)).toBe('executed');
    expect(seen).toEqual([[toHex(job.publicKey), job.domain, toHex(job.payload), toHex(job.signature)]]);
    expect(x.signatureCheckOf(Uint8Array.of(1, 2, 3))).toBeUndefined();
  });

  test('bytes changed after the check ahead are decoded afresh: a forged copy is refused, never taken for the checked one', () => {
    const { x } = counted();
    const tx = order(1);
    expect(x.signatureCheckOf(tx)).toBeDefined();
    const forged = tx.slice();
    forged[10]! ^= 1; // another order body under the same signature
    expect(x.admit(forged)).toMatchObject({ ok: false });
    tx[10]! ^= 1; // the caller's buffer reused for the forged bytes
    expect(x.admit(tx)).toMatchObject({ ok: false });
  });
});
