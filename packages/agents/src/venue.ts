import type { SignatureScheme, Signer } from '@bftx/crypto';
import { Exchange, type ExchangeConfig, type OrderAction, type TxReceipt } from '@bftx/exchange';

/** What a venue is told when a session opens. */
export interface VenueSession {
  readonly seed: number;
  /** Session times, in virtual ms. */
  readonly open: number;
  readonly close: number;
  /** The market, its assets and every agent's funded account. */
  readonly exchange: ExchangeConfig;
  /** Called with each order's receipt when the venue executes or rejects it, at session time. */
  readonly receipt: (receipt: TxReceipt, time: number) => void;
  /** Raw transactions offered at given session times (a rogue client's), where the venue takes them. */
  readonly extraTransactions?: ReadonlyArray<{ readonly at: number; readonly tx: Uint8Array }>;
}

/** An agent's order as the market loop hands it over. */
export interface VenueOrder {
  /** The account (hex of its key, or of its id on an unsigned venue). */
  readonly account: string;
  /** The agent's client key and its next nonce, on venues that take signed orders. */
  readonly signer: Signer | undefined;
  readonly nonce: number;
  readonly action: OrderAction;
}

/** A venue during a session. */
export interface OpenVenue {
  /** The exchange state agents read (a cluster's: one honest replica's). */
  readonly state: Exchange;
  submit(order: VenueOrder, now: number): void;
  /** Runs the venue up to session time `time` (receipts arrive through `VenueSession.receipt`). */
  advance(time: number): void;
  /** At the close: what the venue reports beyond the market (a cluster's replication report). */
  finish(): unknown;
}

/**
 * Where the agents' orders go: the market loop knows only this. `directVenue()` executes at once
 * on one exchange; a simulated consensus cluster of replicated exchanges is another venue (see
 * `simulatedCluster`), and a real cluster could be one too.
 */
export interface Venue<Report = unknown> {
  readonly name: string;
  /** How agents sign orders (each agent then gets a client key), or undefined: accounts are plain ids. */
  readonly clientScheme: SignatureScheme | undefined;
  open(session: VenueSession): OpenVenue & { finish(): Report };
}

/** One exchange, orders executed the moment they are sent: the fast path, no consensus. */
export function directVenue(): Venue<undefined> {
  return {
    name: 'direct',
    clientScheme: undefined,
    open(session) {
      const exchange = new Exchange(session.exchange, noSignatures);
      return {
        state: exchange,
        submit: (order, now) => session.receipt(exchange.act(order.account, order.action, now), now),
        advance: () => undefined,
        finish: () => undefined,
      };
    },
  };
}

/** The direct path never verifies (it calls `act`); a scheme that refuses everything makes that explicit. */
const noSignatures: SignatureScheme = {
  backend: 'none',
  publicKey: () => {
    throw new Error('the direct venue has no signatures');
  },
  signer: () => {
    throw new Error('the direct venue has no signatures');
  },
  verify: () => false,
};
