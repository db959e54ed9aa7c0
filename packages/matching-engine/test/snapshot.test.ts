import fc from 'fast-check';
import { EngineError, MatchingEngine, type EngineEvent } from '../src/index';
import { opsArb, stamp, SYMBOLS } from './arbitraries';

function run(engine: MatchingEngine, op: { op: string; cmd: any }): EngineEvent[] {
  return op.op === 'place' ? engine.place(op.cmd) : op.op === 'cancel' ? engine.cancel(op.cmd) : engine.modify(op.cmd);
}

describe('snapshot and restore', () => {
  test('restore(snapshot) then the same commands gives byte-identical events and snapshots', () => {
    fc.assert(
      fc.property(opsArb, opsArb, (prefix, suffix) => {
        const a = new MatchingEngine(SYMBOLS);
        prefix.forEach((op, i) => run(a, stamp(op, i, (id) => a.order(id))));
        const snap = a.snapshot();
        const b = MatchingEngine.restore(snap);
        expect(b.snapshot()).toEqual(snap);
        suffix.forEach((op, j) => {
          const i = prefix.length + j;
          const cmdA = stamp(op, i, (id) => a.order(id));
          const cmdB = stamp(op, i, (id) => b.order(id));
          expect(JSON.stringify(run(b, cmdB))).toBe(JSON.stringify(run(a, cmdA)));
        });
        expect(b.snapshot()).toEqual(a.snapshot());
      }),
      { numRuns: bftxRuns(100) },
    );
  });

  test('equal states give equal bytes; a different state gives different bytes', () => {
    const make = () => {
      const e = new MatchingEngine(SYMBOLS);
      e.place({ id: 1, owner: 1, symbol: 'AAA', side: 'buy', type: 'limit', size: 3, price: 100, seq: 1, ts: 5 });
      return e;
    };
    expect(make().snapshot()).toEqual(make().snapshot());
    const c = make();
    c.modify({ id: 1, symbol: 'AAA', price: 100, size: 2, seq: 2, ts: 6 });
    expect(c.snapshot()).not.toEqual(make().snapshot());
  });

  test('malformed snapshots give EngineError INVALID_SNAPSHOT, never another error', () => {
    const e = new MatchingEngine(SYMBOLS);
    fc.sample(opsArb, { numRuns: 1, seed: 7 })[0]!.forEach((op, i) => run(e, stamp(op, i, (id) => e.order(id))));
    const snap = e.snapshot();
    const expectInvalid = (bytes: Uint8Array) => {
      let err: unknown;
      try {
        MatchingEngine.restore(bytes);
      } catch (x) {
        err = x;
      }
      expect(err).toBeInstanceOf(EngineError);
      expect((err as EngineError).code).toBe('INVALID_SNAPSHOT');
    };
    for (let cut = 0; cut < snap.length; cut++) expectInvalid(snap.subarray(0, cut));
    expectInvalid(new Uint8Array([...snap, 0]));
    expectInvalid('junk' as unknown as Uint8Array);
    fc.assert(
      fc.property(fc.nat(), fc.integer({ min: 1, max: 255 }), (pos, xor) => {
        const bytes = snap.slice();
        bytes[pos % bytes.length]! ^= xor;
        try {
          // A mutation may still describe a valid state; then it is canonical.
          expect(MatchingEngine.restore(bytes).snapshot()).toEqual(bytes);
        } catch (x) {
          expect(x).toBeInstanceOf(EngineError);
        }
      }),
      { numRuns: bftxRuns(2000) },
    );
  });
});
