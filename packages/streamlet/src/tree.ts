import { GENESIS, type Block } from '@bftx/consensus';
import { toHex } from '@bftx/crypto';

/** Where a tree stands: genesis, or (after a restart) the finalized tip the replica persisted. */
export interface TreeRoot {
  readonly hash: Uint8Array;
  readonly height: number;
  readonly view: number;
}

/** Most blocks waiting for an unknown parent; beyond it the oldest waiting one is dropped (it is fetched again when needed). */
const MAX_ORPHANS = 256;
/** Most ids known notarized (or vouched for by a notarized child) whose body is not here yet; beyond it the oldest is forgotten (re-learned from the next notarization). */
const MAX_PENDING_CERTIFIED = 256;

/**
 * The blocks a replica knows above its root, linked to their parents, with the notarized ones
 * marked. The root is final: genesis, the finalized tip read from the safety state after a restart
 * (its payload is not kept, only what extending it needs: hash, height, view), or the latest
 * finalized block (`reroot`: what does not descend from it is dropped; final blocks are the
 * runtime's). A chain is notarized when every block on it back to the root is. Blocks at or below
 * the root's height can never extend it and are refused; blocks whose parent is unknown wait
 * (bounded) until it arrives.
 */
export class NotarizedTree {
  private _root: Block;
  private blocks = new Map<string, Block>();
  private children = new Map<string, string[]>();
  private readonly orphans = new Map<string, Block[]>();
  /** The same blocks, by their own id. */
  private readonly orphanById = new Map<string, Block>();
  private certified = new Set<string>();
  /** Of `certified`, the ids whose block is not in the tree (yet): bounded, oldest forgotten first. */
  private pendingCertified = new Set<string>();
  private certifiedChain = new Set<string>();
  private bestHeight: number;
  private bestTips: Block[];
  private newlyCertified: Block[] = [];

  constructor(root: TreeRoot = GENESIS) {
    this._root = root.height === 0 ? GENESIS : stub(root);
    this.blocks.set(this.root.id, this.root);
    this.certified.add(this.root.id);
    this.certifiedChain.add(this.root.id);
    this.bestHeight = this.root.height;
    this.bestTips = [this.root];
  }

  get root(): Block {
    return this._root;
  }

  /** Blocks held above the root, in the tree or waiting for a parent (for bounded-state accounting). */
  get size(): number {
    return this.blocks.size - 1 + this.orphanById.size;
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
      this.vouchBelow(block);
      return false;
    }
    if (parent.height + 1 !== block.height) return false; // wrong height under a known parent: never joins
    // Attach it, then whatever waited for it, parents first (a loop, not recursion: chains fetched after a long absence are long).
    const joined: Block[] = [];
    const pending = [block];
    for (let b = pending.pop(); b !== undefined; b = pending.pop()) {
      this.blocks.set(b.id, b);
      this.pendingCertified.delete(b.id);
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
    else {
      this.pend(id);
      const waiting = this.orphanById.get(id);
      if (waiting !== undefined) this.vouchBelow(waiting);
    }
  }

  /** A notarized block waiting for its parent vouches for the parent (and so on down the waiting blocks): their answers are taken without votes. */
  private vouchBelow(block: Block): void {
    for (let b: Block | undefined = block; b !== undefined && this.certified.has(b.id) && !this.blocks.has(b.parentId) && !this.certified.has(b.parentId); b = this.orphanById.get(b.parentId)) {
      this.certified.add(b.parentId);
      this.pend(b.parentId);
    }
  }

  private pend(id: string): void {
    this.pendingCertified.add(id);
    if (this.pendingCertified.size > MAX_PENDING_CERTIFIED) {
      const oldest = this.pendingCertified.values().next().value!;
      this.pendingCertified.delete(oldest);
      this.certified.delete(oldest);
    }
  }

  /**
   * Makes `block` (final, on a notarized chain here) the root: every block that does not descend
   * from it, waiting ones at or below its height and marks for them are dropped. Returns how many
   * blocks were dropped.
   */
  reroot(block: Block): number {
    if (block.id === this.root.id || !this.certifiedChain.has(block.id)) return 0;
    const before = this.size;
    const blocks = new Map<string, Block>();
    const children = new Map<string, string[]>();
    const certified = new Set<string>();
    const certifiedChain = new Set<string>();
    const stack = [block.id];
    for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
      blocks.set(id, this.blocks.get(id)!);
      if (this.certified.has(id)) certified.add(id);
      if (this.certifiedChain.has(id)) certifiedChain.add(id);
      const kids = this.children.get(id);
      if (kids !== undefined) {
        children.set(id, kids);
        for (const k of kids) stack.push(k);
      }
    }
    for (const [parentId, list] of [...this.orphans]) {
      const kept = list.filter((o) => o.height > block.height + 1 || (o.height === block.height + 1 && o.parentId === block.id));
      for (const o of list) if (!kept.includes(o)) this.orphanById.delete(o.id);
      if (kept.length === 0) this.orphans.delete(parentId);
      else this.orphans.set(parentId, kept);
    }
    for (const id of this.pendingCertified) certified.add(id);
    this._root = block;
    this.blocks = blocks;
    this.children = children;
    this.certified = certified;
    this.certifiedChain = certifiedChain;
    this.bestTips = this.bestTips.filter((b) => blocks.has(b.id));
    if (this.bestTips.length === 0) {
      this.bestHeight = block.height;
      for (const id of certifiedChain) {
        const b = blocks.get(id)!;
        if (b.height > this.bestHeight) {
          this.bestHeight = b.height;
          this.bestTips = [b];
        } else if (b.height === this.bestHeight) this.bestTips.push(b);
      }
      if (this.bestTips.length === 0) this.bestTips = [block];
    }
    this.newlyCertified = this.newlyCertified.filter((b) => blocks.has(b.id));
    return before - this.size;
  }

  /**
   * Drops blocks not notarized, from views before `view`, that nothing here builds on: proposals
   * that can no longer gather votes (a notarization learned later brings them back by a fetch).
   * Blocks in `keep` stay (the chain up to the lock, restored from the safety state, whatever it
   * is marked). Returns how many were dropped.
   */
  dropStale(view: number, keep: ReadonlySet<string> = new Set()): number {
    const stale: Block[] = [];
    for (const b of this.blocks.values()) if (b !== this.root && b.view < view && !this.certified.has(b.id) && !keep.has(b.id)) stale.push(b);
    stale.sort((a, b) => b.height - a.height);
    let dropped = 0;
    for (const b of stale) {
      if ((this.children.get(b.id)?.length ?? 0) > 0 || this.orphans.has(b.id)) continue;
      this.blocks.delete(b.id);
      this.children.delete(b.id);
      const siblings = this.children.get(b.parentId);
      if (siblings !== undefined) {
        const i = siblings.indexOf(b.id);
        if (i >= 0) siblings.splice(i, 1);
      }
      dropped++;
    }
    return dropped;
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
  return { parent: zero, height: root.height, view: root.view, proposer: 0, payloadRoot: zero, payload: [], hash: root.hash, id: toHex(root.hash), parentId: '' };
}
