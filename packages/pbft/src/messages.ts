import { BlockCodec, BlockHeaderCodec, sealBlock, type Block, type BlockHeader, type SignedStatement } from '@bftx/consensus';
import { bytesEqual, codec, decode, DecodeError, encode } from '@bftx/crypto';

/** Domain tags of PBFT's signed statements (each its own, so no signature is valid as another kind). */
export const PbftDomains = {
  prePrepare: 'bftx.pbft.pre-prepare',
  prepare: 'bftx.pbft.prepare',
  commit: 'bftx.pbft.commit',
  checkpoint: 'bftx.pbft.checkpoint',
  viewChange: 'bftx.pbft.view-change',
} as const;

/**
 * The primary of `view` binds `batch` to a sequence number (= batch.height). Its statement is
 * (view, sequence = batch.height, blockHash = batch digest): two pre-prepares for one (view, sequence) with
 * different batches are an equivocation anyone can prove.
 */
export interface PrePrepare {
  readonly view: number;
  /** Who signed it: the primary of `view` (a re-proposed batch keeps the proposer of the view it was prepared in). */
  readonly primary: number;
  readonly batch: Block;
  readonly signature: Uint8Array;
}

/**
 * A pre-prepare with matching prepares from quorum - 1 other replicas (the pre-prepare stands for the
 * primary's): the batch was prepared at (view, sequence) by a quorum.
 */
export interface PreparedCertificate {
  readonly prePrepare: PrePrepare;
  readonly prepares: readonly SignedStatement[];
}

/** A quorum of matching checkpoint statements (the same sequence, blockHash = the ledger block there): a stable checkpoint. */
export interface CheckpointProof {
  readonly sequence: number;
  readonly digest: Uint8Array;
  readonly statements: readonly SignedStatement[];
}

/**
 * "Move to `statement.view`": its signer's stable checkpoint and every batch it prepared above it.
 * The statement signs (view = new view, sequence = the stable checkpoint's, blockHash = digest of the prepared list).
 */
export interface ViewChange {
  readonly statement: SignedStatement;
  readonly stable: CheckpointProof;
  readonly prepared: readonly PreparedCertificate[];
}

/** A committed batch with a quorum of matching commit statements: what a replica that fell behind executes from. */
export interface CommittedBatch {
  readonly batch: Block;
  readonly commits: readonly SignedStatement[];
}

export type PbftMessage =
  | { readonly type: 'pre-prepare'; readonly prePrepare: PrePrepare }
  | { readonly type: 'prepare'; readonly statement: SignedStatement; readonly prePrepare: SignedStatement }
  | { readonly type: 'commit'; readonly statement: SignedStatement }
  | { readonly type: 'checkpoint'; readonly statement: SignedStatement }
  | { readonly type: 'view-change'; readonly viewChange: ViewChange }
  | { readonly type: 'new-view'; readonly view: number; readonly viewChanges: readonly ViewChange[]; readonly prePrepares: readonly PrePrepare[] }
  /**
   * Executed batches from `fromSequence` on. `toSequence`, when set, is a height whose ledger block hash the
   * asker holds proven (an anchor, see 'final'): an answer from the finalized chain links to it.
   */
  | { readonly type: 'fetch'; readonly fromSequence: number; readonly toSequence?: number }
  | { readonly type: 'committed'; readonly batches: readonly CommittedBatch[] }
  | FinalAnswer;

/**
 * An answer from the answerer's finalized chain (ledger blocks; the commits behind them are gone
 * after a restart): `blocks` (whole, lowest first) then `headers`, consecutive heights, each
 * block's parent the hash of the one before. The last of them is the block of `proof` (a stable
 * checkpoint: a quorum signed its hash) or, without `proof`, the block at the asker's `toSequence`. With
 * no blocks the headers only move the asker's proven point down (to the parent of the first).
 */
export interface FinalAnswer {
  readonly type: 'final';
  readonly proof: CheckpointProof | undefined;
  readonly blocks: readonly Block[];
  readonly headers: readonly BlockHeader[];
}

const SIG = codec.bytes(64);
const HASH = codec.fixedBytes(32);
const MAX_LIST = 4096;
/** Most headers in one 'final' answer (about 75 bytes each). */
export const MAX_HEADERS = 4096;
const StatementWire = codec.record({ view: codec.uint(), sequence: codec.uint(), blockHash: HASH, signer: codec.uint(65535), signature: SIG });
const PrePrepareWire = codec.record({ view: codec.uint(), primary: codec.uint(65535), batch: BlockCodec, signature: SIG });
const CertificateWire = codec.record({ prePrepare: PrePrepareWire, prepares: codec.array(StatementWire, MAX_LIST) });
const CommittedBatchWire = codec.record({ batch: BlockCodec, commits: codec.array(StatementWire, MAX_LIST) });
const CheckpointProofWire = codec.record({ sequence: codec.uint(), digest: HASH, statements: codec.array(StatementWire, MAX_LIST) });
const ViewChangeWire = codec.record({
  statement: StatementWire,
  stable: CheckpointProofWire,
  prepared: codec.array(CertificateWire, MAX_LIST),
});
const WireCodec = codec.taggedUnion('type', {
  'pre-prepare': { prePrepare: PrePrepareWire },
  prepare: { statement: StatementWire, prePrepare: StatementWire },
  commit: { statement: StatementWire },
  checkpoint: { statement: StatementWire },
  'view-change': { viewChange: ViewChangeWire },
  'new-view': { view: codec.uint(), viewChanges: codec.array(ViewChangeWire, MAX_LIST), prePrepares: codec.array(PrePrepareWire, MAX_LIST) },
  fetch: { fromSequence: codec.uint(), toSequence: codec.uint() },
  committed: { batches: codec.array(CommittedBatchWire, MAX_LIST) },
  final: { proof: codec.optional(CheckpointProofWire), blocks: codec.array(BlockCodec, MAX_LIST), headers: codec.array(BlockHeaderCodec, MAX_HEADERS) },
});

type StatementW = { view: number; sequence: number; blockHash: Uint8Array; signer: number; signature: Uint8Array };
const toWire = (s: SignedStatement): StatementW => ({ view: s.view, sequence: s.sequence, blockHash: s.blockHash, signer: s.signer, signature: s.signature });
const fromWire = (domain: string, w: StatementW): SignedStatement => ({ domain, ...w });
const blockWire = (b: Block) => ({ ...b, payload: b.payload as Uint8Array[] });
const ppToWire = (p: PrePrepare) => ({ view: p.view, primary: p.primary, batch: blockWire(p.batch), signature: p.signature });
const ppFromWire = (w: { view: number; primary: number; batch: Parameters<typeof sealBlock>[0]; signature: Uint8Array }): PrePrepare => ({ view: w.view, primary: w.primary, batch: sealBlock(w.batch), signature: w.signature });
const certToWire = (c: PreparedCertificate) => ({ prePrepare: ppToWire(c.prePrepare), prepares: c.prepares.map(toWire) });
const certFromWire = (c: codec.Infer<typeof CertificateWire>): PreparedCertificate => ({ prePrepare: ppFromWire(c.prePrepare), prepares: c.prepares.map((s) => fromWire(PbftDomains.prepare, s)) });
const committedToWire = (c: CommittedBatch) => ({ batch: blockWire(c.batch), commits: c.commits.map(toWire) });
const committedFromWire = (c: codec.Infer<typeof CommittedBatchWire>): CommittedBatch => ({ batch: sealBlock(c.batch), commits: c.commits.map((s) => fromWire(PbftDomains.commit, s)) });
const proofToWire = (p: CheckpointProof) => ({ sequence: p.sequence, digest: p.digest, statements: p.statements.map(toWire) });
const proofFromWire = (w: codec.Infer<typeof CheckpointProofWire>): CheckpointProof => ({ sequence: w.sequence, digest: w.digest, statements: w.statements.map((s) => fromWire(PbftDomains.checkpoint, s)) });
const headerWire = (h: BlockHeader): BlockHeader => ({ parent: h.parent, height: h.height, view: h.view, proposer: h.proposer, payloadRoot: h.payloadRoot });
const vcToWire = (v: ViewChange) => ({
  statement: toWire(v.statement),
  stable: { sequence: v.stable.sequence, digest: v.stable.digest, statements: v.stable.statements.map(toWire) },
  prepared: v.prepared.map(certToWire),
});
const vcFromWire = (w: codec.Infer<typeof ViewChangeWire>): ViewChange => ({
  statement: fromWire(PbftDomains.viewChange, w.statement),
  stable: { sequence: w.stable.sequence, digest: w.stable.digest, statements: w.stable.statements.map((s) => fromWire(PbftDomains.checkpoint, s)) },
  prepared: w.prepared.map(certFromWire),
});

export function encodePbftMessage(m: PbftMessage): Uint8Array {
  switch (m.type) {
    case 'pre-prepare':
      return encode(WireCodec, { type: m.type, prePrepare: ppToWire(m.prePrepare) });
    case 'prepare':
      return encode(WireCodec, { type: m.type, statement: toWire(m.statement), prePrepare: toWire(m.prePrepare) });
    case 'commit':
    case 'checkpoint':
      return encode(WireCodec, { type: m.type, statement: toWire(m.statement) });
    case 'view-change':
      return encode(WireCodec, { type: m.type, viewChange: vcToWire(m.viewChange) });
    case 'new-view':
      return encode(WireCodec, { type: m.type, view: m.view, viewChanges: m.viewChanges.map(vcToWire), prePrepares: m.prePrepares.map(ppToWire) });
    case 'fetch':
      return encode(WireCodec, { type: m.type, fromSequence: m.fromSequence, toSequence: m.toSequence ?? 0 });
    case 'committed':
      return encode(WireCodec, { type: m.type, batches: m.batches.map(committedToWire) });
    case 'final':
      return encode(WireCodec, { type: m.type, proof: m.proof === undefined ? undefined : proofToWire(m.proof), blocks: m.blocks.map(blockWire), headers: m.headers.map(headerWire) });
  }
}

/** Throws DecodeError on malformed bytes. Batch digests are recomputed, never taken from the wire. */
export function decodePbftMessage(bytes: Uint8Array): PbftMessage {
  const w = decode(WireCodec, bytes);
  switch (w.type) {
    case 'pre-prepare':
      return { type: w.type, prePrepare: ppFromWire(w.prePrepare) };
    case 'prepare':
      return { type: w.type, statement: fromWire(PbftDomains.prepare, w.statement), prePrepare: fromWire(PbftDomains.prePrepare, w.prePrepare) };
    case 'commit':
      return { type: w.type, statement: fromWire(PbftDomains.commit, w.statement) };
    case 'checkpoint':
      return { type: w.type, statement: fromWire(PbftDomains.checkpoint, w.statement) };
    case 'view-change':
      return { type: w.type, viewChange: vcFromWire(w.viewChange) };
    case 'new-view':
      return { type: w.type, view: w.view, viewChanges: w.viewChanges.map(vcFromWire), prePrepares: w.prePrepares.map(ppFromWire) };
    case 'fetch':
      return w.toSequence === 0 ? { type: w.type, fromSequence: w.fromSequence } : { type: w.type, fromSequence: w.fromSequence, toSequence: w.toSequence };
    case 'committed':
      return { type: w.type, batches: w.batches.map(committedFromWire) };
    case 'final':
      return { type: w.type, proof: w.proof === undefined ? undefined : proofFromWire(w.proof), blocks: w.blocks.map(sealBlock), headers: w.headers };
  }
}


/** The domains of what a replica signs, in the order the safety state encodes them. */
export const SIGNED_DOMAINS = [PbftDomains.prePrepare, PbftDomains.prepare, PbftDomains.commit, PbftDomains.checkpoint, PbftDomains.viewChange] as const;
export type SignedDomain = (typeof SIGNED_DOMAINS)[number];

/** One statement a replica signed: (domain, view, sequence) -> digest; it never signs another digest for that triple. */
export interface SignedRecord {
  readonly domain: SignedDomain;
  /** The statement's view: the view (0 for checkpoints). */
  readonly view: number;
  /** The statement's sequence: the sequence number (the stable checkpoint's for a view change). */
  readonly sequence: number;
  readonly digest: Uint8Array;
}

/**
 * What a replica persists before it sends anything that depends on it. Certificates and executed
 * batches are nested encodings, each made once per object and cached: a replica persists several
 * times per batch, and re-encoding its whole window each time would dominate its CPU.
 */
const ExecutedWire = codec.record({ sequence: codec.uint(), batch: codec.optional(BlockCodec), commits: codec.array(StatementWire, MAX_LIST) });
const SafetyStateCodec = codec.record({
  view: codec.uint(),
  inViewChange: codec.bool,
  stable: codec.bytes(),
  lastExecuted: codec.uint(),
  ledgerTip: HASH,
  nextSequence: codec.uint(),
  prepared: codec.array(codec.bytes(), MAX_LIST),
  // A batch that is also in a prepared certificate is stored once, there (`batch` left out here).
  executed: codec.array(codec.bytes(), MAX_LIST),
  signed: codec.array(codec.record({ domain: codec.enumeration(SIGNED_DOMAINS), view: codec.uint(), sequence: codec.uint(), digest: HASH }), 1 << 16),
});
const encodedProofs = new WeakMap<CheckpointProof, Uint8Array>();
const encodedCertificates = new WeakMap<PreparedCertificate, Uint8Array>();
type ExecutedEncodings = { shared?: Uint8Array; whole?: Uint8Array };
const encodedExecuted = new WeakMap<CommittedBatch, ExecutedEncodings>();

function cached<K extends object, V>(cache: WeakMap<K, V>, key: K, make: () => V): V {
  let v = cache.get(key);
  if (v === undefined) cache.set(key, (v = make()));
  return v;
}

function executedBytes(c: CommittedBatch, shared: boolean): Uint8Array {
  const entry = cached(encodedExecuted, c, (): ExecutedEncodings => ({}));
  const make = () => encode(ExecutedWire, { sequence: c.batch.height, batch: shared ? undefined : blockWire(c.batch), commits: c.commits.map(toWire) });
  return shared ? (entry.shared ??= make()) : (entry.whole ??= make());
}

/**
 * Everything a replica needs to restart without its input log (README, "What is persisted"). All
 * of it lies within the watermark window of the current view: its size does not grow with history.
 */
export interface SafetyState {
  readonly view: number;
  /** True between sending VIEW-CHANGE for `view` and entering it with a NEW-VIEW. */
  readonly inViewChange: boolean;
  readonly stable: CheckpointProof;
  /** The executed prefix: its last sequence number and the hash of its last ledger block. */
  readonly lastExecuted: number;
  readonly ledgerTip: Uint8Array;
  /** The next sequence number this replica assigns as primary of `view`. */
  readonly nextSequence: number;
  /** Prepared certificates above the stable checkpoint, the highest view for each sequence number. */
  readonly prepared: readonly PreparedCertificate[];
  /**
   * The last L executed batches with their commits: what peers that fell behind fetch with commits
   * (above the stable checkpoint nothing else proves them; below it, peers get them from the
   * runtime's finalized chain, linked by hashes to the checkpoint).
   */
  readonly executed: readonly CommittedBatch[];
  /** What it signed above the stable checkpoint: pre-prepares, prepares and commits of `view`, checkpoints, its view change for `view`. */
  readonly signed: readonly SignedRecord[];
}

export function encodeSafetyState(s: SafetyState): Uint8Array {
  const preparedBatch = new Map(s.prepared.map((c) => [c.prePrepare.batch.height, c.prePrepare.batch.hash]));
  const stable = cached(encodedProofs, s.stable, () => encode(CheckpointProofWire, { sequence: s.stable.sequence, digest: s.stable.digest, statements: s.stable.statements.map(toWire) }));
  const prepared = s.prepared.map((c) => cached(encodedCertificates, c, () => encode(CertificateWire, certToWire(c))));
  const executed = s.executed.map((c) => {
    const hash = preparedBatch.get(c.batch.height);
    return executedBytes(c, hash !== undefined && bytesEqual(hash, c.batch.hash));
  });
  return encode(SafetyStateCodec, {
    view: s.view,
    inViewChange: s.inViewChange,
    stable,
    lastExecuted: s.lastExecuted,
    ledgerTip: s.ledgerTip,
    nextSequence: s.nextSequence,
    prepared,
    executed,
    signed: s.signed.map((x) => ({ domain: x.domain, view: x.view, sequence: x.sequence, digest: x.digest })),
  });
}

/** Throws DecodeError on malformed bytes. */
export function decodeSafetyState(bytes: Uint8Array): SafetyState {
  const w = decode(SafetyStateCodec, bytes);
  const prepared = w.prepared.map((b) => certFromWire(decode(CertificateWire, b)));
  const stable = decode(CheckpointProofWire, w.stable);
  const preparedBatch = new Map(prepared.map((c) => [c.prePrepare.batch.height, c.prePrepare.batch]));
  const executed: CommittedBatch[] = [];
  for (const bytes of w.executed) {
    const c = decode(ExecutedWire, bytes);
    const batch = c.batch !== undefined ? sealBlock(c.batch) : preparedBatch.get(c.sequence);
    if (batch === undefined || batch.height !== c.sequence) throw new DecodeError('MALFORMED', 0, 'executed', `executed batch ${c.sequence} is neither stored nor in a prepared certificate`);
    executed.push({ batch, commits: c.commits.map((s) => fromWire(PbftDomains.commit, s)) });
  }
  return {
    view: w.view,
    inViewChange: w.inViewChange,
    stable: { sequence: stable.sequence, digest: stable.digest, statements: stable.statements.map((s) => fromWire(PbftDomains.checkpoint, s)) },
    lastExecuted: w.lastExecuted,
    ledgerTip: w.ledgerTip,
    nextSequence: w.nextSequence,
    prepared,
    executed,
    signed: w.signed,
  };
}
