import { GENESIS, type Block } from '@bftx/consensus';
import { toHex } from '@bftx/crypto';

/** Where a tree stands: genesis, or (after a restart) the finalized tip the replica persisted. */
export interface TreeRoot {
  readonly hash: Uint8Array;
  readonly height: number;
  readonly epoch: number;
}

/** Most blocks waiting for an unknown parent; beyond it the oldest waiting one is dropped (it is fetched again when needed). */
const MAX_ORPHANS = 256;

/**
 * The blocks a replica knows above its root, linked to their parents, with the notarized ones
 * marked. The root is final: genesis, or after a restart the finalized tip read from the safety
 * state (its payload is not kept, only what extending it needs: hash, height, epoch). A chain is
 * notarized when every block on it back to the root is. Blocks at or below the root's height can
 * never extend it and are refused; blocks whose parent is unknown wait (bounded) until it arrives.
 */
export class NotarizedTree {
  readonly root: Block;
  private readonly blocks = new Map<string, Block>();
  private readonly children = new Map<string, string[]>();
  private readonly orphans = new Map<string, Block[]>();
  /** The same blocks, by their own id. */
  private readonly orphanById = new Map<string, Block>();
  private readonly certified = new Set<string>();
  private readonly certifiedChain = new Set<string>();
  private bestHeight: number;
  private bestTips: Block[];
  private newlyCertified: Block[] = [];

  constructor(root: TreeRoot = GENESIS) {
    this.root = root.height === 0 ? GENESIS : stub(root);
    this.blocks.set(this.root.id, this.root);
    this.certified.add(this.root.id);
    this.certifiedChain.add(this.root.id);
    this.bestHeight = this.root.height;
    this.bestTips = [this.root];
  }

  has(id: string): boolean {
    return this.blocks.has(id);
  }

  get(id: string): Block | undefined {
    return this.blocks.get(id);
  }

  /** Blocks waiting for a parent (for bounded-state accounting). */
  get waiting(): number {
    return this.orphanById.size;
  }

  /** A block waiting for its parent, by id. */
  waitingBlock(id: string): Block | undefined {
    return this.orphanById.get(id);
  }

  /** Adds a block above the root (or keeps it until its parent arrives); returns true if it joined the tree now. */
  add(block: Block): boolean {
    if (this.blocks.has(block.id) || block.height <= this.root.height) return false;
    if (block.height === this.root.height + 1 && block.parentId !== this.root.id) return false; // conflicts with the final root
    const parent = this.blocks.get(block.parentId);
    if (parent === undefined) {
      if (this.orphanById.has(block.id)) return false;
      if (this.orphanById.size >= MAX_ORPHANS) this.dropOldestOrphans();
      const waiting = this.orphans.get(block.parentId);
      if (waiting === undefined) this.orphans.set(block.parentId, [block]);
      else waiting.push(block);
      this.orphanById.set(block.id, block);
      return false;
    }
    if (parent.height + 1 !== block.height) return false; // wrong height under a known parent: never joins
    // Attach it, then whatever waited for it, parents first (a loop, not recursion: chains fetched after a long absence are long).
    const joined: Block[] = [];
    const pending = [block];
    for (let b = pending.pop(); b !== undefined; b = pending.pop()) {
      this.blocks.set(b.id, b);
      const siblings = this.children.get(b.parentId);
      if (siblings === undefined) this.children.set(b.parentId, [b.id]);
      else siblings.push(b.id);
      joined.push(b);
      this.refresh(b.id);
      const waiting = this.orphans.get(b.id);
      if (waiting) {
        this.orphans.delete(b.id);
        for (const o of waiting) {
          this.orphanById.delete(o.id);
          if (o.height === b.height + 1 && !this.blocks.has(o.id)) pending.push(o);
        }
      }
    }
    // A notarized block that was waiting vouches for the blocks under it.
    for (let i = joined.length - 1; i >= 0; i--) if (this.certified.has(joined[i]!.id)) this.certifyAncestors(joined[i]!.id);
    return true;
  }

  /**
   * Marks a block notarized (it may not be in the tree yet), and its known ancestors with it: an
   * honest replica votes only for a block on a notarized chain, and a quorum of votes holds an
   * honest one, so the chain under a notarized block is notarized too (Chan-Shi's voting rule).
   * That lets a replica that lost votes, or was down, take ancestors as blocks alone, linked by
   * their hashes, from anyone.
   */
  certify(id: string): void {
    if (this.certified.has(id)) return;
    this.certified.add(id);
    if (this.blocks.has(id)) this.certifyAncestors(id);
  }

  private certifyAncestors(id: string): void {
    // Walk down to the highest ancestor already notarized, then refresh from the lowest one marked.
    let lowest = id;
    let b = this.blocks.get(this.blocks.get(id)!.parentId);
    while (b !== undefined && !this.certified.has(b.id)) {
      this.certified.add(b.id);
      lowest = b.id;
      b = this.blocks.get(b.parentId);
    }
    this.refresh(lowest);
  }

  isCertified(id: string): boolean {
    return this.certified.has(id);
  }

  /** True iff the block and all its ancestors back to the root are notarized. */
  isCertifiedChain(id: string): boolean {
    return this.certifiedChain.has(id);
  }

  get longestCertifiedHeight(): number {
    return this.bestHeight;
  }

  /** Tips of the longest notarized chains (in the order they became longest). */
  get longestCertifiedTips(): readonly Block[] {
    return this.bestTips;
  }

  /** Blocks whose chain became notarized since the last call, in the order it happened. */
  takeNewlyCertified(): Block[] {
    const out = this.newlyCertified;
    if (out.length > 0) this.newlyCertified = [];
    return out;
  }

  /** The chain ending at `id`, from height `fromHeight` up (never the root's stub). */
  chain(id: string, fromHeight: number): Block[] {
    const out: Block[] = [];
    let b = this.blocks.get(id);
    while (b !== undefined && b.height >= fromHeight && b.height > this.root.height) {
      out.push(b);
      b = this.blocks.get(b.parentId);
    }
    return out.reverse();
  }

  /** The ancestor of `id` at `height`, if the chain down to it is known. */
  ancestorAt(id: string, height: number): Block | undefined {
    let b = this.blocks.get(id);
    while (b !== undefined && b.height > height) b = this.blocks.get(b.parentId);
    return b?.height === height ? b : undefined;
  }

  private dropOldestOrphans(): void {
    const [parentId, list] = this.orphans.entries().next().value as [string, Block[]];
    this.orphans.delete(parentId);
    for (const o of list) this.orphanById.delete(o.id);
  }

  /** Extends the notarized chains from `id` up, if it now joins one. */
  private refresh(id: string): void {
    const stack = [id];
    for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
      const b = this.blocks.get(next)!;
      if (this.certifiedChain.has(next) || !this.certified.has(next) || !this.certifiedChain.has(b.parentId)) continue;
      this.certifiedChain.add(next);
      this.newlyCertified.push(b);
      if (b.height > this.bestHeight) {
        this.bestHeight = b.height;
        this.bestTips = [b];
      } else if (b.height === this.bestHeight) {
        this.bestTips.push(b);
      }
      const children = this.children.get(next);
      if (children !== undefined) for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
    }
  }
}

/** The root as a block: header fields only (it is final; nothing reads its parent or payload). */
function stub(root: TreeRoot): Block {
  const zero = new Uint8Array(32);
  return { parent: zero, height: root.height, epoch: root.epoch, proposer: 0, payloadRoot: zero, payload: [], hash: root.hash, id: toHex(root.hash), parentId: '' };
}
