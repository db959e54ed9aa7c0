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
   * `pending` may miss transactions, and a policy judges only what does not depend on it. A
   * leader told false proposes no transactions: it cannot tell which are on the chain already.
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

/** How many of the latest final blocks' transactions the FIFO policy remembers (see `FifoPayloadPolicy`). */
export const RECENT_FINAL_BLOCKS = 64;

/**
 * The default policy: first in, first out. The leader takes the oldest transactions it holds that
 * are not already on the chain it extends; a voter refuses a payload that repeats a transaction
 * (within itself, of the chain it extends, or of the last `RECENT_FINAL_BLOCKS` final blocks). It
 * leaves the order to the leader: a Byzantine leader may reorder, insert or leave out at will (the
 * fair-ordering policy closes that).
 *
 * Why it remembers final transactions: a runtime checks a client's transaction against the state
 * it has applied, which lags the protocol's commits (a replica catching up commits many blocks at
 * once and applies them afterwards). A transaction that arrives in that gap passes the check after
 * the policy was told it is final; without the memory it was offered again and proposed a second time.
 */
export class FifoPayloadPolicy implements PayloadPolicy {
  readonly name = 'fifo';
  private readonly mempool: FifoMempool;
  /** Keys of the transactions of the latest final blocks (at most RECENT_FINAL_BLOCKS of them), oldest block first. */
  private readonly recentFinal = new Set<string>();
  private readonly finalBlocks: string[][] = [];

  constructor(capacity?: number) {
    this.mempool = new FifoMempool(capacity);
  }

  offer(txs: readonly Uint8Array[], _now?: number): void {
    if (this.recentFinal.size === 0) return this.mempool.add(txs);
    this.mempool.add(txs.filter((tx) => !this.recentFinal.has(txKey(tx))));
  }

  build(context: PayloadContext, max: number): Uint8Array[] {
    // Without the whole chain it extends, the leader cannot tell what is on it: it proposes nothing.
    if (context.pendingComplete === false) return [];
    return this.mempool.take(max, context.pending);
  }

  validate(payload: readonly Uint8Array[], context: PayloadContext): PayloadVerdict {
    if (payload.length === 0) return OK;
    const seen = new Set<string>();
    const pending = context.pendingComplete === false ? undefined : context.pending;
    for (let i = 0; i < payload.length; i++) {
      const key = txKey(payload[i]!);
      if (seen.has(key)) return { ok: false, reason: `transaction ${i} repeats an earlier one of the block` };
      if (this.recentFinal.has(key)) return { ok: false, reason: `transaction ${i} is final already` };
      if (pending?.has(key)) return { ok: false, reason: `transaction ${i} is already on the chain the block extends` };
      seen.add(key);
    }
    return OK;
  }

  finalized(txs: readonly Uint8Array[]): void {
    const keys = txs.map(txKey);
    this.mempool.removeKeys(keys);
    for (const k of keys) this.recentFinal.add(k);
    this.finalBlocks.push(keys);
    if (this.finalBlocks.length > RECENT_FINAL_BLOCKS) for (const k of this.finalBlocks.shift()!) this.recentFinal.delete(k);
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
