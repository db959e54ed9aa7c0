// What a replica keeps on disk (LevelDB through classic-level, whose prebuilt binary ships in the
// npm package): the latest safety state, the finalized blocks with the exchange state root after
// each, the latest exchange snapshot, and a log of recent consensus inputs. The log is a cache, not
// the restart contract (the safety state is): it is truncated whenever a safety state is written,
// so it holds the inputs since the last one, and disk and restart time are bounded by state, not
// uptime. One handled group of inputs is one atomic batch; it is synchronous (fsync) whenever what
// follows it leaves the process (a message, a finalized block), so nothing a peer or a client saw
// can be missing after a crash. LevelDB appends every write to one log, so a synchronous write also
// makes the unsynchronized ones before it durable.
import { BlockCodec, BlockHeaderCodec, sealBlock, type Block, type Evidence, type SignedStatement } from '@bftx/consensus';
import { bytesEqual, codec, decode, encode, fromHex, toHex } from '@bftx/crypto';
import { AttestationCodec, type Attestation } from '@bftx/exchange';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ClassicLevel } from 'classic-level';
import { checkLevelDbLogs } from './leveldb-log';

/** Why a store cannot be used; each comes with what the operator can do about it. */
export type StoreErrorCode =
  /** Another process (a replica still running?) holds the store's lock. */
  | 'LOCKED'
  /** The directory or its files cannot be written. */
  | 'READ_ONLY'
  /** The directory holds files but not a whole store (LevelDB's CURRENT or a table is gone). */
  | 'MISSING_FILES'
  /** LevelDB reports corruption, or a record of ours does not decode. */
  | 'CORRUPT'
  /** The input log has a hole: records between its first and last are missing. */
  | 'LOG_GAP'
  /** The store was made by another validator, or for another cluster. */
  | 'WRONG_OWNER'
  | 'OPEN_FAILED';

export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    readonly directory: string,
    message: string,
  ) {
    super(`store ${directory}: ${message}`);
    this.name = 'StoreError';
  }
}

/** What to do when the input log (a cache since the last safety state) is damaged. */
export type DamagedLogPolicy = 'refuse' | 'discard';

const settled = (): void => undefined;

const REPAIR_HINT = 'Restore the directory from a backup, or move it aside and start with an empty one: the replica then restarts with no safety state and fetches the chain from its peers (only safe if this validator key has not signed since the backup).';

/** Turns LevelDB's open failure into what happened and what to do. */
function openError(directory: string, e: unknown): StoreError {
  // Duck-typed: errors from the native binding may come from another realm (jest), where instanceof fails.
  const err = e as { message?: unknown; cause?: { message?: unknown; code?: unknown } } | undefined;
  const cause = `${String(err?.message ?? e)}${err?.cause?.message !== undefined ? `: ${String(err.cause.message)}` : ''}`;
  if (err?.cause?.code === 'LEVEL_LOCKED' || (/lock/i.test(cause) && /(temporarily unavailable|already held|resource busy)/i.test(cause))) {
    return new StoreError('LOCKED', directory, `another process holds its lock (${cause}). Stop the other replica using this directory, or give this one its own --data directory.`);
  }
  if (/(permission denied|read-only file system|EACCES|EROFS)/i.test(cause)) {
    return new StoreError('READ_ONLY', directory, `it cannot be written (${cause}). Give the replica's user write access to the directory and its files.`);
  }
  if (/(does not exist|no such file|not found)/i.test(cause)) {
    return new StoreError('MISSING_FILES', directory, `files of the store are missing (${cause}). Nothing was changed. ${REPAIR_HINT}`);
  }
  if (/corrupt/i.test(cause)) return new StoreError('CORRUPT', directory, `LevelDB reports corruption (${cause}). Nothing was changed. ${REPAIR_HINT}`);
  return new StoreError('OPEN_FAILED', directory, `the database failed to open (${cause}).`);
}

const SAFETY = 'safety';
/** Whose store this is: the cluster's id, the validator's index and public key (see `claim`). */
const OWNER = 'owner';
const HEIGHT = 'height';
const WAL_NEXT = 'wal-next';
const WAL_START = 'wal-start';
const VOTES_NEXT = 'votes-next';
const pad = (n: number) => String(n).padStart(16, '0');
const blockKey = (height: number) => `block/${pad(height)}`;
const walKey = (seq: number) => `wal/${pad(seq)}`;
const voteKey = (seq: number) => `vote/${pad(seq)}`;
const rootKey = (height: number) => `root/${pad(height)}`;
const attestationKey = (height: number, signer: number) => `attest/${pad(height)}/${pad(signer)}`;
const certificateKey = (height: number) => `cert/${pad(height)}`;
const SNAPSHOT = 'exchange-snapshot';
/** A stored attestation, flagged when it attests another statement than this replica's at its height. */
const AttestationRecordCodec = codec.record({ conflict: codec.enumeration(['no', 'yes']), attestation: AttestationCodec });
/** Most bytes of a commit certificate kept (a certificate of 256 validators' signatures is under 20 KiB). */
export const MAX_CERTIFICATE_BYTES = 1024 * 1024;
const SnapshotCodec = codec.record({ height: codec.uint(), state: codec.bytes() });

/** A signed vote as kept for audits. */
const VoteRecordCodec = codec.record({ domain: codec.string(64), view: codec.uint(), sequence: codec.uint(), blockHash: codec.fixedBytes(32), signer: codec.uint(0xffff), signature: codec.bytes(64) });

/**
 * Evidence of misbehaviour, one record per offender (the first found): bounded by the validator
 * count. An equivocation (two statements) under `evidence/`, as stores have always held it; an
 * unfair proposal (the offender's statement, the block's header and its payload: what
 * `verifyEvidence` needs) under `evidence-unfair/`.
 */
const EvidenceCodec = codec.record({ offender: codec.uint(0xffff), first: VoteRecordCodec, second: VoteRecordCodec });
const UnfairProposalCodec = codec.record({ offender: codec.uint(0xffff), statement: VoteRecordCodec, header: BlockHeaderCodec, payload: codec.array(codec.bytes()) });
const evidenceKey = (offender: number) => `evidence/${pad(offender)}`;
const unfairKey = (offender: number) => `evidence-unfair/${pad(offender)}`;

/** The key and bytes of an evidence record. */
function evidenceRecord(e: Evidence): [string, Uint8Array] {
  if (e.kind === 'equivocation') return [evidenceKey(e.offender), encode(EvidenceCodec, e)];
  return [unfairKey(e.offender), encode(UnfairProposalCodec, { offender: e.offender, statement: e.statement, header: e.header, payload: [...e.payload] })];
}

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
  /** Evidence the protocol reported; an offender already on record keeps its first. */
  readonly evidence?: readonly Evidence[];
  /** Attestations to keep (one record per height and signer; see putAttestations), flagged when they conflict with this replica's statement. */
  readonly attestations?: ReadonlyArray<{ readonly attestation: Attestation; readonly conflict: boolean }>;
  /** Commit certificates, each with the height of the last block of its commit (at most one per height: a later one replaces it). */
  readonly certificates?: ReadonlyArray<{ readonly height: number; readonly certificate: Uint8Array }>;
  readonly sync: boolean;
}

export class ReplicaStore {
  // What is durable (the last write that resolved)...
  private storedHeight = 0;
  private nextInput = 0;
  private firstInput = 0;
  private nextVote = 0;
  // ...and what will be once the writes queued so far are: a write is numbered when it is called,
  // so a caller may queue the next group's write before the last one resolved (see write).
  private queued = { height: 0, nextInput: 0, firstInput: 0, nextVote: 0 };
  /** The last write queued: each write starts once the one before it is durable. */
  private tail: Promise<void> = Promise.resolve();

  private constructor(
    private readonly db: ClassicLevel<string, Uint8Array>,
    private readonly location: string,
  ) {}

  /**
   * Opens the store in `directory`, creating it only where the directory is missing or empty: a
   * directory that holds anything must hold a whole store. (LevelDB, asked to create where its
   * CURRENT file is gone, starts a new database and deletes the old tables: a failed start would
   * destroy the data.) Failures are StoreErrors that say what to do.
   */
  static async open(directory: string): Promise<ReplicaStore> {
    const fresh = !existsSync(directory) || readdirSync(directory).length === 0;
    if (!fresh && !existsSync(join(directory, 'CURRENT'))) {
      throw new StoreError('MISSING_FILES', directory, `the directory holds files but no LevelDB CURRENT file, so it is not a whole store. Nothing was changed. ${REPAIR_HINT}`);
    }
    if (!fresh) {
      const damaged = checkLevelDbLogs(directory);
      if (damaged !== undefined) throw new StoreError('CORRUPT', directory, `LevelDB's log is damaged (${damaged}): opened, LevelDB would drop those writes (a safety state, finalized blocks) and rewrite the store without them. Nothing was changed. ${REPAIR_HINT}`);
    }
    const db = new ClassicLevel<string, Uint8Array>(directory, { keyEncoding: 'utf8', valueEncoding: 'view' });
    try {
      await db.open({ createIfMissing: fresh, errorIfExists: false });
    } catch (e) {
      throw openError(directory, e);
    }
    const store = new ReplicaStore(db, directory);
    const h = await db.get(HEIGHT);
    store.storedHeight = h === undefined ? 0 : readUint32(h);
    const w = await db.get(WAL_NEXT);
    store.nextInput = w === undefined ? 0 : readUint32(w);
    const start = await db.get(WAL_START);
    store.firstInput = start === undefined ? 0 : readUint32(start);
    const v = await db.get(VOTES_NEXT);
    store.nextVote = v === undefined ? 0 : readUint32(v);
    store.queued = { height: store.storedHeight, nextInput: store.nextInput, firstInput: store.firstInput, nextVote: store.nextVote };
    return store;
  }

  async close(): Promise<void> {
    await this.tail.catch(() => undefined);
    await this.db.close();
  }

  /**
   * Marks the store as this validator's of this cluster, or refuses it when another's: a replica
   * started on another's data (a copied folder, a config pointing at the wrong directory) would take
   * that validator's safety state and ledger for its own. A store from before this record is claimed
   * by its first start.
   */
  async claim(cluster: Uint8Array, self: number, publicKey: Uint8Array): Promise<void> {
    const owner = new Uint8Array(cluster.length + 4 + publicKey.length);
    owner.set(cluster, 0);
    new DataView(owner.buffer).setUint32(cluster.length, self);
    owner.set(publicKey, cluster.length + 4);
    const stored = await this.db.get(OWNER);
    if (stored === undefined) return this.db.put(OWNER, owner);
    if (bytesEqual(stored, owner)) return;
    const was = stored.length === owner.length ? `validator ${new DataView(stored.buffer, stored.byteOffset).getUint32(cluster.length)} (key ${toHex(stored.subarray(cluster.length + 4)).slice(0, 12)}) of cluster ${toHex(stored.subarray(0, cluster.length)).slice(0, 12)}` : 'another owner';
    throw new StoreError('WRONG_OWNER', this.location, `it belongs to ${was}, not validator ${self} (key ${toHex(publicKey).slice(0, 12)}) of cluster ${toHex(cluster).slice(0, 12)}. Nothing was changed. Give each replica its own data directory; never start a replica on another's data.`);
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

  /**
   * Writes one group atomically; durable before it resolves when `sync`. Writes apply in the order
   * they are called, each after the one before it resolved: a caller may queue the next group's
   * write while one is in flight (the runtime's pipeline), and once a write resolves every write
   * called before it is durable too. One that fails fails every write queued after it.
   */
  write(w: StoreWrite): Promise<void> {
    try {
      return this.queue(w);
    } catch (e) {
      return Promise.reject(e);
    }
  }

  private queue(w: StoreWrite): Promise<void> {
    // Checked before anything is queued: a refused write leaves nothing behind.
    let height = this.queued.height;
    for (const b of w.blocks) {
      if (b.height !== height + 1) throw new RangeError(`store: block at height ${b.height} does not follow height ${height}`);
      height = b.height;
    }
    if (w.roots !== undefined && w.roots.length !== w.blocks.length) throw new RangeError(`store: ${w.roots.length} state roots for ${w.blocks.length} blocks`);
    const batch = this.db.batch();
    let seq = this.queued.nextInput;
    let first = this.queued.firstInput;
    if (w.safetyState !== undefined && first < seq) {
      // A new safety state: the inputs of earlier groups are not needed to restart any more.
      for (let s = first; s < seq; s++) batch.del(walKey(s));
      first = seq;
      batch.put(WAL_START, uint32(first));
    }
    for (const input of w.inputs) batch.put(walKey(seq++), input);
    if (w.inputs.length > 0) batch.put(WAL_NEXT, uint32(seq));
    if (w.safetyState !== undefined) batch.put(SAFETY, w.safetyState);
    let vote = this.queued.nextVote;
    for (const s of w.votes ?? []) batch.put(voteKey(vote++), encode(VoteRecordCodec, s));
    if (vote !== this.queued.nextVote) batch.put(VOTES_NEXT, uint32(vote));
    for (const b of w.blocks) batch.put(blockKey(b.height), encode(BlockCodec, { parent: b.parent, height: b.height, view: b.view, proposer: b.proposer, payloadRoot: b.payloadRoot, payload: [...b.payload] }));
    if (w.blocks.length > 0) batch.put(HEIGHT, uint32(height));
    w.roots?.forEach((r, i) => batch.put(rootKey(w.blocks[i]!.height), fromHex(r)));
    if (w.snapshot !== undefined) batch.put(SNAPSHOT, encode(SnapshotCodec, w.snapshot));
    for (const e of w.evidence ?? []) batch.put(...evidenceRecord(e));
    for (const r of w.attestations ?? []) batch.put(attestationKey(r.attestation.height, r.attestation.signer), encode(AttestationRecordCodec, { conflict: r.conflict ? 'yes' : 'no', attestation: r.attestation }));
    for (const c of w.certificates ?? []) if (c.certificate.length <= MAX_CERTIFICATE_BYTES) batch.put(certificateKey(c.height), c.certificate);
    this.queued = { height, nextInput: seq, firstInput: first, nextVote: vote };
    return this.chain(async () => {
      await batch.write({ sync: w.sync });
      this.nextInput = seq;
      this.firstInput = first;
      this.nextVote = vote;
      this.storedHeight = height;
    });
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

  /**
   * Stores attestations (one record per height and signer: a second write for the same replaces
   * the first, as when a held attestation is sorted). Not synchronous: a crash may lose the last
   * few, which peers re-send and this replica re-signs (Ed25519 signatures are deterministic).
   */
  putAttestations(records: ReadonlyArray<{ readonly attestation: Attestation; readonly conflict: boolean }>): Promise<void> {
    const batch = this.db.batch();
    for (const r of records) batch.put(attestationKey(r.attestation.height, r.attestation.signer), encode(AttestationRecordCodec, { conflict: r.conflict ? 'yes' : 'no', attestation: r.attestation }));
    // In line with the groups' writes (after every write called before it), as every write here
    // is; best effort: its failure is its caller's alone and fails no write queued after it.
    return this.chain(() => batch.write({ sync: false }), true);
  }

  /**
   * Runs `write` after every write queued before it; the next ones wait for it in turn. A failed
   * write fails every write queued after it, unless it is `bestEffort` (then the ones after it
   * still wait for it, and fail only if a write before it failed).
   */
  private chain(write: () => Promise<void>, bestEffort = false): Promise<void> {
    const before = this.tail;
    const written = before.then(write);
    this.tail = bestEffort ? before.then(() => written.then(settled, settled)) : written;
    written.catch(settled); // the caller sees the failure
    this.tail.catch(settled);
    return written;
  }

  /** Stored attestations for heights `from` to `to` (inclusive), by height then signer. */
  async attestations(from: number, to: number): Promise<Array<{ attestation: Attestation; conflict: boolean }>> {
    const out: Array<{ attestation: Attestation; conflict: boolean }> = [];
    for await (const value of this.db.values({ gte: attestationKey(from, 0), lte: attestationKey(Math.min(to, 1e15), 0xffff) })) {
      const r = decode(AttestationRecordCodec, value);
      out.push({ attestation: r.attestation, conflict: r.conflict === 'yes' });
    }
    return out;
  }

  /** The stored commit certificate at the lowest height at or above `height`, with that height. */
  async certificateFrom(height: number): Promise<{ height: number; certificate: Uint8Array } | undefined> {
    for await (const [key, value] of this.db.iterator({ gte: certificateKey(height), lte: certificateKey(1e15), limit: 1 })) return { height: Number(key.slice(5)), certificate: value };
    return undefined;
  }

  /** The latest exchange snapshot, if one was written. */
  async snapshot(): Promise<{ height: number; state: Uint8Array } | undefined> {
    const v = await this.db.get(SNAPSHOT);
    return v === undefined ? undefined : decode(SnapshotCodec, v);
  }

  /** The evidence on record, one per offender (an equivocation before an unfair proposal), by offender. */
  async evidence(): Promise<Evidence[]> {
    const byOffender = new Map<number, Evidence>();
    for await (const value of this.db.values({ gte: evidenceKey(0), lte: evidenceKey(0xffff) })) {
      const e = decode(EvidenceCodec, value);
      byOffender.set(e.offender, { kind: 'equivocation', ...e } as Evidence);
    }
    for await (const value of this.db.values({ gte: unfairKey(0), lte: unfairKey(0xffff) })) {
      const e = decode(UnfairProposalCodec, value);
      if (!byOffender.has(e.offender)) byOffender.set(e.offender, { kind: 'unfair-proposal', ...e } as Evidence);
    }
    return [...byOffender.values()].sort((a, b) => a.offender - b.offender);
  }

  /** Every vote this replica sent while keeping them (the `auditVotes` option), oldest first. */
  async *votes(): AsyncGenerator<SignedStatement> {
    for await (const value of this.db.values({ gte: voteKey(0), lt: voteKey(this.nextVote) })) yield decode(VoteRecordCodec, value) as SignedStatement;
  }

  /**
   * The logged consensus inputs (since the last safety state's group), oldest first. The records
   * are numbered: a missing one (LevelDB drops a damaged record of its log and only says so in its
   * own LOG file) throws a StoreError LOG_GAP instead of being skipped.
   */
  async *inputs(): AsyncGenerator<Uint8Array> {
    let expected = this.firstInput;
    for await (const [key, value] of this.db.iterator({ gte: walKey(this.firstInput), lt: walKey(this.nextInput) })) {
      const seq = Number(key.slice(4));
      if (seq !== expected) throw this.logGap(expected, seq);
      expected++;
      yield value;
    }
    if (expected !== this.nextInput) throw this.logGap(expected, this.nextInput);
  }

  private logGap(expected: number, found: number): StoreError {
    return new StoreError('LOG_GAP', this.location, `the input log misses records ${expected} to ${found - 1} (of ${this.firstInput} to ${this.nextInput - 1}): its disk was damaged. Start with the option damagedLog: 'discard' (CLI: --discard-damaged-log) to drop the log and restart from the safety state alone, which is safe; inputs since then are fetched or re-sent by peers and clients.`);
  }

  /** Drops the whole input log (see DamagedLogPolicy): the safety state alone is the restart contract. */
  async discardInputs(): Promise<number> {
    let dropped = 0;
    await this.chain(async () => {
      dropped = this.nextInput - this.firstInput;
      await this.db.clear({ gte: walKey(0), lt: walKey(this.nextInput) });
      const batch = this.db.batch();
      batch.put(WAL_START, uint32(this.nextInput));
      batch.put(WAL_NEXT, uint32(this.nextInput));
      await batch.write({ sync: true });
      this.firstInput = this.nextInput;
      this.queued = { ...this.queued, firstInput: this.nextInput };
    });
    return dropped;
  }
}
