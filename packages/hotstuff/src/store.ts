import { bytesEqual, toHex } from '@bftx/crypto';
import type { Block, Evidence, QuorumCertificate, SignedStatement } from '@bftx/consensus';

/** A block with the QC it carries for its parent (its justify). */
export interface CertifiedLink {
  readonly block: Block;
  readonly justify: QuorumCertificate;
}

/**
 * A block in the store: with its justify, or without one for a block a peer served from its
 * finalized chain (it is final there, and it was accepted by hash from a block this replica holds).
 */
export interface StoredLink {
  readonly block: Block;
  readonly justify: QuorumCertificate | undefined;
}

interface Entry extends StoredLink {
  certified: boolean;
}

/**
 * The blocks a replica knows that are not final yet, rooted at its committed tip (genesis at
 * first): what is below is the runtime's finalized chain. A block joins when its parent has
 * joined; until then it waits as an orphan (at most `maxOrphans`, the oldest dropped first), and
 * blocks at or below the root never join. `prune` moves the root up to a new committed tip and
 * drops every block that does not descend from it (below it, or on a fork that can no longer
 * be committed), so what is held is the chain above the committed tip, not history.
 */
export class BlockStore {
  private readonly joined = new Map<string, Entry>();
  private readonly orphans = new Map<string, Entry>();
  private readonly waiting = new Map<string, string[]>();
  private rootEntry: Entry;

  constructor(
    root: StoredLink,
    private readonly maxOrphans: number,
  ) {
    this.rootEntry = { ...root, certified: true };
    this.joined.set(root.block.id, this.rootEntry);
  }

  /** The committed tip the tree stands on. */
  get root(): StoredLink {
    return this.rootEntry;
  }

  /** Joined (on a chain to the root) or waiting for its parent. */
  has(id: string): boolean {
    return this.joined.has(id) || this.orphans.has(id);
  }

  /** A joined block. */
  get(id: string): Block | undefined {
    return this.joined.get(id)?.block;
  }

  isJoined(id: string): boolean {
    return this.joined.has(id);
  }

  /** The justify QC of a joined block or an orphan (undefined for a block served from a finalized chain). */
  justify(id: string): QuorumCertificate | undefined {
    return (this.joined.get(id) ?? this.orphans.get(id))?.justify;
  }

  /** Marks a joined block certified; true if it was not before. */
  certify(id: string): boolean {
    const e = this.joined.get(id);
    if (e === undefined || e.certified) return false;
    e.certified = true;
    return true;
  }

  get orphanCount(): number {
    return this.orphans.size;
  }

  /** Blocks held that are not final: joined above the root, and orphans. */
  get size(): number {
    return this.joined.size - 1 + this.orphans.size;
  }

  /** Adds a block whose justify was verified (or that was accepted by hash); returns the blocks that joined (it and the orphans it unblocked), parents first. */
  add(block: Block, justify: QuorumCertificate | undefined): Block[] {
    if (this.has(block.id) || block.height <= this.rootEntry.block.height) return [];
    const parent = this.joined.get(block.parentId);
    if (parent === undefined) {
      if (this.orphans.size >= this.maxOrphans) this.dropOrphan(this.orphans.keys().next().value!);
      this.orphans.set(block.id, { block, justify, certified: false });
      const list = this.waiting.get(block.parentId);
      if (list === undefined) this.waiting.set(block.parentId, [block.id]);
      else list.push(block.id);
      return [];
    }
    if (parent.block.height + 1 !== block.height) return []; // a wrong height never joins
    const joined: Block[] = [];
    const stack: Entry[] = [{ block, justify, certified: false }];
    while (stack.length > 0) {
      const e = stack.pop()!;
      this.joined.set(e.block.id, e);
      joined.push(e.block);
      const children = this.waiting.get(e.block.id);
      if (children === undefined) continue;
      this.waiting.delete(e.block.id);
      for (const id of children) {
        const o = this.orphans.get(id);
        if (o === undefined) continue;
        this.orphans.delete(id);
        if (o.block.height === e.block.height + 1) stack.push(o);
      }
    }
    return joined;
  }

  /**
   * Makes the joined block `id` (a new committed tip) the root: drops every joined block that
   * does not descend from it, and every orphan at or below its height. Work: the blocks held.
   */
  prune(id: string): void {
    const root = this.joined.get(id);
    if (root === undefined || root === this.rootEntry) return;
    this.rootEntry = root;
    const keep = new Set<string>([id]);
    const entries = [...this.joined.values()].filter((e) => e.block.height > root.block.height).sort((a, b) => a.block.height - b.block.height);
    for (const e of entries) if (keep.has(e.block.parentId)) keep.add(e.block.id);
    for (const k of [...this.joined.keys()]) if (!keep.has(k)) this.joined.delete(k);
    for (const [k, o] of [...this.orphans]) if (o.block.height <= root.block.height) this.dropOrphan(k);
  }

  /**
   * The block a chain ending at `id` (joined or orphan) misses first, going down: its hash, its
   * height, and the view of the QC that names it (for a block served without its justify, the
   * highest view its parent can have). Undefined if the chain is joined or `id` is unknown.
   */
  missingBelow(id: string): { readonly hash: Uint8Array; readonly height: number; readonly view: number } | undefined {
    let e = this.orphans.get(id);
    for (let steps = 0; e !== undefined && steps <= this.maxOrphans; steps++) {
      const next = this.orphans.get(e.block.parentId);
      if (next === undefined) return this.joined.has(e.block.parentId) ? undefined : { hash: e.block.parent, height: e.block.height - 1, view: e.justify?.view ?? e.block.view - 1 };
      e = next;
    }
    return undefined;
  }

  /** The joined chain ending at `id`, from height `fromHeight` up (lowest first); at most `max` blocks, the highest kept. */
  chain(id: string, fromHeight: number, max = Infinity): StoredLink[] {
    const out: StoredLink[] = [];
    let e = this.joined.get(id);
    while (e !== undefined && e.block.height >= fromHeight && out.length < max) {
      out.push(e);
      e = this.joined.get(e.block.parentId);
    }
    return out.reverse();
  }

  /** Is `ancestor` (a hash) `block` itself or on its joined chain? */
  extends(block: Block, ancestor: Uint8Array): boolean {
    if (bytesEqual(block.hash, ancestor) || bytesEqual(block.parent, ancestor)) return true;
    const a = this.get(toHex(ancestor));
    if (a === undefined) return false;
    let b: Block | undefined = block;
    while (b !== undefined && b.height > a.height) b = this.get(b.parentId);
    return b !== undefined && b.id === a.id;
  }

  private dropOrphan(id: string): void {
    const o = this.orphans.get(id);
    this.orphans.delete(id);
    if (o === undefined) return;
    const list = this.waiting.get(o.block.parentId);
    if (list === undefined) return;
    const rest = list.filter((x) => x !== id);
    if (rest.length === 0) this.waiting.delete(o.block.parentId);
    else this.waiting.set(o.block.parentId, rest);
  }
}

/**
 * The first statement of each signer per (domain, view), for the views a replica still looks at;
 * a second one with another block is an equivocation, reported once per offender. Kept by view,
 * so dropping the views left behind costs the views, not the statements.
 */
export class StatementWindow {
  private readonly byView = new Map<number, Map<string, SignedStatement>>();
  private readonly reported = new Set<number>();
  size = 0;

  /** 'new', 'same' (already seen), or 'conflict', with evidence the first time an offender is caught. */
  observe(s: SignedStatement): { readonly outcome: 'new' | 'same' | 'conflict'; readonly evidence?: Evidence } {
    let inView = this.byView.get(s.view);
    if (inView === undefined) this.byView.set(s.view, (inView = new Map()));
    const key = `${s.domain}|${s.sequence}|${s.signer}`;
    const first = inView.get(key);
    if (first === undefined) {
      inView.set(key, s);
      this.size++;
      return { outcome: 'new' };
    }
    if (bytesEqual(first.blockHash, s.blockHash)) return { outcome: 'same' };
    if (this.reported.has(s.signer)) return { outcome: 'conflict' };
    this.reported.add(s.signer);
    return { outcome: 'conflict', evidence: { kind: 'equivocation', offender: s.signer, first, second: s } };
  }

  /** The first statement of `signer` under `domain` in view `view` (sequence 0), if kept. */
  first(view: number, domain: string, signer: number): SignedStatement | undefined {
    return this.byView.get(view)?.get(`${domain}|0|${signer}`); // observe's key, sequence 0
  }

  /** Forgets the views below `view`. */
  prune(view: number): void {
    for (const [v, inView] of this.byView) {
      if (v >= view) continue;
      this.size -= inView.size;
      this.byView.delete(v);
    }
  }
}
