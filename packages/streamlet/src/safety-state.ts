// Streamlet's safety state: what a replica persists (the `persist` output) and restarts from. The
// README's "Restart" section says why it is enough; the encoding is a contract across versions.
import { BlockCodec, sealBlock, type Block, type SignedStatement } from '@bftx/consensus';
import { codec, decode, Domains, encode, tryDecode } from '@bftx/crypto';

/**
 * Block bodies kept in the safety state:
 * - every block of the notarized chain from the finalized tip (exclusive) up to the lock, whatever
 *   their number and size: what a restarted replica stands on, and when a whole cluster restarts,
 *   nobody else holds it. After GST this chain is a block or two; before GST it grows by at most
 *   one block per view that notarizes a block without finalizing one (see the README);
 * - only when the runtime gives no finalized chain to serve from (`ProtocolConfig.finalized`), the
 *   latest finalized blocks within a budget (what a replica that was down may still need to fetch).
 */
export const KEPT_FINAL_BLOCKS = 8;
export const KEPT_FINAL_BYTES = 128 * 1024;
/** Most blocks of the chain up to the lock in a safety state (more than any run holds; an encoding limit, not a budget). */
const MAX_LOCK_CHAIN = 1 << 20;
/** Largest block body in a safety state: the largest valid block (10,000 transactions of 64 KiB) fits. */
const MAX_BODY_BYTES = 1 << 30;

const HASH = codec.fixedBytes(32);
const SignatureOnly = codec.record({ signer: codec.uint(65535), signature: codec.bytes(64) });
/**
 * What a restart needs, and no more (its size bounded by n and the chain from the finalized tip up
 * to the lock, never by history):
 * - lastVotedView, lastProposedView: never a second vote or proposal in a view;
 * - finalized: the tip the tree is rooted at after a restart (blocks below it are final);
 * - lock: the longest notarized chain seen at the last vote, as its tip's height and notarization.
 *   Chan-Shi's consistency proof needs only that each replica's voted-on chains never get shorter
 *   (a vote in a later view is for a chain at least as long); the notarization lets others and
 *   the replica itself re-learn that chain when it was the only one to see the votes.
 */
const SafetyStateCodec = codec.record({
  lastVotedView: codec.uint(),
  lastProposedView: codec.uint(),
  finalized: codec.record({ hash: HASH, height: codec.uint(), view: codec.uint() }),
  lock: codec.record({ height: codec.uint(), view: codec.uint(), blockHash: HASH, votes: codec.array(SignatureOnly, 1024) }),
  blocks: codec.array(codec.bytes(MAX_BODY_BYTES), MAX_LOCK_CHAIN + KEPT_FINAL_BLOCKS),
});
/** The state of versions before restarts were supported: the last voted view only. */
const LegacySafetyStateCodec = codec.record({ lastVotedView: codec.uint() });

/** The longest notarized chain a replica stood on when it last voted: its tip's height and notarization. */
export interface Lock {
  readonly height: number;
  readonly view: number;
  readonly blockHash: Uint8Array;
  readonly votes: readonly SignedStatement[];
}

/** The safety state, as the replica holds it. */
export interface SafetyState {
  readonly lastVotedView: number;
  readonly lastProposedView: number;
  readonly finalized: { readonly hash: Uint8Array; readonly height: number; readonly view: number };
  readonly lock: Lock;
  /** Encoded block bodies (`encodedBlock`). */
  readonly blocks: Uint8Array[];
}

export function encodeSafetyState(s: SafetyState): Uint8Array {
  const f = s.finalized;
  const l = s.lock;
  return encode(SafetyStateCodec, {
    lastVotedView: s.lastVotedView,
    lastProposedView: s.lastProposedView,
    finalized: { hash: f.hash, height: f.height, view: f.view },
    lock: { height: l.height, view: l.view, blockHash: l.blockHash, votes: l.votes.map((v) => ({ signer: v.signer, signature: v.signature })) },
    blocks: s.blocks,
  });
}

/** Each block is encoded once for the safety state, however many persists carry it. */
const encodings = new WeakMap<Block, Uint8Array>();
export function encodedBlock(b: Block): Uint8Array {
  let bytes = encodings.get(b);
  if (bytes === undefined) encodings.set(b, (bytes = encode(BlockCodec, { ...b, payload: b.payload as Uint8Array[] })));
  return bytes;
}

export function decodeSafetyState(bytes: Uint8Array): {
  lastVotedView: number;
  lastProposedView: number;
  finalized: { hash: Uint8Array; height: number; view: number } | undefined;
  lock: Lock | undefined;
  blocks: Block[];
} {
  const current = tryDecode(SafetyStateCodec, bytes);
  if (!current.ok) {
    const legacy = decode(LegacySafetyStateCodec, bytes);
    return { lastVotedView: legacy.lastVotedView, lastProposedView: legacy.lastVotedView, finalized: undefined, lock: undefined, blocks: [] };
  }
  const s = current.value;
  const l = s.lock;
  const votes = l.votes.map((v) => ({ domain: Domains.vote, sequence: 0, view: l.view, blockHash: l.blockHash, signer: v.signer, signature: v.signature }));
  const blocks = s.blocks.map((bytes) => sealBlock(decode(BlockCodec, bytes)));
  return { lastVotedView: s.lastVotedView, lastProposedView: s.lastProposedView, finalized: s.finalized, lock: { height: l.height, view: l.view, blockHash: l.blockHash, votes }, blocks };
}
