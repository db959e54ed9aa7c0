import { bytesEqual } from '@bftx/crypto';
import { GENESIS, type Block } from './block';
import { ConsensusError } from './errors';

/**
 * The finalized chain: append-only, never reverts. Re-finalizing a block
 * already final is a no-op; a different block at a final height is a safety
 * violation and throws LEDGER_CONFLICT instead of being recorded.
 */
export class Ledger {
  private readonly blocks: Block[] = [GENESIS];

  /** Height of the last finalized block (genesis is 0). */
  get height(): number {
    return this.blocks.length - 1;
  }

  get tip(): Block {
    return this.blocks[this.blocks.length - 1]!;
  }

  at(height: number): Block | undefined {
    return this.blocks[height];
  }

  /** Finalized blocks from height 1 up. */
  get chain(): readonly Block[] {
    return this.blocks.slice(1);
  }

  /**
   * Finalize `chain` (consecutive blocks, lowest first). Returns the blocks that
   * were not final before, in order.
   */
  extend(chain: readonly Block[]): Block[] {
    const added: Block[] = [];
    for (const b of chain) {
      const existing = this.blocks[b.height];
      if (existing !== undefined) {
        if (!bytesEqual(existing.hash, b.hash)) {
          throw new ConsensusError('LEDGER_CONFLICT', `block ${b.id.slice(0, 12)} conflicts with finalized block ${existing.id.slice(0, 12)} at height ${b.height}`);
        }
        continue;
      }
      if (b.height !== this.blocks.length || !bytesEqual(b.parent, this.tip.hash)) {
        throw new ConsensusError('LEDGER_GAP', `block at height ${b.height} does not extend the finalized tip at height ${this.height}`);
      }
      this.blocks.push(b);
      added.push(b);
    }
    return added;
  }
}
