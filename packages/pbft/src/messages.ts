import { BlockCodec, sealBlock, type Block, type SignedStatement } from '@bftx/consensus';
import { codec, decode, encode } from '@bftx/crypto';

/** Domain tags of PBFT's signed statements (each its own, so no signature is valid as another kind). */
export const PbftDomains = {
  prePrepare: 'bftx.pbft.pre-prepare',
  prepare: 'bftx.pbft.prepare',
  commit: 'bftx.pbft.commit',
  checkpoint: 'bftx.pbft.checkpoint',
  viewChange: 'bftx.pbft.view-change',
} as const;

/**
 * The primary of `view` binds `batch` to sequence number `seq` (= batch.height). Its statement is
 * (epoch = view, slot = seq, blockHash = batch digest): two pre-prepares for one (view, seq) with
 * different batches are an equivocation anyone can prove.
 */
export interface PrePrepare {
  readonly view: number;
  readonly batch: Block;
  readonly signature: Uint8Array;
}

/** A pre-prepare with 2f matching prepares from other replicas: the batch was prepared at (view, seq). */
export interface PreparedCertificate {
  readonly prePrepare: PrePrepare;
  readonly prepares: readonly SignedStatement[];
}

/** 2f+1 matching checkpoint statements (slot = seq, blockHash = the ledger block at seq): a stable checkpoint. */
export interface CheckpointProof {
  readonly seq: number;
  readonly digest: Uint8Array;
  readonly statements: readonly SignedStatement[];
}

/**
 * "Move to `statement.epoch`": its signer's stable checkpoint and every batch it prepared above it.
 * The statement signs (epoch = new view, slot = stable seq, blockHash = digest of the prepared list).
 */
export interface ViewChange {
  readonly statement: SignedStatement;
  readonly stable: CheckpointProof;
  readonly prepared: readonly PreparedCertificate[];
}

/** A committed batch with 2f+1 commit statements: what a replica that fell behind executes from. */
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
  | { readonly type: 'fetch'; readonly fromSeq: number }
  | { readonly type: 'committed'; readonly batches: readonly CommittedBatch[] };

const SIG = codec.bytes(64);
const HASH = codec.fixedBytes(32);
const MAX_LIST = 4096;
const StatementWire = codec.record({ epoch: codec.uint(), slot: codec.uint(), blockHash: HASH, signer: codec.uint(65535), signature: SIG });
const PrePrepareWire = codec.record({ view: codec.uint(), batch: BlockCodec, signature: SIG });
const CheckpointProofWire = codec.record({ seq: codec.uint(), digest: HASH, statements: codec.array(StatementWire, MAX_LIST) });
const ViewChangeWire = codec.record({
  statement: StatementWire,
  stable: CheckpointProofWire,
  prepared: codec.array(codec.record({ prePrepare: PrePrepareWire, prepares: codec.array(StatementWire, MAX_LIST) }), MAX_LIST),
});
const WireCodec = codec.taggedUnion('type', {
  'pre-prepare': { prePrepare: PrePrepareWire },
  prepare: { statement: StatementWire, prePrepare: StatementWire },
  commit: { statement: StatementWire },
  checkpoint: { statement: StatementWire },
  'view-change': { viewChange: ViewChangeWire },
  'new-view': { view: codec.uint(), viewChanges: codec.array(ViewChangeWire, MAX_LIST), prePrepares: codec.array(PrePrepareWire, MAX_LIST) },
  fetch: { fromSeq: codec.uint() },
  committed: { batches: codec.array(codec.record({ batch: BlockCodec, commits: codec.array(StatementWire, MAX_LIST) }), MAX_LIST) },
});

type StatementW = { epoch: number; slot: number; blockHash: Uint8Array; signer: number; signature: Uint8Array };
const toWire = (s: SignedStatement): StatementW => ({ epoch: s.epoch, slot: s.slot, blockHash: s.blockHash, signer: s.signer, signature: s.signature });
const fromWire = (domain: string, w: StatementW): SignedStatement => ({ domain, phase: 0, ...w });
const blockWire = (b: Block) => ({ ...b, payload: b.payload as Uint8Array[] });
const ppToWire = (p: PrePrepare) => ({ view: p.view, batch: blockWire(p.batch), signature: p.signature });
const ppFromWire = (w: { view: number; batch: Parameters<typeof sealBlock>[0]; signature: Uint8Array }): PrePrepare => ({ view: w.view, batch: sealBlock(w.batch), signature: w.signature });
const vcToWire = (v: ViewChange) => ({
  statement: toWire(v.statement),
  stable: { seq: v.stable.seq, digest: v.stable.digest, statements: v.stable.statements.map(toWire) },
  prepared: v.prepared.map((c) => ({ prePrepare: ppToWire(c.prePrepare), prepares: c.prepares.map(toWire) })),
});
const vcFromWire = (w: codec.Infer<typeof ViewChangeWire>): ViewChange => ({
  statement: fromWire(PbftDomains.viewChange, w.statement),
  stable: { seq: w.stable.seq, digest: w.stable.digest, statements: w.stable.statements.map((s) => fromWire(PbftDomains.checkpoint, s)) },
  prepared: w.prepared.map((c) => ({ prePrepare: ppFromWire(c.prePrepare), prepares: c.prepares.map((s) => fromWire(PbftDomains.prepare, s)) })),
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
      return encode(WireCodec, { type: m.type, fromSeq: m.fromSeq });
    case 'committed':
      return encode(WireCodec, { type: m.type, batches: m.batches.map((c) => ({ batch: blockWire(c.batch), commits: c.commits.map(toWire) })) });
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
      return { type: w.type, fromSeq: w.fromSeq };
    case 'committed':
      return { type: w.type, batches: w.batches.map((c) => ({ batch: sealBlock(c.batch), commits: c.commits.map((s) => fromWire(PbftDomains.commit, s)) })) };
  }
}

/** What a replica persists before it sends anything that depends on it. */
const SafetyStateCodec = codec.record({
  view: codec.uint(),
  prepared: codec.array(codec.record({ prePrepare: PrePrepareWire, prepares: codec.array(StatementWire, MAX_LIST) }), MAX_LIST),
  signed: codec.array(codec.record({ domain: codec.uint(3), view: codec.uint(), seq: codec.uint(), digest: HASH }), 1 << 20),
});
const SIGNED_DOMAINS = [PbftDomains.prepare, PbftDomains.commit, PbftDomains.prePrepare] as const;

export interface SafetyState {
  readonly view: number;
  readonly prepared: readonly PreparedCertificate[];
  /** Every prepare, commit and pre-prepare this replica signed above its stable checkpoint. */
  readonly signed: ReadonlyArray<{ readonly domain: string; readonly view: number; readonly seq: number; readonly digest: Uint8Array }>;
}

export function encodeSafetyState(s: SafetyState): Uint8Array {
  return encode(SafetyStateCodec, {
    view: s.view,
    prepared: s.prepared.map((c) => ({ prePrepare: ppToWire(c.prePrepare), prepares: c.prepares.map(toWire) })),
    signed: s.signed.map((x) => ({ domain: SIGNED_DOMAINS.indexOf(x.domain as (typeof SIGNED_DOMAINS)[number]), view: x.view, seq: x.seq, digest: x.digest })),
  });
}

export function decodeSafetyState(bytes: Uint8Array): SafetyState {
  const w = decode(SafetyStateCodec, bytes);
  return {
    view: w.view,
    prepared: w.prepared.map((c) => ({ prePrepare: ppFromWire(c.prePrepare), prepares: c.prepares.map((s) => fromWire(PbftDomains.prepare, s)) })),
    signed: w.signed.map((x) => ({ domain: SIGNED_DOMAINS[x.domain] ?? PbftDomains.prepare, view: x.view, seq: x.seq, digest: x.digest })),
  };
}
