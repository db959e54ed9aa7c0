// Items 2 and 4 of issue 15, driven step by step (a crash right after one output, a message
// delivered back to its sender): a restarted HotStuff replica, created from its last persist
// output alone, never signs a second statement for a view, and fetches the block its highest QC
// names instead of waiting for it.
import { SimulatedSignatureScheme, ValidatorSet, type Evidence, type Protocol, type ProtocolConfig, type ProtocolInput, type ProtocolOutput } from '@bftx/consensus';
import { toHex } from '@bftx/crypto';
import { hotstuff, type HotStuffMessage } from '../src/index';

const N = 4;
const scheme = new SimulatedSignatureScheme();
const signers = Array.from({ length: N }, (_, i) => scheme.signer(scheme.keyPair(i).secretKey));
const validators = new ValidatorSet(signers.map((s) => s.publicKey));
const def = hotstuff();

/** A step's input; the cluster sets the time. */
type Input = ProtocolInput<HotStuffMessage> extends infer T ? (T extends unknown ? Omit<T, 'now'> : never) : never;

interface Envelope {
  readonly from: number;
  readonly to: number;
  readonly message: HotStuffMessage;
}

/**
 * A cluster driven by hand: every message goes into one FIFO queue; `pump` delivers what a filter
 * lets through. Each replica's persist outputs are kept as the runtime would (the last one carried
 * out), and everything a replica sends, over all its lives, is kept for the double-signing audit.
 */
class Cluster {
  readonly replicas: Protocol<HotStuffMessage>[];
  readonly persisted: (Uint8Array | undefined)[] = Array.from({ length: N }, () => undefined);
  readonly sent: HotStuffMessage[][] = Array.from({ length: N }, () => []);
  readonly evidence: Evidence[] = [];
  queue: Envelope[] = [];
  now = 0;

  constructor() {
    this.replicas = Array.from({ length: N }, (_, i) => def.create(this.config(i)));
  }

  config(self: number, safetyState?: Uint8Array): ProtocolConfig {
    return { self, validators, scheme, signer: signers[self]!, timing: { delta: 10 }, ...(safetyState ? { safetyState } : {}) };
  }

  /** Steps replica `i`; `crashAfter` picks the output after which it crashes (that output carried out, none after). */
  step(i: number, input: Input, crashAfter?: (o: ProtocolOutput<HotStuffMessage>) => boolean): boolean {
    const outputs = this.replicas[i]!.step({ ...input, now: ++this.now } as ProtocolInput<HotStuffMessage>);
    for (const o of outputs) {
      if (o.type === 'persist') this.persisted[i] = o.state;
      if (o.type === 'evidence') this.evidence.push(o.evidence);
      if (o.type === 'send' || o.type === 'broadcast') {
        this.sent[i]!.push(o.message);
        for (let to = 0; to < N; to++) if (to !== i && (o.type === 'broadcast' || o.to === to)) this.queue.push({ from: i, to, message: o.message });
      }
      if (crashAfter?.(o)) return true;
    }
    return false;
  }

  /** Restarts replica `i` from its last persist output alone. */
  restart(i: number): void {
    this.replicas[i] = def.create(this.config(i, this.persisted[i]));
    this.queue = this.queue.filter((e) => e.to !== i); // in flight to it: lost
    this.step(i, { type: 'start' });
  }

  /** Delivers queued messages the filter lets through (the rest are lost), until none is left or `until` holds. */
  pump(filter: (e: Envelope) => boolean = () => true, until: () => boolean = () => false, max = 10_000): void {
    for (let k = 0; k < max && this.queue.length > 0 && !until(); k++) {
      const e = this.queue.shift()!;
      if (filter(e)) this.step(e.to, { type: 'message', from: e.from, message: e.message });
    }
  }

  /** Statements replica `i` signed for one view with two different blocks, over all its lives. */
  doubleSigns(i: number): string[] {
    const seen = new Map<string, string>();
    const out: string[] = [];
    for (const m of this.sent[i]!) {
      for (const s of def.votes(m)) {
        if (s.signer !== i) continue;
        const key = `${s.domain} view ${s.view}`;
        const h = toHex(s.blockHash);
        if (seen.has(key) && seen.get(key) !== h) out.push(key);
        seen.set(key, h);
      }
    }
    return out;
  }
}

const proposalOf = (m: HotStuffMessage, view: number) => m.type === 'proposal' && m.block.view === view;

describe('hotstuff restarts from its persisted state alone', () => {
  test('item 2: a leader that crashed right after sending its proposal, given it back after the restart, proposes nothing else in that view', () => {
    const c = new Cluster();
    // Replica 2 leads view 2 and has a transaction to order (so a re-proposal would differ).
    c.step(2, { type: 'transactions', txs: [Uint8Array.of(7, 7, 7)] });
    for (let i = 0; i < N; i++) c.step(i, { type: 'start' });
    // View 1 runs; replica 2 forms QC(1) from the votes, proposes in view 2, and crashes right after the proposal leaves.
    let crashed = false;
    for (let k = 0; k < 1000 && c.queue.length > 0 && !crashed; k++) {
      const e = c.queue.shift()!;
      crashed = c.step(e.to, { type: 'message', from: e.from, message: e.message }, (o) => e.to === 2 && o.type === 'broadcast' && proposalOf(o.message, 2));
    }
    expect(crashed).toBe(true);
    const original = c.sent[2]!.find((m) => proposalOf(m, 2))!;
    c.queue = []; // the view stalls: nothing else arrives
    c.restart(2);
    // Its own proposal comes back (an echo, a replay), and replica 0 answers what it fetches.
    c.queue.push({ from: 0, to: 2, message: original });
    c.pump((e) => (e.from === 2 && e.to === 0) || (e.from === 0 && e.to === 2));
    const proposals = c.sent[2]!.filter((m) => proposalOf(m, 2)).map((m) => (m.type === 'proposal' ? m.block.id : ''));
    expect(new Set(proposals).size).toBe(1);
    expect(c.doubleSigns(2)).toEqual([]);
    // Whatever it sent reaches replica 0: no evidence against it.
    c.pump((e) => e.from === 2);
    expect(c.evidence).toEqual([]);
  });

  test('item 2: a replica that crashed mid-step, at any output, never signs a second statement for a view after it restarts', () => {
    // For every output of every step of a short run of replica 1, crash right after it, restart, and run on.
    for (let cut = 0; cut < 40; cut++) {
      const c = new Cluster();
      for (let i = 0; i < N; i++) c.step(i, { type: 'start' });
      let seen = 0;
      let crashed = false;
      for (let k = 0; k < 400 && c.queue.length > 0; k++) {
        const e = c.queue.shift()!;
        const down = c.step(e.to, { type: 'message', from: e.from, message: e.message }, (o) => !crashed && e.to === 1 && o.type !== 'trace' && seen++ === cut);
        if (down) {
          crashed = true;
          c.restart(1);
          // Old messages come back to it: replays of everything it was sent so far.
          for (const m of c.sent.flat()) c.queue.push({ from: 0, to: 1, message: m });
        }
        if (k % 50 === 49) for (let i = 0; i < N; i++) c.step(i, { type: 'timer', timer: 'view' });
      }
      expect({ cut, double: c.doubleSigns(1) }).toEqual({ cut, double: [] });
      expect(c.evidence).toEqual([]);
    }
  });

  test('item 4: a restarted leader whose highest QC names a block it does not hold fetches it, and proposes on it', () => {
    const c = new Cluster();
    for (let i = 0; i < N; i++) c.step(i, { type: 'start' });
    // Views 1 to 4 with everyone, until replica 1 proposes B5 (view 5). Replica 3 is down from then on.
    c.pump(() => true, () => c.sent[1]!.some((m) => proposalOf(m, 5)));
    c.queue = c.queue.filter((e) => e.to !== 3);
    // Replica 2 (the other collector of view 5) certifies B5, then its proposal for view 6 is lost:
    // only replica 2 knows QC(5), and no replica that restarts now holds B5.
    c.pump((e) => e.to !== 3 && !proposalOf(e.message, 6));
    const b5 = c.sent[1]!.find((m) => proposalOf(m, 5))!;
    expect(c.sent[2]!.some((m) => proposalOf(m, 6))).toBe(true);
    c.restart(3);
    // Views 5 and 6 time out (timeouts are all that flows, with fetches and their answers); replica 3
    // learns QC(5) from replica 2's timeout and leads view 7.
    for (let round = 0; round < 6 && !c.sent[3]!.some((m) => proposalOf(m, 7)); round++) {
      for (let i = 0; i < N; i++) c.step(i, { type: 'timer', timer: 'view' });
      c.pump((e) => !proposalOf(e.message, 6) && e.message.type !== 'vote' && e.message.type !== 'proposal');
    }
    const p7 = c.sent[3]!.find((m) => proposalOf(m, 7));
    expect(p7).toBeDefined();
    expect(p7!.type === 'proposal' && b5.type === 'proposal' && p7!.block.parentId).toBe(b5.type === 'proposal' && b5.block.id);
    expect(c.sent[3]!.some((m) => m.type === 'fetch' && b5.type === 'proposal' && toHex(m.blockHash) === b5.block.id)).toBe(true);
    expect(c.doubleSigns(3)).toEqual([]);
  });
});
