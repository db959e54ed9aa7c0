import { toHex, sha256 } from '@bftx/crypto';

/** Where a proposer takes transactions from. */
export interface Mempool {
  add(txs: readonly Uint8Array[]): void;
  /** Up to `max` transactions not in `exclude` (ids of transactions already on the chain being extended), oldest first. */
  take(max: number, exclude: ReadonlySet<string>): Uint8Array[];
  /** Drop transactions that are final. */
  remove(txs: readonly Uint8Array[]): void;
  readonly size: number;
}

export function txId(tx: Uint8Array): string {
  return toHex(sha256(tx));
}

/** A bounded first-in first-out mempool; duplicates are ignored, and when full the newest are refused. */
export class FifoMempool implements Mempool {
  private readonly txs = new Map<string, Uint8Array>();
  constructor(private readonly capacity = 100_000) {}

  add(txs: readonly Uint8Array[]): void {
    for (const tx of txs) {
      if (this.txs.size >= this.capacity) return;
      const id = txId(tx);
      if (!this.txs.has(id)) this.txs.set(id, tx);
    }
  }

  take(max: number, exclude: ReadonlySet<string>): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const [id, tx] of this.txs) {
      if (out.length >= max) break;
      if (!exclude.has(id)) out.push(tx);
    }
    return out;
  }

  remove(txs: readonly Uint8Array[]): void {
    for (const tx of txs) this.txs.delete(txId(tx));
  }

  get size(): number {
    return this.txs.size;
  }
}
