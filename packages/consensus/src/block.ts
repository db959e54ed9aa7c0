import { codec, encode, hash, merkleRoot, toHex, bytesEqual, Domains } from '@bftx/crypto';

export const HASH_BYTES = 32;
/** Bounds on a block's payload, so a hostile block cannot make a replica allocate without limit. */
export const MAX_BLOCK_TXS = 10_000;
export const MAX_TX_BYTES = 64 * 1024;

/** What a block's hash covers. The payload is covered through its Merkle root. */
export const BlockHeaderCodec = codec.record({
  parent: codec.fixedBytes(HASH_BYTES),
  height: codec.uint(),
  view: codec.uint(),
  proposer: codec.uint(),
  payloadRoot: codec.fixedBytes(HASH_BYTES),
});
export type BlockHeader = codec.Infer<typeof BlockHeaderCodec>;

export const BlockCodec = codec.record({
  parent: codec.fixedBytes(HASH_BYTES),
  height: codec.uint(),
  view: codec.uint(),
  proposer: codec.uint(),
  payloadRoot: codec.fixedBytes(HASH_BYTES),
  payload: codec.array(codec.bytes(MAX_TX_BYTES), MAX_BLOCK_TXS),
});

/** A block with its hash computed once. `id` is the hash in hex, for maps and logs; `parentId` the parent's. */
export interface Block extends BlockHeader {
  readonly payload: readonly Uint8Array[];
  readonly hash: Uint8Array;
  readonly id: string;
  readonly parentId: string;
}

export function blockHash(header: BlockHeader): Uint8Array {
  return hash(Domains.block, encode(BlockHeaderCodec, header));
}

/** A block over `payload`, its root and hash computed. */
export function makeBlock(fields: { parent: Uint8Array; height: number; view: number; proposer: number; payload: readonly Uint8Array[] }): Block {
  const header: BlockHeader = { parent: fields.parent, height: fields.height, view: fields.view, proposer: fields.proposer, payloadRoot: merkleRoot(fields.payload) };
  const h = blockHash(header);
  const block: Block = { parent: header.parent, height: header.height, view: header.view, proposer: header.proposer, payloadRoot: header.payloadRoot, payload: fields.payload, hash: h, id: toHex(h), parentId: toHex(header.parent) };
  rootMatches.add(block);
  return block;
}

/** A decoded block with its hash recomputed (never trust a hash that came over the wire). */
export function sealBlock(fields: BlockHeader & { payload: readonly Uint8Array[] }): Block {
  const h = blockHash(fields);
  return { parent: fields.parent, height: fields.height, view: fields.view, proposer: fields.proposer, payloadRoot: fields.payloadRoot, payload: fields.payload, hash: h, id: toHex(h), parentId: toHex(fields.parent) };
}

/**
 * Blocks whose payload is known to match their root: made here from their payload, or checked
 * once. A block is a value (a different payload is a different block object), so a leader does not
 * hash its own proposal's payload again when it handles it, nor a replica a block it checked.
 */
const rootMatches = new WeakSet<Block>();

/** True iff the payload matches the root the header commits to. */
export function payloadMatches(block: Block): boolean {
  if (rootMatches.has(block)) return true;
  if (!bytesEqual(merkleRoot(block.payload), block.payloadRoot)) return false;
  rootMatches.add(block);
  return true;
}

/** The genesis block every chain starts from: height 0, view 0, no payload. */
export const GENESIS: Block = makeBlock({ parent: new Uint8Array(HASH_BYTES), height: 0, view: 0, proposer: 0, payload: [] });
