// Signature checks on a pool of worker threads, so a replica's one event loop does not spend most
// of its time in Ed25519 (about 63% of a busy replica before this pool).
//
// What runs where, so that the verdict is the one the replica's SignatureScheme would give:
// - on this thread, the strict rule's cheap byte checks (@bftx/crypto: key and signature shapes,
//   canonical S, no small-order key) and the domain-tagged message (domainMessage);
// - in a worker, the one expensive step the "node" backend runs after those: OpenSSL's
//   Ed25519 verify of that message (node:crypto). So the pool is used only with the "node"
//   backend; with another backend (or no workers) jobs are checked on this thread.
// Verdicts are remembered: `scheme` is the replica's scheme with a memory in front, so the
// synchronous check the exchange or the protocol makes later (same key, domain, bytes,
// signature) is a lookup, not a second verification. The memory is bounded (oldest first).
import { Worker } from 'node:worker_threads';
import { bytesEqual, domainMessage, isAcceptablePublicKey, isWellFormedSignature, type DomainTag, type SignatureScheme } from '@bftx/crypto';

/** One signature to check: as `SignatureScheme.verify` takes it. */
export interface VerifyJob {
  readonly publicKey: Uint8Array;
  readonly domain: DomainTag;
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
}

export interface VerifyPoolOptions {
  /** Worker threads (0: every check on this thread). */
  readonly workers: number;
  /** Verdicts remembered for later synchronous checks (default 65,536; oldest dropped first). */
  readonly remember?: number;
}

// The worker: raw messages in one buffer (per job: public key 32 | signature 64 | length u32 LE |
// message), one verdict byte per job back. Plain JS with node:crypto only, so it runs the same
// under tsx, jest, tsup and esbuild bundles (no module file to locate).
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const crypto = require('node:crypto');
const SPKI = Buffer.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00]);
const keys = new Map();
function key(raw) {
  const id = raw.toString('latin1');
  let k = keys.get(id);
  if (k === undefined) {
    try { k = crypto.createPublicKey({ key: Buffer.concat([SPKI, raw]), format: 'der', type: 'spki' }); } catch { k = null; }
    if (keys.size >= 4096) keys.delete(keys.keys().next().value);
    keys.set(id, k);
  }
  return k;
}
parentPort.on('message', ({ id, count, buffer }) => {
  const b = Buffer.from(buffer);
  const verdicts = new Uint8Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const pk = b.subarray(at, at + 32);
    const sig = b.subarray(at + 32, at + 96);
    const len = b.readUInt32LE(at + 96);
    const msg = b.subarray(at + 100, at + 100 + len);
    at += 100 + len;
    const k = key(pk);
    let ok = false;
    if (k !== null) { try { ok = crypto.verify(null, msg, k, sig); } catch { ok = false; } }
    verdicts[i] = ok ? 1 : 0;
  }
  parentPort.postMessage({ id, verdicts }, [verdicts.buffer]);
});
`;

interface Remembered {
  readonly publicKey: Uint8Array;
  readonly domain: DomainTag;
  readonly payload: Uint8Array;
  readonly ok: boolean;
}

/** A job waiting to be sent to a worker, and what to do with its verdict. */
interface Outgoing {
  readonly job: VerifyJob;
  /** The domain-tagged message the worker verifies. */
  readonly message: Uint8Array;
  readonly done: (ok: boolean) => void;
}

interface Lane {
  readonly worker: Worker;
  /** Jobs sent and not answered yet. */
  outstanding: number;
  /** False once the worker failed or exited: nothing more is sent to it. */
  alive: boolean;
}

/** Jobs per message to a worker, at most (a large submission is split across the workers). */
const MAX_JOBS_PER_MESSAGE = 256;

export class VerifyPool {
  readonly workers: number;
  /** The replica's scheme, answering from remembered verdicts first (see the file's head). */
  readonly scheme: SignatureScheme;
  /** Signatures checked by this pool (workers or this thread), and later checks answered from memory. */
  readonly counts = { checked: 0, inWorkers: 0, remembered: 0 };
  private readonly lanes: Lane[] = [];
  private readonly pending = new Map<number, { readonly lane: Lane; resolve: (v: Uint8Array) => void; reject: (e: Error) => void }>();
  private readonly memory = new Map<string, Remembered>();
  private readonly remember: number;
  private nextId = 0;
  private closed = false;
  private outbox: Outgoing[] = [];
  private flushScheduled = false;

  constructor(
    private readonly base: SignatureScheme,
    o: VerifyPoolOptions,
  ) {
    // OpenSSL in the workers gives the node backend's verdicts, and only that backend's.
    this.workers = base.backend === 'node' ? Math.max(0, Math.floor(o.workers)) : 0;
    this.remember = o.remember ?? 65_536;
    for (let i = 0; i < this.workers; i++) {
      const worker = new Worker(WORKER_SOURCE, { eval: true });
      worker.unref();
      const lane: Lane = { worker, outstanding: 0, alive: true };
      worker.on('message', ({ id, verdicts }: { id: number; verdicts: Uint8Array }) => {
        const p = this.pending.get(id);
        this.pending.delete(id);
        p?.resolve(verdicts);
      });
      // A worker that fails takes no more jobs; its unanswered ones are checked on this thread.
      worker.on('error', (e) => this.fail(lane, e));
      worker.on('exit', () => this.fail(lane, new Error('a verify worker exited')));
      this.lanes.push(lane);
    }
    this.scheme = {
      backend: base.backend,
      publicKey: (sk) => base.publicKey(sk),
      // This replica's own signatures are valid by construction: remembered as they are made, so
      // checking its own vote or attestation (a leader counts its own vote) is a lookup.
      signer: (sk) => {
        const inner = base.signer(sk);
        return {
          publicKey: inner.publicKey,
          sign: (domain, payload) => {
            const signature = inner.sign(domain, payload);
            this.keep(signatureId(signature), { publicKey: inner.publicKey, domain, payload, signature }, true);
            return signature;
          },
        };
      },
      verify: (publicKey, domain, payload, signature) => {
        const known = this.recall(publicKey, domain, payload, signature);
        if (known !== undefined) {
          this.counts.remembered++;
          return known;
        }
        return base.verify(publicKey, domain, payload, signature);
      },
    };
  }

  /**
   * Checks every job and remembers the verdicts (for `scheme`); the verdicts in the jobs' order.
   * Jobs failing the cheap byte checks never leave this thread. Never rejects: jobs a worker could
   * not answer (it failed, the pool closed) are checked on this thread.
   */
  check(jobs: readonly VerifyJob[]): Promise<boolean[]> {
    const verdicts: boolean[] = new Array<boolean>(jobs.length).fill(false);
    let waiting = 0;
    let resolve!: (v: boolean[]) => void;
    const all = new Promise<boolean[]>((r) => (resolve = r));
    for (let i = 0; i < jobs.length; i++) {
      const j = jobs[i]!;
      const id = signatureId(j.signature);
      const known = this.recallBy(id, j.publicKey, j.domain, j.payload);
      if (known !== undefined) {
        verdicts[i] = known;
        continue;
      }
      this.counts.checked++;
      if (this.workers === 0 || this.closed || !this.lanes.some((l) => l.alive)) {
        verdicts[i] = this.base.verify(j.publicKey, j.domain, j.payload, j.signature);
        this.keep(id, j, verdicts[i]!);
      } else if (!isAcceptablePublicKey(j.publicKey) || !isWellFormedSignature(j.signature)) {
        this.keep(id, j, false);
      } else {
        waiting++;
        this.outbox.push({
          job: j,
          message: domainMessage(j.domain, j.payload),
          done: (ok) => {
            verdicts[i] = ok;
            this.keep(id, j, ok);
            if (--waiting === 0) resolve(verdicts);
          },
        });
      }
    }
    if (waiting === 0) return Promise.resolve(verdicts);
    // Sent once this turn of the event loop is over: the checks asked meanwhile (other messages,
    // other submissions) go in the same messages to the workers, one per worker at most.
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
    return all;
  }

  /** Sends the jobs waiting in the outbox, split across the live workers, least busy first. */
  private flush(): void {
    this.flushScheduled = false;
    const out = this.outbox;
    this.outbox = [];
    if (out.length === 0) return;
    const lanes = this.lanes.filter((l) => l.alive);
    if (this.closed || lanes.length === 0) return this.checkHere(out);
    this.counts.inWorkers += out.length;
    const per = Math.min(MAX_JOBS_PER_MESSAGE, Math.ceil(out.length / lanes.length));
    for (let from = 0; from < out.length; from += per) {
      const part = out.slice(from, from + per);
      const lane = lanes.reduce((a, b) => (b.outstanding < a.outstanding ? b : a));
      let size = 0;
      for (const p of part) size += 100 + p.message.length;
      const buffer = new ArrayBuffer(size);
      const bytes = new Uint8Array(buffer);
      const view = new DataView(buffer);
      let at = 0;
      for (const p of part) {
        bytes.set(p.job.publicKey, at);
        bytes.set(p.job.signature, at + 32);
        view.setUint32(at + 96, p.message.length, true);
        bytes.set(p.message, at + 100);
        at += 100 + p.message.length;
      }
      const id = this.nextId++;
      lane.outstanding += part.length;
      new Promise<Uint8Array>((resolve, reject) => {
        this.pending.set(id, { lane, resolve, reject });
        lane.worker.postMessage({ id, count: part.length, buffer }, [buffer]);
      }).then(
        (answer) => {
          lane.outstanding -= part.length;
          for (let k = 0; k < part.length; k++) part[k]!.done(answer[k] === 1);
        },
        () => {
          // The worker failed, or the pool closed: checked here instead (never a rejection to the caller).
          lane.outstanding -= part.length;
          this.checkHere(part);
        },
      );
    }
  }

  private checkHere(part: readonly Outgoing[]): void {
    for (const p of part) p.done(this.base.verify(p.job.publicKey, p.job.domain, p.job.payload, p.job.signature));
  }

  /** Whether a verdict for this signature is remembered (for some key and bytes: `check` compares them). */
  remembers(signature: Uint8Array): boolean {
    return this.memory.has(signatureId(signature));
  }

  /** Stops the workers; later checks, and those not answered yet, run on this thread. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.lanes.map((l) => l.worker.terminate()));
    for (const l of this.lanes) this.fail(l, new Error('the verify pool was closed'));
  }

  /** Live workers. */
  get alive(): number {
    return this.lanes.filter((l) => l.alive).length;
  }

  private fail(lane: Lane, e: Error): void {
    lane.alive = false;
    for (const [id, p] of this.pending) {
      if (p.lane !== lane) continue;
      this.pending.delete(id);
      p.reject(e);
    }
  }

  private keep(id: string, j: VerifyJob, ok: boolean): void {
    if (this.memory.size >= this.remember && !this.memory.has(id)) this.memory.delete(this.memory.keys().next().value!);
    // Copies: the caller may reuse its buffers for other bytes.
    this.memory.set(id, { publicKey: j.publicKey.slice(), domain: j.domain, payload: j.payload.slice(), ok });
  }

  /** The remembered verdict for exactly this (key, domain, bytes, signature), if any. */
  private recall(publicKey: Uint8Array, domain: DomainTag, payload: Uint8Array, signature: Uint8Array): boolean | undefined {
    if (this.memory.size === 0 || !(signature instanceof Uint8Array)) return undefined;
    return this.recallBy(signatureId(signature), publicKey, domain, payload);
  }

  private recallBy(id: string, publicKey: Uint8Array, domain: DomainTag, payload: Uint8Array): boolean | undefined {
    if (this.memory.size === 0) return undefined;
    const r = this.memory.get(id);
    if (r === undefined || r.domain !== domain || !bytesEqual(r.publicKey, publicKey) || !bytesEqual(r.payload, payload)) return undefined;
    return r.ok;
  }
}

/** A map key for a signature's bytes (any length: a malformed one is a key like any other). */
function signatureId(signature: Uint8Array): string {
  return Buffer.from(signature.buffer, signature.byteOffset, signature.byteLength).toString('latin1');
}

