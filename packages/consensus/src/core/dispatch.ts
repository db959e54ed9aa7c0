import type { ProtocolInput, TimerId } from '../protocol';

/** What a protocol does with each kind of input. */
export interface InputHandlers<M> {
  start(now: number): void;
  timer(timer: TimerId, now: number): void;
  /** Client transactions for the payload policy (and whatever the protocol does on their arrival). */
  transactions(txs: readonly Uint8Array[], now: number): void;
  message(message: M, from: number, now: number): void;
}

/** The step switch, once for every protocol: routes an input to its handler. */
export function dispatch<M>(input: ProtocolInput<M>, handlers: InputHandlers<M>): void {
  switch (input.type) {
    case 'start':
      return handlers.start(input.now);
    case 'timer':
      return handlers.timer(input.timer, input.now);
    case 'transactions':
      return handlers.transactions(input.txs, input.now);
    case 'message':
      return handlers.message(input.message, input.from, input.now);
  }
}
