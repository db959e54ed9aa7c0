// TCP between replicas. Each pair has one connection: the lower-numbered validator dials the
// higher one and redials with backoff when it drops. Both ends prove their validator key in a
// handshake before anything else is accepted. Outgoing bytes per peer are bounded (oldest dropped
// first while disconnected, newest refused while the socket is backed up), so a slow or absent
// peer cannot grow memory without limit; consensus protocols tolerate lost messages.
import { randomBytes } from 'node:crypto';
import { createServer, Socket, type Server } from 'node:net';
import type { ValidatorSet } from '@bftx/consensus';
import { bytesEqual, DecodeError, decode, encode, type SignatureScheme, type Signer } from '@bftx/crypto';
import { encodeFrame, FrameDecoder, FrameError, DEFAULT_MAX_FRAME_BYTES } from './frame';
import { clientOf, ConnectionCaps } from './address';
import type { ReplicaMetrics, RejectReason } from './metrics';
import { CHALLENGE_BYTES, EnvelopeCodec, signHandshake, verifyHandshake, WIRE_VERSION, type Envelope } from './wire';

export interface PeerAddress {
  readonly host: string;
  readonly port: number;
}

export interface TransportOptions {
  readonly self: number;
  readonly validators: ValidatorSet;
  readonly scheme: SignatureScheme;
  readonly signer: Signer;
  readonly cluster: Uint8Array;
  readonly listen: PeerAddress;
  /** Where each validator listens (this replica's own entry is ignored). */
  readonly peers: ReadonlyArray<PeerAddress | undefined>;
  readonly metrics: ReplicaMetrics;
  /** A consensus message from an authenticated peer. */
  readonly onMessage: (from: number, message: Uint8Array) => void;
  /** An execution attestation's bytes from an authenticated peer. */
  readonly onAttestation?: (from: number, attestation: Uint8Array) => void;
  /** A peer asks for this replica's own attestations of heights `from` to `to`. */
  readonly onAttestationRequest?: (from: number, range: { readonly from: number; readonly to: number }) => void;
  /** A peer's connection authenticated (a new one, or again after a drop). */
  readonly onPeerOpened?: (peer: number) => void;
  readonly log?: (event: string, fields: Record<string, unknown>) => void;
  readonly maxFrameBytes?: number;
  /** Most bytes waiting for one peer (default 32 MiB). */
  readonly maxQueueBytes?: number;
  /** How long a connection may take to authenticate (default 5 s). */
  readonly handshakeTimeoutMs?: number;
  /** Most connections not yet authenticated, in total (default 64) and from one remote address (default 8). */
  readonly maxUnauthenticated?: number;
  readonly maxUnauthenticatedPerAddress?: number;
  readonly reconnect?: { readonly initialMs: number; readonly maxMs: number };
}

/**
 * Largest frame before authentication: a hello (version, cluster id, validator, challenge) or an
 * auth (a signature) is under 200 bytes. A stranger cannot make the replica buffer a full-size
 * frame per connection.
 */
export const HANDSHAKE_MAX_FRAME_BYTES = 512;

/** Outgoing bytes for one peer, and its live connection if any. */
class PeerLink {
  connection: Connection | undefined;
  readonly pending: Uint8Array[] = [];
  pendingBytes = 0;
  backoff = 0;
  timer: NodeJS.Timeout | undefined;
}

export class Transport {
  private server: Server | undefined;
  private readonly links: PeerLink[];
  private readonly connections = new Set<Connection>();
  /** Inbound connections not yet authenticated, per client and in all. */
  private readonly strangers: ConnectionCaps;
  private stopped = false;
  readonly maxFrameBytes: number;
  readonly maxQueueBytes: number;

  constructor(readonly options: TransportOptions) {
    this.links = Array.from({ length: options.validators.n }, () => new PeerLink());
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxQueueBytes = options.maxQueueBytes ?? 32 * 1024 * 1024;
    this.strangers = new ConnectionCaps(options.maxUnauthenticatedPerAddress ?? 8, options.maxUnauthenticated ?? 64);
  }

  /** Listens, dials the higher-numbered peers, and resolves to the port listened on. */
  async start(): Promise<number> {
    const server = createServer((socket) => this.accept(socket));
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.options.listen.port, this.options.listen.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    for (let peer = this.options.self + 1; peer < this.options.validators.n; peer++) this.dial(peer);
    const address = server.address();
    return typeof address === 'object' && address !== null ? address.port : this.options.listen.port;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const link of this.links) clearTimeout(link.timer);
    for (const c of this.connections) c.socket.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Closes the connection to a peer now (it redials, or is redialled, as after any drop). */
  disconnect(peer: number): void {
    this.links[peer]?.connection?.socket.destroy();
  }

  /** Validators with an authenticated connection now. */
  connectedPeers(): number[] {
    return this.links.flatMap((l, i) => (l.connection?.open ? [i] : []));
  }

  send(to: number, message: Uint8Array): void {
    if (to === this.options.self || to < 0 || to >= this.links.length) return;
    this.sendFrame(to, encodeFrame(encode(EnvelopeCodec, { type: 'consensus', message }), this.maxFrameBytes));
  }

  broadcast(message: Uint8Array): void {
    // One encoding for every peer (a proposal can be large).
    const frame = encodeFrame(encode(EnvelopeCodec, { type: 'consensus', message }), this.maxFrameBytes);
    for (let to = 0; to < this.links.length; to++) if (to !== this.options.self) this.sendFrame(to, frame);
  }

  /** Sends an attestation (its AttestationCodec bytes) to one peer, or to every peer when `to` is undefined. */
  sendAttestation(attestation: Uint8Array, to?: number): void {
    const frame = encodeFrame(encode(EnvelopeCodec, { type: 'attestation', attestation }), this.maxFrameBytes);
    if (to !== undefined) {
      if (to !== this.options.self && to >= 0 && to < this.links.length) this.sendFrame(to, frame);
      return;
    }
    for (let peer = 0; peer < this.links.length; peer++) if (peer !== this.options.self) this.sendFrame(peer, frame);
  }

  /** Asks a connected peer for its own attestations of heights `from` to `to`; false when it is not connected. */
  requestAttestations(peer: number, from: number, to: number): boolean {
    if (peer === this.options.self || !this.links[peer]?.connection?.open) return false;
    this.sendFrame(peer, encodeFrame(encode(EnvelopeCodec, { type: 'attestationRequest', from, to }), this.maxFrameBytes));
    return true;
  }

  private sendFrame(to: number, frame: Uint8Array): void {
    const link = this.links[to]!;
    const c = link.connection;
    if (c?.open) {
      if (c.socket.writableLength + frame.length > this.maxQueueBytes) return this.options.metrics.reject('queue_overflow');
      c.write(frame);
      return;
    }
    link.pending.push(frame);
    link.pendingBytes += frame.length;
    while (link.pendingBytes > this.maxQueueBytes && link.pending.length > 0) {
      link.pendingBytes -= link.pending.shift()!.length;
      this.options.metrics.reject('queue_overflow');
    }
  }

  private dial(peer: number): void {
    if (this.stopped) return;
    const address = this.options.peers[peer];
    if (address === undefined) return;
    const socket = new Socket();
    const c = new Connection(this, socket, peer);
    socket.connect(address.port, address.host);
    socket.once('connect', () => c.begin());
  }

  private accept(socket: Socket): void {
    if (this.stopped) return void socket.destroy();
    // Caps on who has not proven a validator key yet: in total, and per address (one host cannot take them all).
    const address = clientOf(socket.remoteAddress);
    // A validator's configured address is not held back by strangers elsewhere filling the total.
    const known = this.options.peers.some((p) => p?.host === address);
    if (!this.strangers.admit(address, known)) {
      this.options.metrics.reject('connection_limit');
      socket.destroy();
      return;
    }
    new Connection(this, socket, undefined, () => this.strangers.release(address)).begin();
  }

  /** Unauthenticated inbound connections held now (for tests and metrics). */
  get unauthenticatedConnections(): number {
    return this.strangers.size;
  }

  /** Called by a connection when its handshake has completed. */
  opened(c: Connection, peer: number): void {
    const link = this.links[peer]!;
    if (link.connection !== undefined && link.connection !== c) link.connection.socket.destroy(); // a restarted peer: the new connection wins
    link.connection = c;
    link.backoff = 0;
    for (const frame of link.pending.splice(0)) c.write(frame);
    link.pendingBytes = 0;
    this.options.metrics.connectedPeers.set(this.connectedPeers().length);
    this.options.log?.('peer-connected', { peer });
    this.options.onPeerOpened?.(peer);
  }

  /** Called when any connection closes. */
  closed(c: Connection): void {
    this.connections.delete(c);
    const peer = c.peer;
    if (peer === undefined) return;
    const link = this.links[peer]!;
    if (link.connection === c) {
      link.connection = undefined;
      this.options.metrics.connectedPeers.set(this.connectedPeers().length);
      this.options.log?.('peer-disconnected', { peer });
    }
    // The dialer redials its own peers (only one outstanding attempt per peer).
    if (c.outbound && !this.stopped && link.connection === undefined && link.timer === undefined) {
      const { initialMs, maxMs } = this.options.reconnect ?? { initialMs: 100, maxMs: 5_000 };
      link.backoff = link.backoff === 0 ? initialMs : Math.min(maxMs, link.backoff * 2);
      link.timer = setTimeout(() => {
        link.timer = undefined;
        this.dial(peer);
      }, link.backoff);
    }
  }

  track(c: Connection): void {
    this.connections.add(c);
  }
}

/** One TCP connection: the handshake, then consensus frames. */
class Connection {
  private readonly decoder: FrameDecoder;
  private readonly challenge = new Uint8Array(randomBytes(CHALLENGE_BYTES));
  private theirHello: Extract<Envelope, { type: 'hello' }> | undefined;
  private timer: NodeJS.Timeout | undefined;
  open = false;
  peer: number | undefined;
  readonly outbound: boolean;

  constructor(
    private readonly transport: Transport,
    readonly socket: Socket,
    expected: number | undefined,
    /** Called once, when the connection authenticates or closes before that (frees its place under the caps). */
    private release: (() => void) | undefined = undefined,
  ) {
    this.outbound = expected !== undefined;
    this.peer = expected;
    this.decoder = new FrameDecoder(HANDSHAKE_MAX_FRAME_BYTES);
    transport.track(this);
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', () => undefined); // 'close' follows
    socket.on('close', () => {
      clearTimeout(this.timer);
      this.released();
      // The peer went away in the middle of a frame (refused connections are counted already).
      if (this.decoder.buffered > 0 && !this.refused) transport.options.metrics.reject('frame_truncated');
      transport.closed(this);
    });
  }

  private released(): void {
    const r = this.release;
    this.release = undefined;
    r?.();
  }

  begin(): void {
    const o = this.transport.options;
    this.timer = setTimeout(() => this.refuse('unauthenticated', 'handshake timed out'), o.handshakeTimeoutMs ?? 5_000);
    this.write(encodeFrame(encode(EnvelopeCodec, { type: 'hello', version: WIRE_VERSION, cluster: o.cluster, validator: o.self, challenge: this.challenge })));
  }

  write(frame: Uint8Array): void {
    if (this.socket.destroyed) return;
    this.socket.write(frame);
    this.transport.options.metrics.bytesOut.inc(frame.length);
  }

  private refused = false;

  private refuse(reason: RejectReason, detail: string): void {
    this.refused = true;
    this.transport.options.metrics.reject(reason);
    this.transport.options.log?.('connection-refused', { reason, detail, peer: this.peer, remote: `${this.socket.remoteAddress}:${this.socket.remotePort}` });
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    if (this.socket.destroyed) return;
    this.transport.options.metrics.bytesIn.inc(chunk.length);
    this.decoder.feed(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.length));
    // One frame at a time: the auth frame raises the size limit for the frames after it.
    for (;;) {
      if (this.socket.destroyed) return;
      let frame: Uint8Array | undefined;
      try {
        frame = this.decoder.next();
      } catch (e) {
        if (e instanceof FrameError) return this.refuse(e.code === 'OVERSIZED' ? 'frame_oversized' : 'frame_empty', e.message);
        throw e;
      }
      if (frame === undefined) return;
      this.handle(frame);
    }
  }

  private handle(frame: Uint8Array): void {
    const o = this.transport.options;
    let env: Envelope;
    try {
      env = decode(EnvelopeCodec, frame);
    } catch (e) {
      if (e instanceof DecodeError) return this.refuse('malformed_envelope', e.message);
      throw e;
    }
    if (env.type === 'hello') {
      if (this.theirHello !== undefined) return this.refuse('unexpected_message', 'a second hello');
      if (env.version !== WIRE_VERSION) return this.refuse('wrong_version', `wire version ${env.version}, expected ${WIRE_VERSION}`);
      if (!bytesEqual(env.cluster, o.cluster)) return this.refuse('wrong_cluster', 'another cluster');
      const claimed = env.validator;
      // Inbound connections come only from lower-numbered validators (they dial us); an outbound one must answer as the peer we dialed.
      const allowed = this.outbound ? claimed === this.peer : claimed < o.self && claimed < o.validators.n;
      if (!allowed) return this.refuse('unknown_validator', `validator ${claimed} may not connect here`);
      this.theirHello = env;
      this.peer = claimed;
      this.write(encodeFrame(encode(EnvelopeCodec, { type: 'auth', signature: signHandshake(o.signer, o.cluster, env.challenge, o.self, claimed) })));
      return;
    }
    if (env.type === 'auth') {
      if (this.theirHello === undefined || this.open) return this.refuse('unexpected_message', 'auth out of order');
      if (!verifyHandshake(o.scheme, o.validators, o.cluster, this.challenge, this.theirHello.validator, o.self, env.signature)) return this.refuse('bad_handshake_signature', `validator ${this.theirHello.validator} did not prove its key`);
      this.open = true;
      clearTimeout(this.timer);
      this.released();
      this.decoder.limit(this.transport.maxFrameBytes);
      this.transport.opened(this, this.theirHello.validator);
      return;
    }
    if (!this.open) return this.refuse('unauthenticated', `${env.type} message before the handshake`);
    if (env.type === 'attestation') return void o.onAttestation?.(this.peer!, env.attestation);
    if (env.type === 'attestationRequest') return void o.onAttestationRequest?.(this.peer!, env);
    o.onMessage(this.peer!, env.message);
  }
}
