// What replicas say to each other on a TCP connection, in the canonical codec: a handshake
// (hello, then auth), then consensus messages. The handshake proves that the peer holds the key of
// the validator it claims to be, freshly (it signs a challenge the verifier chose), for this
// cluster and for this connection's two ends (a signature cannot be relayed to a third replica).
// After it: consensus messages, and execution attestations (@bftx/exchange's AttestationCodec
// bytes: a replica's signed (height, block hash, state root) after applying a finalized block).
import { codec, Domains, encode, type SignatureScheme, type Signer } from '@bftx/crypto';
import type { ValidatorSet } from '@bftx/consensus';
import { clusterIdOf } from '@bftx/client';

/** 2: the attestation envelope. */
export const WIRE_VERSION = 2;
export const CHALLENGE_BYTES = 32;

export const EnvelopeCodec = codec.taggedUnion('type', {
  hello: { version: codec.uint(0xffff), cluster: codec.fixedBytes(32), validator: codec.uint(0xffff), challenge: codec.fixedBytes(CHALLENGE_BYTES) },
  auth: { signature: codec.fixedBytes(64) },
  consensus: { message: codec.bytes() },
  attestation: { attestation: codec.bytes(1024) },
  /** Asks a peer for its own attestations of heights `from` to `to` (it answers with those it holds, at most MAX_ATTESTATIONS_SERVED). */
  attestationRequest: { from: codec.uint(), to: codec.uint() },
});

/** Most heights of attestations a replica sends in answer to one request. */
export const MAX_ATTESTATIONS_SERVED = 256;
export type Envelope = codec.Infer<typeof EnvelopeCodec>;

const HandshakeStatementCodec = codec.record({
  cluster: codec.fixedBytes(32),
  challenge: codec.fixedBytes(CHALLENGE_BYTES),
  signer: codec.uint(0xffff),
  verifier: codec.uint(0xffff),
});

/** Names a cluster: its protocol and validator keys. Replicas of different clusters refuse each other. */
export function clusterId(protocol: string, validators: ValidatorSet): Uint8Array {
  return clusterIdOf(protocol, validators.publicKeys);
}

/** `signer` answers `verifier`'s challenge. */
export function signHandshake(signer: Signer, cluster: Uint8Array, challenge: Uint8Array, self: number, verifier: number): Uint8Array {
  return signer.sign(Domains.handshake, encode(HandshakeStatementCodec, { cluster, challenge, signer: self, verifier }));
}

/** True iff `signature` is validator `claimed`'s answer to our (`self`'s) challenge. */
export function verifyHandshake(scheme: SignatureScheme, validators: ValidatorSet, cluster: Uint8Array, challenge: Uint8Array, claimed: number, self: number, signature: Uint8Array): boolean {
  if (!Number.isSafeInteger(claimed) || claimed < 0 || claimed >= validators.n) return false;
  return scheme.verify(validators.key(claimed), Domains.handshake, encode(HandshakeStatementCodec, { cluster, challenge, signer: claimed, verifier: self }), signature);
}
