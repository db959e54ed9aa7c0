import type { Block } from '../block';
import type { Evidence } from '../evidence';
import type { ProtocolOutput, TimerId, TraceEvent } from '../protocol';
import type { RejectionCode } from '../rejection';

/**
 * Collects what one step asks of the runtime, in order: the one way every protocol emits
 * outputs. `take()` at the end of `step` hands them over and starts an empty list.
 */
export class Outbox<M> {
  private list: ProtocolOutput<M>[] = [];

  take(): ProtocolOutput<M>[] {
    const out = this.list;
    if (out.length === 0) return NOTHING as unknown as ProtocolOutput<M>[]; // most steps ask nothing: no array made for them
    this.list = [];
    return out;
  }

  send(to: number, message: M): void {
    this.list.push({ type: 'send', to, message });
  }

  broadcast(message: M): void {
    this.list.push({ type: 'broadcast', message });
  }

  setTimer(timer: TimerId, at: number): void {
    this.list.push({ type: 'set-timer', timer, at });
  }

  cancelTimer(timer: TimerId): void {
    this.list.push({ type: 'cancel-timer', timer });
  }

  /** Safety state: durable before any output after it is carried out. */
  persist(state: Uint8Array): void {
    this.list.push({ type: 'persist', state });
  }

  /**
   * Blocks final, lowest first; `certificate` (when the protocol holds the statements) proves the
   * last of them. Given as a function, it is encoded when the runtime first reads the output's
   * `certificate` (once: the bytes are kept), so a runtime that does not keep certificates (most
   * simulations) never pays for the encoding; the function must capture only what does not change.
   */
  commit(blocks: readonly Block[], certificate?: Uint8Array | (() => Uint8Array)): void {
    if (blocks.length === 0) return;
    if (certificate === undefined) this.list.push({ type: 'commit', blocks });
    else if (typeof certificate !== 'function') this.list.push({ type: 'commit', blocks, certificate });
    else {
      let bytes: Uint8Array | undefined;
      this.list.push({
        type: 'commit',
        blocks,
        get certificate(): Uint8Array {
          return (bytes ??= certificate());
        },
      });
    }
  }

  /** Evidence of misbehaviour, if any (what `EquivocationDetector.observe` returned). */
  evidence(evidence: Evidence | undefined): void {
    if (evidence !== undefined) this.list.push({ type: 'evidence', evidence });
  }

  trace(event: TraceEvent): void {
    this.list.push({ type: 'trace', event });
  }

  /** Refuses an input: typed, counted, and nothing else changes. */
  reject(code: RejectionCode, from?: number, kind?: string): void {
    // One object of one shape (no spreads): refusals are the most frequent output of an echoing protocol.
    this.list.push({ type: 'reject', code, from, kind });
  }
}

/** What a step that asks nothing returns (frozen: a runtime must not add to it). */
const NOTHING: readonly never[] = Object.freeze([]);
