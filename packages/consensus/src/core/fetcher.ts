/**
 * What a replica asked its peers for and has not received in a form that proves it: asked once,
 * asked again (of everyone: a Byzantine peer may have answered first, with less) after `retryAfter`
 * until `maxAttempts`, and forgotten then (asked anew when needed again). Bounded: at most
 * `maxOutstanding` requests, the oldest dropped first. The request type is the protocol's (a block
 * hash and height, a sequence range...); what proves an answer is the protocol's rule, checked
 * before `resolve`.
 */
export class BlockFetcher<R> {
  private readonly open = new Map<string, { request: R; askedAt: number; attempts: number }>();

  constructor(
    private readonly options: { readonly maxOutstanding: number; readonly maxAttempts: number; readonly retryAfter: number },
  ) {}

  /** Records a request; returns it if it is new (the caller sends it), undefined if already open. */
  ask(id: string, request: R, now: number): R | undefined {
    if (this.open.has(id)) return undefined;
    if (this.open.size >= this.options.maxOutstanding) this.open.delete(this.open.keys().next().value!);
    this.open.set(id, { request, askedAt: now, attempts: 1 });
    return request;
  }

  isOpen(id: string): boolean {
    return this.open.has(id);
  }

  /** The answer proved what was asked: the request is closed. */
  resolve(id: string): void {
    this.open.delete(id);
  }

  /**
   * The requests to send again now (their attempt counted), after closing those `done` says are
   * satisfied and those out of attempts.
   */
  due(now: number, done: (id: string) => boolean = () => false): R[] {
    const again: R[] = [];
    for (const [id, f] of this.open) {
      if (done(id) || f.attempts >= this.options.maxAttempts) this.open.delete(id);
      else if (now - f.askedAt >= this.options.retryAfter) {
        f.attempts++;
        f.askedAt = now;
        again.push(f.request);
      }
    }
    return again;
  }

  get size(): number {
    return this.open.size;
  }
}
