import type { ProtocolDefinition } from '@bftx/consensus';
import type { SignatureScheme } from '@bftx/crypto';
import { replicatedExchange, signOrder, type AdmissionReason } from '@bftx/exchange';
import { startSimulation, synchronous, type NetworkModel, type SimulationResult, type Strategy } from '@bftx/sim';
import type { Venue } from './venue';

export interface SimulatedClusterOptions {
  readonly protocol: ProtocolDefinition<any>;
  readonly n: number;
  readonly delta: number;
  readonly network?: NetworkModel;
  readonly byzantine?: ReadonlyArray<{ readonly replica: number; readonly strategy: Strategy }>;
  /** Validators whose mempools admit unchecked transactions (Byzantine). */
  readonly uncheckedMempool?: readonly number[];
  /** How clients sign orders. */
  readonly clientScheme: SignatureScheme;
  /** The replica whose state agents see (default 0; it must be honest). */
  readonly observer?: number;
  /** How replicas sign consensus messages: the simulator's scheme (default) or real Ed25519. */
  readonly signatures?: 'simulated' | 'ed25519';
  /** Record the cluster's trace (default off): true for every kind, or only the kinds listed. */
  readonly trace?: boolean | readonly string[];
}

export interface ReplicationReport {
  readonly protocol: string;
  readonly n: number;
  readonly finalizedHeight: number;
  /** True iff every pair of honest replicas has equal state roots on the heights both applied. */
  readonly stateRootsAgree: boolean;
  /** Transactions the observer's mempool admitted and turned away (forged, malformed). */
  readonly mempool: { readonly admitted: number; readonly rejected: Readonly<Record<AdmissionReason, number>> };
  /** Distinct offenders proven by the observer, with the kind of evidence. */
  readonly offenders: ReadonlyArray<{ readonly validator: number; readonly evidence: string }>;
  readonly simulation: SimulationResult;
}

/**
 * A simulated consensus cluster of replicated exchanges as a venue: orders are signed, offered to
 * every replica, and executed when finalized; agents see the state of replica `observer`. The
 * cluster's clock starts at the session's open.
 */
export function simulatedCluster(options: SimulatedClusterOptions): Venue<ReplicationReport> {
  return {
    name: `${options.protocol.name} x ${options.n}`,
    clientScheme: options.clientScheme,
    open(session) {
      const { open } = session;
      const cluster = replicatedExchange(options.protocol, { exchange: session.exchange, clientScheme: options.clientScheme, ...(options.uncheckedMempool ? { uncheckedMempool: options.uncheckedMempool } : {}) });
      const run = startSimulation({
        protocol: cluster,
        n: options.n,
        seed: session.seed,
        network: options.network ?? synchronous(options.delta),
        timing: { delta: options.delta },
        duration: session.close - open,
        trace: options.trace !== undefined && options.trace !== false,
        ...(Array.isArray(options.trace) ? { traceKinds: options.trace } : {}),
        ...(options.signatures ? { signatures: options.signatures } : {}),
        ...(options.byzantine ? { byzantine: options.byzantine } : {}),
      });
      const observerIndex = options.observer ?? 0;
      const observer = cluster.replicas.find((r) => r.self === observerIndex);
      if (observer === undefined) throw new RangeError(`no replica ${observerIndex} to observe`);
      observer.onBlock((result, now) => {
        for (const r of result.receipts) session.receipt(r, now + open);
      });
      for (const x of session.extraTransactions ?? []) run.offer([x.tx], { at: x.at - open });
      return {
        state: observer.exchange,
        submit(order, now) {
          if (order.signer === undefined) throw new Error('a simulated cluster takes signed orders only');
          run.offer([signOrder(order.signer, order.nonce, order.action)], { at: now - open });
        },
        advance: (t) => run.runUntil(t - open),
        finish(): ReplicationReport {
          const simulation = run.result();
          const honest = new Set(simulation.replicas.filter((r) => r.honest).map((r) => r.instance));
          const roots = cluster.replicas.filter((_, i) => honest.has(i)).map((r) => r.stateRoots);
          let agree = true;
          for (const a of roots) for (const b of roots) for (let h = 0; h < Math.min(a.length, b.length); h++) if (a[h] !== b[h]) agree = false;
          return {
            protocol: options.protocol.name,
            n: options.n,
            finalizedHeight: simulation.honestFinalizedHeight,
            stateRootsAgree: agree,
            mempool: { admitted: observer.mempool.admitted, rejected: { ...observer.mempool.rejected } },
            offenders: observer.detected.map((o) => ({ validator: o.offender, evidence: 'kind' in o.evidence ? o.evidence.kind : 'equivocation' })),
            simulation,
          };
        },
      };
    },
  };
}
