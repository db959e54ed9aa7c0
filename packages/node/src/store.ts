// What a replica keeps on disk (LevelDB through classic-level, whose prebuilt binary ships in the
// npm package): the latest safety state and the finalized blocks. Writes that guard safety are
// synchronous (fsync) before the caller goes on.
import { BlockCodec, sealBlock, type Block } from '@bftx/consensus';
import { decode, encode } from '@bftx/crypto';
import { ClassicLevel } from 'classic-level';

const SAFETY = 'safety';
const HEIGHT = 'height';
const blockKey = (height: number) => `block/${String(height).padStart(16, '0')}`;

export class ReplicaStore {
  private constructor(private readonly db: ClassicLevel<string, Uint8Array>) {}

  static async open(directory: string): Promise<ReplicaStore> {
    const db = new ClassicLevel<string, Uint8Array>(directory, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    return new ReplicaStore(db);
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  async safetyState(): Promise<Uint8Array | undefined> {
    return this.db.get(SAFETY);
  }

  /** Durable (fsync) before it resolves: a vote may follow. */
  async putSafetyState(state: Uint8Array): Promise<void> {
    await this.db.put(SAFETY, state, { sync: true });
  }

  async height(): Promise<number> {
    const h = await this.db.get(HEIGHT);
    return h === undefined ? 0 : new DataView(h.buffer, h.byteOffset, h.length).getUint32(0);
  }

  /** Appends finalized blocks, which must continue the stored chain (height + 1, ...). */
  async appendBlocks(blocks: readonly Block[]): Promise<void> {
    if (blocks.length === 0) return;
    const height = await this.height();
    const batch = this.db.batch();
    blocks.forEach((b, i) => {
      if (b.height !== height + 1 + i) throw new RangeError(`store: block at height ${b.height} does not follow height ${height + i}`);
      batch.put(blockKey(b.height), encode(BlockCodec, { parent: b.parent, height: b.height, epoch: b.epoch, proposer: b.proposer, payloadRoot: b.payloadRoot, payload: [...b.payload] }));
    });
    const h = new Uint8Array(4);
    new DataView(h.buffer).setUint32(0, blocks[blocks.length - 1]!.height);
    batch.put(HEIGHT, h);
    await batch.write({ sync: true });
  }

  /** The stored chain, height 1 first. */
  async blocks(): Promise<Block[]> {
    const out: Block[] = [];
    for await (const value of this.db.values({ gte: blockKey(1), lte: blockKey(Number.MAX_SAFE_INTEGER) })) out.push(sealBlock(decode(BlockCodec, value)));
    return out;
  }
}
