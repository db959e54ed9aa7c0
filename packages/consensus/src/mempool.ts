/** Where a proposer takes transactions from. */
export interface Mempool {
  add(txs: readonly Uint8Array[]): void;
  /** Up to `max` transactions whose `txKey` is not in `exclude` (those already on the chain being extended), oldest first. */
  take(max: number, exclude: ReadonlySet<string>): Uint8Array[];
  /** Drop transactions that are final. */
  remove(txs: readonly Uint8Array[]): void;
  readonly size: number;
}

/**
 * An in-memory key naming a transaction by its exact bytes (one char per byte): equal
 * bytes, equal keys, no collisions, and far cheaper than hashing on every add, take and
 * remove. Not an id to publish (block payloads are committed by their Merkle root).
 */
export function txKey(tx: Uint8Array): string {
  let key = keys.get(tx);
  if (key !== undefined) return key;
  if (tx.length <= CHUNK) key = String.fromCharCode.apply(null, tx as unknown as number[]);
  else {
    key = '';
    for (let i = 0; i < tx.length; i += CHUNK) key += String.fromCharCode.apply(null, tx.subarray(i, i + CHUNK) as unknown as number[]);
  }
  keys.set(tx, key);
  return key;
}

// A transaction's key is asked for many times while it passes through a replica (offered, taken,
// validated, pending under later blocks, final, timed): built once per byte array, then looked up.
// Transactions are values: their bytes are never changed in place.
const keys = new WeakMap<Uint8Array, string>();

// Well inside every engine's limit on arguments to one call.
const CHUNK = 8_192;

/** A bounded first-in first-out mempool; duplicates are ignored, and when full the newest are refused. */
export class FifoMempool implements Mempool {
  private readonly txs = new Map<string, Uint8Array>();
  constructor(private readonly capacity = 100_000) {}

  add(txs: readonly Uint8Array[]): void {
    for (const tx of txs) {
      if (this.txs.size >= this.capacity) return;
      const id = txKey(tx);
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
    for (const tx of txs) this.txs.delete(txKey(tx));
  }

  /** `remove` for transactions whose keys the caller has already computed. */
  removeKeys(keys: readonly string[]): void {
    for (const k of keys) this.txs.delete(k);
  }

  get size(): number {
    return this.txs.size;
  }
}
