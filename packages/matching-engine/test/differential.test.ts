import fc from 'fast-check';
import { MatchingEngine, type EngineEvent } from '../src/index';
import { opsArb, stamp, SYMBOLS } from './arbitraries';
import { ReferenceEngine } from './reference';

const strip = (events: EngineEvent[]) => events.map((e) => (e.type === 'rejected' ? { ...e, message: '' } : e));

function apply(engine: MatchingEngine | ReferenceEngine, op: { op: string; cmd: any }): EngineEvent[] {
  if (op.op === 'place') return engine.place(op.cmd);
  if (op.op === 'cancel') return engine.cancel(op.cmd);
  return engine.modify(op.cmd);
}

/** Invariants that must hold after every command. */
function checkInvariants(engine: MatchingEngine): void {
  for (const { symbol } of SYMBOLS) {
    const { bids, asks } = engine.l2(symbol, 1000);
    // never crossed
    if (bids.length && asks.length) expect(bids[0]!.price).toBeLessThan(asks[0]!.price);
    // levels strictly ordered, none empty, sizes match their orders (FIFO order is checked against the reference)
    for (const [levels, dir] of [[bids, -1], [asks, 1]] as const) {
      for (let i = 0; i < levels.length; i++) {
        const l = levels[i]!;
        expect(l.size).toBeGreaterThan(0);
        expect(l.orders).toBeGreaterThan(0);
        if (i > 0) expect(Math.sign(l.price - levels[i - 1]!.price)).toBe(dir);
        const l3 = engine.l3(symbol, dir === -1 ? 'buy' : 'sell', l.price);
        expect(l3).toHaveLength(l.orders);
        expect(l3.reduce((s, o) => s + o.size, 0)).toBe(l.size);
      }
    }
  }
}

describe('engine vs reference model', () => {
  test('same events, books, last trades and live orders after every command, with invariants and size conservation', () => {
    fc.assert(
      fc.property(opsArb, (ops) => {
        const engine = new MatchingEngine(SYMBOLS);
        const reference = new ReferenceEngine(SYMBOLS);
        // size conservation: everything that entered = traded + cancelled + still live
        let sizeIn = 0;
        let sizeOut = 0;
        ops.forEach((raw, i) => {
          const op = stamp(raw, i, (id) => engine.order(id));
          const before = op.op === 'modify' ? engine.order(op.cmd.id) : undefined;
          const snapshotBefore = engine.snapshot();
          const got = apply(engine, op);
          const want = apply(reference, op);
          expect(strip(got)).toEqual(want);

          if (got.length === 1 && got[0]!.type === 'rejected') {
            expect(engine.snapshot()).toEqual(snapshotBefore); // a rejection changes nothing
          } else {
            if (op.op === 'place') sizeIn += op.cmd.size;
            if (op.op === 'modify' && before) sizeIn += op.cmd.size - before.remaining;
          }
          for (const e of got) {
            if (e.type === 'trade') sizeOut += 2 * e.size; // leaves both maker and taker
            if (e.type === 'cancelled') sizeOut += e.size;
          }
          let live = 0;
          for (const id of reference.liveIds()) live += engine.order(id)!.remaining;
          expect(sizeIn).toBe(sizeOut + live);
          checkInvariants(engine);
          for (const { symbol } of SYMBOLS) {
            const l2 = engine.l2(symbol, 1000);
            expect(l2).toEqual(reference.l2(symbol, 1000));
            for (const [side, levels] of [['buy', l2.bids], ['sell', l2.asks]] as const) {
              for (const l of levels) expect(engine.l3(symbol, side, l.price)).toEqual(reference.l3(symbol, side, l.price));
            }
            expect(engine.lastTrade(symbol)).toEqual(reference.lastTrade(symbol));
          }
          expect(engine.liveOrders).toBe(reference.liveIds().length);
        });
      }),
      { numRuns: bftxRuns(120) },
    );
  });
});

describe('wide books: many levels open and close (exercises level placeholders and their compaction)', () => {
  const wideOp = fc.oneof(
    { weight: 5, arbitrary: fc.record({ op: fc.constant('place' as const), id: fc.integer({ min: 1, max: 400 }), side: fc.constantFrom('buy' as const, 'sell' as const), price: fc.integer({ min: 1, max: 600 }), size: fc.integer({ min: 1, max: 5 }) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('cancel' as const), id: fc.integer({ min: 1, max: 400 }) }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant('move' as const), id: fc.integer({ min: 1, max: 400 }), price: fc.integer({ min: 1, max: 600 }) }) },
  );
  test('same events and books as the reference', () => {
    fc.assert(
      fc.property(fc.array(wideOp, { minLength: 200, maxLength: 600 }), (ops) => {
        const syms = [{ symbol: 'W', tickSize: 1, lotSize: 1 }];
        const engine = new MatchingEngine(syms);
        const reference = new ReferenceEngine(syms);
        ops.forEach((o, i) => {
          const at = { seq: i + 1, ts: i + 1, symbol: 'W' };
          let op: { op: string; cmd: any };
          if (o.op === 'place') op = { op: 'place', cmd: { ...at, id: o.id, owner: o.id, side: o.side, type: 'limit', price: o.price, size: o.size } };
          else if (o.op === 'cancel') op = { op: 'cancel', cmd: { ...at, id: o.id } };
          else op = { op: 'modify', cmd: { ...at, id: o.id, price: o.price, size: engine.order(o.id)?.remaining ?? 1 } };
          expect(strip(apply(engine, op))).toEqual(apply(reference, op));
        });
        expect(engine.l2('W', 10_000)).toEqual(reference.l2('W', 10_000));
        const snapshot = engine.snapshot();
        const restored = MatchingEngine.restore(snapshot);
        expect(restored.l2('W', 10_000)).toEqual(engine.l2('W', 10_000));
        // The copy-free view holds the same bytes, and a later snapshot does not change the copy.
        expect(engine.withSnapshot((view) => view.slice())).toEqual(snapshot);
        expect(restored.snapshot()).toEqual(snapshot);
      }),
      { numRuns: bftxRuns(40) },
    );
  });
});
