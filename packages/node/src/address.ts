// Connection caps count per client: this says what one client is.

/**
 * Who a connection counts against: an IPv4 address, or an IPv6 address's /64 (one host is usually
 * handed a whole /64, so counting single IPv6 addresses would give it as many as it likes).
 */
export function clientOf(address: string | undefined): string {
  if (address === undefined) return '?';
  const v4 = /^(?:::ffff:)?(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (v4) return v4[1]!;
  if (!address.includes(':')) return address;
  // Expand '::' and keep the first four groups.
  const [head, tail] = address.split('::') as [string, string | undefined];
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = tail === undefined ? h : [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t];
  return `${groups.slice(0, 4).map((g) => g.toLowerCase().replace(/^0+(?=.)/, '')).join(':')}::/64`;
}

/**
 * Open connections counted per client and in all, against caps: `admit` takes a place (false when a
 * cap is reached), `release` gives it back when the connection closes.
 */
export class ConnectionCaps {
  private readonly perClient = new Map<string, number>();
  private total = 0;

  constructor(
    private readonly maxPerClient: number,
    private readonly maxTotal: number,
  ) {}

  /** Takes a place for `client`; `exemptFromTotal` for clients the total must not shut out. */
  admit(client: string, exemptFromTotal = false): boolean {
    const held = this.perClient.get(client) ?? 0;
    if (held >= this.maxPerClient || (!exemptFromTotal && this.total >= this.maxTotal)) return false;
    this.perClient.set(client, held + 1);
    this.total++;
    return true;
  }

  release(client: string): void {
    const left = (this.perClient.get(client) ?? 1) - 1;
    if (left === 0) this.perClient.delete(client);
    else this.perClient.set(client, left);
    this.total--;
  }

  /** Places held now. */
  get size(): number {
    return this.total;
  }
}
