import { BlockCodec, sealBlock, type Block, type SignedStatement } from '@bftx/consensus';
import { codec, decode, Domains, encode } from '@bftx/crypto';

/**
 * A leader's signed block for its epoch, or a replica's signed vote for a block. fetch / block: a
 * replica that holds a block whose parent it never received (it was down, or the message was lost)
 * asks everyone for the parent by hash; the answer carries the block and the votes its sender holds
 * for it (a notarization when they are a quorum), and is taken only for a hash that was asked for.
 */
export type StreamletMessage =
  | { readonly type: 'proposal'; readonly block: Block; readonly signature: Uint8Array }
  | { readonly type: 'vote'; readonly vote: SignedStatement }
  | { readonly type: 'fetch'; readonly blockHash: Uint8Array }
  | { readonly type: 'block'; readonly block: Block; readonly votes: readonly SignedStatement[] };

/** Most votes an answer may carry (one per validator; more than any validator set here). */
const MAX_VOTES = 1024;

const WireCodec = codec.taggedUnion('type', {
  proposal: { block: BlockCodec, signature: codec.bytes(64) },
  vote: { epoch: codec.uint(), blockHash: codec.fixedBytes(32), signer: codec.uint(65535), signature: codec.bytes(64) },
  fetch: { blockHash: codec.fixedBytes(32) },
  block: { block: BlockCodec, votes: codec.array(codec.record({ signer: codec.uint(65535), signature: codec.bytes(64) }), MAX_VOTES) },
});

export function encodeStreamletMessage(m: StreamletMessage): Uint8Array {
  switch (m.type) {
    case 'proposal':
      return encode(WireCodec, { type: 'proposal', block: { ...m.block, payload: m.block.payload as Uint8Array[] }, signature: m.signature });
    case 'vote':
      return encode(WireCodec, { type: 'vote', epoch: m.vote.epoch, blockHash: m.vote.blockHash, signer: m.vote.signer, signature: m.vote.signature });
    case 'fetch':
      return encode(WireCodec, { type: 'fetch', blockHash: m.blockHash });
    case 'block':
      return encode(WireCodec, { type: 'block', block: { ...m.block, payload: m.block.payload as Uint8Array[] }, votes: m.votes.map((v) => ({ signer: v.signer, signature: v.signature })) });
  }
}

/** Throws DecodeError on malformed bytes. The block hash is recomputed, never taken from the wire. */
export function decodeStreamletMessage(bytes: Uint8Array): StreamletMessage {
  const w = decode(WireCodec, bytes);
  switch (w.type) {
    case 'proposal':
      return { type: 'proposal', block: sealBlock(w.block), signature: w.signature };
    case 'vote':
      return { type: 'vote', vote: { domain: Domains.vote, slot: 0, phase: 0, epoch: w.epoch, blockHash: w.blockHash, signer: w.signer, signature: w.signature } };
    case 'fetch':
      return { type: 'fetch', blockHash: w.blockHash };
    case 'block': {
      // The votes name the block they are for: it is the answer's own block, by construction.
      const block = sealBlock(w.block);
      return { type: 'block', block, votes: w.votes.map((v) => ({ domain: Domains.vote, slot: 0, phase: 0, epoch: block.epoch, blockHash: block.hash, signer: v.signer, signature: v.signature })) };
    }
  }
}
