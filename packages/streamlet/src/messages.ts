import { BlockCodec, sealBlock, type Block, type SignedStatement } from '@bftx/consensus';
import { codec, decode, Domains, encode } from '@bftx/crypto';

/**
 * A leader's signed block for its view, or a replica's signed vote for a block.
 * notarization: a quorum of votes for one block (no block body), gossiped by a replica whose last
 * view notarized nothing, so that replicas that lost votes learn the longest notarized chain.
 * fetch / block: a replica that misses a block, or its votes, asks everyone for it by hash; the
 * answer carries the block and the votes its sender holds for it (a notarization when they are a
 * quorum), and is taken only for a hash that was asked for. `after`: the asker's longest notarized
 * height; the answer also carries the block's ancestors above it (nearest first, at most
 * MAX_ANCESTORS), so that a replica far behind catches up a run of blocks per round trip. `height`:
 * the block's height where the asker knows it (0 if not): a block already final at the peer is
 * found by it in the peer's finalized chain (the hash checked), after every peer dropped it from memory.
 */
export type StreamletMessage =
  | { readonly type: 'proposal'; readonly block: Block; readonly signature: Uint8Array }
  | { readonly type: 'vote'; readonly vote: SignedStatement }
  | { readonly type: 'notarization'; readonly view: number; readonly blockHash: Uint8Array; readonly votes: readonly SignedStatement[] }
  | { readonly type: 'fetch'; readonly blockHash: Uint8Array; readonly height: number; readonly after: number }
  | { readonly type: 'block'; readonly block: Block; readonly votes: readonly SignedStatement[]; readonly ancestors: readonly Block[] };

/** Most ancestors one answer carries. */
export const MAX_ANCESTORS = 16;

/** Most votes an answer may carry (one per validator; more than any validator set here). */
const MAX_VOTES = 1024;

const SignatureOnly = codec.record({ signer: codec.uint(65535), signature: codec.bytes(64) });

const WireCodec = codec.taggedUnion('type', {
  proposal: { block: BlockCodec, signature: codec.bytes(64) },
  vote: { view: codec.uint(), blockHash: codec.fixedBytes(32), signer: codec.uint(65535), signature: codec.bytes(64) },
  notarization: { view: codec.uint(), blockHash: codec.fixedBytes(32), votes: codec.array(SignatureOnly, MAX_VOTES) },
  fetch: { blockHash: codec.fixedBytes(32), height: codec.uint(), after: codec.uint() },
  block: { block: BlockCodec, votes: codec.array(SignatureOnly, MAX_VOTES), ancestors: codec.array(BlockCodec, MAX_ANCESTORS) },
});

const signatures = (votes: readonly SignedStatement[]) => votes.map((v) => ({ signer: v.signer, signature: v.signature }));

/** The votes a message names by signer and signature only: each is for (view, blockHash), as the message says. */
function votesFor(view: number, blockHash: Uint8Array, votes: readonly { signer: number; signature: Uint8Array }[]): SignedStatement[] {
  return votes.map((v) => ({ domain: Domains.vote, sequence: 0, view, blockHash, signer: v.signer, signature: v.signature }));
}

const wireBlock = (b: Block) => ({ ...b, payload: b.payload as Uint8Array[] });

export function encodeStreamletMessage(m: StreamletMessage): Uint8Array {
  switch (m.type) {
    case 'proposal':
      return encode(WireCodec, { type: 'proposal', block: wireBlock(m.block), signature: m.signature });
    case 'vote':
      return encode(WireCodec, { type: 'vote', view: m.vote.view, blockHash: m.vote.blockHash, signer: m.vote.signer, signature: m.vote.signature });
    case 'notarization':
      return encode(WireCodec, { type: 'notarization', view: m.view, blockHash: m.blockHash, votes: signatures(m.votes) });
    case 'fetch':
      return encode(WireCodec, { type: 'fetch', blockHash: m.blockHash, height: m.height, after: m.after });
    case 'block':
      return encode(WireCodec, { type: 'block', block: wireBlock(m.block), votes: signatures(m.votes), ancestors: m.ancestors.map(wireBlock) });
  }
}

/** Throws DecodeError on malformed bytes. The block hash is recomputed, never taken from the wire. */
export function decodeStreamletMessage(bytes: Uint8Array): StreamletMessage {
  const w = decode(WireCodec, bytes);
  switch (w.type) {
    case 'proposal':
      return { type: 'proposal', block: sealBlock(w.block), signature: w.signature };
    case 'vote':
      return { type: 'vote', vote: { domain: Domains.vote, sequence: 0, view: w.view, blockHash: w.blockHash, signer: w.signer, signature: w.signature } };
    case 'notarization':
      return { type: 'notarization', view: w.view, blockHash: w.blockHash, votes: votesFor(w.view, w.blockHash, w.votes) };
    case 'fetch':
      return { type: 'fetch', blockHash: w.blockHash, height: w.height, after: w.after };
    case 'block': {
      // The votes name the block they are for: it is the answer's own block, by construction.
      const block = sealBlock(w.block);
      return { type: 'block', block, votes: votesFor(block.view, block.hash, w.votes), ancestors: w.ancestors.map((a) => sealBlock(a)) };
    }
  }
}
