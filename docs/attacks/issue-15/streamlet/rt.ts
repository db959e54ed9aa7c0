// Own runtime for attacking @bftx/streamlet: drives Protocol.step directly.
import { streamlet, streamletLeader, encodeStreamletMessage, decodeStreamletMessage, type StreamletMessage } from '@bftx/streamlet';
import { SimulatedSignatureScheme, ValidatorSet, StatementVerifier, Ledger, ConsensusError, signStatement, makeBlock, GENESIS, type Block, type Protocol, type ProtocolOutput, type SignedStatement } from '@bftx/consensus';
import { Domains, toHex, type Signer } from '@bftx/crypto';

export const def = streamlet();

export function mulberry32(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Ev =
  | { kind: 'msg'; to: number; from: number; msg: StreamletMessage; inc: number }
  | { kind: 'timer'; to: number; timer: string; token: number; inc: number }
  | { kind: 'fn'; fn: () => void };

class Heap {
  private a: { t: number; k: number; s: number; e: Ev }[] = [];
  private seq = 0;
  push(t: number, k: number, e: Ev) {
    const x = { t, k, s: this.seq++, e };
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (this.lt(a[i]!, a[p]!)) { [a[i], a[p]] = [a[p]!, a[i]!]; i = p; } else break;
    }
  }
  private lt(x: { t: number; k: number; s: number }, y: { t: number; k: number; s: number }) {
    return x.t < y.t || (x.t === y.t && (x.k < y.k || (x.k === y.k && x.s < y.s)));
  }
  pop() {
    const a = this.a;
    if (a.length === 0) return undefined;
    const top = a[0]!;
    const last = a.pop()!;
    if (a.length > 0) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < a.length && this.lt(a[l]!, a[m]!)) m = l;
        if (r < a.length && this.lt(a[r]!, a[m]!)) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m]!, a[i]!];
        i = m;
      }
    }
    return top;
  }
  peekTime() { return this.a.length ? this.a[0]!.t : Infinity; }
  get size() { return this.a.length; }
}

export interface Replica {
  id: number;
  byz: boolean;
  inst: Protocol<StreamletMessage>;
  alive: boolean;
  inc: number;
  durable?: Uint8Array;
  timers: Map<string, number>;
  ledger: Ledger;
  maxPersist: number;
  maxRetained: number;
  restarts: number;
  /** Byzantine: a filter/transformer of its shadow honest instance's outputs. */
  byzOut?: (o: ProtocolOutput<StreamletMessage>, now: number) => void;
  /** Byzantine: called for every message it receives (after the shadow instance processes it). */
  byzIn?: (from: number, m: StreamletMessage, now: number) => void;
  crashAfter?: number; // crash mid-step after this many outputs of its next step
  crashDownFor?: number;
}

export interface WorldConfig {
  n: number;
  byz: number[];
  delta: number;
  gst: number;
  seed: number;
  /** Delay for a message (to, from, msg, now); return undefined to drop it. Called per copy. */
  delay?: (w: World, from: number, to: number, m: StreamletMessage, now: number) => number | number[] | undefined;
  /** tie-break key for simultaneous events: 'random' | 'timers-first' | 'msgs-first' */
  ties?: 'random' | 'timers-first' | 'msgs-first';
  leaderSchedule?: number[];
  wire?: boolean; // round-trip messages through the codec
  maxBlockTxs?: number;
  /** an exception thrown by step crashes the replica (its outputs lost); it restarts one view later */
  throwAsCrash?: boolean;
}

export class World {
  readonly rng: () => number;
  readonly scheme = new SimulatedSignatureScheme();
  readonly signers: Signer[];
  readonly validators: ValidatorSet;
  readonly reps: Replica[] = [];
  readonly q = new Heap();
  now = 0;
  readonly violations: string[] = [];
  readonly signed = new Map<string, string>(); // domain|view|sequence|signer -> hash (honest only)
  readonly seen: { from: number; m: StreamletMessage; t: number }[] = []; // recorded traffic, for replays (bounded)
  messagesDelivered = 0;
  readonly throws: string[] = [];
  readonly honest: number[];
  readonly viewLength: number;
  constructor(readonly cfg: WorldConfig) {
    this.rng = mulberry32(cfg.seed);
    this.signers = Array.from({ length: cfg.n }, (_, i) => this.scheme.signer(this.scheme.keyPair(i).secretKey));
    this.validators = new ValidatorSet(this.signers.map((s) => s.publicKey));
    this.viewLength = 2 * cfg.delta + 1;
    this.honest = [];
    for (let i = 0; i < cfg.n; i++) {
      const byz = cfg.byz.includes(i);
      if (!byz) this.honest.push(i);
      const ledger = new Ledger();
      this.reps.push({ id: i, byz, inst: this.create(i, undefined, ledger), alive: true, inc: 0, timers: new Map(), ledger, maxPersist: 0, maxRetained: 0, restarts: 0 });
    }
  }

  /** `ledger`: the replica's own finalized chain, kept across restarts, as the real runtimes pass it (ATTACK_NO_LEDGER=1 leaves it out). */
  create(i: number, state?: Uint8Array, ledger?: Ledger): Protocol<StreamletMessage> {
    return def.create({ self: i, ...(ledger && !process.env.ATTACK_NO_LEDGER ? { finalized: ledger } : {}), validators: this.validators, scheme: this.scheme, signer: this.signers[i]!, timing: { delta: this.cfg.delta }, safetyState: process.env.ATTACK_FORGET ? undefined : state, leaderSchedule: this.cfg.leaderSchedule, maxBlockTxs: this.cfg.maxBlockTxs });
  }

  leader(e: number) { return this.cfg.leaderSchedule?.[e] ?? streamletLeader(e, this.cfg.n); }

  tieKey(isTimer: boolean) {
    const t = this.cfg.ties ?? 'random';
    if (t === 'random') return Math.floor(this.rng() * 1e9);
    return (t === 'timers-first') === isTimer ? 0 : 1;
  }

  start() {
    for (const r of this.reps) this.step(r, { type: 'start', now: 0 });
  }

  at(t: number, fn: () => void) { this.q.push(t, -1, { kind: 'fn', fn }); }

  /** Send a message from `from` to `to` now, through the network policy (Byzantine and honest alike). */
  send(from: number, to: number, m: StreamletMessage, extraDelay?: number) {
    if (this.seen.length < 200000) this.seen.push({ from, m, t: this.now });
    let ds: number | number[] | undefined;
    if (extraDelay !== undefined) ds = extraDelay;
    else if (this.cfg.delay) ds = this.cfg.delay(this, from, to, m, this.now);
    else ds = this.now >= this.cfg.gst ? Math.floor(this.rng() * (this.cfg.delta + 1)) : Math.floor(this.rng() * (this.cfg.delta + 1));
    if (ds === undefined) return;
    const list = Array.isArray(ds) ? ds : [ds];
    const target = this.reps[to]!;
    let msg = m;
    if (this.cfg.wire) msg = decodeStreamletMessage(encodeStreamletMessage(m));
    for (const d of list) this.q.push(this.now + Math.max(0, d), this.tieKey(false), { kind: 'msg', to, from, msg, inc: target.inc });
  }

  crash(r: Replica) {
    if (!r.alive) return;
    r.alive = false;
    r.inc++;
    r.timers.clear();
  }

  restart(r: Replica) {
    if (r.alive) return;
    r.alive = true;
    r.restarts++;
    r.inst = this.create(r.id, r.durable, r.ledger);
    this.step(r, { type: 'start', now: this.now });
  }

  step(r: Replica, input: Parameters<Protocol<StreamletMessage>['step']>[0]) {
    let outs: ProtocolOutput<StreamletMessage>[];
    if (this.cfg.throwAsCrash) {
      try { outs = r.inst.step(input); } catch (e) {
        this.throws.push(`t=${this.now} replica ${r.id}: ${(e as Error).message.slice(0, 120)}`);
        this.crash(r);
        this.at(this.now + this.viewLength, () => this.restart(r));
        return;
      }
    } else outs = r.inst.step(input);
    let limit = outs.length;
    let crashNow = false;
    if (r.crashAfter !== undefined && !r.byz) {
      limit = Math.min(r.crashAfter, outs.length);
      crashNow = true;
      r.crashAfter = undefined;
    }
    for (let i = 0; i < limit; i++) this.carry(r, outs[i]!);
    const fp = r.inst.footprint?.();
    if (fp && fp.retained > r.maxRetained) r.maxRetained = fp.retained;
    if (crashNow) {
      this.crash(r);
      const down = r.crashDownFor ?? 0;
      this.at(this.now + down, () => this.restart(r));
    }
  }

  audit(r: Replica, m: StreamletMessage) {
    for (const s of def.votes(m)) {
      if (this.cfg.byz.includes(s.signer)) continue;
      const key = `${s.domain}|${s.view}|${s.sequence}|${s.signer}`;
      const h = toHex(s.blockHash);
      const prev = this.signed.get(key);
      if (prev === undefined) this.signed.set(key, h);
      else if (prev !== h) this.violations.push(`DOUBLE-SIGN t=${this.now} ${key} ${prev.slice(0, 8)} vs ${h.slice(0, 8)} (sent by ${r.id} in a ${m.type}, restarts=${this.reps[s.signer]!.restarts})`);
    }
  }

  carry(r: Replica, o: ProtocolOutput<StreamletMessage>) {
    if (r.byz && r.byzOut) return r.byzOut(o, this.now);
    this.carryPlain(r, o);
  }

  carryPlain(r: Replica, o: ProtocolOutput<StreamletMessage>) {
    switch (o.type) {
      case 'send':
        if (!r.byz) this.audit(r, o.message);
        this.send(r.id, o.to, o.message);
        break;
      case 'broadcast':
        if (!r.byz) this.audit(r, o.message);
        for (let to = 0; to < this.cfg.n; to++) if (to !== r.id) this.send(r.id, to, o.message);
        break;
      case 'set-timer': {
        const token = (r.timers.get(o.timer) ?? 0) + 1;
        r.timers.set(o.timer, token);
        this.q.push(Math.max(o.at, this.now), this.tieKey(true), { kind: 'timer', to: r.id, timer: o.timer, token, inc: r.inc });
        break;
      }
      case 'cancel-timer':
        r.timers.set(o.timer, (r.timers.get(o.timer) ?? 0) + 1);
        break;
      case 'persist':
        r.durable = o.state;
        if (o.state.length > r.maxPersist) r.maxPersist = o.state.length;
        break;
      case 'commit':
        if (r.byz) break;
        try {
          r.ledger.extend(o.blocks);
        } catch (e) {
          if (e instanceof ConsensusError) this.violations.push(`LEDGER t=${this.now} replica ${r.id} restarts=${r.restarts}: ${e.message}`);
          else throw e;
        }
        break;
      case 'evidence':
        if (!r.byz && !this.cfg.byz.includes(o.evidence.offender)) this.violations.push(`EVIDENCE against honest ${o.evidence.offender} at ${r.id} t=${this.now}`);
        break;
      case 'trace':
        break;
    }
  }

  runUntil(end: number, hook?: () => void) {
    while (this.q.size > 0 && this.q.peekTime() <= end) {
      const x = this.q.pop()!;
      this.now = x.t;
      const e = x.e;
      if (e.kind === 'fn') { e.fn(); continue; }
      const r = this.reps[e.to]!;
      if (!r.alive || r.inc !== e.inc) continue;
      if (e.kind === 'timer') {
        if (r.timers.get(e.timer) !== e.token) continue;
        r.timers.delete(e.timer);
        this.step(r, { type: 'timer', timer: e.timer, now: this.now });
      } else {
        this.messagesDelivered++;
        this.step(r, { type: 'message', from: e.from, message: e.msg, now: this.now });
        if (r.byz && r.byzIn) r.byzIn(e.from, e.msg, this.now);
      }
      hook?.();
    }
    this.now = end;
  }

  offer(txs: Uint8Array[], to?: number[]) {
    for (const i of to ?? this.honest) {
      const r = this.reps[i]!;
      if (r.alive) this.step(r, { type: 'transactions', txs, now: this.now });
    }
  }

  checkAgreement() {
    let longest: Ledger | undefined;
    for (const i of this.honest) { const l = this.reps[i]!.ledger; if (!longest || l.height > longest.height) longest = l; }
    for (const i of this.honest) {
      const l = this.reps[i]!.ledger;
      for (let h = 1; h <= l.height; h++) if (l.at(h)!.id !== longest!.at(h)!.id) { this.violations.push(`AGREEMENT replica ${i} height ${h}`); break; }
    }
  }

  heights() { return this.honest.map((i) => this.reps[i]!.ledger.height); }
}

export const signerHelpers = { signStatement, makeBlock, GENESIS, Domains, toHex };
export type { Block, SignedStatement, StreamletMessage };
