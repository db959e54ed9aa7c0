import { FifoMempool, txKey } from '../mempool';

/** What a payload policy is told about the block being built or judged. */
export interface PayloadContext {
  /** The view the block is proposed in. */
  readonly view: number;
  /** The block's height (PBFT: its sequence number). */
  readonly height: number;
  /** The proposer's or voter's clock. */
  readonly now: number;
  /** Keys (`txKey`) of the transactions on the chain the block extends that are not final yet. */
  readonly pending: ReadonlySet<string>;
  /**
   * False when the judge lacks part of the chain between its last final block and the block's
   * parent (a HotStuff replica may vote for a block whose ancestors it is still fetching): then
   * `pending` may miss transactions, and a policy judges only what does not depend on it.
   */
  readonly pendingComplete?: boolean;
}

/**
 * A policy's judgement of a proposed payload. `convicts`: the block alone proves its proposer
 * broke the policy (anyone can check it); the protocol then reports `unfairProposalEvidence`.
 */
export type PayloadVerdict = { readonly ok: true } | { readonly ok: false; readonly reason: string; readonly convicts?: boolean };

/**
 * How a leader builds a block's payload and how a voter judges one: the one extension point for
 * ordering, called by every protocol at the same two points (`build` when it proposes, `validate`
 * before it votes or prepares). Chosen per cluster (every replica of a cluster runs the same
 * policy); one instance per replica, fed the transactions the replica receives.
 */
export interface PayloadPolicy {
  readonly name: string;
  /** Transactions this replica received (from clients or peers). */
  offer(txs: readonly Uint8Array[], now: number): void;
  /** The payload of a block this replica proposes, at most `max` transactions. */
  build(context: PayloadContext, max: number): Uint8Array[];
  /** Whether a proposal's payload may be voted for. A refusal is counted as INVALID_PAYLOAD. */
  validate(payload: readonly Uint8Array[], context: PayloadContext): PayloadVerdict;
  /** Transactions now final: never proposed again. */
  finalized(txs: readonly Uint8Array[]): void;
  /** Transactions waiting to be proposed. */
  readonly size: number;
  /**
   * True when the policy holds a transaction the chain owes (for fair ordering: one f+1 logs
   * name) that has waited more than `wait` ms since this replica received it. A protocol with a
   * stable leader (PBFT) then does not count executed batches as progress, so a leader that leaves
   * it out is replaced, as the paper's request timers do. Left out: never overdue.
   */
  overdue?(now: number, wait: number): boolean;
}

const OK: PayloadVerdict = { ok: true };

/**
 * The default policy: first in, first out. The leader takes the oldest transactions it holds that
 * are not already on the chain it extends; any payload within the codec's bounds is valid. It
 * leaves the order to the leader: a Byzantine leader may reorder, insert or leave out at will (the
 * fair-ordering policy closes that).
 */
export class FifoPayloadPolicy implements PayloadPolicy {
  readonly name = 'fifo';
  private readonly mempool: FifoMempool;

  constructor(capacity?: number) {
    this.mempool = new FifoMempool(capacity);
  }

  offer(txs: readonly Uint8Array[], _now?: number): void {
    this.mempool.add(txs);
  }

  build(context: PayloadContext, max: number): Uint8Array[] {
    return this.mempool.take(max, context.pending);
  }

  validate(_payload?: readonly Uint8Array[], _context?: PayloadContext): PayloadVerdict {
    return OK;
  }

  finalized(txs: readonly Uint8Array[]): void {
    this.mempool.remove(txs);
  }

  get size(): number {
    return this.mempool.size;
  }
}

/** The keys of the transactions of `blocks` (for `PayloadContext.pending`). */
export function pendingKeys(blocks: Iterable<{ readonly payload: readonly Uint8Array[] }>): Set<string> {
  const keys = new Set<string>();
  for (const b of blocks) for (const tx of b.payload) keys.add(txKey(tx));
  return keys;
}
