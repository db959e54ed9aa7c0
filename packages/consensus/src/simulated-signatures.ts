import { bytesEqual, concatBytes, domainMessage, sha256, sha512, toHex, utf8, type KeyPair, type SignatureScheme } from '@bftx/crypto';

/**
 * A fast stand-in for Ed25519 inside simulations, behind the same
 * SignatureScheme interface: a signature is SHA-512(secret || domain message),
 * checked by looking the secret up by public key. Unforgeable inside the
 * simulator, because a replica (or an adversary wrapper) only ever holds its
 * own signer; it is NOT a real signature scheme, and is used only where
 * thousands of simulated runs must be fast. Every protocol is also tested
 * end to end with real Ed25519.
 */
export class SimulatedSignatureScheme implements SignatureScheme {
  readonly backend = 'simulated';
  private readonly secrets = new Map<string, Uint8Array>();

  /** A deterministic key pair for validator `seed`. */
  keyPair(seed: number): KeyPair {
    const secretKey = sha256(utf8(`bftx-sim-secret-${seed}`));
    return { secretKey, publicKey: this.publicKey(secretKey) };
  }

  publicKey(secretKey: Uint8Array): Uint8Array {
    const pk = sha256(concatBytes(utf8('bftx-sim-public'), secretKey));
    this.secrets.set(toHex(pk), secretKey);
    return pk;
  }

  signer(secretKey: Uint8Array) {
    const publicKey = this.publicKey(secretKey);
    return { publicKey, sign: (domain: string, payload: Uint8Array) => sha512(concatBytes(secretKey, domainMessage(domain, payload))) };
  }

  verify(publicKey: Uint8Array, domain: string, payload: Uint8Array, signature: Uint8Array): boolean {
    const secret = this.secrets.get(toHex(publicKey));
    if (secret === undefined || !(signature instanceof Uint8Array) || signature.length !== 64) return false;
    return bytesEqual(sha512(concatBytes(secret, domainMessage(domain, payload))), signature);
  }
}
