import type { Block } from '../block';
import type { FinalizedChain } from '../protocol';
import type { Outbox } from './outbox';
import type { PayloadPolicy } from './payload';

/**
 * Finalize-and-commit, the same in every protocol: each block of `chain` (consecutive, lowest
 * first, none final before) is traced, its transactions are final for the payload policy (never
 * proposed again), and one `commit` output hands the chain to the runtime's ledger. `proposals`
 * names the id each block was proposed under where it differs (PBFT's batches). `certificate`
 * encodes the commit certificate of the chain's last block from statements it has captured: called
 * at most once, when the runtime reads it (see `Outbox.commit`); left out when the protocol does
 * not hold the statements.
 */
export function commitChain<M>(out: Outbox<M>, chain: readonly Block[], payload: PayloadPolicy, proposals?: readonly (string | undefined)[], certificate?: () => Uint8Array): void {
  chain.forEach((b, i) => {
    const proposal = proposals?.[i];
    out.trace(proposal === undefined ? { kind: 'finalize', block: b.id, height: b.height, view: b.view } : { kind: 'finalize', block: b.id, height: b.height, view: b.view, proposal });
    payload.finalized(b.payload);
  });
  out.commit(chain, certificate);
}

/**
 * The rules found `block` final at a height this replica finalized already. The same block: nothing
 * to do. Another one (only possible if more than f signers equivocated): it is handed to the
 * runtime anyway, whose ledger refuses it loudly (LEDGER_CONFLICT) instead of it passing unseen.
 * `mine` is the block this replica holds at that height (from `finalized` when the runtime keeps it).
 */
export function refinalized<M>(out: Outbox<M>, block: Block, finalized: FinalizedChain | undefined, ancestorAt: (height: number) => Block | undefined): void {
  const mine = finalized?.at(block.height) ?? ancestorAt(block.height);
  if (mine === undefined || mine.id === block.id) return;
  out.commit([block]);
}
