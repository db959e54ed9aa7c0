import { hash, utf8 } from '@bftx/crypto';
import { makeBlock, type Block } from './block';

/**
 * Blocks a Byzantine replica builds, shared by every protocol's ByzantineHooks (the simulator's
 * adversaries use them; honest code never does).
 */
export const adversaryBlocks = {
  /** Another block for the same sequence (parent, height, view, proposer), differing in payload. */
  conflicting(b: Block, self: number): Block {
    return makeBlock({ parent: b.parent, height: b.height, view: b.view, proposer: b.proposer, payload: [...b.payload, utf8(`equivocation-${self}-${b.view}`)] });
  },
  /** The same block on a parent nobody has. */
  forgedParent(b: Block): Block {
    return makeBlock({ parent: hash('bftx.fake-block', utf8(`parent-${b.view}`)), height: b.height, view: b.view, proposer: b.proposer, payload: b.payload });
  },
  /** The same block rebuilt on `parent`. */
  reparented(b: Block, parent: { readonly hash: Uint8Array; readonly height: number }): Block {
    return makeBlock({ parent: parent.hash, height: parent.height + 1, view: b.view, proposer: b.proposer, payload: b.payload });
  },
  /** A hash no real block has: what a double vote for "something else" signs. */
  fakeHash(self: number, view: number): Uint8Array {
    return hash('bftx.fake-block', utf8(`${self}-${view}`));
  },
};
