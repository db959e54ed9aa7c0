import type { SignatureScheme, Signer } from '@bftx/crypto';
import type { PayloadContext, PayloadPolicy, PayloadVerdict } from '../core/payload';
import type { FinalizedChain } from '../protocol';
import type { ValidatorSet } from '../validators';
import { checkProof, entryKeys, fairOrder, provableDeviation, splitPayload, type Obliged } from './order';
import { checkReceiveLog, digestKey, encodeLogElement, isLogElement, MAX_LOG_ENTRIES, signReceiveLog, txDigest, type LogEntry, type SignedReceiveLog } from './receive-log';
import { txKey } from '../mempool';

/** Fair ordering's parameters: the same on every replica of a cluster. */
export interface FairOrderingOptions {
  /**
   * A log older than this (ms, by the judge's clock) cannot back a proposal; default 8 delta. A
   * leader uses only logs at most half as old, so a proposal still passes after it travels.
   */
  readonly maxLogAge?: number;
  /** A replica re-signs its log at most this often (ms) while it changes; default delta / 2. */
  readonly resignEvery?: number;
  /** A log may be this far ahead of the judge's clock (ms; clocks differ); default delta. */
  readonly maxClockSkew?: number;
  /** Transactions held (default 100,000); when full, newly received ones are refused. */
  readonly capacity?: number;
}

/**
 * How a Byzantine replica bends fair ordering, for the simulator's attacks: each hook wraps what
 * the honest replica does. Voters and evidence show what it cannot get away with.
 */
export interface OrderingAdversary {
  /** The receipt time it writes in its signed log for a transaction received at `time`; undefined leaves it out. */
  logTime?(tx: Uint8Array, time: number): number | undefined;
  /** As leader: the transactions it proposes, given the honest ones (the fair order, or a prefix of it). */
  build?(honest: Uint8Array[], context: PayloadContext): Uint8Array[];
  /** Told of every transaction the replica receives, with its clock (to react as the coalition's client would). */
  seen?(tx: Uint8Array, now: number): void;
}

interface Held {
  readonly tx: Uint8Array;
  readonly digest: Uint8Array;
  readonly key: string;
  /** Receipt time as logged (undefined: left out of the log by an adversary), and as it was. */
  readonly logged: number | undefined;
  readonly received: number;
  /** When this replica's signed log first named it (undefined: not yet, e.g. behind the log's entry cap). */
  announced: number | undefined;
  /** Once f+1 logs named it, or a proposal carried it (which f+1 logs backed): never dropped as unbacked. */
  backed: boolean;
}

/** Final digests remembered, so a log signed before a transaction became final does not oblige it again. */
const FINAL_KEPT = 200_000;
/** Digests asked of peers at most once per this many deltas (each retry asks another peer that logged it). */
const ASK_EVERY_DELTAS = 2;
/**
 * A transaction this replica's log has named for this many deltas that fewer than f+1 logs name
 * (at most f replicas got it: a client that sent it to too few, or one that fills logs on purpose)
 * is *unbacked*: it goes into the log only after every backed one. After `EVICT_DELTAS` unbacked it
 * is dropped: it can never be ordered, and kept it would hold a log slot and memory for ever.
 */
const UNBACKED_DELTAS = 2;
const EVICT_DELTAS = 16;

/**
 * Leader-proof ordering as a payload policy. Every replica logs the transactions it receives with
 * its clock and signs that log; logs travel to every replica piggybacked on the messages it sends
 * anyway (see `fairOrdering`). A leader's block carries n-f logs no older than `maxLogAge` and then
 * exactly a prefix of their fair order (`fairOrder`): every transaction f+1 logs name, not final
 * and not on the chain it extends, by ordering time. Voters recompute that from the logs in the
 * block and refuse anything else; an insertion or reordering is also evidence against the leader.
 * A leader may end the list early (it lacks a transaction's bytes: it asks peers for them), but
 * never skip one and keep what follows.
 */
export class FairOrderingPolicy implements PayloadPolicy {
  readonly name = 'fair';
  /** Held transactions by digest (hex), in receipt order. */
  private readonly held = new Map<string, Held>();
  private readonly byTxKey = new Map<string, string>();
  private readonly final = new Set<string>();
  private readonly finalQueue: string[] = [];
  private finalHead = 0;
  private readonly logs = new Map<number, SignedReceiveLog>();
  private own: SignedReceiveLog | undefined;
  private ownDirty = true;
  /** Version of the own log: bumped each time it is signed (the runtime sends each version to each peer once). */
  version = 0;
  /** Digests asked of peers: when last, and how many times (each retry asks the next peer that logged it). */
  private readonly asked = new Map<string, { at: number; tries: number }>();
  /**
   * Transactions seen in a proposal this replica built or accepted, until when they stay out of its
   * log: on the chain now, they are not obliged, and leaving them out keeps logs to what is new.
   * If that block is abandoned they come back (with their first receipt time) after 3 delta.
   */
  private readonly inFlight = new Map<string, number>();
  readonly maxLogAge: number;
  readonly maxClockSkew: number;
  readonly resignEvery: number;
  private readonly capacity: number;
  /** Logs refused (bad signature, unknown signer, disordered entries), counted. */
  refusedLogs = 0;
  /** Transactions dropped unbacked (see `EVICT_DELTAS`), counted. */
  evicted = 0;

  constructor(
    private readonly self: number,
    private readonly validators: ValidatorSet,
    private readonly scheme: SignatureScheme,
    private readonly signer: Signer,
    private readonly delta: number,
    options: FairOrderingOptions = {},
    private readonly adversary: OrderingAdversary | undefined = undefined,
  ) {
    this.maxLogAge = options.maxLogAge ?? 8 * delta;
    this.resignEvery = options.resignEvery ?? Math.max(1, Math.floor(delta / 2));
    this.maxClockSkew = options.maxClockSkew ?? delta;
    this.capacity = options.capacity ?? 100_000;
  }

  offer(txs: readonly Uint8Array[], now: number): void {
    for (const tx of txs) {
      if (isLogElement(tx)) continue;
      const digest = txDigest(tx);
      const key = digestKey(digest);
      if (this.held.has(key) || this.final.has(key)) continue;
      if (this.held.size >= this.capacity) continue;
      this.adversary?.seen?.(tx, now);
      const logged = this.adversary?.logTime ? this.adversary.logTime(tx, now) : now;
      const k = txKey(tx);
      this.held.set(key, { tx, digest, key: k, logged, received: now, announced: undefined, backed: false });
      this.byTxKey.set(k, key);
      this.asked.delete(key);
      if (logged !== undefined) this.touch();
    }
  }

  private touch(): void {
    this.ownDirty = true;
  }

  /** A peer's log, taken if it is signed by that peer and newer than the one held. False: refused. */
  receiveLog(from: number, log: SignedReceiveLog): boolean {
    if (log.signer !== from || checkReceiveLog(log, this.validators, this.scheme) !== undefined) {
      this.refusedLogs++;
      return false;
    }
    const held = this.logs.get(from);
    if (held === undefined || log.at > held.at) this.logs.set(from, log);
    return true;
  }

  /**
   * This replica's log as last signed: re-signed when its content changed (at most once per
   * `resignEvery`: signing and sending a new version per transaction would cost more than it
   * gains) or when it is a quarter of `maxLogAge` old.
   */
  ownLog(now: number): SignedReceiveLog {
    const age = this.own === undefined ? Infinity : now - this.own.at;
    if (age >= this.maxLogAge / 4 || (this.ownDirty && age >= this.resignEvery)) {
      const unbacked = this.unbacked(now);
      const entries: LogEntry[] = [];
      const named: Held[] = [];
      // Backed (or young) transactions first, in receipt order; unbacked ones only in the room left.
      for (const pass of unbacked.size > 0 ? [false, true] : [false]) {
        for (const [key, h] of this.held) {
          if (h.logged === undefined || (this.inFlight.get(key) ?? -1) > now || unbacked.has(key) !== pass) continue;
          entries.push({ digest: h.digest, time: h.logged });
          named.push(h);
          if (entries.length >= MAX_LOG_ENTRIES) break;
        }
        if (entries.length >= MAX_LOG_ENTRIES) break;
      }
      for (const h of named) h.announced ??= now;
      entries.sort((a, b) => cmp(a.digest, b.digest));
      this.own = signReceiveLog(this.signer, this.self, now, entries);
      this.version++;
      this.ownDirty = false;
    }
    return this.own!;
  }

  /**
   * Held transactions this replica's log has named for `UNBACKED_DELTAS` that fewer than f other
   * fresh logs name (so fewer than f+1 with its own: never obliged); those named for `EVICT_DELTAS`
   * are dropped here (see `EVICT_DELTAS`).
   */
  private unbacked(now: number): Set<string> {
    const out = new Set<string>();
    const since = now - UNBACKED_DELTAS * this.delta;
    let counts: Map<string, number> | undefined;
    for (const [key, h] of this.held) {
      if (h.backed || h.announced === undefined || h.announced > since || (this.inFlight.get(key) ?? -1) > now) continue;
      counts ??= this.logCounts(now, false);
      // Backed once is backed for good: while a proposal carries it, peers' logs leave it out (in flight).
      if ((counts.get(key) ?? 0) >= this.validators.f) {
        h.backed = true;
        continue;
      }
      if (h.announced <= now - EVICT_DELTAS * this.delta) {
        this.held.delete(key);
        this.byTxKey.delete(h.key);
        this.asked.delete(key);
        this.inFlight.delete(key);
        this.evicted++;
      } else out.add(key);
    }
    return out;
  }

  /** The logs a proposal at `now` may carry: this replica's and every peer's, at most half `maxLogAge` old (the rest is margin for the proposal's travel). */
  private freshLogs(now: number, all = false): SignedReceiveLog[] {
    // For a proposal: half the clock skew a voter allows too, so it passes a voter whose clock is behind (a log signed ahead of the leader's clock would not).
    const peers = this.peerLogs(now, all ? this.maxClockSkew : this.maxClockSkew / 2);
    // A proposal carries n - f logs, the freshest: more would add bytes, not fairness (f+1 of any n - f include an honest one).
    if (!all) peers.sort((a, b) => b.at - a.at || a.signer - b.signer).splice(this.validators.n - this.validators.f - 1);
    return [this.ownLog(now), ...peers];
  }

  /** Peers' logs at most half `maxLogAge` old and at most `maxAhead` ahead of this clock. */
  private peerLogs(now: number, maxAhead: number): SignedReceiveLog[] {
    const peers: SignedReceiveLog[] = [];
    for (const [signer, log] of this.logs) if (signer !== this.self && this.fresh(log, now, this.maxLogAge / 2, maxAhead)) peers.push(log);
    return peers;
  }

  private fresh(log: SignedReceiveLog, now: number, maxAge = this.maxLogAge, maxAhead = this.maxClockSkew): boolean {
    return log.at + maxAge >= now && log.at <= now + maxAhead;
  }

  private excluded(context: PayloadContext): (key: string) => boolean {
    let pending: Set<string> | undefined;
    return (key) => {
      if (this.final.has(key)) return true;
      if (pending === undefined) {
        pending = new Set();
        for (const k of context.pending) pending.add(this.byTxKey.get(k) ?? digestKey(txDigest(keyBytes(k))));
      }
      return pending.has(key);
    };
  }

  build(context: PayloadContext, max: number): Uint8Array[] {
    // Without the whole chain it extends, the leader cannot tell what is on it: it proposes nothing (as first-in-first-out does).
    if (context.pendingComplete === false) return [];
    const logs = this.freshLogs(context.now);
    if (logs.length < this.validators.n - this.validators.f) return [];
    const order = fairOrder(logs, this.validators.f, this.excluded(context));
    const room = max - logs.length;
    const txs: Uint8Array[] = [];
    for (const o of order) {
      if (txs.length >= room) break;
      const h = this.held.get(o.key);
      if (h === undefined) break; // bytes not here yet (asked of peers): end the list, never skip
      txs.push(h.tx);
    }
    const chosen = this.adversary?.build ? this.adversary.build(txs, context) : txs;
    this.proposed(chosen, context.now);
    if (chosen.length === 0) return [];
    return [...logs.map(encodeLogElement), ...chosen];
  }

  validate(payload: readonly Uint8Array[], context: PayloadContext): PayloadVerdict {
    if (payload.length === 0) return OK;
    const split = splitPayload(payload);
    if (typeof split === 'string') return { ok: false, reason: split, convicts: false };
    const proof = checkProof(split.logs, this.validators, this.scheme);
    if (proof !== undefined) return { ok: false, reason: proof, convicts: split.txs.length > 0 };
    for (const log of split.logs) if (!this.fresh(log, context.now)) return { ok: false, reason: `validator ${log.signer}'s receive log (signed at ${log.at}) is not fresh at ${context.now}`, convicts: false };
    const deviation = provableDeviation(split.logs, split.txs, this.validators.f);
    if (deviation !== undefined) return { ok: false, reason: deviation, convicts: true };
    // Without the chain below the block, what is final or pending is unknown here: judged by the voters that hold it.
    if (context.pendingComplete === false) return OK;
    const order = fairOrder(split.logs, this.validators.f, this.excluded(context));
    if (split.txs.length > order.length) return { ok: false, reason: `${split.txs.length} transactions, the logs oblige ${order.length}`, convicts: false };
    for (let i = 0; i < split.txs.length; i++) {
      if (digestKey(txDigest(split.txs[i]!)) !== order[i]!.key)
        return { ok: false, reason: `transaction ${i} is not the ${i + 1}th of the fair order (one before it was left out, or it is final already)`, convicts: false };
    }
    this.proposed(split.txs, context.now);
    return OK;
  }

  overdue(now: number, wait: number): boolean {
    let counts: Map<string, number> | undefined;
    for (const [key, h] of this.held) {
      if (h.received > now - wait) return false; // held in receipt order: the rest are younger
      if ((this.inFlight.get(key) ?? -1) > now) continue;
      counts ??= this.logCounts(now);
      if ((counts.get(key) ?? 0) >= this.validators.f + 1) return true;
    }
    return false;
  }

  /** How many of the fresh logs (all peers', and this replica's own unless `own` is false) name each digest. */
  private logCounts(now: number, own = true): Map<string, number> {
    const counts = new Map<string, number>();
    // Not through `freshLogs`: `ownLog` asks for these counts while it re-signs.
    const logs = this.peerLogs(now, this.maxClockSkew);
    if (own) logs.push(this.ownLog(now));
    for (const log of logs) for (const k of entryKeys(log)) counts.set(k, (counts.get(k) ?? 0) + 1);
    return counts;
  }

  /** Transactions of a proposal built or accepted: out of the own log for 3 delta (see `inFlight`). */
  private proposed(txs: readonly Uint8Array[], now: number): void {
    if (txs.length === 0) return;
    const until = now + 3 * this.delta;
    for (const tx of txs) {
      const key = digestKey(txDigest(tx));
      const h = this.held.get(key);
      if (h === undefined) continue;
      this.inFlight.set(key, until);
      h.backed = true;
    }
    this.ownDirty = true;
    if (this.inFlight.size > this.capacity) for (const [k, t] of this.inFlight) if (t <= now || !this.held.has(k)) this.inFlight.delete(k);
  }

  finalized(txs: readonly Uint8Array[]): void {
    let changed = false;
    for (const tx of txs) {
      if (isLogElement(tx)) continue;
      const key = digestKey(txDigest(tx));
      const h = this.held.get(key);
      this.inFlight.delete(key);
      if (h !== undefined) {
        this.held.delete(key);
        this.byTxKey.delete(h.key);
        changed = true;
      }
      if (!this.final.has(key)) {
        this.final.add(key);
        this.finalQueue.push(key);
        if (this.finalQueue.length - this.finalHead > FINAL_KEPT) this.final.delete(this.finalQueue[this.finalHead++]!);
        if (this.finalHead > FINAL_KEPT) {
          this.finalQueue.splice(0, this.finalHead);
          this.finalHead = 0;
        }
      }
      this.asked.delete(key);
    }
    if (changed) this.touch();
  }

  get size(): number {
    return this.held.size;
  }

  /**
   * Learns the transactions of the last `blocks` finalized blocks (a restarted replica: logs signed
   * before they became final may still name them, and proposing one again would be refused).
   */
  recallFinal(chain: FinalizedChain, blocks = 64): void {
    for (let h = Math.max(1, chain.height - blocks + 1); h <= chain.height; h++) {
      const b = chain.at(h);
      if (b !== undefined) this.finalized(b.payload);
    }
  }

  /**
   * Digests that fresh logs oblige (f+1 name them, not final) whose bytes this replica lacks and has
   * not asked for within the last 2 delta, with a peer whose log names each: the runtime asks them.
   */
  missing(now: number): Map<number, Uint8Array[]> {
    const logs = this.freshLogs(now, true);
    const asks = new Map<number, Uint8Array[]>();
    if (logs.length < this.validators.f + 1) return asks;
    const order: Obliged[] = fairOrder(logs, this.validators.f, (k) => this.final.has(k) || this.held.has(k));
    if (order.length === 0) return asks;
    /** Wanted digests, each with the number of times asked before (the retry asks the next peer that logged it). */
    const wanted = new Map<string, number>();
    for (const o of order) {
      const asked = this.asked.get(o.key);
      if (asked !== undefined && now - asked.at < ASK_EVERY_DELTAS * this.delta) continue;
      const tries = asked === undefined ? 0 : asked.tries + 1;
      wanted.set(o.key, tries);
      this.asked.set(o.key, { at: now, tries });
      if (wanted.size >= MAX_ASK) break;
    }
    if (this.asked.size > 4 * MAX_LOG_ENTRIES) for (const k of [...this.asked.keys()].slice(0, MAX_LOG_ENTRIES)) this.asked.delete(k);
    // The peers whose logs name each wanted digest, in validator order: a peer that never answers is asked once in every so many tries.
    const namers = new Map<string, Array<{ signer: number; digest: Uint8Array }>>();
    for (const log of [...logs].sort((a, b) => a.signer - b.signer)) {
      if (log.signer === this.self) continue;
      const keys = entryKeys(log);
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i]!;
        if (!wanted.has(key)) continue;
        let list = namers.get(key);
        if (list === undefined) namers.set(key, (list = []));
        list.push({ signer: log.signer, digest: log.entries[i]!.digest });
      }
    }
    for (const [key, list] of namers) {
      const { signer, digest } = list[wanted.get(key)! % list.length]!;
      let ask = asks.get(signer);
      if (ask === undefined) asks.set(signer, (ask = []));
      ask.push(digest);
    }
    return asks;
  }

  /** The bytes of the held transactions with these digests (a peer's ask). */
  lookup(digests: readonly Uint8Array[]): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const d of digests.slice(0, MAX_ASK)) {
      const h = this.held.get(digestKey(d));
      if (h !== undefined) out.push(h.tx);
    }
    return out;
  }

  /**
   * Transactions a peer sent in answer to an ask: taken only if fresh logs oblige their digest
   * (f+1 logs name it, so an honest replica admitted exactly these bytes). `held`: already here
   * (the client's copy came first); `unasked`: named by too few logs (refused).
   */
  answered(txs: readonly Uint8Array[], now: number): { readonly taken: Uint8Array[]; readonly held: number; readonly unasked: number } {
    const taken: Uint8Array[] = [];
    let held = 0;
    let unasked = 0;
    const counts = this.logCounts(now);
    for (const tx of txs) {
      const key = digestKey(txDigest(tx));
      if (this.held.has(key) || this.final.has(key)) held++;
      else if ((counts.get(key) ?? 0) >= this.validators.f + 1) taken.push(tx);
      else unasked++;
    }
    return { taken, held, unasked };
  }
}

/** Most digests in one ask, and transactions in one answer. */
export const MAX_ASK = 256;

const OK: PayloadVerdict = { ok: true };

function cmp(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}


function keyBytes(key: string): Uint8Array {
  const out = new Uint8Array(key.length);
  for (let i = 0; i < key.length; i++) out[i] = key.charCodeAt(i);
  return out;
}

/**
 * `inner` with a Byzantine replica's ordering behaviour wrapped around it: it sees what the replica
 * receives, and as leader rewrites the payload `inner` builds (under the default first-in-first-out
 * policy nothing refuses that: the leader's order is the order).
 */
export function adversarialPayload(inner: PayloadPolicy, adversary: OrderingAdversary): PayloadPolicy {
  return {
    name: `${inner.name}+adversary`,
    offer(txs, now) {
      for (const tx of txs) adversary.seen?.(tx, now);
      inner.offer(txs, now);
    },
    build(context, max) {
      const honest = inner.build(context, max);
      return adversary.build ? adversary.build(honest, context).slice(0, max) : honest;
    },
    validate: (payload, context) => inner.validate(payload, context),
    finalized: (txs) => inner.finalized(txs),
    get size() {
      return inner.size;
    },
  };
}
