import { adversarialPayload, fairOrdering, FifoPayloadPolicy, payloadTransactions, withPayloadPolicy, type Block, type OrderingAdversary, type Protocol, type ProtocolDefinition, type ProtocolOutput } from '@bftx/consensus';
import type { SignatureScheme } from '@bftx/crypto';
import { DEFAULT_CLUSTER, expiryFrom, replicatedExchange, signOrder, type AdmissionReason, type ExchangeConfig, type ReplicatedExchange } from '@bftx/exchange';
import { Rng, startSimulation, synchronous, type NetworkModel, type RunningSimulation, type SimulationResult, type Strategy } from '@bftx/sim';
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
  /**
   * Client-to-replica latency: each order reaches replica i after its own delay, uniform in
   * 1..clientDelay ms, drawn per order and replica from the session seed, so replicas receive
   * orders at different times and in different orders (what receipt-time ordering works on).
   * Default 0: every replica receives an order the instant it is sent.
   */
  readonly clientDelay?: number;
  /**
   * How a block's orders are chosen and ordered: 'leader' (default: the leader's first-in-first-out
   * mempool, its order) or 'fair' (leader-proof ordering: `fairOrdering` around the replicated
   * exchange; blocks follow the median receipt time of n-f signed receive logs).
   */
  readonly ordering?: 'leader' | 'fair';
  /** Byzantine replicas' ordering behaviour (e.g. `orderingAttack(...)` of @bftx/sim), by replica; under either ordering. */
  readonly orderingAdversaries?: ReadonlyArray<{ readonly replica: number; readonly adversary: OrderingAdversary }>;
  /** Each market's matching: 'continuous' (default) or 'batch' (one uniform-price auction per block). */
  readonly matching?: 'continuous' | 'batch';
  /** Accounts funded at genesis beyond the agents' (e.g. a trading coalition's), with balances by asset. */
  readonly accounts?: ReadonlyArray<{ readonly account: Uint8Array; readonly balances: Readonly<Record<string, bigint>> }>;
  /** Most transactions per block (the protocol's default if absent). */
  readonly maxBlockTxs?: number;
  /** Called when a session opens, with a handle on the running cluster (for harnesses that measure it). */
  readonly onOpen?: (cluster: ClusterHandle) => void;
}

/** A block the observer finalized, as the harness sees it. */
export interface FinalizedBlock {
  readonly height: number;
  readonly proposer: number;
  readonly view: number;
  /** The block's transactions (receive logs left out). */
  readonly txs: readonly Uint8Array[];
  /** Session times: when it was proposed (its payload built; undefined if the proposal was not seen) and finalized at the observer. */
  readonly proposedAt: number | undefined;
  readonly finalizedAt: number;
}

/** A transaction sent through the cluster: by whom (the account's hex for agents' orders), when, and when each replica received it (index = replica; session times). */
export interface OfferedTransaction {
  readonly tx: Uint8Array;
  readonly client: string;
  readonly sent: number;
  readonly arrivals: readonly number[];
}

/** The running cluster, for a harness: send raw transactions as a client, see arrivals and finalized blocks. */
export interface ClusterHandle {
  readonly open: number;
  readonly simulation: RunningSimulation;
  readonly replicas: readonly ReplicatedExchange<any>[];
  /** Sends raw transactions as `client` at session time `at`: each replica receives each one after its client delay (a client's in the order sent). */
  offer(txs: readonly Uint8Array[], at: number, client?: string): void;
  /** Every transaction sent through the cluster so far (agents' orders, extra and harness transactions), in the order sent. */
  readonly offered: readonly OfferedTransaction[];
  /** What the cluster knows of `tx`, if it was sent through it. */
  arrivals(tx: Uint8Array): OfferedTransaction | undefined;
  /** Called with every block the observer finalizes, in order. */
  onFinalized(listener: (block: FinalizedBlock) => void): void;
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
  /** 'leader' or 'fair', and the replicas given ordering adversaries (not counted Byzantine by the simulation, which knows only strategies). */
  readonly ordering: 'leader' | 'fair';
  readonly orderingByzantine: readonly number[];
  readonly simulation: SimulationResult;
}

/**
 * A simulated consensus cluster of replicated exchanges as a venue: orders are signed, offered to
 * every replica (after a per-replica client delay when `clientDelay` is set), and executed when
 * finalized; agents see the state of replica `observer`. The cluster's clock starts at the
 * session's open.
 */
export function simulatedCluster(options: SimulatedClusterOptions): Venue<ReplicationReport> {
  const ordering = options.ordering ?? 'leader';
  const adversaries = new Map((options.orderingAdversaries ?? []).map((a) => [a.replica, a.adversary]));
  const observerIndex = options.observer ?? 0;
  if (adversaries.has(observerIndex)) throw new RangeError(`the observer (replica ${observerIndex}) must be honest: it has an ordering adversary`);
  return {
    name: `${options.protocol.name} x ${options.n}${ordering === 'fair' ? ' (fair ordering)' : ''}`,
    clientScheme: options.clientScheme,
    open(session) {
      const { open } = session;
      const exchange = clusterExchange(session.exchange, options);
      const cluster = replicatedExchange(options.protocol, { exchange, clientScheme: options.clientScheme, ...(options.uncheckedMempool ? { uncheckedMempool: options.uncheckedMempool } : {}) });
      let def: ProtocolDefinition<any> = cluster;
      if (ordering === 'fair') def = fairOrdering(cluster, { adversary: (self) => adversaries.get(self) });
      else if (adversaries.size > 0) def = withPayloadPolicy(cluster, (c) => (adversaries.has(c.self) ? adversarialPayload(new FifoPayloadPolicy(), adversaries.get(c.self)!) : undefined));
      const listeners: Array<(b: FinalizedBlock) => void> = [];
      if (options.onOpen) def = tapped(def, observerIndex, open, listeners);
      const run = startSimulation({
        protocol: def,
        n: options.n,
        seed: session.seed,
        network: options.network ?? synchronous(options.delta),
        timing: { delta: options.delta },
        duration: session.close - open,
        trace: options.trace !== undefined && options.trace !== false,
        ...(Array.isArray(options.trace) ? { traceKinds: options.trace } : {}),
        ...(options.signatures ? { signatures: options.signatures } : {}),
        ...(options.byzantine ? { byzantine: options.byzantine } : {}),
        ...(options.maxBlockTxs ? { maxBlockTxs: options.maxBlockTxs } : {}),
      });
      const observer = cluster.replicas.find((r) => r.self === observerIndex);
      if (observer === undefined) throw new RangeError(`no replica ${observerIndex} to observe`);
      observer.onBlock((result, now) => {
        for (const r of result.receipts) session.receipt(r, now + open);
      });
      const delay = options.clientDelay ?? 0;
      /** One latency stream per client (so one client's orders do not shift another's delays). */
      const latencies = new Map<string, Rng>();
      const latencyOf = (client: string) => {
        let r = latencies.get(client);
        if (r === undefined) latencies.set(client, (r = new Rng((session.seed ^ fnv1a(`client-latency:${client}`)) >>> 0)));
        return r;
      };
      const arrived = new Map<string, OfferedTransaction>();
      const offered: OfferedTransaction[] = [];
      /** Per client and replica, when its last transaction arrives there: a client's connection delivers in order. */
      const lastArrival = new Map<string, number[]>();
      /**
       * Offers `txs` a client sent at session time `at`: to all at once, or to each replica after its
       * own delay, a client's transactions arriving at a replica in the order sent, at least 1 ms apart.
       */
      const offer = (txs: readonly Uint8Array[], at: number, client = '') => {
        const record = (tx: Uint8Array, times: number[]) => {
          if (!options.onOpen) return;
          const o = { tx, client, sent: at, arrivals: times };
          arrived.set(key(tx), o);
          offered.push(o);
        };
        if (delay <= 0) {
          run.offer(txs, { at: at - open });
          for (const tx of txs) record(tx, new Array<number>(options.n).fill(at));
          return;
        }
        const latency = latencyOf(client);
        let last = lastArrival.get(client);
        if (last === undefined) lastArrival.set(client, (last = new Array<number>(options.n).fill(-Infinity)));
        for (const tx of txs) {
          const times: number[] = [];
          for (let i = 0; i < options.n; i++) {
            const t = Math.max(at + latency.int(1, delay), last[i]! + 1);
            last[i] = t;
            times.push(t);
            run.offer([tx], { at: t - open, to: [i] });
          }
          record(tx, times);
        }
      };
      for (const x of session.extraTransactions ?? []) offer([x.tx], x.at);
      options.onOpen?.({
        open,
        simulation: run,
        replicas: cluster.replicas,
        offer,
        offered,
        arrivals: (tx) => arrived.get(key(tx)),
        onFinalized: (l) => listeners.push(l),
      });
      return {
        state: observer.exchange,
        submit(order, now) {
          if (order.signer === undefined) throw new Error('a simulated cluster takes signed orders only');
          // Valid on the observer's cluster for the default lifetime from the height it reached.
          const validity = { cluster: observer.exchange.config.cluster ?? DEFAULT_CLUSTER, expiresAt: expiryFrom(observer.exchange.lastHeight) };
          offer([signOrder(order.signer, order.nonce, order.action, validity)], now, order.account);
        },
        advance: (t) => run.runUntil(t - open),
        finish(): ReplicationReport {
          const simulation = run.result();
          const honest = new Set(simulation.replicas.filter((r) => r.honest && !adversaries.has(r.validator)).map((r) => r.instance));
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
            ordering,
            orderingByzantine: [...adversaries.keys()].sort((a, b) => a - b),
            simulation,
          };
        },
      };
    },
  };
}

/** The session's exchange with the cluster's additions: each market's matching, extra funded accounts. */
function clusterExchange(base: ExchangeConfig, options: SimulatedClusterOptions): ExchangeConfig {
  if (options.matching === undefined && options.accounts === undefined) return base;
  const matching = options.matching;
  return {
    ...base,
    markets: matching === undefined ? base.markets : base.markets.map((m) => ({ ...m, matching })),
    genesis: [...(base.genesis ?? []), ...(options.accounts ?? []).map((a) => ({ account: a.account, balances: { ...a.balances } }))],
  };
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

function key(tx: Uint8Array): string {
  let s = '';
  for (let i = 0; i < tx.length; i += 4096) s += String.fromCharCode.apply(null, tx.subarray(i, i + 4096) as unknown as number[]);
  return s;
}

/**
 * `def` with its replicas' outputs watched: when each block was proposed (the first 'propose' trace
 * of it anywhere, PBFT's proposal ids mapped through the observer's 'finalize' traces) and which
 * blocks the observer finalized, passed to `listeners` in order.
 */
function tapped<M>(def: ProtocolDefinition<M>, observer: number, open: number, listeners: Array<(b: FinalizedBlock) => void>): ProtocolDefinition<M> {
  const proposedAt = new Map<string, number>();
  const proposalOf = new Map<string, string>();
  return {
    ...def,
    create(config) {
      const p: Protocol<M> = def.create(config);
      const watch = (outputs: ProtocolOutput<M>[], now: number) => {
        for (const o of outputs) {
          if (o.type !== 'trace') continue;
          if (o.event.kind === 'propose' && !proposedAt.has(o.event.block)) proposedAt.set(o.event.block, now + open);
          else if (o.event.kind === 'finalize' && o.event.proposal !== undefined && config.self === observer) proposalOf.set(o.event.block, o.event.proposal);
        }
        if (config.self !== observer) return;
        for (const o of outputs) {
          if (o.type !== 'commit') continue;
          for (const b of o.blocks as readonly Block[]) {
            const at = proposedAt.get(b.id) ?? proposedAt.get(proposalOf.get(b.id) ?? '');
            const block: FinalizedBlock = { height: b.height, proposer: b.proposer, view: b.view, txs: payloadTransactions(b.payload), proposedAt: at, finalizedAt: now + open };
            for (const l of listeners) l(block);
          }
        }
      };
      return {
        get self() {
          return p.self;
        },
        step(input) {
          const out = p.step(input);
          watch(out, input.now);
          return out;
        },
        ...(p.footprint ? { footprint: () => p.footprint!() } : {}),
      };
    },
  };
}
