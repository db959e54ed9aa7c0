// Own runtime driving Protocol.step directly: event queue, crashes (with output prefixes), restarts
// from the last persist only, Byzantine hooks, audits (double signing, ledger conflicts, agreement).
import { Ledger, SimulatedSignatureScheme, ValidatorSet, type Protocol, type ProtocolDefinition, type ProtocolOutput, type Block } from '@bftx/consensus';
import { toHex } from '@bftx/crypto';

export class Rng {
  constructor(private s: number) { this.s = (s >>> 0) || 1; }
  next(): number { let x = this.s; x ^= x << 13; x >>>= 0; x ^= x >>> 17; x ^= x << 5; x >>>= 0; this.s = x; return x / 4294967296; }
  int(n: number): number { return Math.floor(this.next() * n); }
  pick<T>(a: readonly T[]): T { return a[this.int(a.length)]!; }
}

type Ev = { at: number; seq: number; kind: 'msg'; to: number; from: number; m: any; inc: number } | { at: number; seq: number; kind: 'timer'; to: number; id: string; gen: number; inc: number } | { at: number; seq: number; kind: 'fn'; fn: () => void };

export interface Net {
  /** delay in ms or undefined = lost */
  delay(from: number, to: number, m: any, now: number): number | undefined;
}

export interface ByzBehaviour {
  /** called on each message delivered to a byzantine replica; returns sends */
  onMessage?(rt: Runtime, self: number, from: number, m: any): void;
  /** byzantine replicas may also run an honest instance underneath and filter its outputs */
  filter?(rt: Runtime, self: number, o: ProtocolOutput<any>): ProtocolOutput<any>[];
}

export class Runtime {
  readonly scheme = new SimulatedSignatureScheme();
  readonly signers;
  readonly validators: ValidatorSet;
  q: Ev[] = [];
  seq = 0;
  now = 0;
  inst: (Protocol<any> | undefined)[] = [];
  inc: number[] = [];
  persisted: (Uint8Array | undefined)[] = [];
  ledgers: Ledger[] = [];
  timers: Map<string, number>[] = [];
  timerGen = 0;
  signedBy = new Map<string, string>();
  violations: string[] = [];
  sentLog: { t: number; from: number; to: number | 'all'; m: any }[] = [];
  keepLog = false;
  maxPersist = 0;
  crashAtStep = new Map<number, number>(); // replica -> prefix for its next step
  stepsHandled = 0;
  commitTimes: number[][] = [];
  byz = new Map<number, ByzBehaviour>();
  onSend?: (from: number, to: number | 'all', m: any) => void;
  evidence: any[] = [];
  constructor(readonly def: ProtocolDefinition<any>, readonly n: number, readonly delta: number, public net: Net, readonly extra: Record<string, unknown> = {}) {
    this.signers = Array.from({ length: n }, (_, i) => this.scheme.signer(this.scheme.keyPair(i).secretKey));
    this.validators = new ValidatorSet(this.signers.map((s) => s.publicKey));
    for (let i = 0; i < n; i++) { this.ledgers.push(new Ledger()); this.timers.push(new Map()); this.inc.push(0); this.persisted.push(undefined); this.inst.push(undefined); this.commitTimes.push([]); }
  }
  get f() { return this.validators.f; }
  create(i: number) {
    return this.def.create({ self: i, validators: this.validators, scheme: this.scheme, signer: this.signers[i]!, timing: { delta: this.delta }, finalized: this.ledgers[i]!, ...(this.persisted[i] ? { safetyState: this.persisted[i] } : {}), ...this.extra });
  }
  push(e: any) { e.seq = this.seq++; // binary insert
    let lo = 0, hi = this.q.length; while (lo < hi) { const mid = (lo + hi) >> 1; const x = this.q[mid]!; if (x.at < e.at || (x.at === e.at && x.seq < e.seq)) lo = mid + 1; else hi = mid; } this.q.splice(lo, 0, e); }
  at(t: number, fn: () => void) { this.push({ at: t, kind: 'fn', fn }); }
  start(i: number) {
    this.inc[i]!++;
    this.timers[i] = new Map();
    this.inst[i] = this.create(i);
    this.deliver(i, { type: 'start', now: this.now });
  }
  crash(i: number) { this.inst[i] = undefined; this.inc[i]!++; this.timers[i] = new Map(); }
  send(from: number, to: number, m: any) {
    if (this.keepLog) this.sentLog.push({ t: this.now, from, to, m });
    const d = this.net.delay(from, to, m, this.now);
    if (d === undefined) return;
    this.push({ at: this.now + d, kind: 'msg', to, from, m, inc: this.inc[to]! });
  }
  /** inject a message from a (byzantine) sender to one replica */
  inject(from: number, to: number, m: any, d = 0) { this.push({ at: this.now + d, kind: 'msg', to, from, m, inc: this.inc[to]! }); }
  audit(i: number, m: any) {
    for (const s of this.def.votes(m)) {
      if (s.signer !== i) continue;
      const k = `${s.domain}|${s.view}|${s.sequence}|${i}`;
      const h = toHex(s.blockHash);
      const prev = this.signedBy.get(k);
      if (prev === undefined) this.signedBy.set(k, h);
      else if (prev !== h) this.violations.push(`t=${this.now} DOUBLE-SIGN by honest ${i}: ${k} ${prev.slice(0, 8)} vs ${h.slice(0, 8)} (${this.def.messageKind(m)})`);
    }
  }
  deliver(i: number, input: any) {
    const p = this.inst[i];
    if (!p) return;
    this.stepsHandled++;
    let outs = p.step(input);
    const byz = this.byz.get(i);
    if (byz?.filter) outs = outs.flatMap((o) => byz.filter!(this, i, o));
    let limit = outs.length;
    const crashPrefix = this.crashAtStep.get(i);
    if (crashPrefix !== undefined) { this.crashAtStep.delete(i); limit = Math.min(crashPrefix, outs.length); }
    for (let k = 0; k < limit; k++) {
      const o = outs[k]!;
      switch (o.type) {
        case 'send': if (!byz) this.audit(i, o.message); this.onSend?.(i, o.to, o.message); this.send(i, o.to, o.message); break;
        case 'broadcast': if (!byz) this.audit(i, o.message); this.onSend?.(i, 'all', o.message); for (let j = 0; j < this.n; j++) if (j !== i) this.send(i, j, o.message); break;
        case 'set-timer': { const g = ++this.timerGen; this.timers[i]!.set(o.timer, g); this.push({ at: o.at, kind: 'timer', to: i, id: o.timer, gen: g, inc: this.inc[i]! }); break; }
        case 'cancel-timer': this.timers[i]!.delete(o.timer); break;
        case 'persist': this.persisted[i] = o.state; this.maxPersist = Math.max(this.maxPersist, o.state.length); break;
        case 'commit':
          if (!byz) try { const added = this.ledgers[i]!.extend(o.blocks as Block[]); for (const _ of added) this.commitTimes[i]!.push(this.now); } catch (e) { this.violations.push(`t=${this.now} LEDGER replica ${i}: ${(e as Error).message}`); }
          break;
        case 'evidence': this.evidence.push({ by: i, ev: o.evidence }); break;
      }
    }
    if (crashPrefix !== undefined) this.crash(i);
  }
  run(until: number, maxSteps = 2_000_000) {
    let steps = 0;
    while (this.q.length > 0 && this.q[0]!.at <= until && steps++ < maxSteps) {
      const e = this.q.shift()!;
      this.now = e.at;
      if (e.kind === 'fn') { e.fn(); continue; }
      if (e.inc !== this.inc[e.to]) continue; // lost: crashed since
      if (e.kind === 'timer') {
        if (this.timers[e.to]!.get(e.id) !== e.gen) continue;
        this.timers[e.to]!.delete(e.id);
        this.deliver(e.to, { type: 'timer', timer: e.id, now: this.now });
      } else {
        const b = this.byz.get(e.to);
        if (b?.onMessage) { b.onMessage(this, e.to, e.from, e.m); if (!this.inst[e.to]) continue; }
        this.deliver(e.to, { type: 'message', from: e.from, message: e.m, now: this.now });
      }
    }
    this.now = until;
  }
  honest(): number[] { return [...Array(this.n).keys()].filter((i) => !this.byz.has(i)); }
  checkAgreement() {
    const hs = this.honest();
    const maxH = Math.max(...hs.map((i) => this.ledgers[i]!.height));
    for (let h = 1; h <= maxH; h++) {
      let id: string | undefined;
      for (const i of hs) { const b = this.ledgers[i]!.at(h); if (!b) continue; if (id === undefined) id = b.id; else if (id !== b.id) { this.violations.push(`AGREEMENT height ${h}: ${id.slice(0, 8)} vs ${b.id.slice(0, 8)} (replica ${i})`); return; } }
    }
  }
  heights() { return this.ledgers.map((l) => l.height); }
}

export function randNet(rng: Rng, delta: number, gst: number, opts: { loss?: number; maxPre?: number; dup?: number; exact?: boolean; lossFn?: (m: any) => boolean } = {}): Net {
  return {
    delay(from, to, m, now) {
      if (now < gst) {
        if (opts.lossFn?.(m)) return undefined;
        if (rng.next() < (opts.loss ?? 0)) return undefined;
        return rng.int(opts.maxPre ?? 5 * delta);
      }
      if (opts.exact) return rng.next() < 0.5 ? 0 : delta;
      const r = rng.next();
      return r < 0.15 ? 0 : r < 0.3 ? delta : rng.int(delta + 1);
    },
  };
}
