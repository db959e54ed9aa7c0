import type { ByzantineHooks, Protocol, ProtocolInput, ProtocolOutput } from '@bftx/consensus';
import type { Signer } from '@bftx/crypto';

/** How a Byzantine replica misbehaves. Each wraps an honest instance of the protocol; none forks its code. */
export type Strategy =
  | { readonly kind: 'crash'; readonly at: number }
  | { readonly kind: 'silent' }
  | { readonly kind: 'equivocate' }
  | { readonly kind: 'double-vote' }
  | { readonly kind: 'withhold-votes' }
  | { readonly kind: 'invalid-signatures' }
  | { readonly kind: 'forged-parent' }
  | { readonly kind: 'delay'; readonly by: number };

export const STRATEGY_KINDS = ['crash', 'silent', 'equivocate', 'double-vote', 'withhold-votes', 'invalid-signatures', 'forged-parent', 'delay'] as const;

/** An output of a wrapped replica, possibly with extra delay chosen by the adversary. */
export type AdversarialOutput<M> = ProtocolOutput<M> | { readonly type: 'send-delayed'; readonly to: number; readonly message: M; readonly delay: number };

export interface ReplicaLike<M> {
  readonly self: number;
  step(input: ProtocolInput<M>): AdversarialOutput<M>[];
}

/** The honest instance, with `strategy` applied to what goes in and out. */
export function byzantine<M>(honest: Protocol<M>, strategy: Strategy, hooks: ByzantineHooks<M> | undefined, signer: Signer, n: number): ReplicaLike<M> {
  const self = honest.self;
  const others = Array.from({ length: n }, (_, i) => i).filter((i) => i !== self);
  const need = (): ByzantineHooks<M> => {
    if (hooks === undefined) throw new Error(`strategy ${strategy.kind} needs the protocol's ByzantineHooks`);
    return hooks;
  };
  return {
    self,
    step(input) {
      if (strategy.kind === 'crash' && input.now >= strategy.at) return [];
      const outputs = honest.step(input);
      if (strategy.kind === 'crash') return outputs;
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
          case 'double-vote': {
            const alt = need().isVote(m) ? need().conflicting(m, signer, self) : undefined;
            for (const to of targets) {
              out.push({ type: 'send', to, message: m });
              if (alt !== undefined) out.push({ type: 'send', to, message: alt });
            }
            break;
          }
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
          case 'delay':
            for (const to of targets) out.push({ type: 'send-delayed', to, message: m, delay: strategy.by });
            break;
        }
      }
      return out;
    },
  };
}
