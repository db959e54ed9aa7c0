// The client API of one replica, over HTTP (node:http) and WebSocket (ws). Clients submit signed
// transactions and read the replicated state this replica has applied: market data, accounts,
// finalized blocks; they can stream finalized blocks and trades. Every request is checked before it
// touches the replica: a malformed one gets a 4xx with a machine-readable code and a reason, and
// changes nothing. Prometheus scrapes /metrics here too.
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { decode, encode, fromHex, hash, toHex, type MerkleProof } from '@bftx/crypto';
import { BlockHeaderCodec, decodeLogElement, FinalityProofCodec, headerOf, payloadTransactions, type Block, type BlockHeader, type SignedStatement } from '@bftx/consensus';
import { AccountLeafCodec, AccountProofCodec, AttestationCodec, BOOKS_DOMAIN, attestationThreshold, receiptProof, ReceiptProofCodec, StateOpeningCodec, type Attestation, type BlockResult, type StateOpening, type TxReceipt } from '@bftx/exchange';
import { WebSocketServer, type WebSocket } from 'ws';
import { clientOf, ConnectionCaps } from './address';
import { FrameDecoder } from './frame';
import type { ReplicaNode } from './replica';

export interface ClientApiOptions {
  readonly host: string;
  /** 0 picks a free port. */
  readonly port: number;
  /** Largest request body accepted (default 1 MiB). */
  readonly maxBodyBytes?: number;
  /** Most transactions in one submission (default 1000). */
  readonly maxBatch?: number;
  /** Most queued outgoing bytes per WebSocket client before it is dropped as too slow (default 1 MiB). */
  readonly maxStreamBacklogBytes?: number;
  /** Most open block streams (default 128) and from one address (default 8); a stream is not bound by the request timeouts. */
  readonly maxStreams?: number;
  readonly maxStreamsPerClient?: number;
  /** Receipts of this many recent finalized transactions are kept for GET /v1/transactions/:id (default 100,000). */
  readonly recentReceipts?: number;
  /** A request (headers and body) must arrive whole within this (default 10 s; Node's own is 300 s): a slow body cannot hold memory. */
  readonly requestTimeoutMs?: number;
  /** Headers must arrive within this (default 5 s). */
  readonly headersTimeoutMs?: number;
  /** Most open client connections (default 512) and from one address (default 32); more are closed at once and counted. */
  readonly maxConnections?: number;
  readonly maxConnectionsPerClient?: number;
  /**
   * An answer about a height this replica holds fewer than f+1 matching attestations for waits up
   * to this long for them (default 2,000 ms; they come a moment after the block is applied), then
   * answers with what it has: the client decides its threshold.
   */
  readonly attestationWaitMs?: number;
}

/** A request the API refuses: HTTP status, a stable code, and a reason a person can act on. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const HEX = /^[0-9a-fA-F]*$/;

/** An unfair proposal's payload is served with its evidence up to this size (its receive logs can make it large). */
export const MAX_EVIDENCE_PAYLOAD_BYTES = 64 * 1024;

/** A transaction's public id: the SHA-256 of its exact bytes, in hex (what the API and the stream name it by). */
export function transactionId(tx: Uint8Array): string {
  // node:crypto: on a hot path (every transaction, twice per replica), about three times noble's speed here.
  return createHash('sha256').update(tx).digest('hex');
}

type Route = { readonly name: 'metrics' | 'status' | 'submit' | 'block' | 'transaction' | 'account' | 'order' | 'evidence' | 'market' | 'book'; readonly method: 'GET' | 'POST' };

/** Which route a (decoded) path names, whatever the method: a known path with the wrong method is a 405, not a 404. */
function routeOf(parts: readonly string[]): Route | undefined {
  if (parts.length === 1 && parts[0] === 'metrics') return { name: 'metrics', method: 'GET' };
  if (parts[0] !== 'v1') return undefined;
  if (parts.length === 2 && parts[1] === 'status') return { name: 'status', method: 'GET' };
  if (parts.length === 2 && parts[1] === 'transactions') return { name: 'submit', method: 'POST' };
  if (parts.length === 2 && parts[1] === 'evidence') return { name: 'evidence', method: 'GET' };
  if (parts.length === 3 && parts[1] === 'blocks') return { name: 'block', method: 'GET' };
  if (parts.length === 3 && parts[1] === 'transactions') return { name: 'transaction', method: 'GET' };
  if (parts.length === 3 && parts[1] === 'accounts') return { name: 'account', method: 'GET' };
  if (parts.length === 5 && parts[1] === 'accounts' && parts[3] === 'orders') return { name: 'order', method: 'GET' };
  if (parts.length === 4 && parts[1] === 'markets' && parts[3] === 'book') return { name: 'book', method: 'GET' };
  if (parts.length === 4 && parts[1] === 'markets' && (parts[3] === 'l1' || parts[3] === 'l2')) return { name: 'market', method: 'GET' };
  return undefined;
}


/** A state opening as JSON: its four parts, and its canonical bytes (StateOpeningCodec). */
function openingJson(o: StateOpening) {
  return { header: toHex(o.header), accounts: toHex(o.accounts), books: toHex(o.books), receipts: toHex(o.receipts), hex: toHex(encode(StateOpeningCodec, o)) };
}

function merkleJson(p: MerkleProof) {
  return { index: p.index, size: p.size, siblings: p.siblings.map(toHex) };
}

function headerJson(h: BlockHeader) {
  return { parent: toHex(h.parent), height: h.height, view: h.view, proposer: h.proposer, payloadRoot: toHex(h.payloadRoot) };
}

function attestationJson(a: Attestation) {
  return { signer: a.signer, height: a.height, blockHash: toHex(a.blockHash), stateRoot: toHex(a.stateRoot), signature: toHex(a.signature), hex: toHex(encode(AttestationCodec, a)) };
}

function checkAccountKey(key: string): void {
  if (key.length !== 64 || !HEX.test(key)) throw new ApiError(400, 'BAD_ACCOUNT', 'an account is its public key: 64 hex digits');
}

/** JSON with bigints as decimal strings (balances and fees are integers of any size). */
function json(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
}

export class ClientApi {
  private readonly server: Server;
  private readonly sockets: WebSocketServer;
  private readonly streams = new Set<WebSocket>();
  private readonly maxBody: number;
  private readonly maxBatch: number;
  private readonly maxBacklog: number;
  private readonly maxReceipts: number;
  // Recent finalized transactions by id, oldest first (a Map keeps insertion order).
  private readonly receipts = new Map<string, { readonly height: number; readonly index: number; readonly receipt: TxReceipt }>();
  // The receipt leaves and the state opening of the recent heights that held transactions (what a
  // receipt's proof is built from), oldest first; dropped with the last receipt kept of their height.
  private readonly blockProofs = new Map<number, { readonly leaves: readonly Uint8Array[]; readonly opening: StateOpening }>();
  private readonly attestationWaitMs: number;
  /** Requests waiting for the first block to be applied here (the genesis state has no certification). */
  private firstBlockWaiters: Array<() => void> = [];
  port = 0;

  constructor(
    private readonly node: ReplicaNode<unknown>,
    private readonly options: ClientApiOptions,
  ) {
    this.maxBody = options.maxBodyBytes ?? 1024 * 1024;
    this.maxBatch = options.maxBatch ?? 1000;
    this.maxBacklog = options.maxStreamBacklogBytes ?? 1024 * 1024;
    this.maxReceipts = options.recentReceipts ?? 100_000;
    this.attestationWaitMs = options.attestationWaitMs ?? 2_000;
    const requestTimeout = options.requestTimeoutMs ?? 10_000;
    this.server = createServer(
      {
        requestTimeout,
        headersTimeout: Math.min(options.headersTimeoutMs ?? 5_000, requestTimeout),
        // Node checks both timeouts on this interval (default 30 s): check often enough for them to mean something.
        connectionsCheckingInterval: Math.max(100, Math.min(1_000, Math.floor(requestTimeout / 4))),
        keepAliveTimeout: 5_000,
      },
      (req, res) => void this.serve(req, res),
    );
    const connections = new ConnectionCaps(options.maxConnectionsPerClient ?? 32, options.maxConnections ?? 512);
    this.server.on('connection', (socket) => {
      const client = clientOf(socket.remoteAddress);
      if (!connections.admit(client)) {
        this.node.metrics.apiRefused.inc({ code: 'CONNECTION_LIMIT' });
        socket.destroy();
        return;
      }
      socket.once('close', () => connections.release(client));
    });
    this.sockets = new WebSocketServer({ noServer: true, maxPayload: 4096 });
    const streams = new ConnectionCaps(options.maxStreamsPerClient ?? 8, options.maxStreams ?? 128);
    this.server.on('upgrade', (req, socket, head) => {
      if (new URL(req.url ?? '/', 'http://x').pathname !== '/v1/stream') {
        socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n');
        return;
      }
      // A stream outlives the request timeouts: its own caps keep streams from holding every
      // connection (and their backlogs from holding memory).
      const client = clientOf((socket as { remoteAddress?: string }).remoteAddress);
      if (!streams.admit(client)) {
        this.node.metrics.apiRefused.inc({ code: 'STREAM_LIMIT' });
        socket.end('HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n\r\n');
        return;
      }
      socket.once('close', () => streams.release(client));
      this.sockets.handleUpgrade(req, socket, head, (ws) => this.openStream(ws));
    });
    node.onFinalized((result) => this.finalized(result));
    node.onAttestation((a) => {
      if (this.streams.size > 0) this.broadcast([json({ type: 'attestation', ...attestationJson(a) })]);
    });
  }

  async start(): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    const a = this.server.address();
    this.port = typeof a === 'object' && a !== null ? a.port : this.options.port;
    return this.port;
  }

  async stop(): Promise<void> {
    for (const ws of this.streams) ws.terminate();
    this.sockets.close();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private openStream(ws: WebSocket): void {
    this.streams.add(ws);
    ws.on('close', () => this.streams.delete(ws));
    ws.on('error', () => ws.terminate());
    // The stream is one way; anything a client sends is ignored.
    ws.send(json({ type: 'hello', replica: this.node.options.self, height: this.node.ledger.height }));
  }

  private finalized(result: BlockResult): void {
    if (this.firstBlockWaiters.length > 0) for (const wake of this.firstBlockWaiters.splice(0)) wake();
    const block = this.node.ledger.at(result.height);
    // The exchange's receipts are for the block's transactions, not the receive logs before them (fair ordering).
    const ids = block === undefined ? [] : payloadTransactions(block.payload).map(transactionId);
    // The first finalization of a transaction is its fate: bytes final again later (rejected there
    // as STALE_NONCE) never overwrite its receipt.
    ids.forEach((id, index) => {
      if (!this.receipts.has(id)) this.receipts.set(id, { height: result.height, index, receipt: result.receipts[index]! });
    });
    if (ids.length > 0) this.blockProofs.set(result.height, { leaves: result.receiptLeaves, opening: result.opening });
    while (this.receipts.size > this.maxReceipts) this.receipts.delete(this.receipts.keys().next().value!);
    // Heights below the oldest receipt kept have no receipt to prove any more.
    const oldest = this.receipts.values().next().value?.height ?? result.height + 1;
    for (const h of this.blockProofs.keys()) {
      if (h >= oldest) break;
      this.blockProofs.delete(h);
    }
    this.publish(result, block, ids);
  }

  private publish(result: BlockResult, block: Block | undefined, ids: readonly string[]): void {
    if (this.streams.size === 0) return;
    // Its commit certificate when its commit ended with it (stored just before); its attestations follow as they come.
    const certificate = this.node.recentCertificate(result.height);
    const messages = [json({ type: 'block', height: result.height, id: block?.id, proposer: block?.proposer, transactions: ids, stateRoot: toHex(result.stateRoot), ...(certificate !== undefined ? { certificate: toHex(certificate) } : {}) })];
    for (const t of result.trades) messages.push(json({ type: 'trade', height: result.height, ...t }));
    this.broadcast(messages);
  }

  /** Sends messages to every block stream; a client that cannot keep up is dropped. */
  private broadcast(messages: readonly string[]): void {
    if (this.streams.size === 0) return;
    for (const ws of this.streams) {
      // A client that cannot keep up is dropped rather than buffered without bound.
      if (ws.bufferedAmount > this.maxBacklog) {
        ws.terminate();
        continue;
      }
      for (const m of messages) ws.send(m);
    }
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      const url = new URL(req.url ?? '/', 'http://x');
      let parts: string[];
      try {
        parts = url.pathname.split('/').filter((p) => p.length > 0).map(decodeURIComponent);
      } catch {
        throw new ApiError(400, 'BAD_ENCODING', `the path ${JSON.stringify(url.pathname)} has a malformed percent-encoding`);
      }
      const reply = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(json(body));
      };
      const route = routeOf(parts);
      if (route === undefined) throw new ApiError(404, 'NOT_FOUND', `no route ${req.method} ${url.pathname}`);
      if (req.method !== route.method) {
        res.setHeader('allow', route.method);
        throw new ApiError(405, 'METHOD_NOT_ALLOWED', `${url.pathname} takes ${route.method}, not ${req.method}`);
      }
      switch (route.name) {
        case 'metrics':
          res.writeHead(200, { 'content-type': this.node.metrics.registry.contentType });
          res.end(await this.node.metrics.registry.metrics());
          return;
        case 'status':
          return reply(200, this.status());
        case 'submit':
          return reply(202, await this.submit(await this.transactions(req)));
        case 'block':
          return reply(200, await this.block(parts[2]!));
        case 'transaction':
          return reply(200, await this.transaction(parts[2]!));
        case 'account':
          return reply(200, await this.account(parts[2]!));
        case 'order':
          return reply(200, await this.order(parts[2]!, parts[4]!));
        case 'book':
          return reply(200, await this.book(parts[2]!));
        case 'evidence':
          return reply(200, this.evidence());
        case 'market':
          return reply(200, this.market(parts[2]!, parts[3] as 'l1' | 'l2', url.searchParams.get('depth')));
      }
    } catch (e) {
      const err = e instanceof ApiError ? e : new ApiError(500, 'INTERNAL', e instanceof Error ? e.message : String(e));
      this.node.metrics.apiRefused.inc({ code: err.code });
      if (!res.headersSent) {
        res.writeHead(err.status, { 'content-type': 'application/json', ...(err.status === 413 ? { connection: 'close' } : {}) });
        res.end(json({ error: err.code, reason: err.message }));
      }
    }
  }

  /**
   * Evidence of misbehaviour this replica holds (stored; one per offender), each verifiable with the
   * validator keys: an equivocation (two signed statements for one slot), or an unfair proposal
   * (the offender's signed statement for a block whose transactions its receive logs do not back:
   * the header, and the payload itself when it is at most MAX_EVIDENCE_PAYLOAD_BYTES).
   */
  private evidence() {
    const statement = (s: SignedStatement) => ({ domain: s.domain, view: s.view, sequence: s.sequence, blockHash: toHex(s.blockHash), signer: s.signer, signature: toHex(s.signature) });
    return {
      evidence: this.node.evidence.map((e) => {
        if (e.kind === 'equivocation') return { kind: e.kind, offender: e.offender, statements: [statement(e.first), statement(e.second)] };
        const h = e.header;
        const bytes = e.payload.reduce((a, x) => a + x.length, 0);
        const txs = payloadTransactions(e.payload).length;
        return {
          kind: e.kind,
          offender: e.offender,
          statement: statement(e.statement),
          header: { parent: toHex(h.parent), height: h.height, view: h.view, proposer: h.proposer, payloadRoot: toHex(h.payloadRoot) },
          receiveLogs: e.payload.length - txs,
          transactions: txs,
          payloadBytes: bytes,
          ...(bytes <= MAX_EVIDENCE_PAYLOAD_BYTES ? { payload: e.payload.map(toHex) } : {}),
        };
      }),
    };
  }

  private async body(req: IncomingMessage): Promise<Buffer> {
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > this.maxBody) throw new ApiError(413, 'BODY_TOO_LARGE', `the body may be at most ${this.maxBody} bytes`);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > this.maxBody) throw new ApiError(413, 'BODY_TOO_LARGE', `the body may be at most ${this.maxBody} bytes`);
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  /**
   * The transactions of a submission: JSON `{"transactions": ["<hex>", ...]}`, or (cheaper for a
   * busy client) `application/octet-stream`: each transaction as a 4-byte big-endian length and its bytes.
   */
  private async transactions(req: IncomingMessage): Promise<Uint8Array[]> {
    const type = req.headers['content-type'] ?? '';
    const binary = type.startsWith('application/octet-stream');
    if (!binary && !type.startsWith('application/json')) throw new ApiError(415, 'UNSUPPORTED_MEDIA_TYPE', 'send application/json or application/octet-stream');
    const body = await this.body(req);
    let txs: Uint8Array[];
    if (binary) {
      const decoder = new FrameDecoder(this.maxBody);
      try {
        txs = decoder.push(new Uint8Array(body.buffer, body.byteOffset, body.length));
      } catch (e) {
        throw new ApiError(400, 'BAD_TRANSACTION', e instanceof Error ? e.message : String(e));
      }
      if (decoder.buffered > 0) throw new ApiError(400, 'BAD_TRANSACTION', `the body ends inside a transaction (${decoder.buffered} bytes left over)`);
    } else {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch (e) {
        throw new ApiError(400, 'MALFORMED_JSON', `the body is not JSON: ${e instanceof Error ? e.message : String(e)}`);
      }
      const list = (parsed as { transactions?: unknown } | null)?.transactions;
      if (!Array.isArray(list)) throw new ApiError(400, 'BAD_REQUEST', 'expected {"transactions": ["<hex of a signed transaction>", ...]}');
      if (list.length > this.maxBatch) throw new ApiError(400, 'BATCH_TOO_LARGE', `at most ${this.maxBatch} transactions per request`);
      txs = list.map((item, i) => {
        if (typeof item !== 'string' || item.length === 0 || item.length % 2 !== 0 || !HEX.test(item)) throw new ApiError(400, 'BAD_TRANSACTION', `transactions[${i}] is not a hex string`);
        return fromHex(item);
      });
    }
    if (txs.length === 0) throw new ApiError(400, 'BAD_REQUEST', 'a submission holds at least one transaction');
    if (txs.length > this.maxBatch) throw new ApiError(400, 'BATCH_TOO_LARGE', `at most ${this.maxBatch} transactions per request`);
    return txs;
  }

  /** Each transaction is checked (decodes, signature verifies) before any is offered. */
  private async submit(txs: Uint8Array[]): Promise<{ accepted: string[] }> {
    // Signatures first, on the replica's verify pool (off this thread); remembered, so admit below does not check them again.
    await this.node.precheck(txs);
    // Checked whole before any is offered: decodes, signature, can still execute (nonce unused, so a
    // final transaction's bytes posted again are refused), account known and within its rate.
    const now = this.node.now();
    txs.forEach((tx, i) => {
      const verdict = this.node.exchange.admit(tx, now);
      if (!verdict.ok) throw new ApiError(verdict.reason === 'RATE_LIMITED' ? 429 : 400, verdict.reason, `transactions[${i}]: ${verdict.detail}`);
    });
    this.node.submit(txs);
    return { accepted: txs.map(transactionId) };
  }

  private status() {
    const n = this.node;
    const roots = n.exchange.stateRoots;
    return {
      replica: n.options.self,
      protocol: n.options.protocol.name,
      ordering: n.ordering,
      cluster: toHex(n.cluster),
      height: n.ledger.height,
      appliedHeight: roots.length,
      tip: n.ledger.tip.id,
      attestations: n.attesting,
      stateRoot: roots.length > 0 ? roots[roots.length - 1] : undefined,
      connectedPeers: n.connectedPeers(),
      mempool: n.exchange.mempool,
    };
  }

  /**
   * What proves the state at `height` to a client that trusts only the validator keys: the block's
   * hash and the state root after it; the finality proof (the nearest commit certificate at or
   * above it and the headers down to it: FinalityProofCodec bytes), null when none is stored yet;
   * and the attestations of (height, block hash, state root) this replica holds. When it holds
   * fewer than f+1 it waits for them (bounded); the client decides its threshold.
   */
  private async certification(height: number) {
    const n = this.node;
    const block = n.ledger.at(height)!;
    const stateRoot = n.exchange.stateRoots[height - 1]!;
    if (n.attesting) await n.attestations.wait(height, attestationThreshold(n.validators, 'f+1'), this.attestationWaitMs);
    const [finality, attestations] = await Promise.all([n.finalityParts(height), n.attestationsAt(height)]);
    return {
      height,
      blockHash: block.id,
      stateRoot,
      finality:
        finality === undefined
          ? null
          : { certificateHeight: finality.certificateHeight, certificate: toHex(finality.certificate), headers: finality.headers.map(headerJson), hex: toHex(encode(FinalityProofCodec, { certificate: finality.certificate, headers: finality.headers })) },
      attestations: attestations.matching.map(attestationJson),
    };
  }

  private async block(heightText: string) {
    const height = Number(heightText);
    if (!/^[0-9]{1,15}$/.test(heightText) || height < 1) throw new ApiError(400, 'BAD_HEIGHT', 'the height must be a positive integer');
    const b = this.node.ledger.at(height);
    if (b === undefined || height > this.node.exchange.stateRoots.length) throw new ApiError(404, 'NOT_FINALIZED', `no finalized block at height ${height} here yet (height ${this.node.ledger.height})`);
    const txs = payloadTransactions(b.payload);
    // Under fair ordering the payload starts with the signed receive logs that fix its order: named here (signer, when signed, entries).
    const logs = b.payload.slice(0, b.payload.length - txs.length).map((element) => {
      const log = decodeLogElement(element);
      return log === undefined ? { malformed: true } : { signer: log.signer, at: log.at, entries: log.entries.length };
    });
    return {
      height,
      id: b.id,
      parent: toHex(b.parent),
      view: b.view,
      proposer: b.proposer,
      payloadRoot: toHex(b.payloadRoot),
      // The header's canonical bytes: their hash (Domains.block) is the id; the payload's Merkle root is payloadRoot.
      header: toHex(encode(BlockHeaderCodec, headerOf(b))),
      transactions: txs.map(toHex),
      ...(logs.length > 0 ? { receiveLogs: logs, payload: b.payload.map(toHex) } : {}),
      stateRoot: this.node.exchange.stateRoots[height - 1],
      certification: await this.certification(height),
    };
  }

  /**
   * A recent finalized transaction's fate: its block, the exchange's receipt (executed with events
   * and trades, or rejected with a reason), the receipt's leaf with its Merkle path to the opening
   * of the state after its block, and that height's certification.
   */
  private async transaction(id: string) {
    if (id.length !== 64 || !HEX.test(id)) throw new ApiError(400, 'BAD_TRANSACTION_ID', 'a transaction id is the SHA-256 of its bytes: 64 hex digits');
    const found = this.receipts.get(id.toLowerCase());
    const parts = found === undefined ? undefined : this.blockProofs.get(found.height);
    if (found === undefined || parts === undefined) throw new ApiError(404, 'NOT_FINALIZED', `transaction ${id.slice(0, 12)} is not in a block finalized here since this replica started (or is older than the last ${this.maxReceipts} transactions)`);
    const proof = { opening: parts.opening, leaf: parts.leaves[found.index]!, proof: receiptProof(parts.leaves, found.index) };
    return {
      id: id.toLowerCase(),
      height: found.height,
      index: found.index,
      receipt: found.receipt,
      proof: { leaf: toHex(proof.leaf), merkle: merkleJson(proof.proof), opening: openingJson(proof.opening), hex: toHex(encode(ReceiptProofCodec, proof)) },
      certification: await this.certification(found.height),
    };
  }

  /**
   * Waits (up to attestationWaitMs) for the first block to be applied here: the genesis state has no
   * block, so nothing certifies it. 503 NO_BLOCK_YET if none comes.
   */
  private async firstBlock(): Promise<void> {
    if (this.node.exchange.stateRoots.length > 0) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.attestationWaitMs);
      this.firstBlockWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (this.node.exchange.stateRoots.length === 0) throw new ApiError(503, 'NO_BLOCK_YET', 'no block is final here yet, and the genesis state has no certification: ask again in a moment');
  }

  /** The account's proof at the latest height applied, taken at once (the state moves on while the answer waits for attestations). */
  private accountProof(key: string) {
    checkAccountKey(key);
    const account = key.toLowerCase();
    const exchange = this.node.exchange.exchange;
    const height = this.node.exchange.stateRoots.length;
    const view = exchange.accountView(account);
    const proof = exchange.accountProof(account);
    if (view === undefined || proof === undefined) throw new ApiError(404, 'UNKNOWN_ACCOUNT', `no account ${key}`);
    return { account, height, view, proof };
  }

  private proofJson(p: { readonly opening: StateOpening; readonly leaf: Uint8Array; readonly proof: MerkleProof }) {
    return { leaf: toHex(p.leaf), merkle: merkleJson(p.proof), opening: openingJson(p.opening), hex: toHex(encode(AccountProofCodec, p)) };
  }

  /** An account (nonce, balances, open orders) at the latest height applied, with its leaf's proof and that height's certification. */
  private async account(key: string) {
    checkAccountKey(key);
    await this.firstBlock();
    const { account, height, view, proof } = this.accountProof(key);
    return {
      account,
      height,
      nonce: view.nonce,
      balances: view.balances,
      openOrders: Object.fromEntries(view.openOrders),
      proof: this.proofJson(proof),
      certification: await this.certification(height),
    };
  }

  /** One open order of an account (by its client id), as the account's leaf holds it, with the account's proof. */
  private async order(key: string, clientIdText: string) {
    if (!/^[0-9]{1,15}$/.test(clientIdText)) throw new ApiError(400, 'BAD_CLIENT_ID', 'a client order id is a non-negative integer');
    const clientId = Number(clientIdText);
    checkAccountKey(key);
    await this.firstBlock();
    const { account, height, proof } = this.accountProof(key);
    const leaf = decode(AccountLeafCodec, proof.leaf);
    const order = leaf.orders.find((o) => o.clientId === clientId);
    if (order === undefined) throw new ApiError(404, 'NO_OPEN_ORDER', `account ${account.slice(0, 12)} has no open order with client id ${clientId} at height ${height} (its account proof shows its open orders)`);
    return {
      account,
      clientId,
      height,
      order: { ...order, symbol: this.node.options.exchange.markets[order.market]?.symbol },
      proof: this.proofJson(proof),
      certification: await this.certification(height),
    };
  }

  /**
   * The order books at the latest height applied: the matching engine's snapshot bytes (every
   * market's book), whose hash under BOOKS_DOMAIN is the `books` part of the opening there, the
   * opening, and that height's certification; the symbol's L2 as JSON for people.
   */
  private async book(symbol: string) {
    await this.firstBlock();
    const exchange = this.node.exchange.exchange;
    const height = this.node.exchange.stateRoots.length;
    let l2: ReturnType<typeof exchange.book.l2>;
    try {
      l2 = exchange.book.l2(symbol, 1000);
    } catch {
      throw new ApiError(404, 'UNKNOWN_MARKET', `no market ${JSON.stringify(symbol)}`);
    }
    const opening = exchange.stateOpening();
    const books = exchange.booksSnapshot();
    return { symbol, height, ...l2, books: toHex(books), booksHash: toHex(hash(BOOKS_DOMAIN, books)), opening: openingJson(opening), certification: await this.certification(height) };
  }

  private market(symbol: string, level: 'l1' | 'l2', depthText: string | null) {
    const book = this.node.exchange.exchange.book;
    try {
      if (level === 'l1') return { symbol, ...book.l1(symbol) };
      const depth = depthText === null ? 10 : Number(depthText);
      if (!Number.isSafeInteger(depth) || depth < 1 || depth > 1000) throw new ApiError(400, 'BAD_DEPTH', 'depth must be an integer from 1 to 1000');
      return { symbol, ...book.l2(symbol, depth) };
    } catch (e) {
      if (e instanceof ApiError) throw e;
      throw new ApiError(404, 'UNKNOWN_MARKET', `no market ${JSON.stringify(symbol)}`);
    }
  }
}
