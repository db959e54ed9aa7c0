import type { ByzantineHooks, Protocol, ProtocolInput, ProtocolOutput } from '@bftx/consensus';
import { GENESIS } from '@bftx/consensus';
import type { Signer } from '@bftx/crypto';

/** How a Byzantine replica misbehaves. Each wraps an honest instance of the protocol; none forks its code. */
export type Strategy =
  | { readonly kind: 'crash'; readonly at: number }
  | { readonly kind: 'silent' }
  | { readonly kind: 'equivocate' }
  | { readonly kind: 'double-vote' }
  | { readonly kind: 'vote-twice' }
  | { readonly kind: 'withhold-votes' }
  | { readonly kind: 'invalid-signatures' }
  | { readonly kind: 'forged-parent' }
  | { readonly kind: 'fork' }
  | { readonly kind: 'delay'; readonly by: number }
  | { readonly kind: 'replay' }
  | { readonly kind: 'far-future' }
  | { readonly kind: 'bad-fetch-answers' };

/**
 * crash: stops at `at`. silent: sends nothing. equivocate: every message with a conflicting form goes
 * one way to half the replicas and the other way to the rest. double-vote: signs a vote for every
 * proposal it receives, and relays nothing of others'. withhold-votes: never sends votes. invalid-signatures: every message it sends
 * carries a garbage signature. forged-parent: proposes blocks on an unknown parent. fork: proposes on
 * its own fork, started from genesis, instead of the longest chain. delay: holds its messages `by` ms.
 * vote-twice: every vote it sends goes out with a conflicting vote for another block beside it (two
 * signed votes in one sequence: what any recipient can prove). Not among the random scenario kinds.
 * replay: honest, and re-sends to everyone messages it received earlier (a few per timer, oldest
 * first, cycling): old messages arrive again, across other replicas' restarts too. far-future: honest,
 * and floods validly signed copies of its messages for views or sequence numbers far ahead,
 * always further: a replica that keeps them runs out of memory. bad-fetch-answers: honest, but every
 * answer to a fetch goes out stripped of its proof or with another block (ByzantineHooks.corruptAnswer).
 */
export const STRATEGY_KINDS = ['crash', 'silent', 'equivocate', 'double-vote', 'withhold-votes', 'invalid-signatures', 'forged-parent', 'fork', 'delay', 'replay', 'far-future', 'bad-fetch-answers'] as const;

/** How many old messages a replaying replica keeps, and re-sends per timer it handles. */
const REPLAY_KEPT = 256;
const REPLAY_PER_TIMER = 4;
/** Far-future copies per message a flooding replica sends, and how far ahead the first is. */
const FLOOD_PER_MESSAGE = 4;
const FLOOD_AHEAD = 100;

/** An output of a wrapped replica, possibly with extra delay chosen by the adversary. */
export type AdversarialOutput<M> = ProtocolOutput<M> | { readonly type: 'send-delayed'; readonly to: number; readonly message: M; readonly delay: number };

export interface ReplicaLike<M> {
  readonly self: number;
  step(input: ProtocolInput<M>): AdversarialOutput<M>[];
}

/** State shared by colluding Byzantine replicas: the tip of their common fork. */
export interface Coalition {
  forkTip: { hash: Uint8Array; height: number } | undefined;
}

/** The honest instance, with `strategy` applied to what goes in and out. Replicas given the same `coalition` collude. */
export function byzantine<M>(honest: Protocol<M>, strategy: Strategy, hooks: ByzantineHooks<M> | undefined, signer: Signer, n: number, coalition: Coalition = { forkTip: undefined }): ReplicaLike<M> {
  const self = honest.self;
  const others = Array.from({ length: n }, (_, i) => i).filter((i) => i !== self);
  const need = (): ByzantineHooks<M> => {
    if (hooks === undefined) throw new Error(`strategy ${strategy.kind} needs the protocol's ByzantineHooks`);
    return hooks;
  };
  const replayed: M[] = [];
  let replayNext = 0;
  let floodAhead = FLOOD_AHEAD;
  return {
    self,
    step(input) {
      if (strategy.kind === 'crash' && input.now >= strategy.at) return [];
      const outputs = honest.step(input).slice(); // a copy: the wrapper adds to it, and a protocol may hand back a shared empty array
      if (strategy.kind === 'crash') return outputs;
      if (strategy.kind === 'replay') {
        if (input.type === 'message') {
          if (replayed.length < REPLAY_KEPT) replayed.push(input.message);
          else replayed[input.now % REPLAY_KEPT] = input.message;
        } else if (input.type === 'timer') {
          for (let k = 0; k < REPLAY_PER_TIMER && replayed.length > 0; k++) outputs.push({ type: 'broadcast', message: replayed[replayNext++ % replayed.length]! });
        }
        return outputs;
      }
      if (strategy.kind === 'far-future') {
        const hook = need().farFuture;
        const own = outputs.filter((o): o is Extract<ProtocolOutput<M>, { type: 'broadcast' | 'send' }> => o.type === 'broadcast' || o.type === 'send');
        for (const o of own) {
          for (let k = 0; k < FLOOD_PER_MESSAGE; k++) {
            const far = hook?.(o.message, signer, self, (floodAhead += 7));
            if (far !== undefined) outputs.push({ type: 'broadcast', message: far });
          }
        }
        return outputs;
      }
      if (strategy.kind === 'bad-fetch-answers') {
        const hook = need().corruptAnswer;
        return outputs.map((o) => {
          if ((o.type !== 'send' && o.type !== 'broadcast') || hook === undefined) return o;
          const bad = hook(o.message, signer, self);
          return bad === undefined ? o : { ...o, message: bad };
        });
      }
      if (strategy.kind === 'double-vote' && input.type === 'message') {
        const vote = need().voteFor(input.message, signer, self);
        if (vote !== undefined) for (const to of others) outputs.push({ type: 'send', to, message: vote });
      }
      if (strategy.kind === 'silent') return outputs.filter((o) => o.type !== 'send' && o.type !== 'broadcast');
      const out: AdversarialOutput<M>[] = [];
      for (const o of outputs) {
        if (o.type !== 'send' && o.type !== 'broadcast') {
          out.push(o);
          continue;
        }
        const targets = o.type === 'send' ? [o.to] : others;
        const m = o.message;
        switch (strategy.kind) {
          case 'equivocate': {
            // Half the replicas get the honest message, the other half a conflicting one.
            const alt = need().conflicting(m, signer, self);
            targets.forEach((to, i) => out.push({ type: 'send', to, message: alt !== undefined && i >= targets.length / 2 ? alt : m }));
            break;
          }
          case 'double-vote':
            // Its own messages only: an attacker splitting the network does not relay (echo) for others.
            if (need().signerOf(m) === self) for (const to of targets) out.push({ type: 'send', to, message: m });
            break;
          case 'withhold-votes':
            if (!need().isVote(m)) for (const to of targets) out.push({ type: 'send', to, message: m });
            break;
          case 'invalid-signatures':
            for (const to of targets) out.push({ type: 'send', to, message: need().withBadSignature(m) });
            break;
          case 'forged-parent': {
            const forged = need().withForgedParent(m, signer, self) ?? m;
            for (const to of targets) out.push({ type: 'send', to, message: forged });
            break;
          }
          case 'fork': {
            let forked = m;
            const proposed = need().proposedBlock(m);
            if (proposed !== undefined) {
              // Extend the coalition's fork (started from genesis), never the honest chain.
              forked = need().reparent(m, coalition.forkTip ?? { hash: GENESIS.hash, height: 0 }, signer, self) ?? m;
              coalition.forkTip = need().proposedBlock(forked) ?? coalition.forkTip;
            }
            for (const to of targets) out.push({ type: 'send', to, message: forked });
            break;
          }
          case 'delay':
            for (const to of targets) out.push({ type: 'send-delayed', to, message: m, delay: strategy.by });
            break;
          case 'vote-twice': {
            const alt = need().isVote(m) ? need().conflicting(m, signer, self) : undefined;
            for (const to of targets) {
              out.push({ type: 'send', to, message: m });
              if (alt !== undefined) out.push({ type: 'send', to, message: alt });
            }
            break;
          }
        }
      }
      return out;
    },
  };
}
