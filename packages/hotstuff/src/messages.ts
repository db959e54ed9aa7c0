import { BlockCodec, CertificateCodec, sealBlock, type Block, type QuorumCertificate, type SignedStatement } from '@bftx/consensus';
import type { CertifiedLink } from './store';
import { codec, decode, Domains, encode } from '@bftx/crypto';

/** One replica's signed "I time out of view v; my highest QC is for block h". */
export interface TimeoutVote {
  readonly statement: SignedStatement;
  /** The highest QC its signer knows; its block hash is the one the statement signs. */
  readonly highQC: QuorumCertificate;
  /**
   * The leader's proposal statement for that view, as its signer first saw it (if it saw one):
   * a replica that saw another version convicts the leader, even when the collectors of the
   * view's votes (which see every version the votes carry) are Byzantine.
   */
  readonly proposal?: SignedStatement;
}

/** Timeouts of a quorum of distinct validators for one view: entitles the next leader to propose. */
export interface TimeoutCertificate {
  readonly view: number;
  readonly timeouts: readonly SignedStatement[];
}

/**
 * proposal: a leader's block, the QC it extends (`justify`, for its parent), and a TC when the
 * previous view ended without a QC. vote: a signed vote, sent to the next leader, carrying the
 * proposal statement it votes for (so the next leader sees every version a proposer sent, and
 * can prove an equivocation). timeout: broadcast when a view's timer fires, and again (the same
 * signed statement) on each expiry of the re-armed timer until the view changes. fetch / block: a
 * replica missing a block asks everyone for it by hash, saying the height it has committed
 * (`above`); the answer carries the block and its ancestors down to that height (at most
 * ANSWER_BLOCKS, highest first), each with the QC of its parent, and is accepted only for a hash
 * that was asked for (a certified child names it) and the chain that hash links to. A fetch says
 * the block's height when the asker knows it (the parent of a block it holds); a block at or below
 * the answerer's finalized height is then served from its finalized chain (`final`: the blocks
 * alone, highest first, down to the asker's committed height), accepted by hash in the same way.
 * Answers are rate-limited per asking peer.
 */
export type HotStuffMessage =
  | { readonly type: 'proposal'; readonly block: Block; readonly justify: QuorumCertificate; readonly tc: TimeoutCertificate | undefined; readonly signature: Uint8Array }
  | { readonly type: 'vote'; readonly vote: SignedStatement; readonly proposal: SignedStatement }
  | { readonly type: 'timeout'; readonly timeout: TimeoutVote }
  | { readonly type: 'tc'; readonly tc: TimeoutCertificate }
  | { readonly type: 'fetch'; readonly blockHash: Uint8Array; readonly above: number; readonly height?: number }
  | { readonly type: 'block'; readonly blocks: readonly CertifiedLink[] }
  | { readonly type: 'final'; readonly blocks: readonly Block[] };

/** Most blocks one answer to a fetch carries. */
export const ANSWER_BLOCKS = 64;

const SIG = codec.bytes(64);
const TimeoutEntryCodec = codec.record({ signer: codec.uint(65535), blockHash: codec.fixedBytes(32), signature: SIG });
const TcCodec = codec.record({ view: codec.uint(), timeouts: codec.array(TimeoutEntryCodec, 8192) });
const StatementWire = codec.record({ view: codec.uint(), blockHash: codec.fixedBytes(32), signer: codec.uint(65535), signature: SIG });

const WireCodec = codec.taggedUnion('type', {
  proposal: { block: BlockCodec, justify: CertificateCodec, tc: codec.optional(TcCodec), signature: SIG },
  vote: { vote: StatementWire, proposal: StatementWire },
  timeout: { statement: StatementWire, highQC: CertificateCodec, proposal: codec.optional(StatementWire) },
  tc: { tc: TcCodec },
  fetch: { blockHash: codec.fixedBytes(32), above: codec.uint(), height: codec.optional(codec.uint()) },
  block: { blocks: codec.array(codec.record({ block: BlockCodec, justify: CertificateCodec }), ANSWER_BLOCKS) },
  final: { blocks: codec.array(BlockCodec, ANSWER_BLOCKS) },
});

const wireStatement = (s: SignedStatement) => ({ view: s.view, blockHash: s.blockHash, signer: s.signer, signature: s.signature });
const statement = (domain: string, w: { view: number; blockHash: Uint8Array; signer: number; signature: Uint8Array }): SignedStatement => ({ domain, sequence: 0, ...w });

export function encodeHotStuffMessage(m: HotStuffMessage): Uint8Array {
  switch (m.type) {
    case 'proposal':
      return encode(WireCodec, {
        type: 'proposal',
        block: { ...m.block, payload: m.block.payload as Uint8Array[] },
        justify: { ...m.justify, signatures: m.justify.signatures as Uint8Array[] },
        tc: m.tc === undefined ? undefined : { view: m.tc.view, timeouts: m.tc.timeouts.map((t) => ({ signer: t.signer, blockHash: t.blockHash, signature: t.signature })) },
        signature: m.signature,
      });
    case 'vote':
      return encode(WireCodec, { type: 'vote', vote: wireStatement(m.vote), proposal: wireStatement(m.proposal) });
    case 'timeout':
      return encode(WireCodec, {
        type: 'timeout',
        statement: wireStatement(m.timeout.statement),
        highQC: { ...m.timeout.highQC, signatures: m.timeout.highQC.signatures as Uint8Array[] },
        proposal: m.timeout.proposal === undefined ? undefined : wireStatement(m.timeout.proposal),
      });
    case 'tc':
      return encode(WireCodec, { type: 'tc', tc: { view: m.tc.view, timeouts: m.tc.timeouts.map((t) => ({ signer: t.signer, blockHash: t.blockHash, signature: t.signature })) } });
    case 'fetch':
      return encode(WireCodec, { type: 'fetch', blockHash: m.blockHash, above: m.above, height: m.height });
    case 'block':
      return encode(WireCodec, { type: 'block', blocks: m.blocks.map((l) => ({ block: { ...l.block, payload: l.block.payload as Uint8Array[] }, justify: { ...l.justify, signatures: l.justify.signatures as Uint8Array[] } })) });
    case 'final':
      return encode(WireCodec, { type: 'final', blocks: m.blocks.map((b) => ({ ...b, payload: b.payload as Uint8Array[] })) });
  }
}

/** Throws DecodeError on malformed bytes. Block hashes are recomputed, never taken from the wire. */
export function decodeHotStuffMessage(bytes: Uint8Array): HotStuffMessage {
  const w = decode(WireCodec, bytes);
  switch (w.type) {
    case 'proposal':
      return {
        type: 'proposal',
        block: sealBlock(w.block),
        justify: w.justify,
        tc: w.tc === undefined ? undefined : { view: w.tc.view, timeouts: w.tc.timeouts.map((t) => ({ domain: Domains.timeout, sequence: 0, view: w.tc!.view, ...t })) },
        signature: w.signature,
      };
    case 'vote':
      return { type: 'vote', vote: statement(Domains.vote, w.vote), proposal: statement(Domains.proposal, w.proposal) };
    case 'timeout':
      return { type: 'timeout', timeout: { statement: statement(Domains.timeout, w.statement), highQC: w.highQC, ...(w.proposal === undefined ? {} : { proposal: statement(Domains.proposal, w.proposal) }) } };
    case 'tc':
      return { type: 'tc', tc: { view: w.tc.view, timeouts: w.tc.timeouts.map((t) => ({ domain: Domains.timeout, sequence: 0, view: w.tc.view, ...t })) } };
    case 'fetch':
      return { type: 'fetch', blockHash: w.blockHash, above: w.above, ...(w.height === undefined ? {} : { height: w.height }) };
    case 'block':
      return { type: 'block', blocks: w.blocks.map((l) => ({ block: sealBlock(l.block), justify: l.justify })) };
    case 'final':
      return { type: 'final', blocks: w.blocks.map((b) => sealBlock(b)) };
  }
}
