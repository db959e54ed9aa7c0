// The canonical snapshot: a small self-contained binary format (this package
// depends on nothing). Equal engine states give equal bytes; restoring and
// replaying the same commands gives identical events and snapshots.
//
//   "BFTXME" version(=1)
//   nextAccept  symbolCount
//   per symbol: symbol tickSize lotSize protectionTicks hasLast lastPrice lastSize lastTs
//               bids: levelCount, per level (best first): orderCount, orders in queue order
//               asks: the same
//               buy stops, sell stops: count, orders in stored order
//   order: id owner side kind price remaining displayed visibleSize stp postOnly tif stopPrice protectionTicks seq ts accept
// Integers are unsigned LEB128 (shortest form), strings length-prefixed UTF-8.
import { type BookSide, insertStop, Order, type OrderBook } from './book';
import { EngineError } from './errors';
import type { SymbolConfig } from './types';

const MAGIC = [0x42, 0x46, 0x54, 0x58, 0x4d, 0x45]; // "BFTXME"
const VERSION = 1;
/** An order is 16 integers of at least one byte each. */
const ORDER_MIN_BYTES = 16;

const TEXT = new TextEncoder();

class Out {
  private buf = new Uint8Array(4096);
  len = 0;
  /** Starts a new snapshot in the same buffer: a state root takes one snapshot per block, so no fresh 4 KiB each time. */
  reset(): this {
    this.len = 0;
    return this;
  }
  private ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  u(v: number): void {
    this.ensure(8);
    while (v >= 0x80) {
      this.buf[this.len++] = (v % 128) | 0x80;
      v = Math.floor(v / 128);
    }
    this.buf[this.len++] = v;
  }
  str(s: string): void {
    const b = TEXT.encode(s);
    this.u(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  view(): Uint8Array {
    return this.buf.subarray(0, this.len);
  }
}

function writeOrder(out: Out, o: Order): void {
  for (const v of [o.id, o.owner, o.side, o.kind, o.price, o.remaining, o.displayed, o.visibleSize, o.stp, o.postOnly ? 1 : 0, o.tif, o.stopPrice, o.protectionTicks, o.seq, o.ts, o.accept]) out.u(v);
}

function writeSide(out: Out, side: BookSide): void {
  out.u(side.levelCount);
  for (let i = side.sorted.length - 1; i >= 0; i--) {
    const level = side.sorted[i]!;
    if (level.count === 0) continue; // an internal placeholder, not state
    out.u(level.count);
    for (let o = level.head; o !== null; o = o.next) writeOrder(out, o);
  }
}

const shared = new Out();

/** The snapshot as a view of a shared buffer: valid only until the next snapshot is written. */
export function writeSnapshotView(nextAccept: number, configs: readonly SymbolConfig[], books: readonly OrderBook[]): Uint8Array {
  const out = shared.reset();
  for (const b of MAGIC) out.u(b);
  out.u(VERSION);
  out.u(nextAccept);
  out.u(books.length);
  books.forEach((book, i) => {
    const c = configs[i]!;
    out.str(c.symbol);
    out.u(c.tickSize);
    out.u(c.lotSize);
    out.u(c.defaultProtectionTicks!);
    out.u(book.hasLastTrade ? 1 : 0);
    out.u(book.lastPrice);
    out.u(book.lastSize);
    out.u(book.lastTs);
    writeSide(out, book.bids);
    writeSide(out, book.asks);
    for (const stops of [book.buyStops, book.sellStops]) {
      out.u(stops.length);
      for (const o of stops) writeOrder(out, o);
    }
  });
  return out.view();
}

export function writeSnapshot(nextAccept: number, configs: readonly SymbolConfig[], books: readonly OrderBook[]): Uint8Array {
  return writeSnapshotView(nextAccept, configs, books).slice();
}

class SnapshotFormatError extends Error {}

class In {
  pos = 0;
  constructor(private readonly buf: Uint8Array) {}
  u(max = Number.MAX_SAFE_INTEGER): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (i >= 8) throw new SnapshotFormatError(`integer too long at byte ${this.pos}`);
      if (this.pos >= this.buf.length) throw new SnapshotFormatError('truncated');
      const b = this.buf[this.pos++]!;
      result += (b & 0x7f) * scale;
      if ((b & 0x80) === 0) {
        if (b === 0 && i > 0) throw new SnapshotFormatError(`non-canonical integer at byte ${this.pos - 1}`);
        break;
      }
      scale *= 128;
    }
    if (result > max) throw new SnapshotFormatError(`value ${result} above ${max} at byte ${this.pos}`);
    return result;
  }
  str(): string {
    const n = this.u(256);
    if (this.pos + n > this.buf.length) throw new SnapshotFormatError('truncated string');
    let s: string;
    try {
      s = new TextDecoder('utf-8', { fatal: true }).decode(this.buf.subarray(this.pos, this.pos + n));
    } catch {
      throw new SnapshotFormatError(`invalid UTF-8 at byte ${this.pos}`);
    }
    this.pos += n;
    return s;
  }
  /** A count of items that take at least `minBytes` each: refused if the input cannot hold them. */
  count(minBytes: number): number {
    const at = this.pos;
    const n = this.u();
    if (n * minBytes > this.buf.length - this.pos) throw new SnapshotFormatError(`count ${n} at byte ${at} exceeds the remaining input`);
    return n;
  }
  get done(): boolean {
    return this.pos === this.buf.length;
  }
}

function readOrder(input: In, symbol: string): Order {
  const [id, owner, side, kind, price, remaining, displayed, visibleSize, stp, postOnly, tif, stopPrice, protectionTicks, seq, ts, accept] = Array.from({ length: 16 }, () => input.u());
  if (side! > 1 || kind! > 3 || stp! > 4 || postOnly! > 1 || tif! > 2) throw new SnapshotFormatError(`order ${id}: invalid code`);
  const o = new Order(symbol, id!, owner!, side as 0 | 1, kind!, price!, remaining!, visibleSize!, stp!, postOnly === 1, tif!, stopPrice!, protectionTicks!, seq!, ts!, accept!);
  o.displayed = displayed!;
  return o;
}

export interface RestoreTarget {
  books: Map<string, OrderBook>;
  index: Map<number, Order>;
}

/** Parses `bytes` and fills the engine that `create` makes from the configs. */
export function readSnapshot<E>(bytes: Uint8Array, create: (configs: SymbolConfig[], nextAccept: number) => RestoreTarget & { engine: E }): E {
  const fail = (why: string): never => {
    throw new EngineError('INVALID_SNAPSHOT', `invalid snapshot: ${why}`);
  };
  if (!(bytes instanceof Uint8Array)) return fail('expected a Uint8Array');
  try {
    const input = new In(bytes);
    for (const b of MAGIC) if (input.u(255) !== b) return fail('not a matching-engine snapshot');
    if (input.u(255) !== VERSION) return fail('unsupported snapshot version');
    const nextAccept = input.u();
    const symbolCount = input.count(12);
    const configs: SymbolConfig[] = [];
    const sections: Array<(target: RestoreTarget) => void> = [];
    for (let s = 0; s < symbolCount; s++) {
      const symbol = input.str();
      const config = { symbol, tickSize: input.u(), lotSize: input.u(), defaultProtectionTicks: input.u() };
      configs.push(config);
      const hasLast = input.u(1) === 1;
      const last = [input.u(), input.u(), input.u()] as const;
      const readBookSide = (sideCode: 0 | 1) => {
        const levels: Order[][] = [];
        const levelCount = input.count(ORDER_MIN_BYTES + 1);
        for (let l = 0; l < levelCount; l++) {
          const count = input.count(ORDER_MIN_BYTES);
          if (count === 0) fail('empty price level');
          const orders: Order[] = [];
          for (let k = 0; k < count; k++) orders.push(readOrder(input, symbol));
          if (orders.some((o) => o.side !== sideCode || o.price !== orders[0]!.price)) fail('order on the wrong side or level');
          levels.push(orders);
        }
        return levels;
      };
      const bids = readBookSide(0);
      const asks = readBookSide(1);
      const stops = [0, 1].map(() => {
        const n = input.count(ORDER_MIN_BYTES);
        return Array.from({ length: n }, () => readOrder(input, symbol));
      });
      sections.push((target) => {
        const book = target.books.get(symbol)!;
        book.hasLastTrade = hasLast;
        [book.lastPrice, book.lastSize, book.lastTs] = last;
        const place = (o: Order) => {
          if (target.index.has(o.id)) fail(`duplicate order id ${o.id}`);
          target.index.set(o.id, o);
        };
        for (const [side, levels] of [[book.bids, bids], [book.asks, asks]] as const) {
          let previousKey = Infinity;
          for (const orders of levels) {
            const level = side.getOrCreate(orders[0]!.price);
            if (level.key >= previousKey) fail('price levels out of order');
            previousKey = level.key;
            for (const o of orders) {
              if (o.displayed <= 0 || o.displayed > o.remaining) fail(`order ${o.id}: displayed size out of range`);
              place(o);
              level.append(o);
            }
          }
        }
        stops.forEach((list, sideCode) => {
          let previousStop = 0;
          for (const o of list) {
            if (o.side !== sideCode || o.kind < 2) fail(`order ${o.id}: not a ${sideCode === 0 ? 'buy' : 'sell'} stop`);
            if (o.stopPrice < previousStop) fail('stop orders out of order');
            previousStop = o.stopPrice;
            place(o);
            insertStop(sideCode === 0 ? book.buyStops : book.sellStops, o);
          }
        });
      });
    }
    if (!input.done) return fail('trailing bytes');
    const target = create(configs, nextAccept);
    for (const section of sections) section(target);
    return target.engine;
  } catch (e) {
    if (e instanceof SnapshotFormatError) return fail(e.message);
    if (e instanceof EngineError) {
      if (e.code === 'INVALID_SNAPSHOT') throw e;
      return fail(e.message); // a bad symbol configuration inside
    }
    // Anything else thrown while reading untrusted bytes is still a bad snapshot.
    return fail(e instanceof Error ? e.message : String(e));
  }
}
