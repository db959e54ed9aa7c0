import { decode, toHex } from '@bftx/crypto';
import fc from 'fast-check';
import { Exchange, ExchangeError, placeAction, ReceiptLeafCodec, type BlockResult, type ExchangeConfig, type Trade, type TxReceipt } from '../src/index';
import { Client, client, config, MARKET, scheme } from './helpers';

const BATCH = { ...MARKET, matching: 'batch' as const };
const funded = [1, 2, 3, 4].map(client);
/** Four clients, numbering their own transactions. */
const clients4 = (): [Client, Client, Client, Client] => [new Client(funded[0]!), new Client(funded[1]!), new Client(funded[2]!), new Client(funded[3]!)];
const batchConfig = (overrides: Partial<ExchangeConfig> = {}): ExchangeConfig => config({ markets: [BATCH], ...overrides }, funded);
const block = (height: number, payload: Uint8Array[]) => ({ height, proposer: 0, payload, timestamp: height });
const tradeKey = (t: Trade) => `${t.price}x${t.size} ${t.buyer}<-${t.seller} ${t.buyerFee}/${t.sellerFee} ${t.aggressor} ${t.ts}`;
/**
 * The state a block leaves, without its receipts root: the receipts root commits to the block's
 * order (each receipt's index), so it is the one part of the state root a permutation changes.
 */
const stateOf = (r: BlockResult) => [r.opening.header, r.opening.accounts, r.opening.books].map(toHex).join(' ');
/** A receipt leaf without its index in the block. */
const leafOf = (leaf: Uint8Array) => ({ ...decode(ReceiptLeafCodec, leaf), index: 0 });
const kinds = (r: TxReceipt) => (r.status === 'executed' ? r.events.map((e) => e.type) : [`rejected ${r.reason}`]);

describe('config', () => {
  test('matching is continuous or batch; anything else is INVALID_CONFIG', () => {
    expect(() => new Exchange(batchConfig(), scheme)).not.toThrow();
    expect(() => new Exchange(config({ markets: [{ ...MARKET, matching: 'continuous' }] }), scheme)).not.toThrow();
    const bad = () => new Exchange(config({ markets: [{ ...MARKET, matching: 'auction' as never }] }), scheme);
    expect(bad).toThrow(ExchangeError);
    expect(bad).toThrow(/matching must be 'continuous' or 'batch', got "auction"/);
  });

  test("matching: 'continuous' is the default: the same blocks give the same roots with and without it", () => {
    const run = (x: Exchange) => {
      const [a, b] = [new Client(client(1)), new Client(client(2))];
      return [
        x.apply(block(1, [a.place({ clientId: 1, side: 'sell', price: 100, size: 5 }), b.place({ clientId: 1, side: 'buy', price: 101, size: 3 })])),
        x.apply(block(2, [b.place({ clientId: 2, side: 'buy', type: 'market', size: 4 })])),
      ].map((r) => toHex(r.stateRoot));
    };
    expect(run(new Exchange(config({ markets: [{ ...MARKET, matching: 'continuous' }] }), scheme))).toEqual(run(new Exchange(config(), scheme)));
  });
});

describe('a block in a batch market', () => {
  test('clears at one price whatever the order of its transactions; the block pays the taker fee, the book the maker fee', () => {
    const results: BlockResult[] = [];
    for (const reverse of [false, true]) {
      const x = new Exchange(batchConfig(), scheme);
      const [a, b, c, d] = clients4();
      // A resting book from an earlier block: sell 5 at 103, buy 5 at 97.
      x.apply(block(1, [a.place({ clientId: 1, side: 'sell', price: 103, size: 5 }), a.place({ clientId: 2, side: 'buy', price: 97, size: 5 })]));
      const txs = [b.place({ clientId: 1, side: 'buy', price: 104, size: 4 }), c.place({ clientId: 1, side: 'buy', price: 103, size: 4 }), d.place({ clientId: 1, side: 'sell', price: 102, size: 1 }), d.place({ clientId: 2, side: 'sell', type: 'market', size: 1 })];
      const r = x.apply(block(2, reverse ? [...txs].reverse() : txs));
      results.push(reverse ? { ...r, receipts: [...r.receipts].reverse() } : r);
      // Demand at 103: 8; supply: 5 + 1 + 1 = 7; every trade at 103.
      expect(r.trades.map((t) => t.price)).toEqual(r.trades.map(() => 103));
      expect(r.trades.reduce((s, t) => s + t.size, 0)).toBe(7);
      // a's resting sell pays the maker fee (10 bps), the block's orders the taker fee (25 bps).
      const fromA = r.trades.filter((t) => t.seller === a.key);
      expect(fromA.reduce((s, t) => s + t.size, 0)).toBe(5);
      for (const t of fromA) expect([t.sellerFee, t.buyerFee]).toEqual([(103n * BigInt(t.size) * 10n) / 10_000n, (103n * BigInt(t.size) * 25n) / 10_000n]);
      // The buy at 104 fills first (a better price); the buy at 103 gets the other 3, the rest rests.
      expect(x.book.l2('BTC-USD')).toEqual({ bids: [{ price: 103, size: 1, orders: 1 }, { price: 97, size: 5, orders: 1 }], asks: [] });
      expect(x.totalOf('USD')).toBe(4_000_000n);
      expect(x.totalOf('BTC')).toBe(4_000n);
    }
    expect(stateOf(results[1]!)).toBe(stateOf(results[0]!));
    expect(toHex(results[1]!.stateRoot)).not.toBe(toHex(results[0]!.stateRoot)); // the receipts root: the order differs
    expect(results[1]!.receipts).toEqual(results[0]!.receipts);
    expect([...results[1]!.receiptLeaves].reverse().map(leafOf)).toEqual(results[0]!.receiptLeaves.map(leafOf));
    expect(results[1]!.trades.map(tradeKey).sort()).toEqual(results[0]!.trades.map(tradeKey).sort());
  });

  test("cancels apply first; an account's transactions run in its nonce order, not the block's", () => {
    const x = new Exchange(batchConfig(), scheme);
    const a = new Client(client(1));
    const b = new Client(client(2));
    x.apply(block(1, [a.place({ clientId: 1, side: 'sell', price: 100, size: 5 })]));
    const place = b.place({ clientId: 1, side: 'buy', price: 100, size: 5 });
    const cancel = a.cancel(1);
    const again = a.place({ clientId: 1, side: 'sell', price: 101, size: 2 }); // reuses the id freed by the cancel
    // Listed before the cancel and the place before it, the buy still meets no sell at 100.
    const r = x.apply(block(2, [again, place, cancel]));
    expect(r.trades).toEqual([]);
    expect(r.receipts.map(kinds)).toEqual([['accepted'], ['accepted'], ['cancelled', 'done']]);
    expect(x.accountView(a.key)!.nonce).toBe(3);
    expect(x.book.l2('BTC-USD')).toEqual({ bids: [{ price: 100, size: 5, orders: 1 }], asks: [{ price: 101, size: 2, orders: 1 }] });
    // A cancel of an order of the same block finds nothing live yet; a replayed nonce is stale.
    const c = new Client(client(3));
    const r2 = x.apply(block(3, [c.cancel(7), c.place({ clientId: 7, side: 'sell', price: 105, size: 1 }), cancel]));
    expect(r2.receipts.map(kinds)).toEqual([['rejected UNKNOWN_ORDER'], ['accepted'], ['rejected STALE_NONCE']]);
  });

  test('post-only: rests unless it would cross after the auction (then cancelled, funds released); IOC and market remainders are cancelled', () => {
    const x = new Exchange(batchConfig(), scheme);
    const [a, b, c] = clients4();
    x.apply(block(1, [a.place({ clientId: 1, side: 'sell', price: 100, size: 2 })]));
    const r = x.apply(
      block(2, [
        b.place({ clientId: 1, side: 'buy', price: 101, size: 5, tif: 'IOC' }),
        // Neither post-only order crosses the book after the auction, but they cross each other: both go.
        c.place({ clientId: 1, side: 'sell', price: 99, size: 1, postOnly: true }),
        c.place({ clientId: 2, side: 'buy', price: 100, size: 1, postOnly: true }),
        b.place({ clientId: 2, side: 'buy', type: 'market', size: 3 }),
      ]),
    );
    // At 100 (the market buy's bound, 110, sets no price), the market buy fills first.
    expect(r.trades.map((t) => [t.price, t.size, t.buyer === b.key])).toEqual([[100, 2, true]]);
    const cancelled = (i: number) => (r.receipts[i]!.status === 'executed' ? (r.receipts[i] as Extract<TxReceipt, { status: 'executed' }>).events.filter((e) => e.type === 'cancelled').map((e) => e.type === 'cancelled' && e.reason) : []);
    expect([cancelled(0), cancelled(1), cancelled(2), cancelled(3)]).toEqual([['IOC'], ['WOULD_TAKE'], ['WOULD_TAKE'], ['IOC']]);
    expect(x.book.l2('BTC-USD')).toEqual({ bids: [], asks: [] });
    // Nothing stays reserved for orders that are gone.
    for (const key of [a.key, b.key, c.key]) for (const bal of Object.values(x.accountView(key)!.balances)) expect(bal.reserved).toBe(0n);
    expect(x.totalOf('USD')).toBe(4_000_000n);
  });

  test('modify, stops, FOK and self-trade prevention are refused in a batch market (UNSUPPORTED_ORDER)', () => {
    const x = new Exchange(batchConfig(), scheme);
    const a = new Client(client(1));
    x.apply(block(1, [a.place({ clientId: 1, side: 'sell', price: 100, size: 2 })]));
    const r = x.apply(
      block(2, [
        a.modify(1, 101, 2),
        a.place({ clientId: 2, side: 'sell', type: 'stop-limit', stopPrice: 95, price: 94, size: 1 }),
        a.place({ clientId: 3, side: 'buy', price: 90, size: 1, tif: 'FOK' }),
        a.place({ clientId: 4, side: 'buy', price: 90, size: 1, stp: 'cancel-oldest' }),
      ]),
    );
    expect(r.receipts.map((x) => x.status === 'rejected' && x.reason)).toEqual(['UNSUPPORTED_ORDER', 'UNSUPPORTED_ORDER', 'UNSUPPORTED_ORDER', 'UNSUPPORTED_ORDER']);
  });

  test('act and actBatch (the path without signatures): a batch of actions in any order across accounts gives one state', () => {
    const roots = [false, true].map((reverse) => {
      const x = new Exchange(batchConfig(), scheme);
      const [a, b, c] = clients4().map((k) => k.key);
      x.act(a!, placeAction({ symbol: 'BTC-USD', clientId: 1, side: 'sell', price: 100, size: 3 }), 1);
      const actions = [
        { account: b!, order: placeAction({ symbol: 'BTC-USD', clientId: 1, side: 'buy', price: 101, size: 2 }) },
        { account: c!, order: placeAction({ symbol: 'BTC-USD', clientId: 1, side: 'buy', price: 101, size: 2 }) },
        { account: a!, order: { action: 'cancel' as const, symbol: 'BTC-USD', clientId: 1 } },
        { account: a!, order: placeAction({ symbol: 'BTC-USD', clientId: 1, side: 'sell', price: 101, size: 3 }) },
      ];
      const { receipts, trades } = x.actBatch(reverse ? [...actions].reverse() : actions, 2);
      expect(receipts).toHaveLength(4);
      // 4 lots of demand for 3: 2 and 1, the odd lot by the remainder rank.
      expect(trades.map((t) => t.size).sort()).toEqual([1, 2]);
      return toHex(x.stateRoot());
    });
    expect(roots[1]).toBe(roots[0]);
  });
});

describe('an exchange with both kinds of market', () => {
  test('continuous orders run first, in block order; where the batch orders stand among them changes nothing', () => {
    const mixed = config({ markets: [MARKET, { ...BATCH, symbol: 'BTC-USD.B' }] }, funded);
    const roots = [0, 1, 2].map((arrangement) => {
      const x = new Exchange(mixed, scheme);
      const [a, b, c] = clients4();
      const continuous = [a.place({ clientId: 1, side: 'sell', price: 100, size: 5 }), b.place({ clientId: 1, side: 'buy', price: 100, size: 2 })];
      const batch = [a.place({ symbol: 'BTC-USD.B', clientId: 2, side: 'sell', price: 99, size: 3 }), c.place({ symbol: 'BTC-USD.B', clientId: 1, side: 'buy', price: 101, size: 4 })];
      const payload = arrangement === 0 ? [...batch, ...continuous] : arrangement === 1 ? [continuous[0]!, batch[1]!, continuous[1]!, batch[0]!] : [...continuous, ...[...batch].reverse()];
      const r = x.apply(block(1, payload));
      // The continuous market traded at the resting price, the batch market at its one price.
      expect(r.trades.map((t) => [t.symbol, t.price, t.size])).toEqual([
        ['BTC-USD', 100, 2],
        ['BTC-USD.B', 99, 3],
      ]);
      return stateOf(r);
    });
    expect(new Set(roots).size).toBe(1);
  });
});

/** One action of a random block; resolved against the clients' running nonces. */
const stepArb = fc.record({
  who: fc.nat(3),
  kind: fc.constantFrom('limit', 'limit', 'limit', 'ioc', 'market', 'post-only', 'iceberg', 'cancel', 'cancel', 'modify', 'fok'),
  side: fc.constantFrom('buy' as const, 'sell' as const),
  clientId: fc.integer({ min: 1, max: 6 }),
  price: fc.integer({ min: 94, max: 106 }),
  size: fc.integer({ min: 1, max: 60 }),
});

describe('property', () => {
  let trades = 0;
  test('any permutation of each block gives the same state (all but the receipt order), receipts and trades (as a multiset); every asset is conserved; snapshots round-trip', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.array(stepArb, { minLength: 1, maxLength: 16 }), fc.array(fc.nat(), { minLength: 16, maxLength: 16 })), { minLength: 1, maxLength: 3 }),
        fc.integer({ min: 1, max: 3 }),
        (blocks, lot) => {
          const cfg = batchConfig({ markets: [{ ...BATCH, lotSize: lot, maxOrderSize: 1_000 }] });
          const clients = funded.map((s) => new Client(s));
          const ordered = new Exchange(cfg, scheme);
          const permuted = new Exchange(cfg, scheme);
          // A non-empty book first: each client rests a bid below 100 and an ask above.
          const opening = clients.flatMap((c, i) => [c.place({ clientId: 1, side: 'buy', price: 96 - i, size: 5 * lot }), c.place({ clientId: 2, side: 'sell', price: 104 + i, size: 5 * lot })]);
          expect(stateOf(permuted.apply(block(1, [...opening].reverse())))).toBe(stateOf(ordered.apply(block(1, opening))));
          let height = 1;
          for (const [steps, keys] of blocks) {
            height++;
            const txs = steps.map((s) => {
              const c = clients[s.who]!;
              const size = s.size * lot;
              switch (s.kind) {
                case 'limit':
                  return c.place({ clientId: s.clientId, side: s.side, price: s.price, size });
                case 'ioc':
                case 'fok':
                  return c.place({ clientId: s.clientId, side: s.side, price: s.price, size, tif: s.kind === 'ioc' ? 'IOC' : 'FOK' });
                case 'market':
                  return c.place({ clientId: s.clientId, side: s.side, type: 'market', size });
                case 'post-only':
                  return c.place({ clientId: s.clientId, side: s.side, price: s.price, size, postOnly: true });
                case 'iceberg':
                  return c.place({ clientId: s.clientId, side: s.side, price: s.price, size: size + lot, visibleSize: lot });
                case 'cancel':
                  return c.cancel(s.clientId);
                case 'modify':
                  return c.modify(s.clientId, s.price, size);
              }
              throw new Error(s.kind);
            });
            const perm = txs.map((_, i) => i).sort((a, b) => keys[a]! - keys[b]! || b - a);
            const a = ordered.apply(block(height, txs));
            const b = permuted.apply(block(height, perm.map((i) => txs[i]!)));
            expect(stateOf(b)).toBe(stateOf(a));
            perm.forEach((i, k) => expect(b.receipts[k]).toEqual(a.receipts[i]));
            perm.forEach((i, k) => expect(leafOf(b.receiptLeaves[k]!)).toEqual(leafOf(a.receiptLeaves[i]!)));
            expect(b.trades.map(tradeKey).sort()).toEqual(a.trades.map(tradeKey).sort());
            expect(b.trades).toEqual(a.trades); // canonical order, in fact
            trades += a.trades.length;
            if (new Set(a.trades.map((t) => t.price)).size > 1) throw new Error('two prices in one batch');
            // Conservation: no transfers here, so every asset's total is what genesis gave.
            for (const asset of ['USD', 'BTC']) expect(ordered.totalOf(asset)).toBe(asset === 'USD' ? 4_000_000n : 4_000n);
            for (const key of ordered.accountKeys) for (const bal of Object.values(ordered.accountView(key)!.balances)) expect(bal.available >= 0n && bal.reserved >= 0n).toBe(true);
            // Never crossed after a block.
            const l1 = ordered.book.l1('BTC-USD');
            if (l1.bidPrice !== undefined && l1.askPrice !== undefined) expect(l1.bidPrice).toBeLessThan(l1.askPrice);
            const restored = Exchange.restore(cfg, scheme, ordered.snapshot());
            expect(toHex(restored.stateRoot())).toBe(toHex(a.stateRoot));
            expect(restored.snapshot()).toEqual(ordered.snapshot());
          }
        },
      ),
      { numRuns: bftxRuns(100) },
    );
    // Not vacuous: the blocks traded.
    expect(trades).toBeGreaterThan(100);
  });

  test('a restored batch exchange goes on exactly as the original', () => {
    const cfg = batchConfig();
    const [a, b, c] = clients4();
    const x = new Exchange(cfg, scheme);
    x.apply(block(1, [a.place({ clientId: 1, side: 'sell', price: 100, size: 5 }), b.place({ clientId: 1, side: 'buy', price: 99, size: 5 })]));
    const y = Exchange.restore(cfg, scheme, x.snapshot());
    expect(toHex(y.stateRoot())).toBe(toHex(x.stateRoot()));
    const next = [c.place({ clientId: 1, side: 'buy', price: 101, size: 3 }), c.place({ clientId: 2, side: 'sell', price: 99, size: 2 }), b.place({ clientId: 2, side: 'buy', type: 'market', size: 4 })];
    const rx = x.apply(block(2, next));
    const ry = y.apply(block(2, next));
    expect(rx.trades.length).toBeGreaterThan(0);
    expect(ry).toEqual(rx);
  });
});
