// What a replica keeps on disk (LevelDB through classic-level, whose prebuilt binary ships in the
// npm package): the latest safety state, the finalized blocks with the exchange state root after
// each, the latest exchange snapshot, and a log of recent consensus inputs. The log is a cache, not
// the restart contract (the safety state is): it is truncated whenever a safety state is written,
// so it holds the inputs since the last one, and disk and restart time are bounded by state, not
// uptime. One handled group of inputs is one atomic batch; it is synchronous (fsync) whenever what
// follows it leaves the process (a message, a finalized block), so nothing a peer or a client saw
// can be missing after a crash. LevelDB appends every write to one log, so a synchronous write also
// makes the unsynchronized ones before it durable.
import { BlockCodec, sealBlock, type Block, type SignedStatement } from '@bftx/consensus';
import { codec, decode, encode, fromHex, toHex } from '@bftx/crypto';
import { ClassicLevel } from 'classic-level';

const SAFETY = 'safety';
const HEIGHT = 'height';
const WAL_NEXT = 'wal-next';
const WAL_START = 'wal-start';
const VOTES_NEXT = 'votes-next';
const pad = (n: number) => String(n).padStart(16, '0');
const blockKey = (height: number) => `block/${pad(height)}`;
const walKey = (seq: number) => `wal/${pad(seq)}`;
const voteKey = (seq: number) => `vote/${pad(seq)}`;
const rootKey = (height: number) => `root/${pad(height)}`;
const SNAPSHOT = 'exchange-snapshot';
const SnapshotCodec = codec.record({ height: codec.uint(), state: codec.bytes() });

/** A signed vote as kept for audits. */
const VoteRecordCodec = codec.record({ domain: codec.string(64), epoch: codec.uint(), slot: codec.uint(), phase: codec.uint(255), blockHash: codec.fixedBytes(32), signer: codec.uint(0xffff), signature: codec.bytes(64) });

const uint32 = (n: number) => {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n);
  return b;
};
const readUint32 = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.length).getUint32(0);

/** What one handled group of inputs leaves on disk. */
export interface StoreWrite {
  readonly inputs: readonly Uint8Array[];
  readonly safetyState?: Uint8Array;
  /** Newly finalized blocks, continuing the stored chain. */
  readonly blocks: readonly Block[];
  /** The exchange state root (hex) after each of `blocks`. */
  readonly roots?: readonly string[];
  /** The exchange state after the last of `blocks`, when it is time for a snapshot. */
  readonly snapshot?: { readonly height: number; readonly state: Uint8Array };
  /** Votes about to be sent, kept for audits (only when the replica is asked to). */
  readonly votes?: readonly SignedStatement[];
  readonly sync: boolean;
}

export class ReplicaStore {
  private storedHeight = 0;
  private nextInput = 0;
  private firstInput = 0;
  private nextVote = 0;

  private constructor(private readonly db: ClassicLevel<string, Uint8Array>) {}

  static async open(directory: string): Promise<ReplicaStore> {
    const db = new ClassicLevel<string, Uint8Array>(directory, { keyEncoding: 'utf8', valueEncoding: 'view' });
    await db.open();
    const store = new ReplicaStore(db);
    const h = await db.get(HEIGHT);
    store.storedHeight = h === undefined ? 0 : readUint32(h);
    const w = await db.get(WAL_NEXT);
    store.nextInput = w === undefined ? 0 : readUint32(w);
    const start = await db.get(WAL_START);
    store.firstInput = start === undefined ? 0 : readUint32(start);
    const v = await db.get(VOTES_NEXT);
    store.nextVote = v === undefined ? 0 : readUint32(v);
    return store;
  }

  async close(): Promise<void> {
    await this.db.close();
  }

  async safetyState(): Promise<Uint8Array | undefined> {
    return this.db.get(SAFETY);
  }

  /** Height of the last stored finalized block. */
  get height(): number {
    return this.storedHeight;
  }

  /** Consensus inputs logged since the store was created (most of them truncated since). */
  get inputsEverLogged(): number {
    return this.nextInput;
  }

  /** Consensus inputs in the log now (those since the group that wrote the last safety state). */
  get loggedInputs(): number {
    return this.nextInput - this.firstInput;
  }

  /** Writes one group atomically; durable before it resolves when `sync`. */
  async write(w: StoreWrite): Promise<void> {
    // Checked before anything is queued: a refused write leaves nothing behind.
    let height = this.storedHeight;
    for (const b of w.blocks) {
      if (b.height !== height + 1) throw new RangeError(`store: block at height ${b.height} does not follow height ${height}`);
      height = b.height;
    }
    if (w.roots !== undefined && w.roots.length !== w.blocks.length) throw new RangeError(`store: ${w.roots.length} state roots for ${w.blocks.length} blocks`);
    const batch = this.db.batch();
    let seq = this.nextInput;
    let first = this.firstInput;
    if (w.safetyState !== undefined && first < seq) {
      // A new safety state: the inputs of earlier groups are not needed to restart any more.
      for (let s = first; s < seq; s++) batch.del(walKey(s));
      first = seq;
      batch.put(WAL_START, uint32(first));
    }
    for (const input of w.inputs) batch.put(walKey(seq++), input);
    if (w.inputs.length > 0) batch.put(WAL_NEXT, uint32(seq));
    if (w.safetyState !== undefined) batch.put(SAFETY, w.safetyState);
    let vote = this.nextVote;
    for (const s of w.votes ?? []) batch.put(voteKey(vote++), encode(VoteRecordCodec, s));
    if (vote !== this.nextVote) batch.put(VOTES_NEXT, uint32(vote));
    for (const b of w.blocks) batch.put(blockKey(b.height), encode(BlockCodec, { parent: b.parent, height: b.height, epoch: b.epoch, proposer: b.proposer, payloadRoot: b.payloadRoot, payload: [...b.payload] }));
    if (w.blocks.length > 0) batch.put(HEIGHT, uint32(height));
    w.roots?.forEach((r, i) => batch.put(rootKey(w.blocks[i]!.height), fromHex(r)));
    if (w.snapshot !== undefined) batch.put(SNAPSHOT, encode(SnapshotCodec, w.snapshot));
    await batch.write({ sync: w.sync });
    this.nextInput = seq;
    this.firstInput = first;
    this.nextVote = vote;
    this.storedHeight = height;
  }

  /** Stored finalized blocks from `from` to `to` (inclusive), lowest first. */
  async blocks(from = 1, to = Number.MAX_SAFE_INTEGER): Promise<Block[]> {
    const out: Block[] = [];
    for await (const value of this.db.values({ gte: blockKey(from), lte: blockKey(Math.min(to, 1e15)) })) out.push(sealBlock(decode(BlockCodec, value)));
    return out;
  }

  /** The exchange state roots (hex) after heights `from` to `to`, as stored. */
  async roots(from: number, to: number): Promise<string[]> {
    const out: string[] = [];
    for await (const value of this.db.values({ gte: rootKey(from), lte: rootKey(to) })) out.push(toHex(value));
    return out;
  }

  /** The latest exchange snapshot, if one was written. */
  async snapshot(): Promise<{ height: number; state: Uint8Array } | undefined> {
    const v = await this.db.get(SNAPSHOT);
    return v === undefined ? undefined : decode(SnapshotCodec, v);
  }

  /** Every vote this replica sent while keeping them (the `auditVotes` option), oldest first. */
  async *votes(): AsyncGenerator<SignedStatement> {
    for await (const value of this.db.values({ gte: voteKey(0), lt: voteKey(this.nextVote) })) yield decode(VoteRecordCodec, value) as SignedStatement;
  }

  /** The logged consensus inputs (since the last safety state's group), oldest first. */
  async *inputs(): AsyncGenerator<Uint8Array> {
    for await (const value of this.db.values({ gte: walKey(this.firstInput), lt: walKey(this.nextInput) })) yield value;
  }
}
