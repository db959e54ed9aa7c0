import { MatchingEngine, type EngineEvent, type PlaceOrder } from '../src/index';

/** An engine with one symbol (tick 1, lot 1) and a counter for seq/ts. */
export function setup(protectionTicks = 5) {
  const engine = new MatchingEngine([{ symbol: 'X', tickSize: 1, lotSize: 1, defaultProtectionTicks: protectionTicks }]);
  let seq = 0;
  const stamp = () => ({ seq: ++seq, ts: seq * 10 });
  const place = (o: Partial<PlaceOrder> & Pick<PlaceOrder, 'id' | 'side' | 'size'>): EngineEvent[] =>
    engine.place({ owner: o.id, symbol: 'X', type: 'limit', ...o, ...stamp() } as PlaceOrder);
  const cancel = (id: number) => engine.cancel({ id, symbol: 'X', ...stamp() });
  const modify = (id: number, price: number, size: number) => engine.modify({ id, symbol: 'X', price, size, ...stamp() });
  return { engine, place, cancel, modify };
}

/** Compact event strings: "T 100x3 m1 t2" for trades, "C 2 5 IOC" for cancels, etc. */
export function brief(events: EngineEvent[]): string[] {
  return events.map((e) => {
    switch (e.type) {
      case 'accepted':
        return `A ${e.orderId}`;
      case 'rejected':
        return `R ${e.orderId} ${e.reason}`;
      case 'trade':
        return `T ${e.price}x${e.size} m${e.makerId} t${e.takerId}`;
      case 'cancelled':
        return `C ${e.orderId} ${e.size}${e.remaining ? `/${e.remaining}` : ''} ${e.reason}`;
      case 'triggered':
        return `S ${e.orderId} @${e.lastPrice}`;
      case 'modified':
        return `M ${e.orderId} ${e.price}x${e.size}${e.priorityKept ? ' kept' : ''}`;
      case 'done':
        return `D ${e.orderId} ${e.reason}`;
    }
  });
}
