import { toHex } from '@bftx/crypto';
import fc from 'fast-check';
import { decodeTransaction, Exchange } from '../src/index';
import { Client, client, config, deposit, MARKET, scheme } from './helpers';

/** One step of a random session: who does what (resolved to signed bytes against the clients' running nonces). */
const stepArb = fc.record({
  who: fc.nat(3),
  kind: fc.constantFrom('limit', 'limit', 'limit', 'ioc', 'fok', 'market', 'post-only', 'iceberg', 'stop-limit', 'stop-market', 'cancel', 'modify', 'modify', 'deposit', 'withdraw', 'forged', 'replay', 'stp'),
  side: fc.constantFrom('buy' as const, 'sell' as const),
  clientId: fc.integer({ min: 1, max: 8 }),
  price: fc.integer({ min: 90, max: 110 }),
  size: fc.integer({ min: 1, max: 400 }),
  amount: fc.bigInt({ min: 1n, max: 2_000_000n }),
  endBlock: fc.boolean(),
});

describe.each(['continuous', 'batch'] as const)('conservation and bounds (%s matching)', (matching) => {
  let trades = 0;
  let rejections = 0;
  const reasons: Record<string, number> = {};
  test('after every block: each asset total changes only by executed deposits and withdrawals, no balance is negative, reservations add up; a rejected transaction changes nothing', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 20, maxLength: 80, size: 'max' }), (steps) => {
        const cfg = matching === 'continuous' ? config() : config({ markets: [{ ...MARKET, matching }] });
        const x = new Exchange(cfg, scheme);
        const clients = [1, 2, 3, 4].map((i) => new Client(client(i)));
        const expected = { USD: 3_000_000n, BTC: 3_000n };
        const history: Uint8Array[] = [];
        let height = 1;
        const check = () => {
          height++;
          expect(x.apply({ height, proposer: 0, payload: [], timestamp: height }).receipts).toEqual([]);
          for (const asset of ['USD', 'BTC'] as const) expect(x.totalOf(asset)).toBe(expected[asset]);
          for (const key of x.accountKeys) {
            for (const b of Object.values(x.accountView(key)!.balances)) {
              expect(b.available >= 0n && b.reserved >= 0n).toBe(true);
            }
          }
          // restore re-derives every reservation from the order records and refuses a mismatch.
          const restored = Exchange.restore(cfg, scheme, x.snapshot());
          expect(restored.snapshot()).toEqual(x.snapshot());
          // The incremental root (caches updated as the state changed) equals one computed from scratch.
          expect(toHex(restored.stateRoot())).toBe(toHex(x.stateRoot()));
        };
        for (const s of steps) {
          const c = clients[s.who]!;
          let tx: Uint8Array;
          switch (s.kind) {
            case 'limit':
              tx = c.place({ clientId: s.clientId, side: s.side, price: s.price, size: s.size });
              break;
            case 'ioc':
            case 'fok':
              tx = c.place({ clientId: s.clientId, side: s.side, price: s.price, size: s.size, tif: s.kind === 'ioc' ? 'IOC' : 'FOK' });
              break;
            case 'market':
              tx = c.place({ clientId: s.clientId, side: s.side, type: 'market', size: s.size });
              break;
            case 'post-only':
              tx = c.place({ clientId: s.clientId, side: s.side, price: s.price, size: s.size, postOnly: true });
              break;
            case 'iceberg':
              tx = c.place({ clientId: s.clientId, side: s.side, price: s.price, size: s.size, visibleSize: 1 + (s.size >> 2) });
              break;
            case 'stop-limit':
              tx = c.place({ clientId: s.clientId, side: s.side, type: 'stop-limit', stopPrice: s.price, price: s.side === 'buy' ? s.price + 2 : s.price - 2, size: s.size });
              break;
            case 'stop-market':
              tx = c.place({ clientId: s.clientId, side: s.side, type: 'stop-market', stopPrice: s.price, size: s.size });
              break;
            case 'stp':
              tx = c.place({ clientId: s.clientId, side: s.side, price: s.price, size: s.size, stp: (['cancel-newest', 'cancel-oldest', 'cancel-both', 'decrement'] as const)[s.size % 4] });
              break;
            case 'cancel':
              tx = c.cancel(s.clientId);
              break;
            case 'modify':
              tx = c.modify(s.clientId, s.price, s.size);
              break;
            case 'deposit':
            case 'withdraw':
              tx = deposit(c.signer, s.side === 'buy' ? 'USD' : 'BTC', s.amount, s.kind);
              break;
            case 'forged':
              tx = c.place({ clientId: s.clientId, side: s.side, price: s.price, size: s.size });
              tx[tx.length - 1]! ^= 1;
              c.nonce--;
              break;
            case 'replay':
              tx = history.length > 0 ? history[s.size % history.length]! : c.cancel(s.clientId);
              break;
          }
          history.push(tx);
          // Each transaction alone first: a rejection leaves the state as it was, but for the nonce of
          // an authenticated order's account (the signed order is used up, so its bytes never count again).
          const before = x.snapshot();
          const signed = (() => {
            try {
              return decodeTransaction(tx);
            } catch {
              return undefined;
            }
          })();
          const owner = signed?.type === 'order' ? toHex(signed.account) : undefined;
          const nonceBefore = owner === undefined ? undefined : x.accountView(owner)?.nonce;
          const receipt = x.applyTransaction(tx, height);
          if (receipt.status === 'rejected') {
            rejections++;
            reasons[receipt.reason] = (reasons[receipt.reason] ?? 0) + 1;
            // Used up: every rejection of an authenticated transaction of this cluster, within its expiry.
            const usedUp = !['MALFORMED', 'BAD_SIGNATURE', 'STALE_NONCE', 'WRONG_CLUSTER', 'EXPIRED'].includes(receipt.reason);
            if (!usedUp) expect(toHex(x.snapshot())).toBe(toHex(before));
            else {
              if (owner !== undefined) expect(x.accountView(owner)!.nonce).toBe(signed!.nonce);
              // Everything else as it was: every account's balances, live orders and nonce (that one's aside), the fees and the book.
              const was = Exchange.restore(cfg, scheme, before);
              const view = (e: Exchange) => ({
                accounts: e.accountKeys.map((k) => ({ k, ...e.accountView(k)!, nonce: k === owner ? 0 : e.accountView(k)!.nonce })),
                fees: e.feeBalances(),
                book: e.book.l2('BTC-USD', 1_000),
              });
              const expected = view(was);
              // An account the state did not hold is there now, with its nonce and nothing else.
              if (owner !== undefined && nonceBefore === undefined) expected.accounts.push({ k: owner, nonce: 0, balances: { USD: { available: 0n, reserved: 0n }, BTC: { available: 0n, reserved: 0n } }, openOrders: new Map() });
              expect(view(x)).toEqual(expected);
            }
          } else {
            trades += receipt.trades.length;
            const done = decodeTransaction(tx);
            if (done.type === 'transfer') expected[done.asset as 'USD' | 'BTC'] += done.kind === 'deposit' ? done.amount : -done.amount;
          }
          if (s.endBlock) check();
        }
        check();
      }),
      { numRuns: bftxRuns(100) },
    );
    // Not vacuous: the sessions traded and hit rejections.
    expect(trades).toBeGreaterThan(100);
    expect(rejections).toBeGreaterThan(100);
    for (const reason of ['INSUFFICIENT_FUNDS', 'UNKNOWN_ORDER', 'BAD_SIGNATURE', 'STALE_NONCE', 'DUPLICATE_CLIENT_ID']) expect(reasons[reason]).toBeGreaterThan(0);
  });
});
