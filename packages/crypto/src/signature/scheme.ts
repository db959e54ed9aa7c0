import { taggedPrefix, type DomainTag } from '../domain';
import { CryptoError } from '../errors';

/** Holds one secret key, prepared once so that signing many messages is fast. */
export interface Signer {
  readonly publicKey: Uint8Array;
  /** Ed25519 signature over (domain, payload); see `domainMessage`. */
  sign(domain: DomainTag, payload: Uint8Array): Uint8Array;
}

/**
 * Ed25519 behind one interface, with one verification rule (strict RFC 8032,
 * cofactorless, see strict.ts) whatever the backend. Signatures are always
 * over (domain, payload), never raw bytes, so a signature made for one kind
 * of message can never be replayed as another.
 */
export interface SignatureScheme {
  /** Which implementation: "noble" (pure JS) or "node" (node:crypto, OpenSSL). */
  readonly backend: string;
  /** The 32-byte public key of a 32-byte secret key (seed). */
  publicKey(secretKey: Uint8Array): Uint8Array;
  signer(secretKey: Uint8Array): Signer;
  /**
   * True iff `signature` is valid under bftx's strict rule for `publicKey`
   * over (domain, payload). Malformed keys or signatures give false, never a
   * throw; only a malformed domain tag or non-byte arguments throw CryptoError.
   */
  verify(publicKey: Uint8Array, domain: DomainTag, payload: Uint8Array, signature: Uint8Array): boolean;
}

/** Raw Ed25519 over whole messages; the backends implement this, the scheme adds domains. */
export interface Ed25519Backend {
  readonly name: string;
  publicKey(secretKey: Uint8Array): Uint8Array;
  /** Returns a function signing raw messages with `secretKey`. */
  prepareSigner(secretKey: Uint8Array): (message: Uint8Array) => Uint8Array;
  /** Strict verification of a raw message (rules in strict.ts). Never throws. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean;
}

/** The exact bytes signed for (domain, payload): "bftx-sig" || len(domain) || domain || payload. */
export function domainMessage(domain: DomainTag, payload: Uint8Array): Uint8Array {
  const prefix = taggedPrefix('bftx-sig', domain);
  if (!(payload instanceof Uint8Array)) throw new CryptoError('INVALID_ARGUMENT', 'payload must be a Uint8Array');
  const out = new Uint8Array(prefix.length + payload.length);
  out.set(prefix, 0);
  out.set(payload, prefix.length);
  return out;
}

function assertSecretKey(secretKey: unknown): asserts secretKey is Uint8Array {
  if (!(secretKey instanceof Uint8Array)) throw new CryptoError('INVALID_ARGUMENT', 'secret key must be a Uint8Array');
  if (secretKey.length !== 32) throw new CryptoError('INVALID_LENGTH', `secret key must be 32 bytes, got ${secretKey.length}`);
}

/** Wraps a raw backend into a domain-separated SignatureScheme. */
export function schemeFromBackend(backend: Ed25519Backend): SignatureScheme {
  return {
    backend: backend.name,
    publicKey(secretKey) {
      assertSecretKey(secretKey);
      return backend.publicKey(secretKey);
    },
    signer(secretKey) {
      assertSecretKey(secretKey);
      const publicKey = backend.publicKey(secretKey);
      const signRaw = backend.prepareSigner(secretKey);
      return {
        publicKey,
        sign: (domain, payload) => signRaw(domainMessage(domain, payload)),
      };
    },
    verify(publicKey, domain, payload, signature) {
      if (!(publicKey instanceof Uint8Array) || !(signature instanceof Uint8Array)) {
        throw new CryptoError('INVALID_ARGUMENT', 'public key and signature must be Uint8Arrays');
      }
      return backend.verify(publicKey, domainMessage(domain, payload), signature);
    },
  };
}
