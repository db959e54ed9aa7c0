// A client of a bftx cluster that trusts the validator keys and nothing else: it submits to
// several replicas, and accepts an answer only once it verifies (commit certificate, execution
// attestations, Merkle proof); a replica whose answer does not verify is skipped, and its failure
// kept for the caller to see.
import { sha256, toHex, type Signer } from '@bftx/crypto';
import { expiryFrom, placeAction, signOrder, type OrderAction, type PlaceRequest } from '@bftx/exchange';
import { ClientError } from './errors';
import { resolveTrust, type Trust, type TrustOptions } from './trust';
import { verifyAccountAnswer, verifyBlockAnswer, verifyBookAnswer, verifyOrderAnswer, verifyReceiptAnswer, type VerifiedAccount, type VerifiedBlock, type VerifiedBook, type VerifiedOrder, type VerifiedReceipt } from './verify';

export interface ClientOptions extends TrustOptions {
  /** Base URLs of the replicas' client APIs, e.g. `http://10.0.0.1:9100`. */
  readonly replicas: readonly string[];
  /** Per request (default 5,000 ms). */
  readonly requestTimeoutMs?: number;
  /** How often to ask again while waiting for a receipt (default 100 ms). */
  readonly pollMs?: number;
  /** The fetch to use (default: the global one, in Node 20+ and browsers). */
  readonly fetch?: typeof fetch;
}

/** What became of a submission at each replica. */
export interface Submission {
  /** The transaction id: SHA-256 of its bytes, hex. */
  readonly id: string;
  /** Replicas that took it into their mempool. */
  readonly accepted: readonly string[];
  /** Replicas that refused it, with their reason (their word: a refusal proves nothing). */
  readonly refused: ReadonlyArray<{ readonly replica: string; readonly code: string; readonly message: string }>;
}

export interface PlacedOrder {
  readonly id: string;
  readonly nonce: number;
  /** The receipt, proven final and executed-to by the validators. */
  readonly receipt: VerifiedReceipt;
}

const HEX64 = /^[0-9a-f]{64}$/;

export class Client {
  readonly trust: Trust;
  private readonly replicas: readonly string[];
  private readonly timeoutMs: number;
  private readonly pollMs: number;
  private readonly fetcher: typeof fetch;
  /** Why each replica's last answer was refused (latest first is not kept: one per replica). */
  readonly rejections = new Map<string, ClientError>();
  /** The highest height this client has seen certified: later reads must not go below it. */
  private seenHeight = 0;

  constructor(options: ClientOptions) {
    if (!Array.isArray(options.replicas) || options.replicas.length === 0) throw new ClientError('BAD_OPTIONS', 'replicas: give at least one replica API URL');
    this.trust = resolveTrust(options);
    this.replicas = options.replicas.map((r) => r.replace(/\/+$/, ''));
    this.timeoutMs = options.requestTimeoutMs ?? 5_000;
    this.pollMs = options.pollMs ?? 100;
    const f = options.fetch ?? globalThis.fetch;
    if (typeof f !== 'function') throw new ClientError('BAD_OPTIONS', 'no fetch: pass options.fetch');
    this.fetcher = f.bind(globalThis);
  }

  /** The cluster id orders must carry (hex). */
  get cluster(): string {
    return toHex(this.trust.cluster);
  }

  private async get(replica: string, path: string): Promise<{ status: number; body: unknown }> {
    const res = await this.fetcher(`${replica}${path}`, { signal: AbortSignal.timeout(this.timeoutMs) });
    const text = await res.text();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
    return { status: res.status, body };
  }

  /**
   * Asks the replicas in turn (the first given first) until one answer verifies. A replica that
   * is down, answers an error, or answers something that does not verify is skipped; its reason
   * is kept in `rejections`. Throws NO_VERIFIED_ANSWER (with every reason) when none verifies.
   * `notFound`: the value when a replica answers 404 and none verifies (undefined: 404 counts as a failure).
   */
  private async firstVerified<T>(path: string, check: (body: unknown) => T): Promise<T> {
    const causes: ClientError[] = [];
    for (const replica of this.replicas) {
      try {
        const { status, body } = await this.get(replica, path);
        if (status !== 200) {
          const code = typeof body === 'object' && body !== null && 'error' in body ? String((body as { error: unknown }).error) : `HTTP ${status}`;
          causes.push(new ClientError('NO_VERIFIED_ANSWER', `${path}: ${code}`, replica));
          continue;
        }
        const value = check(body);
        this.rejections.delete(replica);
        return value;
      } catch (e) {
        const err = e instanceof ClientError ? new ClientError(e.code, e.message.replace(/^\w+: /, ''), replica) : new ClientError('NO_VERIFIED_ANSWER', `${path}: ${e instanceof Error ? e.message : String(e)}`, replica);
        if (e instanceof ClientError) this.rejections.set(replica, err);
        causes.push(err);
      }
    }
    throw new ClientError('NO_VERIFIED_ANSWER', `no replica answered ${path} with something that verifies: ${causes.map((c) => c.message).join('; ')}`, undefined, causes);
  }

  private saw(height: number): void {
    if (height > this.seenHeight) this.seenHeight = height;
  }

  /** The highest certified height this client has verified. */
  get height(): number {
    return this.seenHeight;
  }

  /** An account (nonce, balances, open orders) at a certified height no lower than any this client has seen (or `minHeight`). */
  async account(key: string, minHeight = this.seenHeight): Promise<VerifiedAccount> {
    const k = key.toLowerCase();
    if (!HEX64.test(k)) throw new ClientError('BAD_OPTIONS', 'an account is its public key: 64 hex digits');
    const a = await this.firstVerified(`/v1/accounts/${k}`, (body) => verifyAccountAnswer(this.trust, body, k, minHeight));
    this.saw(a.certified.height);
    return a;
  }

  /** One open order of an account, by its client id. */
  async order(key: string, clientId: number, minHeight = this.seenHeight): Promise<VerifiedOrder> {
    const k = key.toLowerCase();
    const o = await this.firstVerified(`/v1/accounts/${k}/orders/${clientId}`, (body) => verifyOrderAnswer(this.trust, body, k, clientId, minHeight));
    this.saw(o.certified.height);
    return o;
  }

  /** A final block, its header and payload checked against its certificate. */
  async block(height: number): Promise<VerifiedBlock> {
    const b = await this.firstVerified(`/v1/blocks/${height}`, (body) => verifyBlockAnswer(this.trust, body, height));
    this.saw(b.certified.height);
    return b;
  }

  /** A market's book (price levels) at a certified height. */
  async book(symbol: string, depth = 50, minHeight = this.seenHeight): Promise<VerifiedBook> {
    const b = await this.firstVerified(`/v1/markets/${encodeURIComponent(symbol)}/book`, (body) => verifyBookAnswer(this.trust, body, symbol, depth, minHeight));
    this.saw(b.certified.height);
    return b;
  }

  /** A transaction's receipt, once it is final and proven; undefined while no replica can prove it. */
  async receipt(txId: string): Promise<VerifiedReceipt | undefined> {
    const id = txId.toLowerCase();
    if (!HEX64.test(id)) throw new ClientError('BAD_OPTIONS', 'a transaction id is 64 hex digits');
    try {
      const r = await this.firstVerified(`/v1/transactions/${id}`, (body) => verifyReceiptAnswer(this.trust, body, id));
      this.saw(r.certified.height);
      return r;
    } catch (e) {
      // Not final (404 everywhere) is an answer a replica cannot fake into a fill: keep waiting.
      if (e instanceof ClientError && e.code === 'NO_VERIFIED_ANSWER') return undefined;
      throw e;
    }
  }

  /** Waits until the transaction's receipt is proven, or `timeoutMs` passes (TIMEOUT, with the replicas' last reasons). */
  async waitForReceipt(txId: string, timeoutMs = 30_000): Promise<VerifiedReceipt> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const r = await this.receipt(txId);
      if (r !== undefined) return r;
      if (Date.now() >= end) throw new ClientError('TIMEOUT', `no replica proved transaction ${txId.slice(0, 12)} final within ${timeoutMs} ms`, undefined, [...this.rejections.values()]);
      await new Promise((resolve) => setTimeout(resolve, this.pollMs));
    }
  }

  /** Offers signed transaction bytes to every replica. Throws REFUSED when none takes it. */
  async submit(tx: Uint8Array): Promise<Submission> {
    const id = toHex(sha256(tx));
    const body = JSON.stringify({ transactions: [toHex(tx)] });
    const answers = await Promise.all(
      this.replicas.map(async (replica) => {
        try {
          const res = await this.fetcher(`${replica}/v1/transactions`, { method: 'POST', body, headers: { 'content-type': 'application/json' }, signal: AbortSignal.timeout(this.timeoutMs) });
          const text = await res.text();
          if (res.ok) return { replica, ok: true as const };
          let code = `HTTP ${res.status}`;
          let message = text;
          try {
            const j = JSON.parse(text) as { error?: string; message?: string };
            code = j.error ?? code;
            message = j.message ?? text;
          } catch {
            /* not JSON: keep the text */
          }
          return { replica, ok: false as const, code, message };
        } catch (e) {
          return { replica, ok: false as const, code: 'UNREACHABLE', message: e instanceof Error ? e.message : String(e) };
        }
      }),
    );
    const accepted = answers.filter((a) => a.ok).map((a) => a.replica);
    const refused = answers.flatMap((a) => (a.ok ? [] : [{ replica: a.replica, code: a.code, message: a.message }]));
    if (accepted.length === 0) throw new ClientError('REFUSED', `no replica took transaction ${id.slice(0, 12)}: ${refused.map((r) => `${r.replica}: ${r.code} ${r.message}`).join('; ')}`, undefined, refused.map((r) => new ClientError('REFUSED', `${r.code}: ${r.message}`, r.replica, [], r.code)));
    return { id, accepted, refused };
  }

  /**
   * Signs an order for this cluster and submits it. The nonce is the account's proven nonce + 1
   * unless given; the order expires `lifetime` blocks after the latest certified height (bounded
   * by the exchange's maximum lifetime). Resolves with the proven receipt (executed or rejected).
   */
  async placeOrder(signer: Signer, order: OrderAction | PlaceRequest, options: { nonce?: number; lifetime?: number; timeoutMs?: number } = {}): Promise<PlacedOrder> {
    let nonce = options.nonce;
    let height = this.seenHeight;
    if (nonce === undefined) {
      const account = await this.account(toHex(signer.publicKey));
      nonce = account.nonce + 1;
      height = account.certified.height;
    }
    const action: OrderAction = 'action' in order ? order : placeAction(order);
    const tx = signOrder(signer, nonce, action, { cluster: this.trust.cluster, expiresAt: expiryFrom(height, options.lifetime) });
    const { id } = await this.submit(tx);
    const receipt = await this.waitForReceipt(id, options.timeoutMs);
    return { id, nonce, receipt };
  }
}
