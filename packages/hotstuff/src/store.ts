import { bytesEqual, toHex } from '@bftx/crypto';
import type { Block, Evidence, QuorumCertificate, SignedStatement } from '@bftx/consensus';

/** A block with the QC it carries for its parent (its justify). */
export interface CertifiedLink {
  readonly block: Block;
  readonly justify: QuorumCertificate;
}

interface Entry extends CertifiedLink {
  certified: boolean;
}

/**
 * The blocks a replica knows, rooted at the block it stands on: genesis, or after a restart the
 * committed tip it persisted (its tree starts there, not at genesis: the history below is the
 * runtime's ledger). A block joins when its parent has joined; until then it waits as an orphan
 * (at most `maxOrphans`, the oldest dropped first), and blocks at or below the root never join.
 */
export class BlockStore {
  private readonly joined = new Map<string, Entry>();
  private readonly orphans = new Map<string, Entry>();
  private readonly waiting = new Map<string, string[]>();

  constructor(
    readonly root: CertifiedLink,
    private readonly maxOrphans: number,
  ) {
    this.joined.set(root.block.id, { ...root, certified: true });
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

  /** The justify QC of a joined block or an orphan. */
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

  /** Adds a block whose justify was verified; returns the blocks that joined (it and the orphans it unblocked), parents first. */
  add(block: Block, justify: QuorumCertificate): Block[] {
    if (this.has(block.id) || block.height <= this.root.block.height) return [];
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
   * The block a chain ending at `id` (joined or orphan) misses first, going down: its hash and the
   * view of the QC that names it. Undefined if the chain is joined or `id` is unknown.
   */
  missingBelow(id: string): { readonly hash: Uint8Array; readonly epoch: number } | undefined {
    let e = this.orphans.get(id);
    for (let steps = 0; e !== undefined && steps <= this.maxOrphans; steps++) {
      const next = this.orphans.get(e.block.parentId);
      if (next === undefined) return this.joined.has(e.block.parentId) ? undefined : { hash: e.block.parent, epoch: e.justify.epoch };
      e = next;
    }
    return undefined;
  }

  /** The joined chain ending at `id`, from height `fromHeight` up (lowest first); at most `max` blocks, the highest kept. */
  chain(id: string, fromHeight: number, max = Infinity): CertifiedLink[] {
    const out: CertifiedLink[] = [];
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
    let inView = this.byView.get(s.epoch);
    if (inView === undefined) this.byView.set(s.epoch, (inView = new Map()));
    const key = `${s.domain}|${s.slot}|${s.phase}|${s.signer}`;
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

  /** The first statement of `signer` under `domain` in view `epoch` (slot and phase 0), if kept. */
  first(epoch: number, domain: string, signer: number): SignedStatement | undefined {
    return this.byView.get(epoch)?.get(`${domain}|0|0|${signer}`);
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
