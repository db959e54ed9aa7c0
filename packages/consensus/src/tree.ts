import { GENESIS, type Block } from './block';

/**
 * Every block a replica knows, linked to its parent, with the certified
 * (notarized) ones marked. A chain is certified when every block on it back to
 * genesis is. Blocks whose parent is unknown wait as orphans until it arrives.
 */
export class BlockTree {
  private readonly blocks = new Map<string, Block>([[GENESIS.id, GENESIS]]);
  private readonly children = new Map<string, string[]>();
  private readonly orphans = new Map<string, Block[]>();
  private readonly certified = new Set<string>([GENESIS.id]);
  private readonly certifiedChain = new Set<string>([GENESIS.id]);
  private bestHeight = 0;
  private bestTips: Block[] = [GENESIS];
  private newlyCertified: Block[] = [];

  has(id: string): boolean {
    return this.blocks.has(id);
  }

  get(id: string): Block | undefined {
    return this.blocks.get(id);
  }

  /** Adds a block; returns the blocks that joined the tree (it and any orphans it unblocked), parents first. */
  add(block: Block): Block[] {
    if (this.blocks.has(block.id)) return [];
    const parentId = block.parentId;
    const parent = this.blocks.get(parentId);
    if (parent === undefined || parent.height + 1 !== block.height) {
      if (parent === undefined) {
        const waiting = this.orphans.get(parentId) ?? [];
        if (!waiting.some((b) => b.id === block.id)) waiting.push(block);
        this.orphans.set(parentId, waiting);
      }
      return []; // wrong height under a known parent: never joins
    }
    const joined: Block[] = [];
    const attach = (b: Block) => {
      this.blocks.set(b.id, b);
      const siblings = this.children.get(b.parentId) ?? [];
      siblings.push(b.id);
      this.children.set(b.parentId, siblings);
      joined.push(b);
      this.refresh(b.id);
      const waiting = this.orphans.get(b.id);
      if (waiting) {
        this.orphans.delete(b.id);
        for (const o of waiting) if (o.height === b.height + 1 && !this.blocks.has(o.id)) attach(o);
      }
    };
    attach(block);
    return joined;
  }

  /** Marks a block certified (it may not be in the tree yet). */
  certify(id: string): void {
    if (this.certified.has(id)) return;
    this.certified.add(id);
    if (this.blocks.has(id)) this.refresh(id);
  }

  isCertified(id: string): boolean {
    return this.certified.has(id);
  }

  /** True iff the block and all its ancestors are certified. */
  isCertifiedChain(id: string): boolean {
    return this.certifiedChain.has(id);
  }

  /** Height of the longest certified chain. */
  get longestCertifiedHeight(): number {
    return this.bestHeight;
  }

  /** Tips of the longest certified chains (in the order they became longest). */
  get longestCertifiedTips(): readonly Block[] {
    return this.bestTips;
  }

  /** Blocks whose chain became certified since the last call, in the order it happened. */
  takeNewlyCertified(): Block[] {
    const out = this.newlyCertified;
    this.newlyCertified = [];
    return out;
  }

  /** The chain ending at `id`, from height `fromHeight` (default 1) up. */
  chain(id: string, fromHeight = 1): Block[] {
    const out: Block[] = [];
    let b = this.blocks.get(id);
    while (b !== undefined && b.height >= fromHeight) {
      out.push(b);
      b = this.blocks.get(b.parentId);
    }
    return out.reverse();
  }

  private refresh(id: string): void {
    const b = this.blocks.get(id)!;
    if (this.certifiedChain.has(id) || !this.certified.has(id) || !this.certifiedChain.has(b.parentId)) return;
    this.certifiedChain.add(id);
    this.newlyCertified.push(b);
    if (b.height > this.bestHeight) {
      this.bestHeight = b.height;
      this.bestTips = [b];
    } else if (b.height === this.bestHeight) {
      this.bestTips.push(b);
    }
    for (const child of this.children.get(id) ?? []) this.refresh(child);
  }
}
