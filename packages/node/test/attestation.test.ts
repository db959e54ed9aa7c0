// Execution attestations on four real replicas (loopback TCP, Ed25519, LevelDB): each replica signs
// (height, block hash, state root) after applying a finalized block and sends it to its peers;
// every replica holds a quorum (2f+1; more matching ones are skipped unchecked) for every height, they verify with
// @bftx/exchange's verifyAttestations against the validator set alone, they survive a restart,
// and bad ones are refused by reason, counted, and change nothing.
import { connect, type Socket } from 'node:net';
import { ValidatorSet, type ProtocolDefinition } from '@bftx/consensus';
import { decode, encode } from '@bftx/crypto';
import { AttestationCodec, attestationThreshold, signAttestation, verifyAttestations, type Attestation } from '@bftx/exchange';
import { hotstuff } from '@bftx/hotstuff';
import { clusterId, encodeFrame, EnvelopeCodec, FrameDecoder, ReplicaNode, signHandshake, WIRE_VERSION } from '../src/index';
import { cluster, keys, N, orders, removeDataDirs, scheme, secrets, until } from './helpers';

afterAll(removeDataDirs);

const validators = new ValidatorSet(keys);
const fPlus1 = attestationThreshold(validators, 'f+1');

/** The statement replica `n` reached at height `h`. */
function statementOf(n: ReplicaNode<any>, h: number) {
  return { height: h, blockHash: n.ledger.at(h)!.hash, stateRoot: Buffer.from(n.exchange.stateRoots[h - 1]!, 'hex') };
}

test('under load every replica holds a quorum of matching attestations for every height, they verify against the validator set, and a restarted replica still holds them', async () => {
  const nodes = await cluster(hotstuff() as ProtocolDefinition<any>);
  try {
    await until('connected', () => nodes.every((n) => n.connectedPeers().length === N - 1));
    for (let k = 0; k < 5; k++) {
      for (const n of nodes) n.submit(orders(40, 40 * k));
      await new Promise((r) => setTimeout(r, 100));
    }
    await until('200 orders finalized everywhere', () => nodes.every((n) => n.ledger.chain.reduce((a, b) => a + b.payload.length, 0) >= 200));
    const height = Math.min(...nodes.map((n) => n.exchange.stateRoots.length));
    expect(height).toBeGreaterThan(3);
    await until(
      () => `every replica to hold ${validators.quorum} attestations for heights 1 to ${height} (${nodes.map((n) => n.attestations.matching(height).length)})`,
      () => nodes.every((n) => Array.from({ length: height }, (_, i) => n.attestations.matching(i + 1).length).every((c) => c >= validators.quorum)),
    );
    for (const n of nodes) {
      for (let h = 1; h <= height; h++) {
        const { matching, conflicts } = await n.attestationsAt(h);
        expect(conflicts).toEqual([]);
        const verdict = verifyAttestations(validators, scheme, statementOf(n, h), matching, validators.quorum);
        expect(verdict).toEqual({ ok: true, signers: matching.map((a) => a.signer) });
        expect(matching.map((a) => a.signer)).toContain(n.options.self);
      }
      expect(await n.metrics.value('bftx_attestations_signed_total')).toBeGreaterThanOrEqual(height);
      // Every peer's attestation of every height comes: checked and kept, or skipped once a quorum
      // was held (waited for: the last peer's may still be on its way when the quorum is reached).
      const arrived = async () => (await n.metrics.value('bftx_attestations_received_total')) + (await n.metrics.value('bftx_attestations_refused_total', { reason: 'surplus' }));
      await until('every peer attestation', async () => (await arrived()) >= (N - 1) * height, 5_000).catch(() => undefined); // the expect below says what came
      expect(await arrived()).toBeGreaterThanOrEqual((N - 1) * height);
      expect(await n.metrics.value('bftx_attestation_conflicts_total')).toBe(0);
      expect(await n.metrics.value('bftx_attestations_refused_total', { reason: 'bad_signature' })).toBe(0);
    }

    // Restarted with attestations off (it neither signs nor takes any): what it holds came from its disk.
    const victim = 1;
    const before = nodes[victim]!;
    await before.idle();
    await before.stop();
    const restarted = new ReplicaNode({ ...before.options, listen: { host: '127.0.0.1', port: before.port }, attestations: false });
    nodes[victim] = restarted;
    await restarted.start();
    for (let h = 1; h <= height; h++) {
      const { matching } = await restarted.attestationsAt(h);
      expect(verifyAttestations(validators, scheme, statementOf(restarted, h), matching, validators.quorum).ok).toBe(true);
      expect(matching.map((a) => a.signer)).toEqual(before.attestations.matching(h).map((a) => a.signer));
    }
    expect(await restarted.metrics.value('bftx_attestations_signed_total')).toBe(0);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}, 90_000);

test('a replica away for longer than its window fetches the attestations it missed from its peers once it has caught up', async () => {
  // A window of 8: what the peers sent while it was away (queued for it, and re-sent when it reconnects) is mostly too far ahead of it then.
  const nodes = await cluster(hotstuff() as ProtocolDefinition<any>, { attestationWindow: 8 });
  try {
    await until('connected', () => nodes.every((n) => n.connectedPeers().length === N - 1));
    for (const n of nodes) n.submit(orders(10));
    await until('height 5 everywhere', () => nodes.every((n) => n.exchange.stateRoots.length >= 5));
    const victim = 3;
    const before = nodes[victim]!;
    await before.idle();
    await before.stop();
    const stoppedAt = before.exchange.stateRoots.length;
    const others = nodes.filter((_, i) => i !== victim);
    for (let k = 0; k < 4; k++) for (const n of others) n.submit(orders(10, 10 + 10 * k));
    await until(`the others 40 heights past ${stoppedAt}`, () => others.every((n) => n.exchange.stateRoots.length >= stoppedAt + 40));
    const target = Math.min(...others.map((n) => n.exchange.stateRoots.length));
    const restarted = new ReplicaNode({ ...before.options, listen: { host: '127.0.0.1', port: before.port } });
    nodes[victim] = restarted;
    await restarted.start();
    await until(() => `replica ${victim} caught up to ${target} (at ${restarted.exchange.stateRoots.length})`, () => restarted.exchange.stateRoots.length >= target);
    await until(
      () => `replica ${victim} to hold f+1 attestations for every height to ${target} (first short: ${restarted.attestations.firstShort(1, target, fPlus1)})`,
      // (The pool learns a height once its block is on disk, a moment after the exchange applied it.)
      () => restarted.attestations.height >= target && restarted.attestations.firstShort(1, target, fPlus1) === undefined,
      30_000,
    );
    for (let h = stoppedAt + 1; h <= target; h++) {
      const { matching } = await restarted.attestationsAt(h);
      expect(verifyAttestations(validators, scheme, statementOf(restarted, h), matching, fPlus1).ok).toBe(true);
    }
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}, 90_000);

describe('bad attestations from an authenticated peer: refused by reason, counted, nothing kept', () => {
  let nodes: ReplicaNode<any>[];
  beforeAll(async () => {
    // A short retention, so an attestation below it is easy to make.
    nodes = await cluster(hotstuff() as ProtocolDefinition<any>, { attestationRetain: 8, attestationWindow: 64 });
    await until('connected', () => nodes.every((n) => n.connectedPeers().length === N - 1));
    for (const n of nodes) n.submit(orders(20));
    await until('height 12 on replica 3, attested', () => nodes[3]!.exchange.stateRoots.length >= 12 && nodes[3]!.attestations.matching(nodes[3]!.attestations.height - 1).length >= validators.quorum);
  }, 30_000);
  afterAll(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
  });

  const cluster0 = () => clusterId(nodes[3]!.options.protocol.name, validators);

  /** Completes a real handshake with replica 3 as validator 2 (whose key a Byzantine replica would hold), then sends attestation envelopes. */
  async function asPeer(attestations: Uint8Array[]): Promise<void> {
    const socket: Socket = connect(nodes[3]!.port, '127.0.0.1');
    socket.on('error', () => undefined);
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    const decoder = new FrameDecoder();
    const authenticated = new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        for (const f of decoder.push(new Uint8Array(chunk))) {
          const env = decode(EnvelopeCodec, f);
          if (env.type === 'hello') socket.write(encodeFrame(encode(EnvelopeCodec, { type: 'auth', signature: signHandshake(scheme.signer(secrets[2]!), cluster0(), env.challenge, 2, 3) })));
          if (env.type === 'auth') resolve();
        }
      });
    });
    socket.write(encodeFrame(encode(EnvelopeCodec, { type: 'hello', version: WIRE_VERSION, cluster: cluster0(), validator: 2, challenge: new Uint8Array(32).fill(9) })));
    await authenticated;
    await until('the replica to take the connection', () => nodes[3]!.connectedPeers().includes(2));
    for (const a of attestations) socket.write(encodeFrame(encode(EnvelopeCodec, { type: 'attestation', attestation: a })));
    await new Promise((r) => setTimeout(r, 200));
    socket.destroy();
  }

  const bytes = (a: Attestation) => encode(AttestationCodec, a);
  const signedBy = (validator: number, height: number, root = 7) => signAttestation(scheme.signer(secrets[validator]!), validator, { height, blockHash: new Uint8Array(32).fill(root), stateRoot: new Uint8Array(32).fill(root) });

  test.each([
    ['bytes that are no attestation', () => [Uint8Array.of(1, 2, 3)], 'malformed'],
    ['an attestation from an index outside the validator set', () => [bytes({ ...signedBy(2, nodes[3]!.attestations.height), signer: 9 })], 'non_validator'],
    ['an attestation for a height past the window', () => [bytes(signedBy(2, nodes[3]!.attestations.height + 200))], 'too_far_ahead'],
    ['an attestation for a height below the retention', () => [bytes(signedBy(2, 1))], 'too_old'],
    ['a second attestation of a signer for a height', () => [bytes(nodes[3]!.attestations.matching(nodes[3]!.attestations.height - 1).find((a) => a.signer !== 3)!)], 'duplicate'],
    ['an attestation whose signature is not its signer\'s', () => [bytes({ ...signedBy(2, nodes[3]!.attestations.height + 40), signer: 0 })], 'bad_signature'],
  ])('%s', async (_what, make, reason) => {
    const n3 = nodes[3]!;
    const before = { refused: await n3.metrics.value('bftx_attestations_refused_total', { reason }), received: await n3.metrics.value('bftx_attestations_received_total') };
    const sent = make();
    const kept = (a: Attestation) => [...n3.attestations.matching(a.height), ...n3.attestations.conflicts(a.height)].filter((x) => x.signer === a.signer && Buffer.from(x.signature).equals(Buffer.from(a.signature))).length;
    await asPeer(sent);
    // Exactly one, but for duplicates: a peer whose connection (re)opens is sent its peers' recent attestations again, and the real validator 2 redials.
    const counted = async () => (await n3.metrics.value('bftx_attestations_refused_total', { reason })) - before.refused;
    await until(`the ${reason} count`, async () => (reason === 'duplicate' ? (await counted()) >= 1 : (await counted()) === 1));
    if (reason !== 'malformed' && reason !== 'duplicate') expect(kept(decode(AttestationCodec, sent[0]!))).toBe(0);
    // The cluster goes on, attested as before.
    await until('validator 2 back', () => n3.connectedPeers().length === N - 1);
    const h = n3.attestations.height;
    for (const n of nodes) n.submit(orders(2, 1000 + h * 2));
    await until('a new attested block', () => n3.attestations.height > h && n3.attestations.matching(h + 1).length >= fPlus1);
    expect(await n3.metrics.value('bftx_attestation_conflicts_total')).toBe(0);
  }, 30_000);

  test("a validly signed attestation of another state root (a replica that diverged) is kept apart and counted as a conflict; the signer's own later one is a duplicate", async () => {
    const n3 = nodes[3]!;
    // For a height replica 3 reaches soon: held until it does, then compared with its own root.
    const target = n3.attestations.height + 20;
    const lie = signedBy(2, target, 0xee);
    await asPeer([bytes(lie)]);
    for (const n of nodes) n.submit(orders(8, 2000 + target * 8));
    await until(`replica 3 past height ${target}`, () => n3.attestations.height > target);
    await until('the conflict counted', async () => (await n3.metrics.value('bftx_attestation_conflicts_total', { signer: '2' })) === 1);
    const { matching, conflicts } = await n3.attestationsAt(target);
    expect(conflicts).toEqual([lie]);
    expect(matching.map((a) => a.signer)).not.toContain(2);
    // Only the honest ones prove replica 3's root.
    expect(verifyAttestations(validators, scheme, statementOf(n3, target), matching, fPlus1).ok).toBe(true);
    expect(verifyAttestations(validators, scheme, statementOf(n3, target), conflicts, 1).ok).toBe(false);
  }, 30_000);
});
