import { hash, utf8 } from '@bftx/crypto';
import { makeBlock, type Block } from './block';

/**
 * Blocks a Byzantine replica builds, shared by every protocol's ByzantineHooks (the simulator's
 * adversaries use them; honest code never does).
 */
export const adversaryBlocks = {
  /** Another block for the same slot (parent, height, epoch, proposer), differing in payload. */
  conflicting(b: Block, self: number): Block {
    return makeBlock({ parent: b.parent, height: b.height, epoch: b.epoch, proposer: b.proposer, payload: [...b.payload, utf8(`equivocation-${self}-${b.epoch}`)] });
  },
  /** The same block on a parent nobody has. */
  forgedParent(b: Block): Block {
    return makeBlock({ parent: hash('bftx.fake-block', utf8(`parent-${b.epoch}`)), height: b.height, epoch: b.epoch, proposer: b.proposer, payload: b.payload });
  },
  /** The same block rebuilt on `parent`. */
  reparented(b: Block, parent: { readonly hash: Uint8Array; readonly height: number }): Block {
    return makeBlock({ parent: parent.hash, height: parent.height + 1, epoch: b.epoch, proposer: b.proposer, payload: b.payload });
  },
  /** A hash no real block has: what a double vote for "something else" signs. */
  fakeHash(self: number, epoch: number): Uint8Array {
    return hash('bftx.fake-block', utf8(`${self}-${epoch}`));
  },
};
