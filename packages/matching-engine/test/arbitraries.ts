import fc from 'fast-check';
import type { CancelOrder, ModifyOrder, PlaceOrder, SymbolConfig } from '../src/index';

export const SYMBOLS: SymbolConfig[] = [
  { symbol: 'AAA', tickSize: 1, lotSize: 1, defaultProtectionTicks: 3 },
  { symbol: 'BBB', tickSize: 5, lotSize: 10, defaultProtectionTicks: 2 },
];

export type Op =
  | { op: 'place'; cmd: Omit<PlaceOrder, 'seq' | 'ts'> }
  | { op: 'cancel'; cmd: Omit<CancelOrder, 'seq' | 'ts'> }
  | { op: 'modify'; cmd: Omit<ModifyOrder, 'seq' | 'ts'> }
  /** Resolved against the engine's current state: same price, `by` lots smaller (or larger if negative). */
  | { op: 'resize'; id: number; by: number };

// Small id, owner and price ranges on purpose: duplicates, unknown ids, self-trades and crossings happen often.
const symbolArb = fc.oneof({ weight: 12, arbitrary: fc.constant('AAA') }, { weight: 6, arbitrary: fc.constant('BBB') }, { weight: 1, arbitrary: fc.constant('ZZZ') });
const idArb = fc.integer({ min: 1, max: 24 });
const ownerArb = fc.integer({ min: 0, max: 3 });
const ticksArb = fc.integer({ min: 95, max: 105 });
const lotsArb = fc.integer({ min: 1, max: 12 });
const offGrid = fc.oneof({ weight: 12, arbitrary: fc.constant(0) }, fc.constantFrom(1, -1000, 0.5));

function scale(symbol: string): { tick: number; lot: number } {
  return symbol === 'BBB' ? { tick: 5, lot: 10 } : { tick: 1, lot: 1 };
}

const placeArb = fc
  .record({
    id: idArb,
    owner: ownerArb,
    symbol: symbolArb,
    side: fc.constantFrom('buy' as const, 'sell' as const),
    type: fc.constantFrom('limit', 'limit', 'limit', 'limit', 'market', 'stop-limit', 'stop-market') as fc.Arbitrary<PlaceOrder['type']>,
    ticks: ticksArb,
    stopTicks: ticksArb,
    lots: lotsArb,
    priceNoise: offGrid,
    sizeNoise: offGrid,
    tif: fc.constantFrom(undefined, undefined, 'GTC', 'IOC', 'FOK') as fc.Arbitrary<PlaceOrder['tif']>,
    postOnly: fc.constantFrom(undefined, undefined, undefined, true),
    iceberg: fc.option(fc.integer({ min: 1, max: 4 }), { freq: 4, nil: undefined }),
    stp: fc.constantFrom(undefined, 'none', 'cancel-newest', 'cancel-oldest', 'cancel-both', 'decrement') as fc.Arbitrary<PlaceOrder['stp']>,
    protection: fc.option(fc.integer({ min: 0, max: 4 }), { freq: 3, nil: undefined }),
  })
  .map((r): Op => {
    const { tick, lot } = scale(r.symbol);
    const isMarket = r.type === 'market' || r.type === 'stop-market';
    const isStop = r.type.startsWith('stop');
    const tif = isMarket ? (r.tif === 'GTC' ? undefined : r.tif) : r.tif;
    const gtcLimit = r.type === 'limit' && (tif ?? 'GTC') === 'GTC';
    const size = r.lots * lot + r.sizeNoise;
    return {
      op: 'place',
      cmd: {
        id: r.id,
        owner: r.owner,
        symbol: r.symbol,
        side: r.side,
        type: r.type,
        size,
        ...(isMarket ? {} : { price: r.ticks * tick + r.priceNoise }),
        ...(isStop ? { stopPrice: r.stopTicks * tick } : {}),
        ...(tif === undefined ? {} : { tif }),
        ...(gtcLimit && r.postOnly ? { postOnly: true } : {}),
        ...(gtcLimit && !r.postOnly && r.iceberg !== undefined && r.iceberg * lot < size ? { visibleSize: r.iceberg * lot } : {}),
        ...(r.stp === undefined ? {} : { stp: r.stp }),
        ...(isMarket && r.protection !== undefined ? { protectionTicks: r.protection } : {}),
      },
    };
  });

const cancelArb = fc.record({ id: idArb, symbol: symbolArb }).map((cmd): Op => ({ op: 'cancel', cmd }));
const modifyArb = fc.record({ id: idArb, symbol: symbolArb, ticks: ticksArb, lots: lotsArb, noise: offGrid }).map(
  (r): Op => {
    const { tick, lot } = scale(r.symbol);
    return { op: 'modify', cmd: { id: r.id, symbol: r.symbol, price: r.ticks * tick + r.noise, size: r.lots * lot } };
  },
);

const resizeArb = fc.record({ id: idArb, by: fc.integer({ min: -2, max: 3 }) }).map((r): Op => ({ op: 'resize', ...r }));

export const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: placeArb },
  { weight: 2, arbitrary: cancelArb },
  { weight: 2, arbitrary: modifyArb },
  { weight: 1, arbitrary: resizeArb },
);
export const opsArb = fc.array(opArb, { minLength: 1, maxLength: 120, size: 'max' });

/** A concrete command: stamped with increasing seq and ts; `resize` resolved with `current` (the engine's view of the order). */
export function stamp(
  op: Op,
  i: number,
  current?: (id: number) => { symbol: string; price: number; remaining: number } | undefined,
): { op: 'place' | 'cancel' | 'modify'; cmd: any } {
  const at = { seq: i + 1, ts: 1000 + i * 7 };
  if (op.op !== 'resize') return { op: op.op, cmd: { ...op.cmd, ...at } };
  const o = current?.(op.id);
  const symbol = o?.symbol ?? 'AAA';
  const lot = scale(symbol).lot;
  const size = (o?.remaining ?? lot) - op.by * lot;
  return { op: 'modify', cmd: { id: op.id, symbol, price: o?.price ?? 100, size, ...at } };
}
