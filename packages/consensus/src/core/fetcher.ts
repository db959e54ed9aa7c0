/**
 * What a replica asked its peers for and has not received in a form that proves it: asked once,
 * asked again (of everyone: a Byzantine peer may have answered first, with less) after `retryAfter`
 * until `maxAttempts`, and forgotten then (asked anew when needed again). Bounded: at most
 * `maxOutstanding` requests; when full, the oldest is dropped, or with `priority` the one of lowest
 * priority (the first such in asking order), and a new request of lower priority than every open
 * one is not made. The request type is the protocol's (a block hash with its view and height, a
 * sequence range...); what proves an answer is the protocol's rule, checked before `resolve`.
 */
export class BlockFetcher<R> {
  private readonly open = new Map<string, { request: R; askedAt: number; attempts: number }>();

  constructor(
    private readonly options: {
      readonly maxOutstanding: number;
      readonly maxAttempts: number;
      readonly retryAfter: number;
      /** Which request to drop when full (lowest first); absent: the oldest. */
      readonly priority?: (request: R) => number;
    },
  ) {}

  /** Records a request; returns it if it is new (the caller sends it), undefined if already open or refused for room. */
  ask(id: string, request: R, now: number): R | undefined {
    if (this.open.has(id)) return undefined;
    if (this.open.size >= this.options.maxOutstanding && !this.makeRoom(request)) return undefined;
    this.open.set(id, { request, askedAt: now, attempts: 1 });
    return request;
  }

  /**
   * Asks again for an open request, now with `request` (a later sighting may know more, e.g. the
   * height): returns it if `retryAfter` has passed since it was last asked, or `force`; else
   * undefined and nothing changes. Not open: undefined.
   */
  again(id: string, request: R, now: number, force = false): R | undefined {
    const f = this.open.get(id);
    if (f === undefined || (!force && now - f.askedAt < this.options.retryAfter)) return undefined;
    f.request = request;
    f.askedAt = now;
    f.attempts++;
    return request;
  }

  /** The open request for `id` (the same object: a protocol may update what it learns about it). */
  get(id: string): R | undefined {
    return this.open.get(id)?.request;
  }

  isOpen(id: string): boolean {
    return this.open.has(id);
  }

  /** The answer proved what was asked: the request is closed. */
  resolve(id: string): void {
    this.open.delete(id);
  }

  /** Closes every open request `drop` says is no longer worth having. */
  forget(drop: (id: string, request: R) => boolean): void {
    for (const [id, f] of this.open) if (drop(id, f.request)) this.open.delete(id);
  }

  /** The open requests, in asking order (a copy: the caller may ask, resolve or forget while reading it). */
  requests(): R[] {
    return [...this.open.values()].map((f) => f.request);
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

  /** Drops one request for `incoming`; false if every open one has a higher priority than it. */
  private makeRoom(incoming: R): boolean {
    const priority = this.options.priority;
    if (priority === undefined) {
      this.open.delete(this.open.keys().next().value!);
      return true;
    }
    let lowest: string | undefined;
    let lowestPriority = Infinity;
    for (const [id, f] of this.open) {
      const p = priority(f.request);
      if (p < lowestPriority) [lowest, lowestPriority] = [id, p];
    }
    if (lowest === undefined || lowestPriority > priority(incoming)) return false;
    this.open.delete(lowest);
    return true;
  }
}
