import { BlockCodec, sealBlock, type Block, type SignedStatement } from '@bftx/consensus';
import { codec, decode, Domains, encode } from '@bftx/crypto';

/** A leader's signed block for its epoch, or a replica's signed vote for a block. */
export type StreamletMessage = { readonly type: 'proposal'; readonly block: Block; readonly signature: Uint8Array } | { readonly type: 'vote'; readonly vote: SignedStatement };

const WireCodec = codec.taggedUnion('type', {
  proposal: { block: BlockCodec, signature: codec.bytes(64) },
  vote: { epoch: codec.uint(), blockHash: codec.fixedBytes(32), signer: codec.uint(65535), signature: codec.bytes(64) },
});

export function encodeStreamletMessage(m: StreamletMessage): Uint8Array {
  if (m.type === 'proposal') return encode(WireCodec, { type: 'proposal', block: { ...m.block, payload: m.block.payload as Uint8Array[] }, signature: m.signature });
  return encode(WireCodec, { type: 'vote', epoch: m.vote.epoch, blockHash: m.vote.blockHash, signer: m.vote.signer, signature: m.vote.signature });
}

/** Throws DecodeError on malformed bytes. The block hash is recomputed, never taken from the wire. */
export function decodeStreamletMessage(bytes: Uint8Array): StreamletMessage {
  const w = decode(WireCodec, bytes);
  if (w.type === 'proposal') return { type: 'proposal', block: sealBlock(w.block), signature: w.signature };
  return { type: 'vote', vote: { domain: Domains.vote, slot: 0, phase: 0, epoch: w.epoch, blockHash: w.blockHash, signer: w.signer, signature: w.signature } };
}
